"""The .ael file: one digit, entropy coded by a model of the lab (``entropy``), small enough to count in bits.

Layout (format 2): a 3-byte header, then the payload to the end of the file; its length is the file's.

    tag      1 byte   the model's tag, 0x00-0xAD: first byte of sha256(name) mod 0xAE (MODEL_TAGS)
    check    2 bytes  big-endian: the payload's length mod 16 (4 bits), then a CRC-12 of the model hash, the tag and
                      the payload (12 bits)
    payload  ...      the range coder's bytes, cut at byte precision (``entropy.encode``)

The model hash is that of the weights and of the tables the code was coded with: a file passes the check only with the
very model that made it, never decoding into a wrong picture with a retrained one. A CRC of degree 12 detects any
changed byte (any burst of up to 12 changed bits). The length bits tell a truncated file (its payload shorter than
it was, so the CRC fails too) from a changed byte (same length).

The first byte keeps the other values for other formats: 0xAE was the mark of format 1 (a 17-byte header with the
model's name), whose files are refused with a message that says so; 0xAF-0xFF are for later formats.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ae.compression.entropy import Coder, EntropyError, coder_for
from ae.data.mnist import load_mnist
from ae.storage import checkpoints
from ae.storage.catalogue import active_registry

OLD_MARK = 0xAE  # the first byte of every format-1 file
MODEL_TAGS = OLD_MARK  # tags are 0 .. 0xAD
HASH_BYTES = 4
HEADER_BYTES = 3
LENGTH_MOD = 16
CRC_POLY, CRC_BITS = 0x80F, 12  # CRC-12/DECT: x^12 + x^11 + x^3 + x^2 + x + 1


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        c = byte << (CRC_BITS - 8)
        for _ in range(8):
            c = ((c << 1) ^ (CRC_POLY if c & (1 << (CRC_BITS - 1)) else 0)) & ((1 << CRC_BITS) - 1)
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc12(data: bytes, crc: int = 0xFFF) -> int:
    """CRC-12 of ``data``, most significant bit first."""
    for byte in data:
        crc = ((crc << 8) & 0xFFF) ^ _CRC_TABLE[((crc >> (CRC_BITS - 8)) ^ byte) & 0xFF]
    return crc


class AelError(ValueError):
    """A file that cannot be decompressed; the message says why, for the person who has the file."""


class NotAelFile(AelError):
    pass


class UnsupportedVersion(AelError):
    pass


class OldFormat(UnsupportedVersion):
    """A format-1 file (0xAE mark, model name, 4-byte hash, CRC-16)."""


class TruncatedFile(AelError):
    pass


class CorruptFile(AelError):
    """A changed byte, or a file made by another version (retrained since) of the model: the check cannot tell."""


class WrongModel(AelError):
    """Made by another model than the one asked for, or by one this lab does not have."""


@dataclass(frozen=True)
class Parsed:
    tag: int
    check: int
    payload: bytes
    header_bytes: int = HEADER_BYTES


def model_tag(name: str) -> int:
    return hashlib.sha256(name.encode("utf-8")).digest()[0] % MODEL_TAGS


def models_with_tag(tag: int, names) -> list[str]:
    return [n for n in names if model_tag(n) == tag]


def model_hash(weights_sha256: str, coder: Coder) -> bytes:
    return hashlib.sha256(bytes.fromhex(weights_sha256) + coder.digest()).digest()[:HASH_BYTES]


def _check(tag: int, model_hash_: bytes, payload: bytes) -> int:
    return (len(payload) % LENGTH_MOD) << CRC_BITS | crc12(model_hash_ + bytes([tag]) + payload)


def header_bytes(name: str = "", payload_bytes: int = 0) -> int:
    """The bytes of a file that are not payload: always 3."""
    return HEADER_BYTES


def pack(name: str, model_hash_: bytes, payload: bytes) -> bytes:
    if len(model_hash_) != HASH_BYTES:
        raise ValueError("a 4-byte model hash is needed")
    tag = model_tag(name)
    return bytes([tag]) + _check(tag, model_hash_, payload).to_bytes(2, "big") + payload


def unpack(data: bytes) -> Parsed:
    """The parts of an .ael file: raises NotAelFile, OldFormat, UnsupportedVersion or TruncatedFile. The check is
    the model's to verify (``Sender.check``), since it is seeded with the model's hash."""
    if not data:
        raise NotAelFile("this file is empty: an .ael file has at least its 3-byte header")
    if data[0] == OLD_MARK:
        raise OldFormat(
            "this .ael file is in the old format (format 1, a 17-byte header that named its model), which this lab "
            "no longer reads: compress the digit again to get a format-2 file (3-byte header)"
        )
    if data[0] > OLD_MARK:
        raise UnsupportedVersion(f"this .ael file starts with 0x{data[0]:02X}: a later format than this lab reads")
    if len(data) < HEADER_BYTES:
        raise TruncatedFile(f"the file is truncated: it ends after {len(data)} bytes, inside its 3-byte header")
    return Parsed(data[0], int.from_bytes(data[1:3], "big"), bytes(data[HEADER_BYTES:]))


def verify(name: str, model_hash_: bytes, parsed: Parsed, known=()) -> None:
    """Raise WrongModel, TruncatedFile or CorruptFile unless model ``name`` (hash ``model_hash_``) made ``parsed``;
    ``known``: the names of the lab's models, to say which one made a file of another tag."""
    if parsed.tag != model_tag(name):
        others = models_with_tag(parsed.tag, known)
        made = f"model {' or '.join(repr(n) for n in others)}" if others else "a model this lab does not have"
        raise WrongModel(
            f"this file was made with {made}, not {name!r}" + (f": decompress it with {others[0]}" if others else "")
        )
    length_ok = parsed.check >> CRC_BITS == len(parsed.payload) % LENGTH_MOD
    crc_ok = parsed.check & 0xFFF == crc12(model_hash_ + bytes([parsed.tag]) + parsed.payload)
    if not length_ok and not crc_ok:
        missing = ((parsed.check >> CRC_BITS) - len(parsed.payload)) % LENGTH_MOD
        raise TruncatedFile(
            f"the file is truncated: {missing} byte(s) of its code are missing at its end"
            if missing <= LENGTH_MOD // 2
            else f"the file has {LENGTH_MOD - missing} byte(s) too many: bytes were added at its end"
        )
    if not (length_ok and crc_ok):
        raise CorruptFile(
            "the file is corrupted: its check does not match its bytes (a byte was changed), or it was made by "
            f"another version of {name!r} (retrained since, whose decoder would give a wrong picture)"
        )


