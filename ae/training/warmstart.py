"""A closed-form start for the linear autoencoders: reduced-rank regression onto the pixels' logits.

The linear AE computes sigmoid(W2 (W1 x + b1) + b2): a rank-d linear map from the pixels to the logits of the
reconstruction. The best such map in least squares, against the logits of the digits themselves, is the
reduced-rank regression solution: regress the logits on the pixels (ridge, since border pixels never vary), then
keep the top d principal directions of the fitted logits. One solve serves every depth d (the directions nest),
so the four seed models share it. Gradient descent then only polishes: the start already beats PCA at the same d,
and one epoch of Adam from it beats five from PyTorch's random start (bench/README.md has the figures).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import torch

from ae.models.autoencoders import PIXELS, LinearAE
from ae.models.codec import CodecAE

EPS = 0.01  # pixels are clipped to [EPS, 1 - EPS] before the logit: 0 and 1 have none
RIDGE = 1e-3  # per digit, added to the pixels' covariance (border pixels are 0 in every digit)


@dataclass(frozen=True)
class LogitRegression:
    """Everything a linear AE of any depth needs from one regression (float64)."""

    mean: torch.Tensor  # (784,) mean input
    logit_mean: torch.Tensor  # (784,) mean target logit
    coef: torch.Tensor  # (784, 784) ridge regression of the centred logits on the centred pixels
    directions: torch.Tensor  # (784, 784) principal directions of the fitted logits, strongest first
    variances: torch.Tensor  # (784,) the fitted logits' variance along each direction


def fit_logit_regression(images: torch.Tensor, eps: float = EPS, ridge: float = RIDGE) -> LogitRegression:
    x = images.reshape(len(images), PIXELS).float()
    t = torch.logit(x.clamp(eps, 1 - eps))
    mean, logit_mean = x.mean(0, dtype=torch.float64), t.mean(0, dtype=torch.float64)
    x = x - mean.float()
    # The two big products in float32 (half the time of float64, and the start needs no more), the rest in float64.
    # x is centred, so x.T @ t equals x.T @ (t - logit_mean).
    cov, cross = (x.T @ x).double(), (x.T @ t).double()
    coef = torch.linalg.solve(cov + ridge * len(x) * torch.eye(PIXELS, dtype=cov.dtype), cross)
    fitted_cov = coef.T @ cov @ coef  # covariance (times n) of the fitted logits x @ coef
    variances, directions = torch.linalg.eigh(fitted_cov)
    order = variances.argsort(descending=True)
    return LogitRegression(mean, logit_mean, coef, directions[:, order], variances[order].clamp_min(0) / len(x))


@torch.no_grad()
def start_linear(model: LinearAE, fit: LogitRegression) -> None:
    """Set ``model`` to the rank-d regression map: the code is the top d directions' coordinates, each scaled to
    unit variance over the training digits (so that Adam's steps mean the same for every code unit)."""
    d = model.depth
    basis = fit.directions[:, :d]  # (784, d)
    std = fit.variances[:d].sqrt().clamp_min(1e-6)
    encode = fit.coef @ basis / std  # (784, d): code = (x - mean) @ encode
    model.encoder.weight.copy_(encode.T)
    model.encoder.bias.copy_(-(fit.mean @ encode))
    model.decoder.weight.copy_(basis * std)
    model.decoder.bias.copy_(fit.logit_mean)


@torch.no_grad()
def start_codec(model: CodecAE, fit: LogitRegression) -> None:
    """Set a codec's linear paths to the rank-d regression map (d = its code values) and silence its conv branches
    (their last layers start at zero), so that it starts as the best linear code and its convs learn what that
    misses. The code keeps each direction's own scale (unlike ``start_linear``): one quantizer step for every
    direction is what spends bits where the variance is (reverse water-filling)."""
    d = model.values
    basis = fit.directions[:, :d]  # (784, d)
    encode = fit.coef @ basis  # code = (x - mean) @ encode
    model.pixel_path.weight.copy_(encode.T)
    model.pixel_path.bias.copy_(-(fit.mean @ encode))
    model.linear_path.weight.copy_(basis)
    model.linear_path.bias.copy_(fit.logit_mean)
    for layer in (model.encoder[-1], model.decoder[-1]):
        layer.weight.zero_()
        layer.bias.zero_()


_cache: dict[tuple, LogitRegression] = {}
_lock = threading.Lock()


def shared_fit(key: tuple, images: torch.Tensor) -> LogitRegression:
    """``fit_logit_regression(images)``, computed once per ``key`` (the data and subset it came from): two runs side by
    side wait for one fit rather than each computing it."""
    with _lock:
        if key not in _cache:
            _cache[key] = fit_logit_regression(images)
        return _cache[key]
