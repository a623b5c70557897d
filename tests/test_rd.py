"""Rate–distortion: quantized codes, PCA, real codec bytes, the reference classifier, the rd CLI and page."""

import functools
import io
import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from ae.cli import folders
from ae.cli.main import main
from ae.compression import aelfile, rd
from ae.compression.baselines import PCA_STEPS, encode_decode, fit_pca, pca_files, pca_reconstruct
from ae.data import fashion
from ae.data.datasets import load_dataset
from ae.data.mnist import Mnist, load_mnist
from ae.measure.classifier import accuracy
from ae.measure.quantize import dequantize, evaluate_quantized, quantize
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER
from ae.storage.catalogue import REGISTRY as EVERY_MODEL
from ae.training.classifier_training import ACCURACY_TARGET

REGISTRY = {n: s for n, s in EVERY_MODEL.items() if s.dataset == "mnist"}  # the chart is of digits
BASELINES = ["original", "PCA", "PNG", "JPEG", "WebP"]
needs_fashion = functools.partial(
    pytest.param, marks=pytest.mark.skipif(bool(fashion.missing()), reason="dataset-fashion-mnist is not installed")
)

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
    options = {"optimize": True} if codec in ("PNG", "JPEG") else {}
    Image.fromarray(digit).save(buf, codec, **options, **({"quality": quality} if quality else {}))
    assert size == len(buf.getvalue())
    again = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    assert np.array_equal(decoded, again)
    if codec == "PNG":
        assert np.array_equal(decoded, digit)  # lossless
    else:
        assert 0 < np.abs(decoded.astype(int) - digit).mean() < 40


def test_shipped_classifier_reads_the_test_digits(mnist):
    model, meta = checkpoints.load(CLASSIFIER.name, registry={CLASSIFIER.name: CLASSIFIER})
    acc = accuracy(model, mnist.test_images(), mnist.test_y)
    assert acc >= ACCURACY_TARGET
    # within 5 of the 10,000 digits: another CPU may round a near tie the other way
    assert acc == pytest.approx(meta["metrics"]["test_accuracy"], abs=5e-4)


@pytest.fixture
def checkpoint_copy(tmp_path):
    """The shipped checkpoints in a scratch folder, for tests that write measurements."""
    d = tmp_path / "checkpoints"
    shutil.copytree(ROOT / "checkpoints", d)
    return d


def _subset(data: Mnist, train: int, test: int) -> Mnist:
    return Mnist(
        data.train_x[:train], data.train_y[:train], data.test_x[:test], data.test_y[:test], data.source, "subset"
    )


def test_rd_cli_measures_every_model_and_baseline(tmp_path, checkpoint_copy, mnist, monkeypatch, capsys):
    """The command's wiring, on 2,000 training and 200 test digits (the numbers themselves are checked against the
    shipped points on all 10,000 below, and all of them by `python -m ae rd --checkpoints X`, bench/README)."""
    (checkpoint_copy / rd.STORED).unlink()
    monkeypatch.setattr(folders, "data", lambda args, dataset="mnist": _subset(mnist, 2000, 200))
    monkeypatch.setattr(rd, "PCA_STEPS", PCA_STEPS[4:6])  # two steps of the PCA codec: the wiring, not the curve
    assert main(["rd", "--csv", str(tmp_path / "rd.csv"), "--checkpoints", str(checkpoint_copy)]) == 0
    t = pd.read_csv(tmp_path / "rd.csv")
    for name in REGISTRY:
        assert set(t[t["name"] == name]["kind"]) == _kinds(name)
    sizes = sorted(set(t[t["family"].isin(["linear", "conv"])]["code values"].astype(int)))
    for k in sizes:
        assert set(t[t["name"] == f"PCA-{k}"]["kind"]) == {"float32 code", "8-bit code"}
    assert {"PNG", "JPEG", "WebP", "original"} <= set(t["family"])
    assert (t[t["family"] == "PNG"]["MSE"] == 0).all()
    pca_files = t[t["kind"] == rd.PCA_CODED]  # the PCA codec's real files, each with the 3-byte header
    assert len(pca_files) == 2 and np.allclose(pca_files["header bits per pixel"], 24 / 784)
    assert (t["digits"] == 200).all()
    assert "bit per pixel the best reconstruction is" in capsys.readouterr().out
    # what it measured was kept beside the checkpoints it read, and is read back, not measured, the next time
    monkeypatch.setattr(rd, "model_rows", lambda *a: pytest.fail("measured again"))
    monkeypatch.setattr(rd, "entropy_row", lambda *a: pytest.fail("measured again"))
    again = rd.rd_table(_subset(mnist, 2000, 200), checkpoint_copy, save=False)
    pd.testing.assert_frame_equal(again, t, rtol=1e-6, check_dtype=False)


