"""The classroom analyses, checked on the shipped checkpoints and real test digits."""

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae.data import noise
from ae.measure.explore import codes, fit_projection, interpolate, pixel_blend, rank_errors
from ae.measure.metrics import evaluate, reconstruct
from ae.storage import checkpoints

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def conv():
    return checkpoints.load("conv-8")[0]


@pytest.mark.parametrize("name", ["conv-8", "linear-32"])
def test_interpolation_ends_are_the_plain_reconstructions(mnist, name):
    model, _ = checkpoints.load(name)
    a, b = mnist.test_x[3] / 255.0, mnist.test_x[0] / 255.0
    ends = interpolate(model, a, b, [0.0, 1.0])
    plain = reconstruct(model, torch.from_numpy(np.stack([a, b]).astype(np.float32))[:, None])[:, 0].numpy()
    np.testing.assert_allclose(ends, plain, atol=1e-5)  # equal up to float32 summation order
    middle = interpolate(model, a, b, [0.5])[0]
    assert np.abs(middle - plain[0]).mean() > 0.01 and np.abs(middle - plain[1]).mean() > 0.01


def test_pixel_blend_is_a_cross_fade():
    a, b = np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32)
    out = pixel_blend(a, b, [0.0, 0.25, 1.0])
    assert out.shape == (3, 28, 28) and np.allclose(out[:, 0, 0], [0, 0.25, 1])


def test_noise_is_seeded_and_in_range():
    x = torch.rand(4, 1, 28, 28)
    g = noise.corrupt(x, "gaussian", 0.5, seed=3)
    assert torch.equal(g, noise.corrupt(x, "gaussian", 0.5, seed=3)) and g.min() >= 0 and g.max() <= 1
    sp = noise.corrupt(x, "salt-and-pepper", 0.2, seed=3)
    flipped = ((sp == 0) | (sp == 1)).float().mean()
    assert 0.15 < flipped < 0.25
    assert torch.equal(noise.corrupt(x, "gaussian", 0.0), x)


@pytest.mark.parametrize("kind,level", [("gaussian", 0.5), ("gaussian", 0.3), ("salt-and-pepper", 0.2)])
@pytest.mark.parametrize("plain,denoiser", [("linear-128", "linear-128-denoise"), ("conv-8", "conv-8-denoise")])
def test_denoisers_beat_the_plain_models_on_noisy_digits(mnist, kind, level, plain, denoiser):
    clean = mnist.test_images()
    noisy = noise.corrupt(clean, kind, level, seed=99)
    p = evaluate(checkpoints.load(plain)[0], clean, inputs=noisy)
    d = evaluate(checkpoints.load(denoiser)[0], clean, inputs=noisy)
    assert d.psnr > p.psnr + 1.0, (p, d)


def test_gallery_ranking_is_by_error(mnist, conv):
    r = rank_errors(conv, mnist.test_images(), mnist.test_y)
    assert len(r.order) == 10000 and np.all(np.diff(r.errors[r.order]) >= 0)
    worst = int(r.order[-1])
    rec = reconstruct(conv, mnist.test_images()[[worst]])
    assert float((rec - mnist.test_images()[[worst]]).pow(2).mean()) == pytest.approx(r.errors[worst], rel=1e-5)
    for c in (1, 8):
        assert r.class_mean[c] == pytest.approx(r.errors[mnist.test_y == c].mean())
    assert r.class_mean[1] < r.class_mean[8]  # a stroke is easier than two loops


def test_projection_shape_and_separation(mnist, conv):
    z = codes(conv, mnist.test_images()[:2000])
    assert z.shape == (2000, 392)
    proj = fit_projection(z)
    xy = proj(z)
    assert xy.shape == (2000, 2) and 0 < proj.explained.sum() < 1
    labels = mnist.test_y[:2000]
    centres = np.stack([xy[labels == c].mean(0) for c in range(10)])
    spread = np.mean([xy[labels == c].std(0).mean() for c in range(10)])
    # the classes sit in different places: some class centres are further apart than a class is wide
    assert np.max(np.linalg.norm(centres[:, None] - centres[None], axis=-1)) > spread


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_interpolate_page_slider_moves_between_the_ends():
    at = _page("interpolate.py")
    captions = lambda: [img.caption for el in at.get("image") for img in el.proto.imgs]  # noqa: E731
    assert "decode((1-t)·z₁ + t·z₂), t = 0.50" in captions()
    at.slider(key="interp_t").set_value(1.0).run()
    assert "decode((1-t)·z₁ + t·z₂), t = 1.00" in captions()


def test_denoise_page_scores_every_model():
    at = _page("denoise.py")
    table = at.dataframe[0].value
    rows = dict(zip(table["model"], table["PSNR (dB)"], strict=True))
    assert set(rows) == {"(noisy input)", "linear-128", "linear-128-denoise", "conv-8", "conv-8-denoise"}
    assert rows["conv-8-denoise"] > rows["conv-8"] and rows["linear-128-denoise"] > rows["linear-128"]
    at.radio(key="noise_kind").set_value("salt-and-pepper").run()
    assert not at.exception


def test_gallery_page():
    at = _page("gallery.py")
    assert [s.value for s in at.main.header] == ["16 best", "16 worst", "Mean error per digit class"]
    # The chart's text alternative: its points as a table, one row per bar.
    (chart,) = [e for e in at.expander if e.label == "The chart as a table"]
    table = chart.dataframe[0].value
    assert [int(d) for d in table["digit"]] == list(range(10))
    assert (table["mean MSE"] > 0).all()


def test_latent_page_colours_match_labels(mnist):
    at = _page("latent.py")
    import json

    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    counts = {t["name"]: _length(t["x"]) for t in fig["data"] if t["name"] in {str(c) for c in range(10)}}
    assert counts == {str(c): int((mnist.test_y[:2000] == c).sum()) for c in range(10)}


def _length(values) -> int:
    """Plotly sends numpy arrays as base64 typed arrays ({"dtype": "f8", "bdata": ...})."""
    import base64

    if isinstance(values, dict):
        return len(base64.b64decode(values["bdata"])) // np.dtype(values["dtype"]).itemsize
    return len(values)


def test_every_page_has_the_glossary_and_presenter_toggle():
    at = _page("gallery.py")
    assert at.sidebar.toggle(key="presenter")
    at.sidebar.toggle(key="presenter").set_value(True).run()
    assert not at.exception
