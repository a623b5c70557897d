"""Datasets as a dimension: Fashion-MNIST from Debian's package beside MNIST, a model's spec naming what it learns,
the whole app switching to it from the sidebar or a link, and one clear sentence when it is not installed."""

from __future__ import annotations

import gzip
import logging
import os
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ae.cli.main import main
from ae.data import fashion
from ae.data.datasets import DATASETS, load_dataset
from ae.data.mnist import DataError
from ae.models.specs import ModelSpec
from ae.storage import spec_files
from ae.storage.catalogue import REGISTRY
from ae.training.runs import train_and_save
from tests.tiny import TINY_LINEAR

ROOT = Path(__file__).resolve().parent.parent
# CI installs the package (.ci/run); elsewhere a machine without it skips what needs the real pictures.
needs_fashion = pytest.mark.skipif(
    bool(fashion.missing()) and not os.environ.get("CI"), reason="dataset-fashion-mnist is not installed"
)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:WITH_FASHION")
    logging.getLogger("streamlit.elements.lib.policies").setLevel(logging.ERROR)


@needs_fashion
def test_fashion_mnist_loads_from_the_debian_package_as_60k_and_10k_labelled_pictures():
    data = load_dataset("fashion")
    assert data.dataset == "fashion" and data.source.startswith("fashion:")
    assert data.train_x.shape == (60000, 28, 28) and data.test_x.shape == (10000, 28, 28)
    assert set(np.unique(data.test_y)) == set(range(10)) and len(fashion.CLASSES) == 10
    assert data.fingerprint != load_dataset("mnist").fingerprint
    assert load_dataset("fashion").fingerprint == data.fingerprint  # again, from the cache


def test_a_missing_package_is_one_sentence_that_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv(fashion.FASHION_ROOT_ENV, str(tmp_path))
    with pytest.raises(DataError) as e:
        load_dataset("fashion")
    assert str(e.value) == fashion.INSTALL_HINT and "apt-get install dataset-fashion-mnist" in str(e.value)
    assert DATASETS["fashion"].missing() == fashion.INSTALL_HINT
    with pytest.raises(DataError, match="unknown dataset 'letters'; known: mnist, fashion"):
        load_dataset("letters")


def _idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(">II", magic, len(array)) + b"".join(struct.pack(">I", n) for n in array.shape[1:])
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_an_idx_file_is_read_exactly_and_a_damaged_one_is_refused(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint64).reshape(3, 28, 28) % 256
    _idx(tmp_path / "a.gz", images, 0x0803)
    assert (fashion.read_idx(tmp_path / "a.gz") == images).all()
    _idx(tmp_path / "b.gz", images, 0x0801 + 7)
    with pytest.raises(DataError, match="not an IDX file"):
        fashion.read_idx(tmp_path / "b.gz")
    (tmp_path / "c.gz").write_bytes(gzip.compress(gzip.decompress((tmp_path / "a.gz").read_bytes())[:-5]))
    with pytest.raises(DataError, match="header promises"):
        fashion.read_idx(tmp_path / "c.gz")


def test_a_spec_names_its_dataset_and_mnist_checkpoints_stay_fresh():
    assert REGISTRY["fashion-conv-8"].dataset == "fashion" and REGISTRY["conv-8"].dataset == "mnist"
    assert "dataset" not in REGISTRY["conv-8"].arch_dict()  # as every checkpoint made before recorded it
    assert REGISTRY["fashion-conv-8"].arch_dict()["dataset"] == "fashion"
    built = replace(TINY_LINEAR, name="my-shirts", group="lab", dataset="fashion")
    assert spec_files.from_dict(spec_files.to_dict(built)).dataset == "fashion"
    with pytest.raises(spec_files.SpecError, match="unknown dataset 'letters'"):
        spec_files.from_dict({**spec_files.to_dict(built), "dataset": "letters"})


def test_a_model_trains_only_on_the_dataset_its_spec_names(small_mnist, tmp_path):
    spec = ModelSpec("shirts", "linear", {"depth": 4}, TINY_LINEAR.recipe, dataset="fashion")
    with pytest.raises(ValueError, match="shirts learns fashion, not mnist"):
        train_and_save(spec, small_mnist, directory=tmp_path)
    assert not list(tmp_path.iterdir())


def test_eval_without_fashion_evaluates_mnist_and_says_how_to_add_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(fashion.FASHION_ROOT_ENV, str(tmp_path / "none"))
    assert main(["eval", "--checkpoints", str(ROOT / "checkpoints"), "--no-ood"]) in (0, 1)
    out, err = capsys.readouterr()
    assert err.count(fashion.INSTALL_HINT) == 1 and "Its models are not evaluated." in err
    assert "tiny-linear" in out and "tiny-fashion" not in out


def _open(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _models(at: AppTest) -> list[str]:
    return [option.split(" (")[0] for option in at.radio(key="model").options]  # "name (code shape)"


@needs_fashion
def test_a_link_switches_the_whole_app_to_fashion_and_the_picker_back():
    at = _open(data="fashion", source="x")
    at.segmented_control[0].set_value("Random test digit").run()
    assert not at.exception and _models(at) == ["tiny-fashion"]
    assert at.sidebar.selectbox(key="dataset_picker").value == "fashion"
    assert at.query_params["data"] == ["fashion"] or at.query_params["data"] == "fashion"
    caption = next(c for c in (i.caption for el in at.get("image") for i in el.proto.imgs) if c.startswith("Test"))
    assert caption.startswith("Test picture #") and caption.split("label ")[1] in fashion.CLASSES
    at.sidebar.selectbox(key="dataset_picker").set_value("mnist").run()
    assert not at.exception and _models(at) == ["tiny-linear", "tiny-conv"]
    assert "data" not in at.query_params  # MNIST is the default: the link needs no parameter


@needs_fashion
def test_draw_on_fashion_reads_the_picture_with_the_clothes_reader(monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:LINEAR_PAIR")  # both with shipped checkpoints
    at = _open(data="fashion", source="x")
    at.segmented_control[0].set_value("Random test digit").run()
    assert not at.exception and _models(at) == ["fashion-linear-32"]
    reads = next(m for m in at.metric if m.label == "Classifier reads")
    seen, rebuilt = reads.value.split(" → ")
    assert seen in fashion.CLASSES and rebuilt in fashion.CLASSES  # named as clothes, not as the digits 0-9
    assert "clothes classifier" in reads.help


def test_asking_for_fashion_without_the_package_keeps_mnist_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setenv(fashion.FASHION_ROOT_ENV, str(tmp_path))
    at = _open(data="fashion")
    assert fashion.INSTALL_HINT in [w.value for w in at.sidebar.warning]
    at.segmented_control[0].set_value("Random test digit").run()
    assert not at.exception and _models(at) == ["tiny-linear", "tiny-conv"]
    at.sidebar.selectbox(key="dataset_picker").set_value("fashion").run()
    assert _models(at) == ["tiny-linear", "tiny-conv"] and at.sidebar.selectbox(key="dataset_picker").value == "mnist"
    assert fashion.INSTALL_HINT in [w.value for w in at.sidebar.warning]


def test_an_unknown_dataset_in_a_link_is_ignored_with_a_note():
    at = _open(data="letters")
    assert not at.exception and at.sidebar.selectbox(key="dataset_picker").value == "mnist"
    assert any("data=letters" in t.value for t in at.toast)
