"""The codec trained for rate (ae.models.codec), its rate–distortion points and the sentences derived from them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae.compression import rd
from ae.compression.aelfile import load_sender
from ae.data.mnist import Mnist
from ae.models.autoencoders import PIXELS
from ae.models.codec import CodecAE
from ae.models.specs import ModelSpec, Recipe
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER, REGISTRY
from ae.training.loop import train

ROOT = Path(__file__).resolve().parent.parent
CODECS = [n for n, s in REGISTRY.items() if s.family == "codec"]


def test_the_codec_is_an_autoencoder_with_an_integer_code():
    torch.manual_seed(0)
    model = CodecAE(values=16, channels=8, support=7).eval()
    x = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        z = model.encode(x)
        assert z.shape == (3, 16) and torch.equal(z, z.round()) and z.abs().max() <= 7
        assert torch.equal(model(x), model.decode(z)) and model(x).shape == (3, 1, 28, 28)
    tables = model.probability_tables()
    assert tables.shape == (16, 15) and np.allclose(tables.sum(axis=1), 1)
    # The tables are the prior's mass on each integer: what the training rate counts.
    k = torch.arange(-7, 8, dtype=torch.float32).repeat(16, 1).T  # (15, 16): each integer in every code value
    with torch.no_grad():
        mass = model.prior.likelihood(k).T.double().numpy()
    assert np.allclose(tables, mass / mass.sum(axis=1, keepdims=True), rtol=1e-5)


def _rd_loss(model: CodecAE, x: torch.Tensor) -> float:
    """Bits per pixel of the rounded codes under the tables + λ · MSE of their reconstructions (no noise)."""
    model.eval()
    with torch.inference_mode():
        z = model.encode(x)
        p = torch.from_numpy(model.probability_tables())
        bits = -torch.log2(p.gather(1, (z + model.support).long().T)).sum() / (len(x) * PIXELS)
        return float(bits + model.lam * (model.decode(z) - x).pow(2).mean())


def test_one_epoch_on_a_subset_lowers_the_rate_distortion_loss(small_mnist):
    spec = ModelSpec(
        "codec-test", "codec", {"values": 32, "channels": 8, "lam": 100.0},
        Recipe(epochs=1, batch_size=32, lr=3e-3, train_subset=1024), group="codec",
    )  # fmt: skip
    x = small_mnist.test_images()[:500]
    torch.manual_seed(spec.recipe.seed)  # the start train() begins from
    before = _rd_loss(spec.build(), x)
    after = _rd_loss(train(spec, small_mnist).model, x)
    assert after < 0.8 * before, (before, after)


@pytest.fixture(scope="module")
def clf():
    return checkpoints.load(CLASSIFIER.name, registry={CLASSIFIER.name: CLASSIFIER})[0]


def _few(mnist: Mnist, n: int) -> Mnist:
    return Mnist(mnist.train_x, mnist.train_y, mnist.test_x[:n], mnist.test_y[:n], mnist.source, mnist.fingerprint)


def test_a_codec_point_counts_the_bytes_of_real_files(mnist, clf):
    name = CODECS[0]
    few = _few(mnist, 40)
    model, meta = checkpoints.load(name)
    row = rd.model_rows(REGISTRY[name], model, meta, few, clf)
    assert [r["kind"] for r in row] == ["entropy coded"]
    sender = load_sender(name)
    files = [sender.compress(d / 255.0) for d in few.test_x]
    assert row[0]["bits per pixel"] == pytest.approx(8 * np.mean([len(f) for f in files]) / PIXELS, rel=1e-3)
    assert 0 < row[0]["header bits per pixel"] < row[0]["bits per pixel"]


def test_entropy_coding_keeps_the_8bit_reconstructions_and_counts_the_files(mnist, clf):
    few = _few(mnist, 200)
    model, meta = checkpoints.load("linear-32")
    rows = {r["kind"]: r for r in rd.model_rows(REGISTRY["linear-32"], model, meta, few, clf)}
    rows["8-bit code, entropy coded"] = rd.entropy_row(REGISTRY["linear-32"], model, meta, few, clf)
    coded, fixed = rows["8-bit code, entropy coded"], rows["8-bit code"]
    for key in ("MSE", "PSNR (dB)", "SSIM", "classifier accuracy"):
        assert coded[key] == pytest.approx(fixed[key], rel=1e-6), key
    # bits per value: the payload only (the fixed-length code has no header either)
    payload = coded["bits per pixel"] - coded["header bits per pixel"]
    assert coded["bits per value"] == pytest.approx(payload * PIXELS / 32)
    assert coded["bits per value"] < 8


def _table(codec: list[tuple[float, float]], webp: list[tuple[float, float]]) -> pd.DataFrame:
    rows = [(f"codec-{i}", "codec", "entropy coded", b, p, 0.2) for i, (b, p) in enumerate(codec, 1)]
    rows += [(f"WEBP q={i}", "WebP", "lossy", b, p, None) for i, (b, p) in enumerate(webp)]
    rows += [("PNG", "PNG", "lossless", 1.5, math.inf, None)]
    t = pd.DataFrame(rows, columns=["name", "family", "kind", "bits per pixel", "PSNR (dB)", "header bits per pixel"])
    return t.assign(**{"classifier accuracy": 0.99})


def test_the_page_sentences_say_where_the_codec_wins_and_by_how_much():
    t = _table([(0.3, 22.0), (0.6, 27.0), (1.6, 32.0)], [(1.4, 27.0), (2.0, 30.0)])
    sentences = rd.codec_findings(t)
    webp = next(s for s in sentences if s.startswith("Against WebP"))
    assert "2 of its 2 points" in webp and "2.3× fewer" in webp  # 1.4 bpp for 27 dB vs the codec's 0.6
    assert "at the bits of WEBP q=0 (1.40 bits per pixel) it is +4.3 dB" in webp  # 31.3 dB, interpolated in log bits
    assert any("Lossless PNG needs 1.50" in s and "codec-2" in s for s in sentences)
    assert any("header" in s for s in sentences)


def test_the_page_says_so_when_the_codec_does_not_win():
    sentences = rd.codec_findings(_table([(1.0, 20.0), (2.0, 24.0)], [(0.5, 25.0)]))
    assert any("beats no WebP point" in s for s in sentences)


def test_no_codec_no_sentences():
    t = _table([], [(0.5, 25.0)])
    assert rd.codec_findings(t) == []


def test_the_draw_page_shows_the_digit_as_three_files_with_their_bytes():
    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=300).run()
    at.session_state["test_index"] = 0
    at.segmented_control(key="source").set_value("Random test digit").run()
    assert not at.exception, at.exception
    assert "Your drawing as a file" in [h.value for h in at.header]
    text = " ".join(m.value for m in at.markdown)
    assert "**PNG**" in text and "**WebP q=" in text and f"**{CODECS[len(CODECS) // 2]} (.ael)**" in text
    at.radio(key="file_codec").set_value(CODECS[0]).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert f"**{CODECS[0]} (.ael)**" in text and "bits per pixel" in text


def test_the_rd_page_draws_the_codec_curve_and_says_where_it_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "pages/rd.py"), default_timeout=300).run()
    assert not at.exception, at.exception
    assert "Is an autoencoder a good compressor?" in [h.value for h in at.header]
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    names = {t["name"] for t in traces}
    assert {"codec, entropy coded", "linear, 8-bit code, entropy coded"} <= names
    assert any(m.value.startswith("- Against WebP") for m in at.markdown)
    targets = [m.value for m in at.markdown if m.value.startswith("- **") and "bits per pixel:" in m.value]
    assert len(targets) == len(rd.TARGETS) and all(("met**" in t) or ("missed**" in t) for t in targets)
    assert any(m.value.startswith("- **Above the PCA codec at every rate") for m in at.markdown)


def test_the_last_epochs_train_the_decoder_alone_on_the_rounded_codes():
    torch.manual_seed(0)
    model = CodecAE(values=8, channels=8, support=7, decoder_epochs=1).train()
    x = torch.rand(4, 1, 28, 28)
    for epoch, decoder_only in ((1, False), (2, False), (3, True)):
        model.start_epoch(epoch, 3)
        model.zero_grad(set_to_none=True)
        model.training_loss(x, x).backward()
        frozen = [p.grad is None for m in (model.encoder, model.pixel_path, model.prior) for p in m.parameters()]
        assert all(frozen) if decoder_only else not any(frozen)
        assert all(p.grad is not None for p in model.decoder.parameters())
    model.start_epoch(1, 1)  # a one-epoch run trains everything
    assert not model.decoder_only
