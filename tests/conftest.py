from __future__ import annotations

import pytest

from ae.data import Mnist, load_mnist


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    return load_mnist()


@pytest.fixture(scope="session")
def small_mnist(mnist: Mnist) -> Mnist:
    """The same data with only 1,000 test digits, so per-epoch evaluation in tests is quick."""
    return Mnist(
        mnist.train_x, mnist.train_y, mnist.test_x[:1000], mnist.test_y[:1000], mnist.source, mnist.fingerprint
    )
