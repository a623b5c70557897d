"""Rate–distortion: every model, quantized code, PCA and image codec as (bits per pixel, quality) points.

All measured on the MNIST test digits: bits are counted from real code sizes (and real codec bytes), quality
is MSE, PSNR, SSIM and the reference classifier's accuracy on the reconstructions.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
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


def _row(name: str, family: str, kind: str, *, values, bits, bpp: float, q: Quality, acc: float, n: int) -> dict:
    """One point of the chart, its values in COLUMNS' order."""
    ratio = values / PIXELS if values else None
    return dict(
        zip(COLUMNS, [name, family, kind, values, bits, bpp, ratio, q.mse, q.psnr, q.ssim, acc, n], strict=True)
    )


def _classifier(source: checkpoints.Folders):
    folder, _ = source.resolve(CLASSIFIER.name, {CLASSIFIER.name: CLASSIFIER})
    model, meta = checkpoints.load(CLASSIFIER.name, folder, {CLASSIFIER.name: CLASSIFIER})
    return model, meta["weights_sha256"]


def _accuracy(clf: torch.nn.Module, y: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(clf, y) == labels[: len(y)]).float().mean())


def model_rows(spec: ModelSpec, model: torch.nn.Module, meta: dict, data: Mnist, clf: torch.nn.Module) -> list[dict]:
    """A model's points: its code sent as float32, at 8 and at 4 bits per value."""
    x, labels = data.test_images(), torch.from_numpy(data.test_y)
    values = measure_code(model).values
    lo, hi = meta.get("code_range") or code_range(model, data.train_images())
    rows = []
    for bits in CODE_BITS:
        q, y = evaluate_quantized(model, x, lo, hi, bits)
        b = bits or 32
        kind = "float32 code" if bits is None else f"{bits}-bit code"
        acc = _accuracy(clf, y, labels)
        rows.append(
            _row(spec.name, spec.family, kind, values=values, bits=b, bpp=values * b / PIXELS, q=q, acc=acc, n=len(x))
        )
    return rows


