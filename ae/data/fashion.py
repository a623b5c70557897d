"""Fashion-MNIST, offline: Zalando's 60,000 training and 10,000 test pictures of clothing, 28x28 like MNIST.

Read from the folder ``AELAB_FASHION_ROOT`` names, else from Debian's ``dataset-fashion-mnist`` package (its four
gzipped IDX files in /usr/share/datasets/fashion-mnist). Decoded once into the same cache as MNIST.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from ae.data.mnist import DataError, Mnist, cache_path, fingerprint, load_cache, validate, write_cache

FASHION_ROOT_ENV = "AELAB_FASHION_ROOT"
DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = (
    "Fashion-MNIST is not installed: install it with `sudo apt-get install dataset-fashion-mnist` (Debian), or "
    f"set {FASHION_ROOT_ENV} to a folder with its four *-ubyte.gz files."
)
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FILES = {  # the arrays, from the files Zalando publishes (the names MNIST's IDX files have)
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
_IDX_TYPES = {0x0803: 3, 0x0801: 1}  # unsigned-byte images (3 dimensions) and labels (1)
_MAX_ITEMS = 100_000


def root() -> Path:
    return Path(os.environ.get(FASHION_ROOT_ENV) or DEBIAN_ROOT).expanduser()


def _file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def missing(folder: Path | None = None) -> str | None:
    """None when the four files are there, else the sentence that says how to install them."""
    folder = folder or root()
    return None if all(_file(folder, stem) for stem in FILES.values()) else INSTALL_HINT


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzipped or not) of unsigned bytes; DataError when it is not one."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
        raw = f.read(_MAX_ITEMS * 28 * 28 + 16)
    magic, count = struct.unpack(">II", raw[:8]) if len(raw) >= 8 else (0, 0)
    dims = _IDX_TYPES.get(magic)
    if dims is None or count > _MAX_ITEMS:
        raise DataError(f"{path} is not an IDX file of unsigned bytes. {INSTALL_HINT}")
    shape = (count, *struct.unpack(f">{dims - 1}I", raw[8 : 4 + 4 * dims]))
    body = raw[4 + 4 * dims :]
    if len(body) != int(np.prod(shape)):
        raise DataError(f"{path} holds {len(body)} bytes where its header promises {shape}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_fashion(folder: str | os.PathLike | None = None, *, use_cache: bool = True) -> Mnist:
    """The 60k/10k Fashion-MNIST split, from the cache when it is there. Raises DataError with the fix."""
    folder = Path(folder).expanduser() if folder else root()
    if missing(folder):
        raise DataError(INSTALL_HINT)
    images = _file(folder, FILES["train_x"])
    cache = cache_path("fashion", images, prefix="fashion")
    cached = load_cache(cache) if use_cache else None
    if cached is not None:
        arrays, fp = [cached[k] for k in FILES], str(cached["fingerprint"])
    else:
        arrays = [read_idx(_file(folder, stem)) for stem in FILES.values()]
        arrays[1], arrays[3] = arrays[1].astype(np.int64), arrays[3].astype(np.int64)
        validate(*arrays, where=str(folder), title="Fashion-MNIST")
        fp = fingerprint(*arrays)
        if use_cache:
            write_cache(cache, arrays, fp)
    validate(*arrays, where=str(cache), title="Fashion-MNIST")
    return Mnist(*arrays, source=f"fashion:{folder}", fingerprint=fp, dataset="fashion")
