"""Watching a model learn: per-epoch snapshots of what it makes of eight fixed test digits, and of its first layer.

A ``Recorder`` is called once at the start of a run (epoch 0) and after every epoch. Each call runs the eight digits
through the model (1.4 ms for linear-32, 17 ms for conv-8, on one core of the 2-core Xeon; an epoch takes seconds)
and, when the model's first layer is a ``nn.Linear`` on the 784 pixels, keeps its first ``FILTERS`` rows as 28×28
images: the patterns that layer looks for. Everything is kept as uint8 images: a 50-epoch linear run's snapshots
take about 1 MB.

They are stored beside the checkpoint as ``NAME.snapshots.safetensors`` and the sidecar records their sha256, so a
file left over from another run is never replayed as this checkpoint's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from torch import nn

from ae.data.mnist import Mnist, to_float
from ae.models.autoencoders import PIXELS
from ae.models.batching import cat_batches
from ae.runtime.fileio import atomic_write

DIGITS = 8  # fixed test digits whose reconstructions are kept
FILTERS = 16  # first-layer filters kept as images
SIDECAR_KEY = "snapshots_sha256"  # the sidecar's record of the snapshots that belong to its weights
SUFFIX = ".snapshots.safetensors"


@dataclass(frozen=True)
class Snapshots:
    """Row 0 of each series is the model at its start, row e the model after epoch e."""

    indices: np.ndarray  # (DIGITS,) int64: which test digits
    digits: np.ndarray  # (DIGITS, 28, 28) uint8: the digits themselves
    reconstructions: np.ndarray  # (epochs + 1, DIGITS, 28, 28) uint8
    filters: np.ndarray | None = None  # (epochs + 1, k ≤ FILTERS, 28, 28) uint8, 128 = a zero weight

    @property
    def epochs(self) -> int:
        return len(self.reconstructions) - 1


def fixed_indices(labels: np.ndarray, count: int = DIGITS) -> np.ndarray:
    """The first test digit of each label 0, 1, 2, … (``count`` labels), so every run watches the same digits;
    topped up with the earliest other digits if some label is missing."""
    labels = np.asarray(labels)
    firsts = [int(np.flatnonzero(labels == k)[0]) for k in range(10) if (labels == k).any()][:count]
    rest = [i for i in range(len(labels)) if i not in firsts][: count - len(firsts)]
    return np.array(firsts + rest, dtype=np.int64)


def first_layer(model: nn.Module) -> nn.Linear | None:
    """The model's first ``nn.Linear`` on the 784 pixels (in ``modules()`` order), or None (a conv model)."""
    return next((m for m in model.modules() if isinstance(m, nn.Linear) and m.in_features == PIXELS), None)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Images in [0, 1] as uint8."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def signed_images(weights: np.ndarray) -> np.ndarray:
    """(k, 784) weights as (k, 28, 28) uint8 images, each scaled on its own: mid-grey is 0, white and black the
    largest positive and negative weight in the central 20×20 box, where MNIST puts the digits. The rim is clipped:
    its pixels are black in (nearly) every digit, so their weights barely move from the start and would grey out
    the pattern."""
    w = np.asarray(weights, dtype=np.float64).reshape(len(weights), 28, 28)
    peak = np.abs(w[:, 4:24, 4:24]).reshape(len(w), -1).max(axis=1).reshape(-1, 1, 1)
    return np.round(127.5 + 127.5 * w / np.maximum(peak, 1e-12)).clip(0, 255).astype(np.uint8)


class Recorder:
    """Collects one snapshot per call; ``snapshots()`` is what has been seen so far (new arrays every call, so a
    reader in another thread may keep them)."""

    def __init__(self, data: Mnist, count: int = DIGITS) -> None:
        self.indices = fixed_indices(data.test_y, count)
        self.digits = data.test_x[self.indices]
        self._inputs = to_float(self.digits)
        self._reconstructions: list[np.ndarray] = []
        self._filters: list[np.ndarray] = []

    def record(self, model: nn.Module) -> Snapshots:
        """Snapshot ``model`` (in eval mode, autograd off: the run's weights and generators are untouched)."""
        out = cat_batches(model, model, self._inputs)
        self._reconstructions.append(to_uint8(out.reshape(-1, 28, 28).float().numpy()))
        layer = first_layer(model)
        if layer is not None:
            self._filters.append(signed_images(layer.weight.detach()[:FILTERS].float().cpu().numpy()))
        return self.snapshots()

    def snapshots(self) -> Snapshots:
        filters = np.stack(self._filters) if self._filters else None
        return Snapshots(self.indices, self.digits, np.stack(self._reconstructions), filters)


def path(name: str, directory: Path | str) -> Path:
    return Path(directory) / f"{name}{SUFFIX}"


def encode(snaps: Snapshots) -> bytes:
    arrays = {"indices": snaps.indices, "digits": snaps.digits, "reconstructions": snaps.reconstructions}
    if snaps.filters is not None:
        arrays["filters"] = snaps.filters
    return st_save({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata={"format": "aelab-snapshots"})


def save(snaps: Snapshots, name: str, directory: Path | str) -> str:
    """Write ``name``'s snapshots atomically; returns their sha256, for the sidecar."""
    blob = encode(snaps)
    atomic_write(path(name, directory), blob)
    return hashlib.sha256(blob).hexdigest()


def load(name: str, directory: Path | str, meta: dict) -> Snapshots | None:
    """The snapshots stored with the checkpoint whose sidecar is ``meta``; None when it has none (a shipped
    checkpoint, one trained before snapshots were kept) or the file is not the one the sidecar names."""
    sha = meta.get(SIDECAR_KEY)
    try:
        blob = path(name, directory).read_bytes() if sha else b""
    except OSError:
        return None
    if not blob or hashlib.sha256(blob).hexdigest() != sha:
        return None
    try:
        return decode(blob)
    except (SafetensorError, ValueError, KeyError):
        return None


def decode(blob: bytes) -> Snapshots:
    """Snapshots from ``encode``'s bytes; ValueError when the arrays do not fit together."""
    a = st_load(blob)
    snaps = Snapshots(a["indices"], a["digits"], a["reconstructions"], a.get("filters"))
    n, e = len(snaps.indices), len(snaps.reconstructions)
    if snaps.digits.shape != (n, 28, 28) or snaps.reconstructions.shape != (e, n, 28, 28) or e < 1:
        raise ValueError("snapshot shapes do not fit together")
    if snaps.filters is not None and (snaps.filters.ndim != 4 or snaps.filters.shape[::2] != (e, 28)):
        raise ValueError("filter snapshots do not fit the reconstructions")
    return snaps


def code_share(weight: np.ndarray, components: np.ndarray, variances: np.ndarray) -> float:
    """How much of the variance of a first layer's output on the digits the leading k = len(weight) principal
    ``components`` explain (their scores are uncorrelated, so each adds λⱼ·‖W vⱼ‖²). 1 when the layer's filters
    span the same space as those components; for random filters, the share of the digits' variance they hold."""
    w = np.asarray(weight, dtype=np.float64)
    per_component = np.asarray(variances) * ((w @ components.T) ** 2).sum(axis=0)
    return float(per_component[: len(w)].sum() / max(per_component.sum(), 1e-30))
