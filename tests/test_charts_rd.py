"""Rate & distortion charts: the "better" sentence, the lossless line, readable MSE ticks, one colour per kind."""

import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae.compression import rd
from ui import charts
from ui.charts import FAMILY_COLOURS

ROOT = Path(__file__).resolve().parent.parent
METRICS = ["PSNR (dB)", "MSE", "SSIM", "classifier accuracy"]


@pytest.fixture(scope="module")
def table(mnist):
    return rd.rd_table(mnist, ROOT / "checkpoints", save=False)


def _family(trace) -> str:
    return trace.name.split(",")[0]


def test_the_better_corner_follows_the_measure():
    assert charts.direction("MSE").startswith("Down and to the left is better")
    for metric in ("PSNR (dB)", "SSIM", "classifier accuracy"):
        assert charts.direction(metric).startswith("Up and to the left is better")
    assert "fewer code values" in charts.direction("MSE", "values")


@pytest.mark.parametrize("metric", ["PSNR (dB)", "MSE"])
def test_lossless_png_is_a_labelled_line_not_an_invented_point(table, metric):
    fig = charts.rd_figure(table, metric)
    png = table[table["family"] == "PNG"].iloc[0]
    assert not [t for t in fig.data if "PNG" in t.name]  # nothing in the legend without a point
    assert [s.x0 for s in fig.layout.shapes] == [pytest.approx(png["bits per pixel"])]
    (note,) = fig.layout.annotations
    assert "PNG" in note.text and ("∞" if metric == "PSNR (dB)" else "MSE 0") in note.text
    assert note.x == pytest.approx(math.log10(png["bits per pixel"]))  # annotations on a log axis are in log10
    for trace in fig.data:  # every plotted value is a measured, finite one
        assert all(math.isfinite(y) and y > 0 for y in trace.y)


@pytest.mark.parametrize("metric", ["SSIM", "classifier accuracy"])
def test_lossless_png_is_a_point_where_it_has_a_value(table, metric):
    fig = charts.rd_figure(table, metric)
    (trace,) = [t for t in fig.data if t.name == "PNG, lossless"]
    assert list(trace.y) == list(table[table["family"] == "PNG"][metric])
    assert not fig.layout.shapes


def test_mse_ticks_are_plain_decimals_covering_the_data(table):
    for fig in (charts.rd_figure(table, "MSE"), charts.ratio_figure(table, "MSE")):
        axis = fig.layout.yaxis
        assert axis.type == "log" and axis.ticktext
        for value, text in zip(axis.tickvals, axis.ticktext, strict=True):
            assert "µ" not in text and "e" not in text and float(text) == pytest.approx(value)
        ys = [y for t in fig.data for y in t.y]
        assert min(axis.tickvals) <= min(ys) * 2 and max(axis.tickvals) >= max(ys) / 2


@pytest.mark.parametrize("metric", METRICS)
def test_every_trace_has_its_familys_colour_in_both_charts(table, metric):
    for fig in (charts.rd_figure(table, metric), charts.ratio_figure(table, metric)):
        families = {_family(t) for t in fig.data}
        assert {"linear", "conv", "PCA"} <= families
        for trace in fig.data:
            assert trace.line.color == FAMILY_COLOURS[_family(trace)], trace.name
    assert len(set(FAMILY_COLOURS.values())) == len(FAMILY_COLOURS)


def test_only_the_autoencoders_float32_points_are_named(table):
    fig = charts.rd_figure(table, "PSNR (dB)")
    named = [t for t in fig.data if t.text is not None]
    # and the codecs trained for rate (issue 18): their curve is a handful of points, one per λ
    assert sorted(t.name for t in named) == ["codec, entropy coded", "conv, float32 code", "linear, float32 code"]
    float32 = table[table["family"].isin(["linear", "conv"]) & (table["kind"] == "float32 code")]
    codec = table[table["kind"] == "entropy coded"]
    assert sum(len(t.text) for t in named) == len(float32) + len(codec) < len(table) / 3


def test_rd_page_says_the_right_corner_and_keeps_colours(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path))
    shipped = (ROOT / "checkpoints" / rd.STORED).read_bytes()
    at = AppTest.from_file(str(ROOT / "pages/rd.py"), default_timeout=120).run()
    assert (ROOT / "checkpoints" / rd.STORED).read_bytes() == shipped  # anything measured went to the workspace
    assert any("Up and to the left is better" in m.value for m in at.markdown)
    at.segmented_control(key="rd_metric").set_value("MSE").run()
    assert not at.exception
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert any("Down and to the left is better" in t for t in texts)
    assert not any("Up and to the left" in t for t in texts)
    colours = {}
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            colours.setdefault(trace["name"].split(",")[0], set()).add(trace["line"]["color"])
    assert colours["conv"] == {FAMILY_COLOURS["conv"]} and colours["PCA"] == {FAMILY_COLOURS["PCA"]}
