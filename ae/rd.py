"""Rate–distortion: every model, quantized code, PCA and image codec as (bits per pixel, quality) points.

All measured on the MNIST test digits: bits are counted from real code sizes (and real codec bytes), quality
is MSE, PSNR, SSIM and the reference classifier's accuracy on the reconstructions.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path

import pandas as pd
import torch

from ae import checkpoints
from ae.baselines import fit_pca, pca_reconstruct, run_codec, to_tensor
from ae.classifier import SPEC as CLASSIFIER
from ae.classifier import predict
from ae.data import Mnist, cache_dir
from ae.fileio import atomic_write
from ae.metrics import Quality, measure_code, psnr, ssim
from ae.models import PIXELS
from ae.quantize import code_range, evaluate_quantized
from ae.registry import REGISTRY, ModelSpec

CODE_BITS = (None, 8, 4)  # float32 as is, then 8 and 4 bits per value
JPEG_QUALITIES = (5, 10, 20, 35, 50, 75, 95)
WEBP_QUALITIES = (0, 5, 20, 50, 80)
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


def rd_table(
    data: Mnist,
    directory: Path | str = checkpoints.DEFAULT_DIR,
    registry: dict[str, ModelSpec] | None = None,
    codec_digits: int | None = None,
    log=None,
) -> pd.DataFrame:
    """One row per point of the rate–distortion chart."""
    registry = REGISTRY if registry is None else registry
    t0 = time.perf_counter()
    clf, _ = checkpoints.load(CLASSIFIER.name, directory, {CLASSIFIER.name: CLASSIFIER})
    x = data.test_images()
    labels = torch.from_numpy(data.test_y)
    n = len(x)

    def acc(y: torch.Tensor) -> float:
        return float((predict(clf, y) == labels[: len(y)]).float().mean())

    rows = [_row("original", "original", "8-bit pixels", None, 8, 8.0, Quality(0.0, float("inf"), 1.0), acc(x), n)]
    train = data.train_images()
    sizes = set()
    for name, spec in registry.items():
        if spec.group not in ("seed", "matched"):
            continue  # denoisers answer another question
        try:
            model, meta = checkpoints.load(name, directory, registry)
        except checkpoints.CheckpointError:
            continue
        values = measure_code(model).values
        sizes.add(values)
        lo, hi = meta.get("code_range") or code_range(model, train)
        for bits in CODE_BITS:
            q, y = evaluate_quantized(model, x, lo, hi, bits)
            b = bits or 32
            kind = "float32 code" if bits is None else f"{bits}-bit code"
            rows.append(_row(name, spec.family, kind, values, b, values * b / PIXELS, q, acc(y), n))
    if log:
        log(f"models: {time.perf_counter() - t0:.1f} s")

    pca = fit_pca(data.train_x.reshape(-1, PIXELS) / 255.0)
    flat = data.test_x.reshape(-1, PIXELS) / 255.0
    train_flat = data.train_x.reshape(-1, PIXELS) / 255.0
    for k in sorted(sizes):
        z = pca.encode(train_flat, k)
        lo, hi = float(z.min()), float(z.max())
        for bits in (None, 8):
            y = to_tensor(pca_reconstruct(pca, flat, k, bits, lo, hi))
            b = bits or 32
            kind = "float32 code" if bits is None else "8-bit code"
            rows.append(_row(f"PCA-{k}", "PCA", kind, k, b, k * b / PIXELS, _quality(x, y), acc(y), n))
    if log:
        log(f"+ PCA: {time.perf_counter() - t0:.1f} s")

    m = codec_digits or n
    digits, xs = data.test_x[:m], x[:m]
    settings = [("PNG", None)] + [("JPEG", q) for q in JPEG_QUALITIES] + [("WEBP", q) for q in WEBP_QUALITIES]
    for codec, quality in settings:
        r = run_codec(digits, codec, quality)
        y = to_tensor(r.reconstructions)
        label = codec if quality is None else f"{codec} q={quality}"
        family = {"WEBP": "WebP"}.get(codec, codec)
        kind = "lossless" if codec == "PNG" else "lossy"
        rows.append(_row(label, family, kind, None, None, r.mean_bytes * 8 / PIXELS, _quality(xs, y), acc(y), m))
    if log:
        log(f"+ codecs: {time.perf_counter() - t0:.1f} s")
    return pd.DataFrame(rows, columns=COLUMNS)


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


RD_VERSION = 1  # bump when the measurement changes, so old cached tables are not reused


def cache_key(data: Mnist, directory: Path | str, registry: dict[str, ModelSpec]) -> str:
    """Changes whenever any input of the table does: weights, data, settings."""
    parts = [str(RD_VERSION), data.fingerprint, repr((CODE_BITS, JPEG_QUALITIES, WEBP_QUALITIES))]
    for name in [*registry, CLASSIFIER.name]:
        try:
            parts.append(f"{name}:{checkpoints.read_sidecar(name, directory).get('weights_sha256')}")
        except checkpoints.CheckpointError:
            parts.append(f"{name}:-")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def rd_table_cached(
    data: Mnist, directory: Path | str = checkpoints.DEFAULT_DIR, registry: dict[str, ModelSpec] | None = None
) -> pd.DataFrame:
    """rd_table, kept as CSV in the user cache folder: computing it takes minutes on 2 cores, reading it
    milliseconds, and the key changes with every checkpoint, so a stale table is never shown."""
    registry = REGISTRY if registry is None else registry
    path = cache_dir() / f"rd-{cache_key(data, directory, registry)}.csv"
    if path.exists():
        return pd.read_csv(path)
    table = rd_table(data, directory, registry)
    with contextlib.suppress(OSError):
        atomic_write(path, table.to_csv(index=False).encode())
    return table
