"""The .ael file: one digit, entropy coded by a model of the lab (``entropy``), small enough to count in bits.

Layout (all integers unsigned, big-endian):

    0xAE                  1 byte   the mark of an .ael file
    version               1 byte   FORMAT_VERSION
    name length, name     1 + n    the model that made it (ASCII)
    model hash            4 bytes  first bytes of sha256(weights' sha256, probability tables' digest)
    payload length        1-2      LEB128 varint
    payload               ...      the range coder's bytes
    CRC-16                2 bytes  CRC-CCITT of everything before it

The model hash is that of the weights and of the tables the code was coded with: a file is decoded only by the
very model that made it, never into a wrong picture by a retrained one. The CRC detects any changed byte (and any
burst of up to 16 changed bits), the lengths a truncated file.
"""

from __future__ import annotations

import binascii
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

MARK = 0xAE
FORMAT_VERSION = 1
HASH_BYTES = 4
CRC_BYTES = 2


class AelError(ValueError):
    """A file that cannot be decompressed; the message says why, for the person who has the file."""


class NotAelFile(AelError):
    pass


class UnsupportedVersion(AelError):
    pass


class TruncatedFile(AelError):
    pass


class CorruptFile(AelError):
    pass


class WrongModel(AelError):
    """Made by another model than the one asked for, or by one this lab does not have."""


class ChangedModel(AelError):
    """Made by a model of the same name whose weights (or tables) have changed since."""


@dataclass(frozen=True)
class Parsed:
    name: str
    model_hash: bytes
    payload: bytes
    header_bytes: int  # everything but the payload: mark, version, name, hash, length, CRC


def model_hash(weights_sha256: str, coder: Coder) -> bytes:
    return hashlib.sha256(bytes.fromhex(weights_sha256) + coder.digest()).digest()[:HASH_BYTES]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def header_bytes(name: str, payload_bytes: int) -> int:
    """The bytes of a file that are not payload."""
    return 2 + 1 + len(name.encode("ascii")) + HASH_BYTES + len(_varint(payload_bytes)) + CRC_BYTES


def pack(name: str, model_hash_: bytes, payload: bytes) -> bytes:
    raw = name.encode("ascii")
    if not 0 < len(raw) < 256 or len(model_hash_) != HASH_BYTES:
        raise ValueError("a model name of 1-255 ASCII characters and a 4-byte hash are needed")
    body = bytes([MARK, FORMAT_VERSION, len(raw)]) + raw + model_hash_ + _varint(len(payload)) + payload
    return body + binascii.crc_hqx(body, 0xFFFF).to_bytes(CRC_BYTES, "big")


def _need(data: bytes, end: int) -> None:
    if len(data) < end:
        raise TruncatedFile(f"the file is truncated: it ends after {len(data)} bytes, inside its header")


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    n = shift = 0
    for i in range(at, min(at + 3, len(data))):
        n |= (data[i] & 0x7F) << shift
        shift += 7
        if not data[i] & 0x80:
            return n, i + 1
    _need(data, at + 4)
    raise CorruptFile("the file is corrupted: its payload length cannot be read")


def unpack(data: bytes) -> Parsed:
    """The parts of an .ael file, checked: raises NotAelFile, UnsupportedVersion, TruncatedFile or CorruptFile."""
    if not data or data[0] != MARK:
        raise NotAelFile("this is not an .ael file (it does not start with the .ael mark 0xAE)")
    _need(data, 3)
    if data[1] != FORMAT_VERSION:
        raise UnsupportedVersion(f"this .ael file has format version {data[1]}; this lab reads version 1")
    at = 3 + data[2]
    _need(data, at + HASH_BYTES + 1)
    size, start = _read_varint(data, at + HASH_BYTES)
    end = start + size + CRC_BYTES
    if len(data) < end:
        raise TruncatedFile(f"the file is truncated: {len(data)} of its {end} bytes are there")
    if len(data) > end or binascii.crc_hqx(data[: end - CRC_BYTES], 0xFFFF) != int.from_bytes(data[-2:], "big"):
        raise CorruptFile("the file is corrupted: its checksum does not match its bytes (a byte was changed)")
    try:
        name = data[3 : 3 + data[2]].decode("ascii")
    except UnicodeDecodeError:
        raise CorruptFile("the file is corrupted: its model name is not readable") from None
    payload = bytes(data[start : start + size])
    return Parsed(name, bytes(data[at : at + HASH_BYTES]), payload, len(data) - size)


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
        if parsed.name != self.name:
            raise WrongModel(
                f"this file was made with model {parsed.name!r}, not {self.name!r}: decompress it with {parsed.name}"
            )
        if parsed.model_hash != self.model_hash:
            raise ChangedModel(
                f"this file was made with another version of {self.name!r} (model hash {parsed.model_hash.hex()}, "
                f"this one is {self.model_hash.hex()}): it was retrained or changed since, and its decoder would "
                "give a wrong picture"
            )


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
