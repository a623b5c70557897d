"""Training page: a model filter, a legend that fits, fixed colours per model, denoisers' curves labelled."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY as EVERY_MODEL
from ae.training.runs import denoise_note
from ui.charts import FAMILY_COLOURS, Curve, model_colours, training_figure

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = {n: s for n, s in EVERY_MODEL.items() if s.dataset == "mnist"}  # one dataset's: what a page charts


def _curves(names):
    out = []
    for n in names:
        meta = checkpoints.read_sidecar(n, ROOT / "checkpoints")
        out.append(Curve(n, meta["history"], meta["recipe"].get("noise_std", 0.0)))
    return out


def test_colours_are_fixed_per_model_and_follow_the_family():
    colours = model_colours(REGISTRY)
    assert len(set(colours.values())) == len(REGISTRY)
    assert colours["linear-32"] == FAMILY_COLOURS["linear"] and colours["conv-8"] == FAMILY_COLOURS["conv"]
    full = training_figure(_curves(REGISTRY), colours)
    few = training_figure(_curves(["conv-1", "linear-64"]), colours)
    for fig in (full, few):
        for trace in fig.data:
            if trace.legendgroup != "key":
                assert trace.line.color == colours[trace.legendgroup]


def test_legend_has_one_entry_per_model_and_fits():
    fig = training_figure(_curves(REGISTRY), model_colours(REGISTRY))
    entries = [t.name for t in fig.data if t.showlegend is not False]
    assert len(entries) == len(REGISTRY) + 2  # a model, and the key to solid (train) and dotted (test)
    assert any(e.startswith("conv-1") for e in entries)
    assert fig.layout.height >= 22 * len(entries)


def test_denoisers_curves_say_they_are_measured_on_noisy_inputs():
    fig = training_figure(_curves(["conv-8", "conv-8-denoise"]), model_colours(REGISTRY))
    plain = [t for t in fig.data if t.legendgroup == "conv-8"]
    noisy = [t for t in fig.data if t.legendgroup == "conv-8-denoise"]
    assert all("noisy" not in t.hovertemplate for t in plain)
    assert all("noisy" in t.hovertemplate and "σ = 0.5" in t.hovertemplate for t in noisy)
    assert "noisy inputs" in noisy[0].name


def test_denoise_note_gives_both_numbers_from_the_sidecar():
    meta = checkpoints.read_sidecar("linear-128-denoise", ROOT / "checkpoints")
    note = denoise_note("linear-128-denoise", meta)
    assert f"{meta['history'][-1]['test_loss']:.4f}" in note and f"{meta['metrics']['test_mse']:.5f}" in note
    assert denoise_note("conv-8", checkpoints.read_sidecar("conv-8", ROOT / "checkpoints")) is None


def _legend(at) -> list[str]:
    (chart,) = at.get("plotly_chart")
    return [t["name"] for t in json.loads(chart.proto.spec)["data"] if t.get("showlegend", True)]


def test_page_starts_with_the_seed_models_and_filters():
    at = AppTest.from_file(str(ROOT / "pages/training.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    seed = [n for n, s in REGISTRY.items() if s.group == "seed"]
    assert _legend(at)[: len(seed)] == seed
    at.get("button_group")[0].set_value(["conv-1", "conv-8-denoise"]).run()
    assert not at.exception
    assert _legend(at)[:2] == ["conv-8-denoise: noisy inputs", "conv-1"]
    assert any("conv-8-denoise" in c.value and "noisy inputs" in c.value for c in at.caption)