def _kinds(name: str) -> set[str]:
    """A model's points: a codec trained for rate has its files only (ae.models.codec)."""
    if EVERY_MODEL[name].family == "codec":
        return {"entropy coded"}
    return {"float32 code", "8-bit code", "4-bit code", "8-bit code, entropy coded"}


def _stored_csv(directory: Path, data: Mnist | None = None) -> str:
    def refuse(*args, **kwargs):
        raise AssertionError("measured instead of read")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rd, "model_rows", refuse)
        mp.setattr(rd, "baseline_rows", refuse)
        return rd.rd_table(data or load_mnist(), directory, save=False).to_csv(index=False)


@pytest.mark.parametrize("dataset", ["mnist", needs_fashion("fashion")])
def test_shipped_points_are_current_and_read_not_measured(dataset):
    t = pd.read_csv(io.StringIO(_stored_csv(ROOT / "checkpoints", load_dataset(dataset))))
    models = [n for n, s in EVERY_MODEL.items() if s.dataset == dataset]  # every model of the registry has its points
    assert models and set(models) == set(t["name"]) - set(t[t["family"].isin(BASELINES)]["name"])
    assert t["classifier accuracy"].notna().all()  # each dataset's own reader read every point
    points = sum(len(_kinds(n)) for n in models)
    pca_sizes = t[(t["family"] == "PCA") & (t["kind"] != rd.PCA_CODED)]["name"].nunique()
    assert len(t) == 1 + points + 2 * pca_sizes + len(PCA_STEPS) + len(rd.CODECS)


@pytest.mark.slow
def test_stored_points_are_what_the_code_measures(mnist):
    stored = rd.load_stored(ROOT / "checkpoints")
    clf, _ = checkpoints.load(CLASSIFIER.name, registry={CLASSIFIER.name: CLASSIFIER})
    model, meta = checkpoints.load("linear-32")
    fresh = rd.model_rows(REGISTRY["linear-32"], model, meta, mnist, clf)
    _same_rows(fresh, stored["models"]["linear-32"]["rows"])
    _same_rows([rd.entropy_row(REGISTRY["linear-32"], model, meta, mnist, clf)], stored["entropy"]["linear-32"]["rows"])
    codec, codec_meta = checkpoints.load("codec-1")
    _same_rows(rd.model_rows(REGISTRY["codec-1"], codec, codec_meta, mnist, clf), stored["models"]["codec-1"]["rows"])
    fresh = rd.baseline_rows(mnist, clf, [32], codecs=[("JPEG", 50)], pca_steps=(PCA_STEPS[5],))
    kept = {(r["name"], r["kind"]): r for r in stored["baselines"]["mnist"]["rows"]}
    assert len(fresh) == 5  # original, PCA-32 float32 and 8-bit, the PCA codec at one step, JPEG q=50
    _same_rows(fresh, [kept[(r["name"], r["kind"])] for r in fresh])


