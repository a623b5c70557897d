"""The seed's autoencoders, layer for layer. Each has encode(x), decode(z) and forward(x) = decode(encode(x))."""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

PIXELS = 28 * 28


def parameter_count(model: nn.Module) -> int:
    """How many weights ``model`` has (on any device, the meta device too)."""
    return sum(p.numel() for p in model.parameters())


class FlatAE(nn.Module):
    """An autoencoder on the 784 pixels as one vector: ``encoder`` maps them to the code, ``decoder`` and a sigmoid
    map the code back to a 28x28 picture."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(x.shape[0], PIXELS))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z)).reshape(z.shape[0], 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def decoder_parameters(self) -> int:
        return parameter_count(self.decoder)


class LinearAE(FlatAE):
    """Linear(784 -> d), Linear(d -> 784), sigmoid: no activation in between, as in the seed notebook."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        self.depth = depth
        self.encoder = nn.Linear(PIXELS, depth)
        self.decoder = nn.Linear(depth, PIXELS)


class ConvAE(nn.Module):
    """The seed conv AE. With padding 1 each conv keeps 28x28, so two 2x2 pools give a (code_channels, 7, 7) code:
    8 x 7 x 7 = 392 values for the seed, not the 8 x 5 x 5 = 200 a hand count without padding gives."""

    def __init__(self, code_channels: int = 8, hidden: int = 64, third_block: bool = False) -> None:
        super().__init__()
        self.code_channels = code_channels
        self.hidden = hidden
        self.third_block = third_block
        self.conv1 = nn.Conv2d(1, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, code_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.t_conv1 = nn.ConvTranspose2d(code_channels, hidden, 2, stride=2)
        self.t_conv2 = nn.ConvTranspose2d(hidden, 1, 2, stride=2)
        if third_block:  # the lab's option: one more 3x3 conv at 14x14 on each side, the code's size unchanged
            self.conv_mid = nn.Conv2d(hidden, hidden, 3, padding=1)
            self.t_conv_mid = nn.Conv2d(hidden, hidden, 3, padding=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 14x14 hidden features that the code layer reads."""
        # The seed writes pool(relu(conv(x))). ReLU is monotonic, so relu(pool(.)) is the same function with the
        # same gradients, and it runs the ReLU (and its backward) on a 4x smaller tensor.
        x = torch.relu(self.pool(self.conv1(x)))
        return torch.relu(self.conv_mid(x)) if self.third_block else x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.pool(self.conv2(self.features(x))))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.third_block:
            u = torch.relu(self.t_conv_mid(torch.relu(self.t_conv1(z))))
            return torch.sigmoid(self.t_conv2(u))
        return self.decode_fast(z)

    def decode_fast(self, z: torch.Tensor) -> torch.Tensor:
        """sigmoid(t_conv2(relu(t_conv1(z)))), computed as two matmuls.

        A 2x2 ConvTranspose with stride 2 never overlaps: each input position writes its own 2x2 block. So each
        code position (8 values) decodes alone into a 4x4 patch: a matmul to its 2x2 x 64 hidden units, then one
        to 2x2 pixels per hidden position. oneDNN's deconvolutions are slow at these shapes (1 output channel),
        and the matmuls make a training step faster; tests check it equals the layers' own forward and gradients.
        """
        n, c, h, w = z.shape
        hidden = self.t_conv1.out_channels
        w1 = self.t_conv1.weight.permute(0, 2, 3, 1).reshape(c, 4 * hidden)  # (code, [dy, dx, hidden])
        u = torch.relu(torch.addmm(self.t_conv1.bias.repeat(4), z.permute(0, 2, 3, 1).reshape(n * h * w, c), w1))
        out = torch.addmm(self.t_conv2.bias, u.view(-1, hidden), self.t_conv2.weight.reshape(hidden, 4))
        # (n, y, x, dy, dx, dy', dx') -> pixel (4y + 2dy + dy', 4x + 2dx + dx')
        out = out.view(n, h, w, 2, 2, 2, 2).permute(0, 1, 3, 5, 2, 4, 6).reshape(n, 1, 4 * h, 4 * w)
        return torch.sigmoid(out)

    def decode_with_layers(self, z: torch.Tensor) -> torch.Tensor:
        """The seed's decoder as written, through the ConvTranspose layers: what ``decode`` must equal."""
        return torch.sigmoid(self.t_conv2(torch.relu(self.t_conv1(z))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def decoder_parameters(self) -> int:
        layers = (self.t_conv1, self.t_conv2, *((self.t_conv_mid,) if self.third_block else ()))
        return sum(p.numel() for m in layers for p in m.parameters())

    @property
    def code_layer(self) -> nn.Conv2d:
        """The layer whose output channels are the code's channels."""
        return self.conv2

    @torch.no_grad()
    def revive_code_channels(
        self, channels: list[int], probe: torch.Tensor, generator: torch.Generator | None = None
    ) -> None:
        """Give the code ``channels`` a fresh filter, with its bias set so that it fires on about half of the
        probe's positions.

        The code passes through a ReLU: a channel whose pre-activation goes negative everywhere gets no gradient
        again and is lost for good, and the seed recipe typically loses some of the 8. Training calls this
        for channels that stayed zero over many batches; at the start it centres every channel the same way.
        """
        if not channels:
            return
        hidden = self.features(probe)
        # nn.Conv2d's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from ``generator``: the global RNG is
        # shared by runs training side by side, so drawing from it would make their weights depend on each other.
        bound = 1 / math.sqrt(self.conv2.weight[0].numel())
        fresh = torch.rand(self.conv2.weight.shape, generator=generator) * (2 * bound) - bound
        for c in channels:
            self.conv2.weight[c] = fresh[c].to(probe.device)
            self.conv2.bias[c] = 0.0
        pre = self.conv2(hidden)
        for c in channels:
            self.conv2.bias[c] = -pre[:, c].median()

    @staticmethod
    def firing(code: torch.Tensor) -> torch.Tensor:
        """Which code channels are non-zero anywhere in a batch of codes."""
        return code.detach().amax(dim=(0, 2, 3)) > 0


ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


class MlpAE(FlatAE):
    """784 -> hidden ... -> code, mirrored back to 784, sigmoid output. The code itself has no activation, as in the
    seed's linear model: with no hidden layers this is that model."""

    def __init__(self, code_size: int, hidden: list[int] | tuple[int, ...] = (256, 128), activation: str = "relu"):
        super().__init__()
        self.code_size, self.hidden, self.activation = code_size, list(hidden), activation
        act = ACTIVATIONS[activation]
        widths = [PIXELS, *hidden, code_size]
        self.encoder = nn.Sequential(*_layers(widths, act))
        self.decoder = nn.Sequential(*_layers(widths[::-1], act))


def _layers(widths: list[int], act: type[nn.Module]) -> list[nn.Module]:
    """Linear layers through ``widths``, with ``act`` between them (not after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers += [nn.Linear(a, b)] + ([act()] if i < len(widths) - 2 else [])
    return layers


class DigitCNN(nn.Module):
    """conv 32 -> pool -> conv 64 -> pool -> fc 128 -> fc 10 (about 0.4M parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(F.max_pool2d(self.conv1(x), 2))
        x = torch.relu(F.max_pool2d(self.conv2(x), 2))
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def preferred_memory_format(model: nn.Module) -> torch.memory_format:
    """Channels-last for models with convolutions: oneDNN's conv and max-pool kernels are much faster in it on
    the CPU, the max-pool most of all."""
    return torch.channels_last if any(isinstance(m, nn.Conv2d) for m in model.modules()) else torch.contiguous_format
