"""One digit at a time, for the interactive pages: each model's reconstruction of a drawing, and what the reference
classifier reads in it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ae.measure.classifier import read_digits
from ae.measure.metrics import psnr
from ae.models.batching import cat_batches
from ae.runtime.cores import torch_threads

# A stroke is a handful of single-digit passes: a second intra-op thread does not speed them up, and its barrier
# waits beside a busy core (a retrain in the same server) made the Draw page's worst strokes several times slower.
INFERENCE_THREADS = 1


@dataclass(frozen=True)
class Reconstruction:
    image: np.ndarray  # (28, 28) float32 in [0, 1]
    error: np.ndarray  # |input - reconstruction|, (28, 28)
    mse: float
    psnr: float
    reads: tuple[int, float] | None = None  # the reference classifier's digit and confidence, when asked


def reconstruct_digit(model: nn.Module, digit: np.ndarray) -> Reconstruction:
    """Run one 28x28 digit in [0, 1] through ``model``."""
    with torch_threads(INFERENCE_THREADS):
        return _reconstruct(model, digit)


def _reconstruct(model: nn.Module, digit: np.ndarray) -> Reconstruction:
    x = torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32)).reshape(1, 1, 28, 28)
    y = cat_batches(model, model, x)[0, 0].numpy()
    err = np.abs(digit - y)
    mse = float(np.mean(err**2))
    return Reconstruction(image=y, error=err, mse=mse, psnr=psnr(mse))


def reconstruct_all(
    models: dict[str, nn.Module], digit: np.ndarray, reader: nn.Module | None = None
) -> tuple[tuple[int, float] | None, dict[str, Reconstruction]]:
    """Everything the Draw page shows for one digit: each model's reconstruction and, with ``reader``, what the
    classifier reads in the input and in each reconstruction (in one batched pass, much cheaper than one by one)."""
    with torch_threads(INFERENCE_THREADS):
        recs = {name: _reconstruct(m, digit) for name, m in models.items()}
        if reader is None:
            return None, recs
        labels, confidences = read_digits(reader, [digit, *(r.image for r in recs.values())])
        first, *rest = [(int(d), float(c)) for d, c in zip(labels, confidences, strict=True)]
    return first, {name: replace(r, reads=x) for (name, r), x in zip(recs.items(), rest, strict=True)}