@dataclass(frozen=True)
class Sender:
    """What compressing and decompressing with one model needs: the model, its coder and its file hash."""

    name: str
    model: nn.Module
    coder: Coder
    model_hash: bytes

    @torch.inference_mode()
    def compress(self, digit: np.ndarray) -> bytes:
        """A (28, 28) digit in [0, 1] as an .ael file."""
        self.model.eval()
        x = torch.as_tensor(np.asarray(digit, dtype=np.float32)).reshape(1, 1, 28, 28)
        return pack(self.name, self.model_hash, self.coder.encode(self.model.encode(x))[0])

    @torch.inference_mode()
    def decompress(self, data: bytes) -> np.ndarray:
        """The (28, 28) picture in [0, 1] that ``data`` holds, if this model made it (else an AelError)."""
        parsed = unpack(data)
        self.check(parsed)
        try:
            z = self.coder.decode(parsed.payload)
        except EntropyError as e:
            raise CorruptFile(f"the file is corrupted: {e}") from None
        self.model.eval()
        return self.model.decode(z).reshape(28, 28).numpy()

    def check(self, parsed: Parsed) -> None:
        verify(self.name, self.model_hash, parsed, active_registry())


def load_sender(name: str, source=None, data=None, registry: dict | None = None, mnist_root=None) -> Sender:
    """The Sender of model ``name``, from the checkpoint that serves it (``checkpoints.folders(source)``). A plain
    autoencoder's tables are made from the training digits' codes (``data``, else MNIST from ``mnist_root``)."""
    folder, _ = checkpoints.folders(source).resolve(name, registry)
    model, meta = checkpoints.load(name, folder, registry)
    train = None if hasattr(model, "probability_tables") else (data or load_mnist(mnist_root)).train_images()
    coder = coder_for(model, meta, train)
    return Sender(name, model, coder, model_hash(meta["weights_sha256"], coder))


def png_bytes(picture: np.ndarray) -> bytes:
    """A (28, 28) picture in [0, 1] as an 8-bit grayscale PNG."""
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8), mode="L").save(buf, "PNG")
    return buf.getvalue()
