"""Analyses behind the classroom pages: interpolation, best/worst reconstructions, per-class error, latent map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ae.measure.metrics import reconstruct
from ae.models.batching import EVAL_BATCH, cat_batches


def _batch(digit: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32)).reshape(1, 1, 28, 28)


def interpolate(model: nn.Module, a: np.ndarray, b: np.ndarray, ts: list[float]) -> np.ndarray:
    """Decode (1-t)·z_a + t·z_b for each t: a walk through the model's code space. Returns (len(ts), 28, 28)."""
    za, zb = (cat_batches(model.encode, model, _batch(d)) for d in (a, b))
    t = torch.tensor(ts, dtype=za.dtype).reshape(-1, *([1] * (za.dim() - 1)))
    return cat_batches(model.decode, model, (1 - t) * za + t * zb)[:, 0].numpy()


def pixel_blend(a: np.ndarray, b: np.ndarray, ts: list[float]) -> np.ndarray:
    """The same walk done on the pixels: a cross-fade, for comparison."""
    t = np.asarray(ts, dtype=np.float32).reshape(-1, 1, 1)
    return (1 - t) * a[None] + t * b[None]


@dataclass(frozen=True)
class ErrorRanking:
    errors: np.ndarray  # per-digit MSE, (N,)
    order: np.ndarray  # indices, best (lowest error) first
    class_mean: np.ndarray  # mean error per label 0..9


def rank_errors(model: nn.Module, images: torch.Tensor, labels: np.ndarray) -> ErrorRanking:
    rec = reconstruct(model, images)
    errors = (rec - images).pow(2).flatten(1).mean(1).numpy()
    order = np.argsort(errors, kind="stable")
    class_mean = np.array([errors[labels == c].mean() for c in range(10)])
    return ErrorRanking(errors, order, class_mean)


def codes(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Each digit's code, flattened: (N, code values)."""
    return cat_batches(lambda x: model.encode(x).flatten(1), model, images, batch_size=batch_size).numpy()


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA of codes: the plane in which the codes spread the most."""

    mean: np.ndarray
    components: np.ndarray  # (2, code values)
    explained: np.ndarray  # fraction of the codes' variance along each axis

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(z) - self.mean) @ self.components.T


def fit_projection(z: np.ndarray) -> Projection:
    mean = z.mean(axis=0)
    _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
    var = s**2
    # Fix each axis' sign (largest loading positive) so the map does not flip between runs.
    signs = np.sign(vt[:2, np.argmax(np.abs(vt[:2]), axis=1)].diagonal())
    return Projection(mean, vt[:2] * signs[:, None], var[:2] / var.sum())