def _same_rows(a: list[dict], b: list[dict]) -> None:
    """Equal up to another CPU's rounding: 1e-4 relative, and for the classifier's accuracy 5 of the 10,000 digits
    (a code value rounded the other way changes a reading, and a file's size by a byte)."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if k == "classifier accuracy":
                assert x[k] == pytest.approx(y[k], abs=5e-4), (x["name"], x["kind"], k)
            elif isinstance(x[k], float) and not math.isinf(x[k]):
                assert x[k] == pytest.approx(y[k], rel=1e-4), (x["name"], x["kind"], k)
            else:
                assert x[k] == y[k], (x["name"], x["kind"], k)


def test_a_retrained_model_is_measured_again_and_only_it(mnist, checkpoint_copy, monkeypatch):
    stored = rd.load_stored(checkpoint_copy)
    stored["models"]["linear-32"]["key"]["weights_sha256"] = "an older checkpoint"
    rd.save_stored(stored, checkpoint_copy)
    measured = []
    real = rd.model_rows
    monkeypatch.setattr(rd, "model_rows", lambda spec, *a: measured.append(spec.name) or real(spec, *a))
    monkeypatch.setattr(rd, "baseline_rows", lambda *a, **k: pytest.fail("baselines measured again"))
    t = rd.rd_table(mnist, checkpoint_copy)
    assert measured == ["linear-32"]
    assert len(t[t["name"] == "linear-32"]) == 4
    meta = checkpoints.read_sidecar("linear-32", checkpoint_copy)
    kept = rd.load_stored(checkpoint_copy)["models"]["linear-32"]
    assert kept["key"]["weights_sha256"] == meta["weights_sha256"]  # stored again under the current key


def test_rd_page_renders_from_the_stored_points_and_never_rewrites_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path))
    shipped = (ROOT / "checkpoints" / rd.STORED).read_bytes()
    at = AppTest.from_file(str(ROOT / "pages/rd.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2
    assert any("bits per pixel" in m.value for m in at.markdown)
    at.segmented_control(key="rd_metric").set_value("classifier accuracy").run()
    assert not at.exception
    # Points the page had to measure (none, while the shipped ones are current) go to the workspace only.
    assert (ROOT / "checkpoints" / rd.STORED).read_bytes() == shipped


def test_each_dataset_keeps_its_own_baselines_in_the_store(tmp_path):
    rows = {"mnist": [{"name": "original"}], "fashion": [{"name": "original", "digits": 10000}]}
    rd.save_stored({"baselines": {"key": {"data": "digits"}, "rows": rows["mnist"]}}, tmp_path)  # before datasets
    assert rd._kept([rd.load_stored(tmp_path)], "mnist", {"data": "digits"}, "baselines") is None  # measured again
    for dataset, r in rows.items():
        fresh = {"models": {}, "entropy": {}, "baselines": {dataset: {"key": {"data": dataset}, "rows": r}}}
        rd._store(fresh, tmp_path)
    stores = [rd.load_stored(tmp_path)]
    assert set(stores[0]["baselines"]) == {"mnist", "fashion"}  # the second dataset's did not replace the first's
    assert all(rd._kept(stores, d, {"data": d}, "baselines") == r for d, r in rows.items())
    assert rd._kept(stores, "fashion", {"data": "mnist"}, "baselines") is None  # another key: not these points


@needs_fashion
def test_the_rd_page_charts_fashion_with_its_own_reader(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "pages/rd.py"), default_timeout=120)
    at.query_params["data"] = "fashion"
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2 and any("Fashion-MNIST" in c.value for c in at.caption)
    table = at.dataframe[-1].value
    assert set(table["name"]) >= {"fashion-linear-32", "fashion-conv-8", "original", "PNG"}
    assert "linear-32" not in set(table["name"]) and table["classifier accuracy"].between(0.5, 1).all()


def test_the_pca_codec_sends_real_files_that_decode_to_its_reconstructions(mnist):
    train = mnist.train_x[:3000].reshape(-1, 784) / 255.0
    pca = fit_pca(train)
    codes = pca.encode(train, 784)
    test = mnist.test_x[:30].reshape(-1, 784) / 255.0
    coarse, fine = (pca_files(pca, codes, test, step) for step in (2.0, 0.5))
    for r in (coarse, fine):
        assert all(len(f) > aelfile.HEADER_BYTES for f in r.files)  # 3 bytes of header, then the payload
        # The decoder's reconstruction: the kept components at their quantized values, decoded from the bytes.
        z = np.round(pca.encode(test, r.values) / r.step) * r.step
        np.testing.assert_allclose(r.reconstructions, np.clip(pca.decode(z), 0, 1), atol=1e-9)
    assert coarse.values < fine.values  # a finer step keeps more components (their variance above step² / 12)
    size = [np.mean([len(f) for f in r.files]) for r in (coarse, fine)]
    error = [np.mean((r.reconstructions - test) ** 2) for r in (coarse, fine)]
    assert size[0] < size[1] and error[0] > error[1]


def _points(codec: list[tuple[float, float]], pca: list[tuple[float, float]]) -> pd.DataFrame:
    rows = [(f"codec-{i}", "codec", "entropy coded", b, p) for i, (b, p) in enumerate(codec, 1)]
    rows += [(f"PCA Δ={i}", "PCA", rd.PCA_CODED, b, p) for i, (b, p) in enumerate(pca)]
    return pd.DataFrame(rows, columns=["name", "family", "kind", "bits per pixel", "PSNR (dB)"])


def test_the_targets_are_met_or_missed_by_what_the_points_say():
    t = _points([(0.07, 23.5), (0.5, 27.0), (0.9, 32.5)], [(0.08, 16.0), (0.5, 24.0), (1.0, 30.0)])
    met_low, missed_mid, met_high, pca = rd.target_findings(t)
    assert met_low.startswith("**23 dB at ≤ 0.08 bits per pixel: met** by 0.50 dB: codec-1")
    assert missed_mid.startswith("**28 dB at ≤ 0.55 bits per pixel: missed** by 1.00 dB: codec-2")
    assert "the curve reaches 28 dB at 0.556 bits per pixel" in missed_mid  # 27 -> 32.5 dB over 0.5 -> 0.9 bpp, log
    assert met_high.startswith("**32 dB at ≤ 1 bits per pixel: met** by 0.50 dB: codec-3")
    # Compared at every point of either curve inside both: 0.08 (+7.7 dB), 0.5 (+3.0), 0.9 (+3.4, PCA interpolated).
    assert pca.startswith("**Above the PCA codec at every rate: met**") and "at 0.500 bits per pixel (+3.00 dB)" in pca
    behind = rd.target_findings(_points([(0.3, 20.0), (1.0, 31.0)], [(0.3, 22.0), (1.0, 30.0)]))
    assert "**Above the PCA codec at every rate: missed**" in behind[-1] and "(-2.00 dB)" in behind[-1]
    assert "the curve never reaches 32 dB (its best: 31.00 dB)" in behind[2] and "that small" in behind[0]
