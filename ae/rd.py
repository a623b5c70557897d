"""Rate–distortion: every model, quantized code, PCA and image codec as (bits per pixel, quality) points.

All measured on the MNIST test digits: bits are counted from real code sizes (and real codec bytes), quality
is MSE, PSNR, SSIM and the reference classifier's accuracy on the reconstructions.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pandas as pd
import PIL
import torch

from ae import checkpoints
from ae.baselines import CODEC_OPTIONS, fit_pca, pca_reconstruct, run_codec, to_tensor
from ae.classifier import SPEC as CLASSIFIER
from ae.classifier import predict
from ae.data import Mnist
from ae.fileio import atomic_write
from ae.metrics import Quality, measure_code, psnr, ssim
from ae.models import PIXELS
from ae.quantize import code_range, evaluate_quantized
from ae.registry import REGISTRY, ModelSpec

CODE_BITS = (None, 8, 4)  # float32 as is, then 8 and 4 bits per value
JPEG_QUALITIES = (5, 10, 20, 35, 50, 75, 95)
WEBP_QUALITIES = (0, 5, 20, 50, 80)
CODECS = [("PNG", None)] + [("JPEG", q) for q in JPEG_QUALITIES] + [("WEBP", q) for q in WEBP_QUALITIES]
RD_VERSION = 2  # bump when the measurement changes, so stored points are measured again
STORED = "rd.json"
COLUMNS = [
    "name", "family", "kind", "code values", "bits per value", "bits per pixel", "compression ratio",
    "MSE", "PSNR (dB)", "SSIM", "classifier accuracy", "digits",
]  # fmt: skip


def _quality(x: torch.Tensor, y: torch.Tensor) -> Quality:
    mse = float((y - x).pow(2).mean())
    return Quality(mse, psnr(mse), float(ssim(y, x).mean()))


def _row(name, family, kind, values, bits_per_value, bpp, q: Quality, acc: float, n: int) -> dict:
    return dict(zip(COLUMNS, [name, family, kind, values, bits_per_value, bpp, values / PIXELS if values else
                              None, q.mse, q.psnr, q.ssim, acc, n], strict=True))  # fmt: skip


def _classifier(directory: Path | str):
    model, meta = checkpoints.load(CLASSIFIER.name, directory, {CLASSIFIER.name: CLASSIFIER})
    return model, meta["weights_sha256"]


def _accuracy(clf: torch.nn.Module, y: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(clf, y) == labels[: len(y)]).float().mean())


def model_rows(
    name: str, spec: ModelSpec, model: torch.nn.Module, meta: dict, data: Mnist, clf: torch.nn.Module
) -> list[dict]:
    """A model's points: its code sent as float32, at 8 and at 4 bits per value."""
    x, labels = data.test_images(), torch.from_numpy(data.test_y)
    values = measure_code(model).values
    lo, hi = meta.get("code_range") or code_range(model, data.train_images())
    rows = []
    for bits in CODE_BITS:
        q, y = evaluate_quantized(model, x, lo, hi, bits)
        b = bits or 32
        kind = "float32 code" if bits is None else f"{bits}-bit code"
        rows.append(_row(name, spec.family, kind, values, b, values * b / PIXELS, q, _accuracy(clf, y, labels), len(x)))
    return rows


def baseline_rows(
    data: Mnist,
    clf: torch.nn.Module,
    pca_sizes: list[int],
    codecs: list[tuple[str, int | None]] | None = None,
    codec_digits: int | None = None,
    log=None,
) -> list[dict]:
    """The original digits, PCA at each code size (float32 and 8-bit) and the image codecs."""
    x, labels = data.test_images(), torch.from_numpy(data.test_y)
    n = len(x)
    original = Quality(0.0, float("inf"), 1.0)
    rows = [_row("original", "original", "8-bit pixels", None, 8, 8.0, original, _accuracy(clf, x, labels), n)]
    train_flat = data.train_x.reshape(-1, PIXELS) / 255.0
    pca = fit_pca(train_flat)
    flat = data.test_x.reshape(-1, PIXELS) / 255.0
    for k in sorted(pca_sizes):
        z = pca.encode(train_flat, k)
        lo, hi = float(z.min()), float(z.max())
        for bits in (None, 8):
            y = to_tensor(pca_reconstruct(pca, flat, k, bits, lo, hi))
            b = bits or 32
            kind = "float32 code" if bits is None else "8-bit code"
            rows.append(
                _row(f"PCA-{k}", "PCA", kind, k, b, k * b / PIXELS, _quality(x, y), _accuracy(clf, y, labels), n)
            )
    if log:
        log("PCA measured")
    m = codec_digits or n
    digits, xs = data.test_x[:m], x[:m]
    for codec, quality in CODECS if codecs is None else codecs:
        r = run_codec(digits, codec, quality)
        y = to_tensor(r.reconstructions)
        label = codec if quality is None else f"{codec} q={quality}"
        family = {"WEBP": "WebP"}.get(codec, codec)
        kind = "lossless" if codec == "PNG" else "lossy"
        bpp = r.mean_bytes * 8 / PIXELS
        rows.append(_row(label, family, kind, None, None, bpp, _quality(xs, y), _accuracy(clf, y, labels), m))
    if log:
        log("codecs measured")
    return rows


def model_key(meta: dict, data: Mnist, classifier_sha: str) -> dict:
    """Everything a model's points depend on: when any of it changes, the stored points are not shown."""
    return {
        "version": RD_VERSION,
        "weights_sha256": meta.get("weights_sha256"),
        "classifier_sha256": classifier_sha,
        "data": data.fingerprint,
        "code_bits": [b or 32 for b in CODE_BITS],
    }


