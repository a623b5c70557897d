"""One registry drives every page: each model picker offers every model of it that learns the session's dataset,
with no page-specific list."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae.models.specs import ModelSpec, Recipe
from ae.storage.catalogue import REGISTRY, denoise_pairs
from tests.test_datasets import needs_fashion

ROOT = Path(__file__).resolve().parent.parent
PICKERS = {"pages/draw.py": "model", "pages/interpolate.py": "interp_model", "pages/gallery.py": "gallery_model",
           "pages/latent.py": "latent_model"}  # fmt: skip


@pytest.mark.parametrize("dataset", ["mnist", pytest.param("fashion", marks=needs_fashion)])
@pytest.mark.parametrize("page", PICKERS)
def test_every_page_offers_every_registry_model(page, dataset):
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.query_params["digit"] = "3"  # Draw shows its picker once it has a digit
    at.query_params["data"] = dataset
    at.run()
    assert not at.exception, at.exception
    widgets = [w for w in (*at.radio, *at.selectbox) if w.key == PICKERS[page]]
    assert len(widgets) == 1
    shown = [option.split(" (")[0] for option in widgets[0].options]  # Draw labels each with its code shape
    assert shown == [name for name, spec in REGISTRY.items() if spec.dataset == dataset] and len(shown) >= 2


def test_denoisers_are_paired_with_their_plain_twin_from_the_registry():
    recipe = Recipe(epochs=1, batch_size=8, lr=1e-3)
    noisy = Recipe(epochs=1, batch_size=8, lr=1e-3, noise_std=0.5)
    registry = {
        "a": ModelSpec("a", "linear", {"depth": 16}, recipe),
        "a-noisy": ModelSpec("a-noisy", "linear", {"depth": 16}, noisy),
        "lone-noisy": ModelSpec("lone-noisy", "linear", {"depth": 8}, noisy),
    }
    assert denoise_pairs(registry) == [("a", "a-noisy"), (None, "lone-noisy")]
    assert denoise_pairs(REGISTRY) == [("linear-128", "linear-128-denoise"), ("conv-8", "conv-8-denoise")]
