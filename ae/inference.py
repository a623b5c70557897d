"""Running models on many digits, and on the single digits of the interactive pages.

Every batched pass in ``ae`` goes through ``map_batches``: one place decides where a batch runs (the model's device,
in the model's preferred memory format) and how big it is, so metrics, quantization, the classifier, the analyses
and training's test loss all measure the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ae.cores import torch_threads
from ae.models import preferred_memory_format

T = TypeVar("T")

# Digits per forward pass: big enough for fast kernels, small enough that the conv models' first layer (200 kB a
# digit) stays in a core's cache; bigger batches were slower and much hungrier for memory (bench/README.md).
EVAL_BATCH = 128
# A stroke is a handful of single-digit passes: a second intra-op thread does not speed them up, and its barrier
# waits beside a busy core (a retrain in the same server) made the Draw page's worst strokes several times slower.
INFERENCE_THREADS = 1


def to_model(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` on ``model``'s device; an image batch also in the model's memory format (channels-last for conv
    models, whose oneDNN kernels are fastest in it)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = x.to(device)
    return x.contiguous(memory_format=preferred_memory_format(model)) if x.dim() == 4 else x


def map_batches(
    fn: Callable[..., T], model: nn.Module, *tensors: torch.Tensor, batch_size: int = EVAL_BATCH
) -> list[T]:
    """``fn(*batch)`` for each run of ``batch_size`` rows of ``tensors`` (all as long as the first; the last batch
    may be shorter), each placed by ``to_model``, with ``model`` in eval mode and autograd off."""
    model.eval()
    n = len(tensors[0])
    with torch.inference_mode():
        return [fn(*(to_model(model, t[i : i + batch_size]) for t in tensors)) for i in range(0, n, batch_size)]


def cat_batches(fn: Callable[..., torch.Tensor], model: nn.Module, *tensors, batch_size: int = EVAL_BATCH):
    """``map_batches``' results concatenated along the batch dimension, on the CPU."""
    return torch.cat(map_batches(fn, model, *tensors, batch_size=batch_size)).cpu()


def totals(parts: Iterable) -> tuple[float, ...]:
    """Per-batch values (a number, or a tuple of numbers, each) summed position by position as Python floats in
    batch order, so a sum does not depend on where the batches ran."""
    rows = [part if isinstance(part, tuple) else (part,) for part in parts]
    return tuple(sum((float(v) for v in column), 0.0) for column in zip(*rows, strict=True))


def sum_batches(fn: Callable, model: nn.Module, *tensors, batch_size: int = EVAL_BATCH) -> tuple[float, ...]:
    """``totals`` of ``fn`` over the batches, e.g. summed squared errors."""
    return totals(map_batches(fn, model, *tensors, batch_size=batch_size))


def mean_squared_error(model: nn.Module, targets: torch.Tensor, inputs: torch.Tensor | None = None) -> float:
    """Mean per-pixel MSE between ``model(inputs)`` (default: the targets themselves) and ``targets``."""
    (total,) = sum_batches(
        lambda x, t: F.mse_loss(model(x), t, reduction="sum"), model, targets if inputs is None else inputs, targets
    )
    return total / targets.numel()


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
    from ae.metrics import psnr  # here, not at the top: ae.metrics batches through this module

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
    from ae.classifier import read_digits  # here, not at the top: ae.classifier batches through this module

    with torch_threads(INFERENCE_THREADS):
        recs = {name: _reconstruct(m, digit) for name, m in models.items()}
        if reader is None:
            return None, recs
        first, *rest = read_digits(reader, [digit, *(r.image for r in recs.values())])
    return first, {name: replace(r, reads=x) for (name, r), x in zip(recs.items(), rest, strict=True)}
