"""A variational autoencoder: the encoder gives each digit a Gaussian over codes; the prior N(0, I) fills the gaps.

Every page treats it like any autoencoder: ``encode`` returns the posterior's mean, ``decode`` a digit in [0, 1], and
``forward`` = decode(encode(x)). Training calls ``training_loss`` (ae.training.loop): it draws a reparameterised code.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ae.models.autoencoders import PIXELS


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per digit, in nats: the closed form ½ Σ (mu² + σ² − log σ² − 1)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """mu + σ·ε with ε ~ N(0, I) drawn from ``generator`` (on the CPU, then moved): the sample stays differentiable
    in mu and σ."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
    return mu + (0.5 * logvar).exp() * eps


class VAE(nn.Module):
    """kind "mlp": 784 -> hidden... -> 2·code_size, decoder mirrored, ReLU between layers. kind "conv": per entry of
    ``hidden`` a 3x3 conv with that many channels and a 2x2 max-pool (as autoencoders.ConvAE), then a Linear to
    2·code_size; the decoder is a Linear back to the last feature map and 2x2 stride-2 transposed convs."""

    # The default is a list, not a tuple: the args are stored as JSON in every sidecar and compared with the
    # registry's, where a tuple would come back as a list. It is only read, never changed.
    def __init__(self, code_size: int, hidden: list[int] = [512, 256], kind: str = "mlp", beta: float = 1.0):  # noqa: B006
        super().__init__()
        self.code_size, self.hidden, self.kind, self.beta = int(code_size), list(hidden), kind, float(beta)
        if kind == "mlp":
            self.encoder, self.decoder = (
                _mlp(PIXELS, self.hidden, 2 * code_size),
                _mlp(code_size, self.hidden[::-1], PIXELS),
            )
        elif kind == "conv":
            self.encoder, self.decoder = _conv_encoder(self.hidden, code_size), _conv_decoder(self.hidden, code_size)
        else:
            raise ValueError(f"unknown VAE kind {kind!r}: use 'mlp' or 'conv'")
        # The training noise has its own generator, seeded from the global RNG while the model is built: training
        # builds it right after torch.manual_seed(recipe.seed), so the draws are fixed by the recipe, and runs side
        # by side (threads sharing the global RNG) cannot change each other's draws.
        self.noise = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and log-variance, each (N, code_size)."""
        h = self.encoder(x if self.kind == "conv" else x.reshape(x.shape[0], PIXELS))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode_stats(x)[0]

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).reshape(z.shape[0], 1, 28, 28)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss_terms(self, x_in: torch.Tensor, x: torch.Tensor, generator: torch.Generator | None = None):
        """(reconstruction, KL) per digit in nats, for one reparameterised code of each digit of ``x_in``.

        Reconstruction is the per-pixel binary cross-entropy summed over the 784 pixels: the negative
        log-likelihood of a Bernoulli decoder. MNIST pixels are nearly black or white, and BCE makes the ELBO a
        true bound in nats, comparable with the literature. Summed MSE would assume a Gaussian decoder of variance
        ½, an arbitrary choice that sets how much the KL weighs against the reconstruction: with it the KL wins and
        the decodes blur into a few average digits."""
        mu, logvar = self.encode_stats(x_in)
        z = reparameterise(mu, logvar, self.noise if generator is None else generator)
        rec = F.binary_cross_entropy_with_logits(self.logits(z), x, reduction="none").flatten(1).sum(1)
        return rec, kl_to_prior(mu, logvar)

    def training_loss(self, x_in: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction + β·KL, averaged over the batch and divided by 784: the negative (β-)ELBO in nats per
        pixel. Dividing by a constant changes no optimum; it keeps the Training page's curve near the MSE scale."""
        rec, kl = self.loss_terms(x_in, x)
        return (rec + self.beta * kl).mean() / PIXELS

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` digits decoded from codes drawn from the prior N(0, I), (n, 1, 28, 28)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.code_size, generator=generator).to(device)
        with torch.inference_mode():
            return self.decode(z)

    def decoder_parameters(self) -> int:
        return sum(p.numel() for p in self.decoder.parameters())


def _mlp(n_in: int, widths: list[int], n_out: int) -> nn.Sequential:
    layers, last = [], n_in
    for w in widths:
        layers += [nn.Linear(last, w), nn.ReLU()]
        last = w
    return nn.Sequential(*layers, nn.Linear(last, n_out))


def _side(stages: int) -> int:
    """The feature map's side after ``stages`` 2x2 pools; the transposed convs must get back to exactly 28."""
    if not 1 <= stages <= 2:
        raise ValueError("a conv VAE takes 1 or 2 conv stages (hidden = [channels] or [c1, c2]): 28 -> 14 -> 7")
    return 28 >> stages


def _conv_encoder(channels: list[int], code_size: int) -> nn.Sequential:
    layers, last = [], 1
    for c in channels:
        # pool before ReLU, as in ConvAE: the same function, the ReLU on a 4x smaller tensor
        layers += [nn.Conv2d(last, c, 3, padding=1), nn.MaxPool2d(2, 2), nn.ReLU()]
        last = c
    side = _side(len(channels))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(last * side * side, 2 * code_size))


def _conv_decoder(channels: list[int], code_size: int) -> nn.Sequential:
    side, back = _side(len(channels)), channels[::-1]
    layers: list[nn.Module] = [
        nn.Linear(code_size, back[0] * side * side),
        nn.ReLU(),
        nn.Unflatten(1, (back[0], side, side)),
    ]
    for c_in, c_out in zip(back, [*back[1:], 1], strict=True):
        layers += [nn.ConvTranspose2d(c_in, c_out, 2, stride=2), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # logits out: no ReLU after the last


def is_vae(model: nn.Module) -> bool:
    """Whether ``model`` has a posterior and a prior to sample (a VAE), rather than a plain code."""
    return hasattr(model, "encode_stats") and hasattr(model, "sample")


def prior_quantiles(n: int) -> torch.Tensor:
    """``n`` values of N(0, 1) at evenly spaced quantiles (i + ½)/n: a grid that covers the prior evenly."""
    p = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return (math.sqrt(2) * torch.erfinv(2 * p - 1)).float()
