"""A codec trained for rate: a small autoencoder (conv encoder) whose code is rounded to integers and entropy
coded with a learned factorized prior (Ballé et al., 2018, "Variational image compression with a scale
hyperprior", appendix 6.1: one monotone cumulative density per code value), trained on bits per pixel + λ · MSE.

It is an autoencoder like the others: ``encode(x)`` gives the rounded code, ``decode(z)`` the picture and, in eval
mode, ``forward(x)`` the reconstruction from the rounded code. ``probability_tables()`` gives the prior over the
integers the code can take, which ae.compression.entropy codes it with.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ae.models.autoencoders import PIXELS

LIKELIHOOD_FLOOR = 1e-9  # no code value is ever impossible, so its bits stay finite


class FactorizedPrior(nn.Module):
    """A learned density per channel, as CompressAI's EntropyBottleneck: the cumulative c(v) = sigmoid(f(v)) with f
    a small monotone network (non-negative weights via softplus, tanh gates), so P(k) = c(k + ½) - c(k - ½)."""

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def _logits(self, v: torch.Tensor) -> torch.Tensor:
        """f(v) for v of shape (channels, 1, n)."""
        for i, (m, b) in enumerate(zip(self.matrices, self.biases, strict=True)):
            v = torch.matmul(F.softplus(m), v) + b
            if i < len(self.factors):
                v = v + torch.tanh(self.factors[i]) * torch.tanh(v)
        return v

    def _mass(self, v: torch.Tensor) -> torch.Tensor:
        """P(v - ½ < Y < v + ½) per channel, for v of shape (channels, 1, n)."""
        lower, upper = self._logits(v - 0.5), self._logits(v + 0.5)
        # Computed on the side of the median where the sigmoids are small, where float32 keeps their difference.
        sign = -torch.sign(lower + upper).detach()
        return (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """The probability of each value of ``y`` (N, channels) under its channel's density, floored."""
        return self._mass(y.T.reshape(y.shape[1], 1, -1)).clamp_min(LIKELIHOOD_FLOOR).reshape(y.shape[1], -1).T

    @torch.no_grad()
    def tables(self, support: int) -> np.ndarray:
        """(channels, 2·support + 1) probabilities of the integers -support .. support."""
        c = self.matrices[0].shape[0]
        k = torch.arange(-support, support + 1, dtype=torch.float32).expand(c, 1, -1)
        p = self._mass(k).squeeze(1).double().clamp_min(LIKELIHOOD_FLOOR).numpy()
        return p / p.sum(axis=1, keepdims=True)


class CodecAE(nn.Module):
    """Conv 5x5/2 (28 -> 14), conv 3x3/2 (-> 7), a linear layer to a code of ``values`` numbers, rounded to integers
    in [-support, support]. The decoder mirrors it: a linear layer to ``channels`` maps of 7x7, two transposed convs
    (-> 14 -> 28) and a 3x3 conv to the picture's logits, plus a linear path straight from the code to the logits
    (the global shape of the digit, which the convs then sharpen); sigmoid output. Trained on rate + ``lam`` · MSE,
    where the rate is the code's bits per pixel under the learned prior.

    The code is rounded in units of ``step``: the encoder's output divided by it, the decoder's input multiplied by
    it. At high rates the best step shrinks as 1/sqrt(λ); starting from it, rather than leaving the encoder to grow its
    weights that far, is what lets a few epochs reach the higher rates.

    The decoder has capacity (an MLP decoder capped every codec near 27 dB, bench/README.md); ``channels`` 64 trains at
    about 2k digits/s on one core in channels-last."""

    def __init__(
        self,
        values: int = 128,
        channels: int = 64,
        lam: float = 100.0,
        step: float = 1.0,
        support: int = 127,
        *,
        decoder_epochs: int = 0,
    ) -> None:
        super().__init__()
        self.values, self.channels, self.lam, self.step, self.support = values, channels, lam, step, support
        # The last ``decoder_epochs`` of a run train the decoder alone on the rounded codes of the final encoder.
        self.decoder_epochs, self.decoder_only = decoder_epochs, False
        c = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c // 2, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(c * 7 * 7, values),
        )  # fmt: skip
        self.pixel_path = nn.Linear(PIXELS, values)  # the linear half of the code (PCA-like), beside the convs'
        self.expand = nn.Linear(values, c * 7 * 7)
        self.decoder = nn.Sequential(
            nn.ReLU(), nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1),
            nn.ReLU(), nn.ConvTranspose2d(c // 2, c // 4, 4, stride=2, padding=1),
            nn.ReLU(), nn.Conv2d(c // 4, 1, 3, padding=1),
        )  # fmt: skip
        self.linear_path = nn.Linear(values, PIXELS)
        self.prior = FactorizedPrior(values)
        # The training noise has its own generator: runs side by side share the global one.
        self.noise = torch.Generator().manual_seed(0)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """The code before rounding, in steps, (N, values)."""
        return self.export_encode(x) / self.step

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code as sent: integers in [-support, support] (as floats)."""
        return torch.round(self.analysis(x)).clamp(-self.support, self.support)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        y = z * self.step
        maps = self.expand(y).reshape(-1, self.channels, 7, 7)  # -1: a batch ONNX leaves free
        return torch.sigmoid(self.decoder(maps) + self.linear_path(y).reshape(-1, 1, 28, 28))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    # The halves the browser runs (ae.export): the rounding moves into the decoder's graph. The two compose to
    # forward(); the encoder's graph then stays continuous, comparable with torch to float precision.
    def export_encode(self, x: torch.Tensor) -> torch.Tensor:
        # Before the division by the step: the encoder's own units. reshape(-1, ...): a batch ONNX leaves free.
        return self.encoder(x) + self.pixel_path(x.reshape(-1, PIXELS))

    def export_decode(self, y: torch.Tensor) -> torch.Tensor:
        return self.decode(torch.round(y / self.step).clamp(-self.support, self.support))

    def rate_and_distortion(self, x_in: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The training estimate of bits per pixel (the code plus uniform noise, a differentiable stand-in for
        rounding) and the MSE of the picture decoded from the rounded code (its gradient passed straight through
        the rounding), so the decoder trains on exactly what it will be sent."""
        y = self.analysis(x_in)
        noise = torch.rand(y.shape, generator=self.noise).to(y.device) - 0.5
        bits = -torch.log2(self.prior.likelihood(y + noise)).sum() / (len(x) * PIXELS)
        y_hat = y + (torch.round(y) - y).detach()
        return bits, F.mse_loss(self.decode(y_hat), x)

    def start_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the training loop before each (1-based) epoch: the last ``decoder_epochs`` fine-tune the
        decoder alone, the encoder and the prior (hence the code and its bits) fixed."""
        self.decoder_only = epochs > self.decoder_epochs and epoch > epochs - self.decoder_epochs

    def training_loss(self, x_in: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.decoder_only:  # the rate is fixed with the encoder: only the distortion is left to lower
            with torch.no_grad():
                z = self.encode(x_in)
            return self.lam * F.mse_loss(self.decode(z), x)
        bits, mse = self.rate_and_distortion(x_in, x)
        return bits + self.lam * mse

    def probability_tables(self) -> np.ndarray:
        """Per code value, the probabilities of its 2·support + 1 integers, from -support up: (values, levels)."""
        return self.prior.tables(self.support)

    def decoder_parameters(self) -> int:
        """What the receiver holds: the decoder and the prior its tables come from."""
        parts = (self.expand, self.decoder, self.linear_path, self.prior)
        return sum(p.numel() for m in parts for p in m.parameters())
