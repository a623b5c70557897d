"""Generating digits: samples, the 2-D latent plane, code sliders and arithmetic on class means, for any model.

A VAE samples codes from its prior N(0, I). A plain autoencoder has no prior: its "samples" decode codes drawn from
a Gaussian fitted to its own codes of training digits (mean and full covariance, each value clipped to the range the
training codes span). Where that Gaussian puts mass the codes never went, the decoder was never trained: the
reference classifier's confidence in the samples measures how much of each looks like a digit.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ae.measure.classifier import read_digits
from ae.measure.explore import codes
from ae.measure.metrics import measure_code
from ae.models.batching import cat_batches
from ae.models.vae import is_vae, prior_quantiles

FIT_DIGITS = 2000  # training digits whose codes fit a plain model's Gaussian, the sliders' ranges and class means
SAMPLE_SEED = 0
CONFIDENCE_SAMPLES = 256  # samples per model behind a mean classifier confidence
SLIDERS = 8  # code values with sliders: the ones that vary most


@dataclass(frozen=True)
class CodeStats:
    """A model's codes of ``FIT_DIGITS`` training digits, flattened to D values each."""

    shape: tuple[int, ...]  # one code's own shape (8, 7, 7 for conv-8)
    mean: np.ndarray  # (D,)
    root: np.ndarray  # (D, D): root @ root.T is the codes' covariance
    std: np.ndarray  # (D,)
    lo: np.ndarray  # (D,) the smallest value each code value took
    hi: np.ndarray  # (D,) and the largest
    class_means: np.ndarray  # (10, D): the mean code of each digit class

    @property
    def size(self) -> int:
        return len(self.mean)


def code_stats(model: nn.Module, images: torch.Tensor, labels: np.ndarray) -> CodeStats:
    """The statistics of ``model``'s codes (the mean, for a VAE) of ``images``."""
    z = codes(model, images).astype(np.float64)
    shape = measure_code(model).shape
    mean = z.mean(0)
    # A symmetric root from the eigendecomposition: unlike a Cholesky factor it exists for a singular covariance
    # (a conv model's dead code channel has none).
    w, v = np.linalg.eigh(np.cov(z, rowvar=False).reshape(len(mean), len(mean)))
    root = v * np.sqrt(np.clip(w, 0, None))
    labels = np.asarray(labels)[: len(z)]
    class_means = np.stack([z[labels == c].mean(0) for c in range(10)])
    return CodeStats(shape, mean, root, z.std(0), z.min(0), z.max(0), class_means)


def draw_codes(model: nn.Module, stats: CodeStats | None, n: int, seed: int = SAMPLE_SEED) -> torch.Tensor:
    """``n`` codes to decode: from the prior for a VAE, else from the Gaussian fitted to the model's codes."""
    generator = torch.Generator().manual_seed(int(seed))
    if is_vae(model):
        return torch.randn(n, model.code_size, generator=generator)
    if stats is None:
        raise ValueError("a plain autoencoder samples from its codes' statistics: pass code_stats(...)")
    eps = torch.randn(n, stats.size, generator=generator, dtype=torch.float64).numpy()
    z = np.clip(stats.mean + eps @ stats.root.T, stats.lo, stats.hi)
    return torch.from_numpy(z.astype(np.float32)).reshape(n, *stats.shape)


