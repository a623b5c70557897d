"""Codes in bits: uniform quantization of a model's code to 8 or 4 bits per value.

The range [lo, hi] is the model's own: the smallest and largest code value over the 60,000 training digits,
stored in the checkpoint sidecar (``code_range``). The decoder is shared by sender and receiver (a "codebook"
sent once), so only the quantized code counts towards the bits per pixel.
"""

from __future__ import annotations

import torch
from torch import nn

from ae.metrics import EVAL_BATCH, Quality, psnr, ssim
from ae.models import PIXELS


@torch.inference_mode()
def code_range(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> tuple[float, float]:
    model.eval()
    lo, hi = float("inf"), float("-inf")
    for i in range(0, len(images), batch_size):
        z = model.encode(images[i : i + batch_size])
        lo, hi = min(lo, float(z.min())), max(hi, float(z.max()))
    return lo, hi


def quantize(z: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    """Integer levels 0 .. 2^bits - 1 (values outside [lo, hi] are clipped)."""
    levels = 2**bits - 1
    return torch.round((z.clamp(lo, hi) - lo) / max(hi - lo, 1e-12) * levels)


def dequantize(q: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    return lo + q / (2**bits - 1) * (hi - lo)


def bits_per_pixel(code_values: int, bits: int) -> float:
    return code_values * bits / PIXELS


@torch.inference_mode()
def evaluate_quantized(
    model: nn.Module, images: torch.Tensor, lo: float, hi: float, bits: int | None, batch_size: int = EVAL_BATCH
) -> tuple[Quality, torch.Tensor]:
    """Quality when the code is sent at ``bits`` per value (None: float32 as is); also returns the outputs."""
    model.eval()
    outs, sq, ss = [], 0.0, 0.0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size]
        z = model.encode(x)
        if bits is not None:
            z = dequantize(quantize(z, lo, hi, bits), lo, hi, bits)
        y = model.decode(z)
        outs.append(y)
        sq += (y - x).pow(2).sum().item()
        ss += ssim(y, x).sum().item()
    mse = sq / images.numel()
    return Quality(mse, psnr(mse), ss / len(images)), torch.cat(outs)
