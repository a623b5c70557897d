"""Classical baselines on the same test digits: PCA (the best purely linear code), PCA quantized and entropy coded
into real .ael files, and real image codecs."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ae.compression import aelfile, entropy


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


# The PCA codec's quantizer steps (in the units of the PCA code, whose components are orthonormal: the pixels' MSE is
# the code's squared error / 784), from about 0.06 to 1.5 bits per pixel.
PCA_STEPS = (3.0, 2.0, 1.4, 1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.13, 0.1)


@dataclass(frozen=True)
class PcaFiles:
    """PCA + one uniform scalar quantizer for every kept component + the lab's entropy coder, as .ael files."""

    step: float
    values: int  # components kept
    files: list[bytes]
    reconstructions: np.ndarray  # (N, 784) in [0, 1], decoded from the files' bytes alone


def pca_coder(train_codes: np.ndarray, step: float) -> entropy.Coder:
    """The coder of PCA codes quantized at ``step``: the components whose training variance exceeds the
    quantizer's noise (step² / 12; reverse water-filling drops the others, decoded as their mean), each coded with
    the smoothed histogram of its training symbols, as plain models' codes are."""
    k = max(1, int((train_codes.var(axis=0) > step**2 / 12).sum()))
    q = np.round(train_codes[:, :k] / step).astype(np.int64)
    support = int(np.abs(q).max())
    tables = entropy.histogram_tables(q + support, 2 * support + 1)
    return entropy.Coder("integer", (k,), tables, 2 * support + 1, offset=support)


def pca_files(pca: PCA, train_codes: np.ndarray, digits: np.ndarray, step: float) -> PcaFiles:
    """(N, 784) digits in [0, 1] as one .ael file each (3-byte header, model tag of "PCA-<step>") and back."""
    coder = pca_coder(train_codes, step)
    k = coder.shape[0]
    symbols = coder.symbols(torch.from_numpy(pca.encode(digits, k) / step))
    name, stamp = f"PCA-{step:g}", hashlib.sha256(coder.digest()).digest()[: aelfile.HASH_BYTES]
    files = [aelfile.pack(name, stamp, coder.to_bytes(s)) for s in symbols]
    received = []
    for f in files:
        parsed = aelfile.unpack(f)
        aelfile.verify(name, stamp, parsed)
        received.append(coder.from_bytes(parsed.payload))
    z = coder.values(np.stack(received)).numpy().astype(np.float64) * step
    return PcaFiles(step, k, files, np.clip(pca.decode(z), 0.0, 1.0))


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