def decode(model: nn.Module, z: torch.Tensor | np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Decode codes (flattened ones are given their ``shape`` back) into (N, 28, 28) images in [0, 1]."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    if shape is not None:
        z = z.reshape(-1, *shape)
    return cat_batches(model.decode, model, z)[:, 0].numpy()


def samples(model: nn.Module, n: int, seed: int = SAMPLE_SEED, stats: CodeStats | None = None) -> np.ndarray:
    """``n`` generated digits, (n, 28, 28); the same ``seed`` gives the same digits."""
    return decode(model, draw_codes(model, stats, n, seed))


def latent_grid(model: nn.Module, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For a 2-D code: the prior's quantiles q (n,) and the decodes (n, n, 28, 28) of the codes (q[j], q[n-1-i]),
    so that row 0 is the top of the plane (z₂ largest) and column 0 its left (z₁ smallest)."""
    q = prior_quantiles(n)
    z1, z2 = torch.meshgrid(q, q.flip(0), indexing="xy")
    images = decode(model, torch.stack([z1.reshape(-1), z2.reshape(-1)], 1))
    return q.numpy(), images.reshape(n, n, 28, 28)


def to_quantile(z: np.ndarray) -> np.ndarray:
    """Φ(z): where a code value sits in the prior N(0, 1), in (0, 1). The latent plane is drawn in these units, in
    which the grid of prior quantiles is evenly spaced."""
    return torch.special.ndtr(torch.as_tensor(np.asarray(z, dtype=np.float64))).numpy()


def from_quantile(p: np.ndarray) -> np.ndarray:
    """Φ⁻¹(p), the code value at prior quantile ``p`` (clipped away from 0 and 1)."""
    return torch.special.ndtri(torch.as_tensor(np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4))).numpy()


def tile(images: np.ndarray, columns: int, gap: int = 0, fill=0.0, border: bool = False) -> np.ndarray:
    """(N, h, w[, channels]) images as one picture, in rows of ``columns``: ``gap`` pixels of ``fill`` between them
    (and around them, with ``border``), the last row's empty places filled too. Every grid of digits is laid out
    here: the Generate page's, ``python -m ae sample``'s, the Gallery's and Watch it learn's."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    columns = min(columns, n)
    rows, edge = -(-n // columns), gap if border else 0
    shape = (rows * (h + gap) - gap + 2 * edge, columns * (w + gap) - gap + 2 * edge, *images.shape[3:])
    out = np.full(shape, fill, dtype=images.dtype)
    for i, image in enumerate(images):
        top, left = edge + (i // columns) * (h + gap), edge + (i % columns) * (w + gap)
        out[top : top + h, left : left + w] = image
    return out


def slider_dims(stats: CodeStats, k: int = SLIDERS) -> list[int]:
    """The (flat) indices of the ``k`` code values that vary most over the training digits, most first."""
    return [int(i) for i in np.argsort(-stats.std, kind="stable")[:k]]


def slider_range(stats: CodeStats, dim: int) -> tuple[float, float]:
    """A slider's range for code value ``dim``: mean ± 3 standard deviations, widened to every training value."""
    lo = min(stats.lo[dim], stats.mean[dim] - 3 * stats.std[dim])
    hi = max(stats.hi[dim], stats.mean[dim] + 3 * stats.std[dim])
    return float(lo), float(hi)


def with_values(code: np.ndarray, values: dict[int, float]) -> np.ndarray:
    """A copy of the flat ``code`` with the values at some indices replaced."""
    out = np.array(code, dtype=np.float32).reshape(-1)
    for dim, value in values.items():
        out[dim] = value
    return out


_TERM = re.compile(r"\s*([-+−])?\s*([0-9])\s*")


def parse_terms(text: str) -> list[tuple[int, int]]:
    """ "7 - 1 + 4" -> [(+1, 7), (-1, 1), (+1, 4)]: a sum of digit classes with signs. Raises ValueError."""
    terms, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TERM.match(text, pos)
        if not m or m.end() == pos or (terms and m.group(1) is None):
            raise ValueError(f"cannot read {text!r}: write digits joined by + and -, like 7 - 1 + 4")
        terms.append((-1 if m.group(1) in ("-", "−") else 1, int(m.group(2))))
        pos = m.end()
    if not terms:
        raise ValueError("write at least one digit, like 7 - 1 + 4")
    return terms


def arithmetic(stats: CodeStats, terms: list[tuple[int, int]]) -> np.ndarray:
    """The flat code Σ sign · (mean code of the class): "mean 7 − mean 1 + mean 4"."""
    return sum(sign * stats.class_means[digit] for sign, digit in terms).astype(np.float32)


def sample_confidence(
    model: nn.Module, classifier: nn.Module, stats: CodeStats | None, n: int = CONFIDENCE_SAMPLES, seed: int = 0
) -> float:
    """The reference classifier's mean confidence in ``n`` of the model's samples: near 1 when each looks like
    some digit, near the 0.1 of a blind guess when it looks like none."""
    return float(read_digits(classifier, samples(model, n, seed, stats))[1].mean())


def confidence_sentence(scores: dict[str, float], vaes: set[str]) -> str:
    """A sentence comparing the classifier's mean confidence in VAE samples and in plain-autoencoder samples."""
    vae = {n: s for n, s in scores.items() if n in vaes}
    plain = {n: s for n, s in scores.items() if n not in vaes}
    if not vae or not plain:
        return ""
    best = max(plain, key=plain.get)
    v, p = np.mean(list(vae.values())), np.mean(list(plain.values()))
    listed = ", ".join(f"{n} {s:.2f}" for n, s in vae.items())
    return (
        f"The reference classifier reads the VAEs' samples with a mean confidence of {v:.2f} ({listed}), the plain "
        f"autoencoders' samples with {p:.2f} (the best, {best}, {plain[best]:.2f}; {len(plain)} models, "
        f"{CONFIDENCE_SAMPLES} samples each): "
        + (
            "the VAEs' samples look more like digits."
            if v > p
            else "here the plain autoencoders' samples look as much like digits."
        )
    )


def framed_grid(images: np.ndarray, columns: int) -> np.ndarray:
    """(N, h, w) images in [0, 1] in rows of ``columns``, framed and parted by 2-pixel grey lines (as torchvision's
    make_grid lays them out: a single image has no frame)."""
    gap = 2 if len(images) > 1 else 0
    return tile(np.asarray(images, dtype=np.float32), columns, gap=gap, fill=0.3, border=True)


def grid_png(images: np.ndarray, nrow: int | None = None) -> bytes:
    """(N, 28, 28) images as a PNG grid, ``nrow`` per row (default: a square), 2-pixel grey gaps."""
    grid = framed_grid(images, nrow or math.ceil(math.sqrt(len(images))))
    buf = io.BytesIO()
    Image.fromarray((np.clip(grid, 0, 1) * 255).round().astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()
