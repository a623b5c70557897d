"""Codes in bits: uniform quantization of a model's code to 8 or 4 bits per value.

The range [lo, hi] is the model's own: the smallest and largest code value over the 60,000 training digits,
stored in the checkpoint sidecar (``code_range``). The decoder is shared by sender and receiver (a "codebook"
sent once), so only the quantized code counts towards the bits per pixel.
"""

from __future__ import annotations

import torch
from torch import nn

from ae.measure.metrics import Quality, psnr, ssim
from ae.models.batching import EVAL_BATCH, map_batches, totals


def code_range(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> tuple[float, float]:
    """The smallest and largest value of ``model``'s codes of ``images``."""
    ends = map_batches(lambda x: model.encode(x).aminmax(), model, images, batch_size=batch_size)
    return min(float(lo) for lo, _ in ends), max(float(hi) for _, hi in ends)


def quantize(z: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    """Integer levels 0 .. 2^bits - 1 (values outside [lo, hi] are clipped)."""
    levels = 2**bits - 1
    return torch.round((z.clamp(lo, hi) - lo) / max(hi - lo, 1e-12) * levels)


def dequantize(q: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    return lo + q / (2**bits - 1) * (hi - lo)


def evaluate_quantized(
    model: nn.Module, images: torch.Tensor, lo: float, hi: float, bits: int | None, *, batch_size: int = EVAL_BATCH
) -> tuple[Quality, torch.Tensor]:
    """Quality when the code is sent at ``bits`` per value (None: float32 as is); also returns the outputs."""

    def step(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = model.encode(x)
        if bits is not None:
            z = dequantize(quantize(z, lo, hi, bits), lo, hi, bits)
        y = model.decode(z)
        return y, (y - x).pow(2).sum(), ssim(y, x).sum()

    parts = map_batches(step, model, images, batch_size=batch_size)
    sq, ss = totals(p[1:] for p in parts)
    mse = sq / images.numel()
    return Quality(mse, psnr(mse), ss / len(images)), torch.cat([p[0] for p in parts]).cpu()
