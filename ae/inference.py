"""Reconstructing single digits for the interactive pages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ae.metrics import psnr


@dataclass(frozen=True)
class Reconstruction:
    image: np.ndarray  # (28, 28) float32 in [0, 1]
    error: np.ndarray  # |input - reconstruction|, (28, 28)
    mse: float
    psnr: float


@torch.inference_mode()
def reconstruct_digit(model: nn.Module, digit: np.ndarray) -> Reconstruction:
    """Run one 28x28 digit in [0, 1] through ``model``."""
    x = torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32)).reshape(1, 1, 28, 28)
    model.eval()
    y = model(x)[0, 0].numpy()
    err = np.abs(digit - y)
    mse = float(np.mean(err**2))
    return Reconstruction(image=y, error=err, mse=mse, psnr=psnr(mse))