def baseline_rows(
    data: Mnist,
    clf: torch.nn.Module,
    pca_sizes: list[int],
    *,
    codecs: list[tuple[str, int | None]] | None = None,
    codec_digits: int | None = None,
    log=None,
) -> list[dict]:
    """The original digits, PCA at each code size (float32 and 8-bit) and the image codecs."""
    x, labels = data.test_images(), torch.from_numpy(data.test_y)
    n = len(x)
    original = Quality(0.0, float("inf"), 1.0)
    acc = _accuracy(clf, x, labels)
    rows = [_row("original", "original", "8-bit pixels", values=None, bits=8, bpp=8.0, q=original, acc=acc, n=n)]
    train_flat = data.train_x.reshape(-1, PIXELS) / 255.0
    pca = fit_pca(train_flat)
    flat = data.test_x.reshape(-1, PIXELS) / 255.0
    for k in sorted(pca_sizes):
        z = pca.encode(train_flat, k)
        lo, hi = float(z.min()), float(z.max())
        for bits in (None, 8):
            y = to_tensor(pca_reconstruct(pca, flat, k, bits, lo=lo, hi=hi))
            b = bits or 32
            kind = "float32 code" if bits is None else "8-bit code"
            acc = _accuracy(clf, y, labels)
            rows.append(
                _row(f"PCA-{k}", "PCA", kind, values=k, bits=b, bpp=k * b / PIXELS, q=_quality(x, y), acc=acc, n=n)
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
        acc = _accuracy(clf, y, labels)
        rows.append(_row(label, family, kind, values=None, bits=None, bpp=bpp, q=_quality(xs, y), acc=acc, n=m))
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


def stored_path(directory: Path | str = checkpoints.SHIPPED_DIR) -> Path:
    return Path(directory) / STORED


def load_stored(directory: Path | str = checkpoints.SHIPPED_DIR) -> dict:
    try:
        stored = json.loads(stored_path(directory).read_text())
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def save_stored(stored: dict, directory: Path | str) -> None:
    with contextlib.suppress(OSError):  # a read-only folder still shows the chart; it is just measured again
        atomic_write(stored_path(directory), (json.dumps(stored, indent=1) + "\n").encode())


def stored_files(directory: Path | str | checkpoints.Folders | None = None) -> list[Path]:
    """The rd.json files read for ``directory`` (see ``checkpoints.folders``), the one written to first."""
    source = checkpoints.folders(directory)
    files = [stored_path(source.writable)]
    if source.workspace is not None:
        files.append(stored_path(source.shipped))
    return files


def _kept(stores: list[dict], name: str | None, key: dict) -> list[dict] | None:
    """Stored rows of model ``name`` (None: the baselines) whose key matches, from the first store that has them.
    A retrained model's points are in the workspace's store, the shipped model's in the shipped one."""
    for stored in stores:
        kept = stored.get("baselines") if name is None else stored.get("models", {}).get(name)
        if kept and kept.get("key") == key:
            return kept["rows"]
    return None


def _store(fresh: dict, directory: Path) -> None:
    stored = load_stored(directory)  # re-read: another session may have stored points meanwhile
    stored.setdefault("models", {}).update(fresh["models"])
    if fresh["baselines"]:
        stored["baselines"] = fresh["baselines"]
    save_stored(stored, directory)


@dataclass
class _Pass:
    """One rd_table call: what every model's points need, and the points measured in it (to store)."""

    data: Mnist
    source: checkpoints.Folders
    registry: dict[str, ModelSpec]
    clf: torch.nn.Module
    clf_sha: str
    stores: list[dict]
    budget: Callable[[], AbstractContextManager]
    log: Callable[[str], None] | None = None
    t0: float = field(default_factory=time.perf_counter)
    fresh: dict = field(default_factory=lambda: {"models": {}, "baselines": None})


def _model_points(name: str, run: _Pass) -> list[dict] | None:
    """Model ``name``'s points, stored or measured (and then added to ``run.fresh``); None without a usable
    checkpoint."""
    folder, _ = run.source.resolve(name, run.registry)
    try:
        meta = checkpoints.read_sidecar(name, folder)
    except checkpoints.CheckpointError:
        return None
    key = model_key(meta, run.data, run.clf_sha)
    points = _kept(run.stores, name, key)
    if points is None:
        try:
            model, meta = checkpoints.load(name, folder, run.registry)
        except checkpoints.CheckpointError:
            return None
        with run.budget():
            points = model_rows(run.registry[name], model, meta, run.data, run.clf)
        run.fresh["models"][name] = {"key": key, "rows": points}
        if run.log:
            run.log(f"{name} measured: {time.perf_counter() - run.t0:.1f} s")
    return points


def rd_table(
    data: Mnist,
    directory: Path | str | checkpoints.Folders | None = None,
    registry: dict[str, ModelSpec] | None = None,
    *,
    remeasure: bool = False,
    save: bool = True,
    codec_digits: int | None = None,
    log=None,
    budget: Callable[[], AbstractContextManager] = contextlib.nullcontext,
) -> pd.DataFrame:
    """One row per point of the rate–distortion chart.

    Points are measured on the test digits and kept in ``rd.json`` under a key of everything they depend on
    (weights hash, classifier hash, data fingerprint, settings). Measuring them all takes a minute, reading them
    milliseconds: points whose key still matches are read unless ``remeasure``; a model retrained since is measured.

    ``directory`` is read as ``checkpoints.folders`` says: by default each model from the folder that serves it,
    points from the workspace's rd.json and then the shipped one, new points written to the workspace's only. A
    folder named explicitly is read and written alone (``python -m ae rd --checkpoints checkpoints`` rewrites the
    shipped points). Each measurement runs inside ``budget()`` (the app passes its core budget), so that reading
    stored points never waits for a core.
    """
    registry = REGISTRY if registry is None else registry
    source = checkpoints.folders(directory)
    clf, clf_sha = _classifier(source)
    stores = [] if remeasure else [load_stored(f.parent) for f in stored_files(source)]
    run = _Pass(
        data=data, source=source, registry=registry, clf=clf, clf_sha=clf_sha, stores=stores, budget=budget, log=log
    )
    rows, sizes = [], set()
    for name in registry:
        model_points = _model_points(name, run)
        if model_points:
            rows += model_points
            sizes.add(int(model_points[0]["code values"]))
    key = baseline_key(data, clf_sha, sorted(sizes))
    base = None if codec_digits else _kept(stores, None, key)
    if base is None:
        with budget():
            base = baseline_rows(data, clf, sorted(sizes), codec_digits=codec_digits, log=log)
        if not codec_digits:  # a partial codec run is not the chart's data
            run.fresh["baselines"] = {"key": key, "rows": base}
    if save and (run.fresh["models"] or run.fresh["baselines"]):
        _store(run.fresh, source.writable)
    if log:
        log(f"all points: {time.perf_counter() - run.t0:.1f} s")
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
