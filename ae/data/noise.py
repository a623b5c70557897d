"""Corrupting digits for the denoising autoencoders: Gaussian and salt-and-pepper noise, seeded."""

from __future__ import annotations

import torch


def gaussian(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """x + N(0, std²), clipped back to [0, 1]."""
    if std <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (x + std * noise).clamp_(0.0, 1.0)


def salt_and_pepper(x: torch.Tensor, amount: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A fraction ``amount`` of pixels set to 0 or 1 (half each)."""
    if amount <= 0:
        return x
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    out = x.clone()
    out[u < amount / 2] = 0.0
    out[(u >= amount / 2) & (u < amount)] = 1.0
    return out


def corrupt(x: torch.Tensor, kind: str, level: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "gaussian":
        return gaussian(x, level, g)
    if kind == "salt-and-pepper":
        return salt_and_pepper(x, level, g)
    raise ValueError(f"unknown noise kind {kind!r}")
