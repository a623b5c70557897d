"""Entropy coding of any model's code: integer symbols per code value, a probability table per code value, and
`constriction`'s range coder to turn them into bytes and back (no hand-written arithmetic coder).

A model's code is flattened to one vector per digit. A plain autoencoder's code is quantized as in ``quantize`` (8
bits over its training range) and each of its values gets the histogram of that value over the training digits'
codes; a codec trained for rate (ae.models.codec) brings its own integer code and learned prior. Sender and receiver
compute the same tables from the same model, and a digest of the tables goes into every file (``aelfile``), so a
file is never decoded with other tables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import constriction
import numpy as np
import torch
from torch import nn

from ae.measure.quantize import code_range, dequantize, quantize
from ae.models.batching import cat_batches

CODE_BITS = 8  # plain codes are entropy coded at 8 bits per value
PSEUDO_COUNT = 0.5  # added to every bin of a histogram, so a value never seen in training still has a code


class EntropyError(ValueError):
    """Bytes that the range coder cannot read back with these tables."""


def _family():
    # Per-symbol tables: each symbol of a stream is coded with its own row. perfect=False fixes the fixed-point
    # approximation of a row by a fast rule that sender and receiver share.
    return constriction.stream.model.Categorical(perfect=False)


def _words(data: bytes) -> np.ndarray:
    """The range coder's 32-bit words from bytes cut at byte precision: zero bytes pad the last word back."""
    padded = bytes(data) + bytes(-len(data) % 4)
    return np.frombuffer(padded, dtype=">u4").astype(np.uint32)


def _decodes_to(data: bytes, symbols: np.ndarray, tables: np.ndarray) -> bool:
    try:
        got = constriction.stream.queue.RangeDecoder(_words(data)).decode(_family(), tables)
    except (ValueError, RuntimeError, AssertionError):
        return False
    return bool(np.array_equal(got, symbols))


def _round_up(prefix: bytes) -> bytes | None:
    """The next byte string of the same length (None past all-0xFF)."""
    n = int.from_bytes(prefix, "big") + 1
    return n.to_bytes(len(prefix), "big") if n < 256 ** len(prefix) else None


def encode(symbols: np.ndarray, tables: np.ndarray) -> bytes:
    """One digit's symbols (D,) in 0 .. levels - 1, coded with row d of ``tables`` (D, levels) for symbol d.

    constriction's range coder ends on a whole 32-bit word (up to 3 bytes and more of flushed state past what the
    symbols need). The words are written most significant byte first, and cut to the shortest prefix that, rounded
    up at its last byte and padded with zeros, still lies in the final interval: checked by decoding it."""
    symbols = np.ascontiguousarray(symbols, dtype=np.int32)
    coder = constriction.stream.queue.RangeEncoder()
    coder.encode(symbols, _family(), tables)
    best = coder.get_compressed().astype(">u4").tobytes()
    for k in range(len(best) - 1, -1, -1):
        fits = [c for c in (best[:k], _round_up(best[:k])) if c is not None and _decodes_to(c, symbols, tables)]
        if not fits:
            break
        best = fits[0]
    return best


def decode(data: bytes, tables: np.ndarray) -> np.ndarray:
    """The (D,) symbols that ``encode`` turned into ``data``."""
    try:
        return constriction.stream.queue.RangeDecoder(_words(data)).decode(_family(), tables).astype(np.int64)
    except (ValueError, RuntimeError, AssertionError) as e:
        raise EntropyError(f"the code cannot be decoded: {e}") from e


def histogram_tables(symbols: np.ndarray, levels: int, pseudo: float = PSEUDO_COUNT) -> np.ndarray:
    """Per code value, the frequency of each symbol over ``symbols`` (N, D), smoothed: (D, levels) float32."""
    d = symbols.shape[1]
    flat = (np.arange(d) * levels + symbols).ravel()
    counts = np.bincount(flat, minlength=d * levels).reshape(d, levels) + pseudo
    return (counts / counts.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class Coder:
    """How one model's codes become integers 0 .. steps - 1 and back, and how those are coded into bytes.

    ``kind`` "integer": the code is integers already, shifted by ``offset`` (a codec, coded with its own prior);
    "uniform": values quantized to ``steps`` levels over [lo, hi], as ``quantize`` does. Each value is coded with its
    own table: (values, steps) probabilities.
    """

    kind: str
    shape: tuple[int, ...]  # one digit's code
    tables: np.ndarray  # (values, steps) float32
    steps: int
    lo: float = 0.0
    hi: float = 0.0
    offset: int = 0

    def digest(self) -> bytes:
        """What the receiver's coder must match: sha256 of the tables and the quantization."""
        head = f"{self.kind} {self.shape} {self.steps} {self.lo!r} {self.hi!r} {self.offset}".encode()
        return hashlib.sha256(head + np.ascontiguousarray(self.tables).tobytes()).digest()

    def symbols(self, z: torch.Tensor) -> np.ndarray:
        """Codes (N, *shape) -> integers (N, values) in 0 .. steps - 1."""
        flat = z.detach().reshape(len(z), -1).cpu()
        if self.kind == "integer":
            q = torch.round(flat).clamp(-self.offset, self.steps - 1 - self.offset) + self.offset
        else:
            q = quantize(flat, self.lo, self.hi, int(np.log2(self.steps)))
        return q.numpy().astype(np.int64)

    def values(self, symbols: np.ndarray) -> torch.Tensor:
        """Integers (N, values) -> the codes the decoder is fed (N, *shape)."""
        q = torch.from_numpy(np.asarray(symbols, dtype=np.float32))
        z = q - self.offset if self.kind == "integer" else dequantize(q, self.lo, self.hi, int(np.log2(self.steps)))
        return z.reshape(len(q), *self.shape)

    def to_bytes(self, q: np.ndarray) -> bytes:
        """One digit's integers (values,) as bytes."""
        return encode(q, self.tables)

    def from_bytes(self, data: bytes) -> np.ndarray:
        """One digit's integers (values,) from its bytes."""
        return decode(data, self.tables)

    def encode(self, z: torch.Tensor) -> list[bytes]:
        return [self.to_bytes(q) for q in self.symbols(z)]

    def decode(self, data: bytes) -> torch.Tensor:
        """One digit's code (1, *shape) from its bytes."""
        return self.values(self.from_bytes(data)[None])


@torch.inference_mode()
def coder_for(model: nn.Module, meta: dict, train_images: torch.Tensor | None) -> Coder:
    """The coder of ``model``: its own prior if it has one, else 8-bit codes with the training digits' histograms
    (``train_images`` is then needed; the range is the sidecar's ``code_range``, else the training codes')."""
    model.eval()
    shape = tuple(model.encode(torch.zeros(1, 1, 28, 28)).shape[1:])
    if hasattr(model, "probability_tables"):
        tables = model.probability_tables().astype(np.float32)
        return Coder("integer", shape, tables, tables.shape[1], offset=(tables.shape[1] - 1) // 2)
    if train_images is None:
        raise ValueError("a plain autoencoder's tables are made from the training digits' codes")
    lo, hi = (float(v) for v in (meta.get("code_range") or code_range(model, train_images)))
    steps = 2**CODE_BITS
    plain = Coder("uniform", shape, np.zeros((0, steps), np.float32), steps, lo, hi)
    q = plain.symbols(cat_batches(model.encode, model, train_images))
    return Coder("uniform", shape, histogram_tables(q, steps), steps, lo, hi)
