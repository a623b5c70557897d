"""Classical baselines on the same test digits: PCA (the best purely linear code) and real image codecs."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class PCA:
    mean: np.ndarray  # (784,)
    components: np.ndarray  # (784, 784), rows by decreasing variance

    def encode(self, x: np.ndarray, k: int) -> np.ndarray:
        return (x - self.mean) @ self.components[:k].T

    def decode(self, z: np.ndarray) -> np.ndarray:
        return z @ self.components[: z.shape[1]] + self.mean


def fit_pca(train: np.ndarray) -> PCA:
    """PCA of (N, 784) pixels in [0, 1], from the covariance's eigenvectors (float64 for accuracy)."""
    x = train.reshape(len(train), -1).astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / len(x)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    return PCA(mean, vecs[:, order].T)


def pca_reconstruct(pca: PCA, x: np.ndarray, k: int, bits: int | None = None, *, lo=None, hi=None) -> np.ndarray:
    """Reconstruct (N, 784) digits from a k-value PCA code, optionally sent at ``bits`` per value."""
    z = pca.encode(x, k)
    if bits is not None:
        levels = 2**bits - 1
        z = np.round((np.clip(z, lo, hi) - lo) / (hi - lo) * levels) / levels * (hi - lo) + lo
    return np.clip(pca.decode(z), 0.0, 1.0)


# Each codec at its best: a 28x28 JPEG is mostly its tables, so it gets optimised Huffman tables, and PNG tries
# its zlib settings.
CODEC_OPTIONS = {"PNG": {"optimize": True}, "JPEG": {"optimize": True}}


@dataclass(frozen=True)
class CodecResult:
    codec: str
    quality: int | None
    mean_bytes: float
    reconstructions: np.ndarray  # (N, 28, 28) float in [0, 1]


def encode_decode(digit: np.ndarray, codec: str, quality: int | None) -> tuple[int, np.ndarray]:
    """One uint8 (28, 28) digit through a Pillow codec: its real byte count and the decoded image."""
    buf = io.BytesIO()
    options = {**CODEC_OPTIONS.get(codec, {}), **({} if quality is None else {"quality": quality})}
    Image.fromarray(digit, mode="L").save(buf, codec, **options)
    size = buf.tell()
    buf.seek(0)
    with Image.open(buf) as img:
        return size, np.asarray(img.convert("L"))


def run_codec(digits: np.ndarray, codec: str, quality: int | None) -> CodecResult:
    sizes, outs = [], []
    for d in digits:
        n, y = encode_decode(d, codec, quality)
        sizes.append(n)
        outs.append(y)
    return CodecResult(codec, quality, float(np.mean(sizes)), np.stack(outs).astype(np.float32) / 255.0)


def to_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(-1, 1, 28, 28)
