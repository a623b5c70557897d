"""Running models on many digits, batch by batch.

Every batched pass in ``ae`` goes through ``map_batches``: one place decides where a batch runs (the model's device,
in the model's preferred memory format) and how big it is, so metrics, quantization, the classifier, the analyses
and training's test loss all measure the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from ae.models.autoencoders import preferred_memory_format

T = TypeVar("T")

# Digits per forward pass: big enough for fast kernels, small enough that the conv models' first layer (200 kB a
# digit) stays in a core's cache; bigger batches were slower and much hungrier for memory (bench/README.md).
EVAL_BATCH = 128


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
