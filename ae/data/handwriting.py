"""A user's own digits: the drawings they labelled, kept as a small file so that they outlive a reload.

A set is plain data (28×28 uint8 images, MNIST's own format, and their labels 0-9) and never changes in place: adding
or removing a digit gives a new set, so a set held in a session is replaced in one step. The file is an ``.npz`` of
two arrays, read with ``allow_pickle=False`` and checked before anything is used: a file that is not one is refused
with a sentence saying why.

``synthetic`` is a fixed stand-in for someone's handwriting, for tests: MNIST test digits slanted and thickened.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from ae.data.mnist import Mnist, to_float

SIZE = 28
MAX_DIGITS = 1000
MIN_FOR_FINETUNE = 20  # fewer digits than this teach a model little beyond the digits themselves
MAX_FILE_BYTES = 2 * 1024 * 1024  # 1,000 digits are about 0.8 MB uncompressed
MEMBERS = {"images.npy": (MAX_DIGITS * SIZE * SIZE), "labels.npy": MAX_DIGITS * 8}  # name -> most data bytes
NPY_HEADER = 1024  # room for a .npy member's header on top of its data
SHEAR = 0.3  # the synthetic set's slant: x moves by 0.3 of y (about 17 degrees)


class DigitFileError(ValueError):
    """A digits file that cannot be used; the message is meant for the person who uploaded it."""


@dataclass(frozen=True, eq=False)
class DigitSet:
    images: np.ndarray  # (n, 28, 28) uint8, light ink on black as in MNIST
    labels: np.ndarray  # (n,) uint8, 0-9

    def __len__(self) -> int:
        return len(self.labels)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The images as float (n, 1, 28, 28) in [0, 1], exactly as MNIST's are scaled, and the labels."""
        return to_float(self.images), torch.from_numpy(self.labels.astype(np.int64))

    def counts(self) -> dict[int, int]:
        """How many digits of each label, 0 to 9."""
        return {d: int(n) for d, n in enumerate(np.bincount(self.labels, minlength=10))}


def empty() -> DigitSet:
    return DigitSet(np.zeros((0, SIZE, SIZE), np.uint8), np.zeros(0, np.uint8))


def to_uint8(digit: np.ndarray) -> np.ndarray:
    """A float 28×28 digit in [0, 1] (what ae.data.preprocess makes) as MNIST's bytes."""
    digit = np.asarray(digit, dtype=np.float32).reshape(SIZE, SIZE)
    return np.clip(np.rint(digit * 255.0), 0, 255).astype(np.uint8)


def add(digits: DigitSet, digit: np.ndarray, label: int) -> DigitSet:
    """``digits`` with ``digit`` (28×28 float in [0, 1], or uint8) labelled ``label`` added at the end."""
    if not (isinstance(label, int | np.integer) and 0 <= label <= 9):
        raise ValueError(f"a digit's label is a whole number from 0 to 9, not {label!r}")
    if len(digits) >= MAX_DIGITS:
        raise ValueError(f"you have {MAX_DIGITS:,} digits, as many as a set holds: remove some first")
    image = digit if np.asarray(digit).dtype == np.uint8 else to_uint8(digit)
    images = np.concatenate([digits.images, np.asarray(image, np.uint8).reshape(1, SIZE, SIZE)])
    return DigitSet(images, np.append(digits.labels, np.uint8(label)))


def remove(digits: DigitSet, index: int) -> DigitSet:
    """``digits`` without the one at ``index`` (negative counts from the end)."""
    keep = np.ones(len(digits), bool)
    keep[index] = False  # IndexError for an index out of range
    return DigitSet(digits.images[keep], digits.labels[keep])


def merge(digits: DigitSet, more: DigitSet) -> DigitSet:
    """``digits`` followed by those of ``more`` it does not hold yet (same image and label): loading the same file
    twice adds nothing. DigitFileError if the result would hold more than MAX_DIGITS."""
    seen = {(im.tobytes(), int(lb)) for im, lb in zip(digits.images, digits.labels, strict=True)}
    new = []
    for i, (im, lb) in enumerate(zip(more.images, more.labels, strict=True)):
        if (key := (im.tobytes(), int(lb))) not in seen:
            seen.add(key)
            new.append(i)
    if len(digits) + len(new) > MAX_DIGITS:
        raise DigitFileError(
            f"together with the {len(digits)} digits you have, that makes {len(digits) + len(new):,}: a set holds "
            f"at most {MAX_DIGITS:,}"
        )
    return DigitSet(
        np.concatenate([digits.images, more.images[new]]), np.concatenate([digits.labels, more.labels[new]])
    )


def to_bytes(digits: DigitSet) -> bytes:
    """The set as a compressed ``.npz`` file (a few kB for a few dozen digits)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, images=digits.images.astype(np.uint8), labels=digits.labels.astype(np.uint8))
    return buf.getvalue()


def from_bytes(blob: bytes) -> DigitSet:
    """The set a file written by ``to_bytes`` holds, checked; DigitFileError says what is wrong with it."""
    if len(blob) > MAX_FILE_BYTES:
        raise DigitFileError(
            f"the file is {len(blob) / 1e6:.1f} MB: a digits file is at most {MAX_FILE_BYTES / 1e6:.0f} MB"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            sizes = {info.filename: info.file_size for info in z.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError):
        raise DigitFileError("this is not a digits file (.npz) saved by this app") from None
    if set(sizes) != set(MEMBERS):
        raise DigitFileError(
            f"a digits file holds exactly two arrays, images and labels; this one holds {sorted(sizes)}"
        )
    if any(size > MEMBERS[name] + NPY_HEADER for name, size in sizes.items()):
        raise DigitFileError(
            f"the file holds more than {MAX_DIGITS:,} digits: a set holds at most {MAX_DIGITS:,}"
        )  # checked unpacked
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise DigitFileError(f"the file's arrays cannot be read ({_short(e)})") from None
    return _checked(images, labels)


def _checked(images: np.ndarray, labels: np.ndarray) -> DigitSet:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (SIZE, SIZE):
        raise DigitFileError(f"the images must be 28×28 bytes (uint8), not {images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(images):
        raise DigitFileError(
            f"the labels must be one whole number per image ({len(images)}), not {labels.dtype} {labels.shape}"
        )
    if len(labels) > MAX_DIGITS:
        raise DigitFileError(f"the file holds {len(labels):,} digits: a set holds at most {MAX_DIGITS:,}")
    if len(labels) and not ((labels >= 0) & (labels <= 9)).all():
        bad = int(labels[(labels < 0) | (labels > 9)][0])
        raise DigitFileError(f"a label is {bad}: labels are digits from 0 to 9")
    return DigitSet(np.ascontiguousarray(images), labels.astype(np.uint8))


def _short(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= 120 else text[:120] + "…"


def synthetic(data: Mnist, n: int = 100, start: int = 0) -> DigitSet:
    """A fixed stand-in for one person's handwriting: MNIST test digits ``start`` to ``start + n``, slanted to the
    right (a shear) and drawn with a thicker pen (a 3×3 dilation). Deterministic: no randomness at all."""
    x = to_float(data.test_x[start : start + n])
    # affine_grid maps output to input coordinates: sampling at x - SHEAR·y slants the digit forward.
    theta = torch.tensor([[1.0, -SHEAR, 0.0], [0.0, 1.0, 0.0]]).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    slanted = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    thick = F.max_pool2d(slanted, 3, stride=1, padding=1)
    images = (thick[:, 0].clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()
    return DigitSet(images, data.test_y[start : start + n].astype(np.uint8))
