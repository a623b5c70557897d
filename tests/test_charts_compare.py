"""Compare page: family colours, plain MSE ticks, both tables' columns, and the SSIM and denoiser explanations."""

from pathlib import Path

import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae.measure.compare import COLUMNS, comparison_table, haze_cost, ssim_disagreement
from ae.measure.metrics import reconstruct, ssim
from ae.storage import checkpoints
from ui.charts import FAMILY_COLOURS, compare_figure, log_ticks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def table(mnist):
    return comparison_table(mnist, ROOT / "checkpoints", measure=False)


@pytest.fixture(scope="module")
def page():
    at = AppTest.from_file(str(ROOT / "pages/compare.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def test_chart_colours_each_family_once_and_distinctly(table):
    fig = compare_figure(table)
    for trace in fig.data:
        assert trace.marker.color == FAMILY_COLOURS[trace.name.split(",")[0]]
    assert FAMILY_COLOURS["linear"] != FAMILY_COLOURS["conv"]
    assert {t.name.split(",")[0] for t in fig.data} == set(table["family"])
    assert all("µ" not in t and "e" not in t for t in fig.layout.yaxis.ticktext)


def test_log_ticks_are_decimals():
    vals, text = log_ticks([2.2e-5, 0.031])
    assert text[0] == "0.00002" and text[-1] == "0.05" and "0.0001" in text
    assert [float(t) for t in text] == pytest.approx(vals)


def test_two_tables_show_every_column_without_being_wide(page):
    first, second, vaes = page.dataframe[0], page.dataframe[1], page.dataframe[2]
    shown = list(first.proto.column_order) + list(second.proto.column_order) + list(vaes.proto.column_order)
    assert set(shown) == set(COLUMNS)  # every number is still on the page
    assert len(first.proto.column_order) <= 9 and len(second.proto.column_order) <= 10  # seed and epochs: narrow
    assert list(first.value["model"]) == list(second.value["model"])


def test_ssim_caption_explains_the_haze_with_computed_numbers(page, table):
    caption = next(c.value for c in page.caption if "SSIM" in c.value)
    assert "haze" in caption and "black background" in caption and "MSE barely counts" in caption
    ssim_haze, mse_haze = haze_cost(0.01)
    assert ssim_haze == pytest.approx(0.5, abs=0.01) and mse_haze == pytest.approx(1e-4)
    assert f"SSIM of {ssim_haze:.2f}" in caption and f"MSE of {mse_haze:.4f}" in caption
    gap = ssim_disagreement(table)
    assert gap["better"]["model"] in caption and gap["worse"]["model"] in caption and f"{gap['ratio']:.1f}×" in caption


def test_ssim_disagreement_is_none_when_the_measures_agree():
    agree = pd.DataFrame({"model": ["a", "b"], "test MSE": [0.001, 0.01], "SSIM": [0.99, 0.9]})
    assert ssim_disagreement(agree) is None
    disagree = pd.DataFrame({"model": ["a", "b"], "test MSE": [0.001, 0.004], "SSIM": [0.93, 0.98]})
    assert ssim_disagreement(disagree)["better"]["model"] == "a"


def test_the_haze_is_what_costs_linear_models_ssim(mnist):
    """The caption's claim, on 300 test digits: zeroing outputs below 0.02 barely moves MSE but lifts linear-392's
    SSIM past conv-8's."""
    x = mnist.test_images()[:300]
    scores = {}
    for name in ("linear-392", "conv-8"):
        y = reconstruct(checkpoints.load(name, ROOT / "checkpoints")[0], x)
        clean = torch.where(y < 0.02, torch.zeros_like(y), y)
        mse, mse_clean = float((y - x).pow(2).mean()), float((clean - x).pow(2).mean())
        scores[name] = (float(ssim(y, x).mean()), float(ssim(clean, x).mean()))
        assert abs(mse_clean - mse) < 0.15 * mse
    assert scores["linear-392"][0] < scores["conv-8"][0] - 0.03
    assert scores["linear-392"][1] > scores["conv-8"][1]


def test_denoisers_test_mse_is_labelled_as_clean_inputs(page):
    caption = next(c.value for c in page.caption if "Denoisers" in c.value)
    assert "clean test digits in" in caption and "noisy copy" in caption and "σ = 0.5" in caption
