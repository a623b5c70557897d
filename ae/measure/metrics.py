"""Numbers the app shows, measured from the models and the data, never copied from a text.

The code shape comes from running the encoder; the compression ratio is code values / 784 pixels (the textbook
definition); reconstruction quality is measured on the 10,000 test digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn
from torch.nn import functional as F

from ae.models.autoencoders import PIXELS
from ae.models.batching import EVAL_BATCH, cat_batches, sum_batches, to_model


@dataclass(frozen=True)
class CodeSize:
    shape: tuple[int, ...]  # one digit's code, batch dimension dropped
    values: int

    @property
    def compression_ratio(self) -> float:
        return self.values / PIXELS

    @property
    def bytes_float32(self) -> int:
        return self.values * 4

    @property
    def bytes_8bit(self) -> int:
        return self.values

    @property
    def shape_text(self) -> str:
        return "×".join(str(s) for s in self.shape)


@torch.inference_mode()
def measure_code(model: nn.Module) -> CodeSize:
    """Run the encoder on a dummy batch and count what comes out."""
    z = model.encode(to_model(model, torch.zeros(2, 1, 28, 28)))
    shape = tuple(z.shape[1:])
    return CodeSize(shape, math.prod(shape))


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio for pixels in [0, 1]."""
    return math.inf if mse <= 0 else 10.0 * math.log10(1.0 / mse)


@lru_cache(maxsize=8)
def _blur_matrix(n: int, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """(n, n) matrix M with M @ img @ M.T = Gaussian blur of img after reflection padding, as SSIM defines it."""
    pad = (size - 1) // 2
    d = torch.arange(size, dtype=torch.float64) - pad
    g = torch.exp(-((d / sigma) ** 2) / 2)
    g /= g.sum()
    m = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):
        for k in range(size):
            j = abs(i + k - pad)  # reflect at the top/left edge ...
            j = 2 * (n - 1) - j if j > n - 1 else j  # ... and at the bottom/right edge
            m[i, j] += g[k]
    return m.float()


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image SSIM of (N, 1, H, W) batches: Wang et al. 2004 with an 11-tap Gaussian window (sigma 1.5).

    The same definition as torchmetrics' structural_similarity_index_measure (the tests check they agree), but
    the separable blur runs as two small matmuls: 10k digits take milliseconds instead of seconds.
    """
    mh = _blur_matrix(x.shape[-2]).to(x)
    mw = _blur_matrix(x.shape[-1]).to(x)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return mh @ t @ mw.T

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = (blur(x * x) - mu_xx).clamp_min(0)
    var_y = (blur(y * y) - mu_yy).clamp_min(0)
    cov = blur(x * y) - mu_xy
    s = ((2 * mu_xy + c1) * (2 * cov + c2)) / ((mu_xx + mu_yy + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1)


@dataclass(frozen=True)
class Quality:
    mse: float  # mean over digits and pixels
    psnr: float  # dB, from that mean MSE
    ssim: float  # mean structural similarity (Gaussian window 11, sigma 1.5), data range 1


def reconstruct(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    return cat_batches(model, model, images, batch_size=batch_size)


def evaluate(
    model: nn.Module, images: torch.Tensor, inputs: torch.Tensor | None = None, batch_size: int = EVAL_BATCH
) -> Quality:
    """MSE, PSNR and SSIM of ``model``'s reconstructions of ``images`` (N, 1, 28, 28) in [0, 1].

    ``inputs`` (say, noisy copies) are fed to the model instead of the images, which remain the target.
    """

    def sums(x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = model(x)
        return F.mse_loss(y, target, reduction="sum"), ssim(y, target).sum()

    source = images if inputs is None else inputs
    sq_err, ssim_sum = sum_batches(sums, model, source, images, batch_size=batch_size)
    mse = sq_err / images.numel()
    return Quality(mse=mse, psnr=psnr(mse), ssim=ssim_sum / len(images))


ELBO_SEED = 0  # the draws of the reparameterised codes when the ELBO is measured: a fixed seed, a repeatable number


def elbo(model: nn.Module, images: torch.Tensor, seed: int = ELBO_SEED) -> tuple[float, float]:
    """A VAE's (ELBO, KL) per digit in nats on ``images``, with β = 1 whatever the model's β (the true bound on
    log p(x)), one reparameterised code per digit drawn from a generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(seed)

    def sums(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rec, kl = model.loss_terms(x, x, generator)
        return (rec + kl).sum(), kl.sum()

    neg, kl = sum_batches(sums, model, images)
    return -neg / len(images), kl / len(images)