def baseline_key(data: Mnist, classifier_sha: str, pca_sizes: list[int]) -> dict:
    return {
        "version": RD_VERSION,
        "classifier_sha256": classifier_sha,
        "data": data.fingerprint,
        "pca_sizes": sorted(pca_sizes),
        "codecs": [list(c) for c in CODECS],
        "codec_options": CODEC_OPTIONS,
        "pillow": PIL.__version__,
    }


def stored_path(directory: Path | str = checkpoints.DEFAULT_DIR) -> Path:
    return Path(directory) / STORED


def load_stored(directory: Path | str = checkpoints.DEFAULT_DIR) -> dict:
    try:
        stored = json.loads(stored_path(directory).read_text())
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def save_stored(stored: dict, directory: Path | str = checkpoints.DEFAULT_DIR) -> None:
    with contextlib.suppress(OSError):  # a read-only checkout still shows the chart; it is just measured again
        atomic_write(stored_path(directory), (json.dumps(stored, indent=1) + "\n").encode())


def rd_table(
    data: Mnist,
    directory: Path | str = checkpoints.DEFAULT_DIR,
    registry: dict[str, ModelSpec] | None = None,
    *,
    remeasure: bool = False,
    save: bool = True,
    codec_digits: int | None = None,
    log=None,
) -> pd.DataFrame:
    """One row per point of the rate–distortion chart.

    Points are measured on the test digits and kept in ``checkpoints/rd.json`` under a key of everything they
    depend on (weights hash, classifier hash, data fingerprint, settings). Measuring all of them takes about a
    minute on 2 cores (57 classifier passes over 10,000 digits, 130,000 codec round trips), reading them
    milliseconds; so points whose key still matches are read unless ``remeasure``, and any model retrained since
    is measured again. ``python -m ae rd`` re-measures everything.
    """
    registry = REGISTRY if registry is None else registry
    t0 = time.perf_counter()
    clf, clf_sha = _classifier(directory)
    stored = {} if remeasure else load_stored(directory)
    fresh = {"models": {}, "baselines": None}
    rows, sizes = [], set()
    for name, spec in registry.items():
        if spec.group not in ("seed", "matched"):
            continue  # denoisers answer another question
        try:
            meta = checkpoints.read_sidecar(name, directory)
        except checkpoints.CheckpointError:
            continue
        key = model_key(meta, data, clf_sha)
        kept = stored.get("models", {}).get(name)
        if kept and kept.get("key") == key:
            model_points = kept["rows"]
        else:
            try:
                model, meta = checkpoints.load(name, directory, registry)
            except checkpoints.CheckpointError:
                continue
            model_points = model_rows(name, spec, model, meta, data, clf)
            fresh["models"][name] = {"key": key, "rows": model_points}
            if log:
                log(f"{name} measured: {time.perf_counter() - t0:.1f} s")
        rows += model_points
        sizes.add(int(model_points[0]["code values"]))
    key = baseline_key(data, clf_sha, sorted(sizes))
    kept = stored.get("baselines")
    if kept and kept.get("key") == key and not codec_digits:
        base = kept["rows"]
    else:
        base = baseline_rows(data, clf, sorted(sizes), codec_digits=codec_digits, log=log)
        if not codec_digits:  # a partial codec run is not the chart's data
            fresh["baselines"] = {"key": key, "rows": base}
    if save and (fresh["models"] or fresh["baselines"]):
        stored = load_stored(directory)  # re-read: another session may have stored points meanwhile
        stored.setdefault("models", {}).update(fresh["models"])
        if fresh["baselines"]:
            stored["baselines"] = fresh["baselines"]
        save_stored(stored, directory)
    if log:
        log(f"all points: {time.perf_counter() - t0:.1f} s")
    return pd.DataFrame(base[:1] + rows + base[1:], columns=COLUMNS)


def findings(table: pd.DataFrame) -> list[str]:
    """Plain sentences about the chart, computed from its rows (nothing here is written in advance)."""
    out = []
    lossy = table[(table["family"] != "original") & (table["kind"] != "lossless")]
    for limit in (0.5, 1.0):
        under = lossy[lossy["bits per pixel"] < limit]
        if not under.empty:
            best = under.loc[under["PSNR (dB)"].idxmax()]
            out.append(
                f"Below {limit:g} bit per pixel the best reconstruction is {best['name']} ({best['kind']}): "
                f"{best['PSNR (dB)']:.1f} dB at {best['bits per pixel']:.2f} bits per pixel."
            )
    png = table[table["family"] == "PNG"]
    if not png.empty:
        p = png.iloc[0]
        beat = lossy[(lossy["bits per pixel"] < p["bits per pixel"]) & (lossy["classifier accuracy"] >= 0.99)]
        out.append(
            f"Lossless PNG needs {p['bits per pixel']:.2f} bits per pixel; {len(beat)} lossy points use fewer bits and "
            f"still read as the right digit for at least 99% of the test digits."
        )
    reads = lossy[lossy["classifier accuracy"] >= 0.98]
    if not reads.empty:
        cheapest = reads.loc[reads["bits per pixel"].idxmin()]
        out.append(
            f"The fewest bits that keep the classifier at 98% or better: {cheapest['name']} ({cheapest['kind']}), "
            f"{cheapest['bits per pixel']:.3f} bits per pixel, {100 * cheapest['classifier accuracy']:.1f}% correct."
        )
    return out
