"""Rate–distortion: quantized codes, PCA, real codec bytes, the reference classifier, the rd CLI and page."""

import io
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from ae import checkpoints
from ae.baselines import encode_decode, fit_pca, pca_reconstruct
from ae.classifier import ACCURACY_TARGET, SPEC, accuracy
from ae.quantize import dequantize, evaluate_quantized, quantize
from ae.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_quantize_round_trip_error_is_at_most_half_a_step(bits):
    z = torch.rand(10_000) * 7 - 2
    lo, hi = float(z.min()), float(z.max())
    q = quantize(z, lo, hi, bits)
    assert q.min() >= 0 and q.max() <= 2**bits - 1 and torch.equal(q, q.round())
    err = (dequantize(q, lo, hi, bits) - z).abs().max()
    assert err <= (hi - lo) / (2 * (2**bits - 1)) + 1e-6
    assert err > (hi - lo) / (2 * (2**bits - 1)) * 0.5  # the bound is nearly reached: not a vacuous test


def test_out_of_range_codes_are_clipped():
    q = quantize(torch.tensor([-5.0, 0.5, 9.0]), 0.0, 1.0, 8)
    assert q.tolist() == [0.0, 128.0, 255.0]


def test_8bit_codes_cost_little_quality_4bit_more(mnist):
    model, meta = checkpoints.load("conv-8")
    lo, hi = meta["code_range"]
    x = mnist.test_images()[:2000]
    f32, _ = evaluate_quantized(model, x, lo, hi, None)
    q8, _ = evaluate_quantized(model, x, lo, hi, 8)
    q4, _ = evaluate_quantized(model, x, lo, hi, 4)
    assert f32.psnr - 0.5 < q8.psnr <= f32.psnr + 0.05
    assert q4.psnr < q8.psnr


def test_pca_matches_a_direct_svd_and_improves_with_k(mnist):
    x = mnist.train_x[:3000].reshape(-1, 784) / 255.0
    pca = fit_pca(x)
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    for k in (5, 20):
        direct = (x - mean) @ vt[:k].T @ vt[:k] + mean
        ours = pca.decode(pca.encode(x, k))
        np.testing.assert_allclose(ours, direct, atol=1e-8)
    test = mnist.test_x[:1000].reshape(-1, 784) / 255.0
    errors = [np.mean((pca_reconstruct(pca, test, k) - test) ** 2) for k in (8, 16, 32, 64, 128, 256)]
    assert all(a > b for a, b in itertools.pairwise(errors))


@pytest.mark.parametrize("codec,quality", [("PNG", None), ("JPEG", 50), ("WEBP", 20)])
def test_codec_bytes_are_real(mnist, codec, quality):
    digit = mnist.test_x[0]
    size, decoded = encode_decode(digit, codec, quality)
    buf = io.BytesIO()
    Image.fromarray(digit).save(buf, codec, **({"optimize": True} if codec == "PNG" else {"quality": quality}))
    assert size == len(buf.getvalue())
    again = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    assert np.array_equal(decoded, again)
    if codec == "PNG":
        assert np.array_equal(decoded, digit)  # lossless
    else:
        assert 0 < np.abs(decoded.astype(int) - digit).mean() < 40


def test_shipped_classifier_reads_the_test_digits(mnist):
    model, meta = checkpoints.load(SPEC.name, registry={SPEC.name: SPEC})
    acc = accuracy(model, mnist.test_images(), mnist.test_y)
    assert acc >= ACCURACY_TARGET
    assert acc == pytest.approx(meta["metrics"]["test_accuracy"], abs=1e-4)


@pytest.mark.slow
def test_rd_cli_has_every_model_and_baseline(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ae", "rd", "--csv", str(tmp_path / "rd.csv")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    t = pd.read_csv(tmp_path / "rd.csv")
    models = [n for n, s in REGISTRY.items() if s.group in ("seed", "matched")]
    for name in models:
        assert set(t[t["name"] == name]["kind"]) == {"float32 code", "8-bit code", "4-bit code"}
    sizes = sorted(set(t[t["family"].isin(["linear", "conv"])]["code values"].astype(int)))
    for k in sizes:
        assert set(t[t["name"] == f"PCA-{k}"]["kind"]) == {"float32 code", "8-bit code"}
    assert {"PNG", "JPEG", "WebP", "original"} <= set(t["family"])
    assert (t[t["family"] == "PNG"]["MSE"] == 0).all()
    assert (t["digits"] == 10000).all()
    assert "bit per pixel the best reconstruction is" in out.stdout


@pytest.mark.slow
def test_rd_page_renders_and_keeps_its_table(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "pages/rd.py"), default_timeout=600).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2
    assert any("bits per pixel" in m.value for m in at.markdown)
    at.segmented_control(key="rd_metric").set_value("classifier accuracy").run()
    assert not at.exception
    (cached,) = tmp_path.glob("rd-*.csv")  # computed once, kept as CSV keyed by every checkpoint's hash
    from ae.data import load_mnist
    from ae.rd import rd_table_cached

    data = load_mnist()
    t0 = time.perf_counter()
    again = rd_table_cached(data)
    assert time.perf_counter() - t0 < 5 and len(again) == len(pd.read_csv(cached))  # read, not recomputed
