"""The reference readers (one classifier per dataset) as registry entries: their recipe describes the shipped weights
and retrains them."""

from dataclasses import replace

import pytest
import torch

from ae.data import fashion
from ae.data.datasets import load_dataset
from ae.measure.classifier import accuracy
from ae.models.specs import ClassifierRecipe
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER, READERS, readers
from ae.training.classifier_training import ACCURACY_TARGET, ACCURACY_TARGETS, train_classifier
from ae.training.runs import train_and_save

# A few hundred digits and one epoch: the same code path as the shipped recipe, in about a second.
TINY = replace(
    CLASSIFIER, recipe=ClassifierRecipe(epochs=1, batch_size=64, lr=2e-3, warmup=0.3, threads=1, train_subset=256)
)


@pytest.mark.parametrize("name", list(readers()))
def test_the_shipped_sidecar_records_the_recipe_in_the_registry(name):
    spec = readers()[name]
    meta = checkpoints.read_sidecar(name)
    assert meta["recipe"] == spec.recipe_dict()
    assert checkpoints.status(name, registry={name: spec}).state == "fresh"


@pytest.mark.parametrize("name", list(readers()))
def test_the_recipe_names_the_threads_the_shipped_weights_were_trained_on(name):
    assert checkpoints.read_sidecar(name)["platform"]["threads"] == readers()[name].recipe.threads


def test_every_dataset_with_a_reader_has_a_target_and_its_own_images():
    assert set(ACCURACY_TARGETS) == set(READERS) and READERS["mnist"] is CLASSIFIER
    assert all(spec.dataset == key for key, spec in READERS.items())


@pytest.mark.skipif(bool(fashion.missing()), reason="dataset-fashion-mnist is not installed")
def test_the_shipped_clothes_reader_reads_the_fashion_test_pictures_at_its_target():
    spec = READERS["fashion"]
    model, meta = checkpoints.load(spec.name, registry={spec.name: spec})
    data = load_dataset("fashion")
    assert meta["data"]["fingerprint"] == data.fingerprint  # trained on these pictures, not on digits
    assert accuracy(model, data.test_images(), data.test_y) >= ACCURACY_TARGETS["fashion"]


def test_the_recorded_warmup_is_the_one_training_uses(small_mnist):
    """Two warm-ups give two sets of weights: the recipe's warm-up reaches the scheduler."""
    a, _, _ = train_classifier(small_mnist, TINY)
    b, _, _ = train_classifier(small_mnist, replace(TINY, recipe=replace(TINY.recipe, warmup=0.1)))
    assert not torch.equal(a.fc2.weight, b.fc2.weight)


def test_training_twice_from_the_recipe_gives_the_same_file(small_mnist, tmp_path):
    first = train_and_save(TINY, small_mnist, directory=tmp_path / "a")
    second = train_and_save(TINY, small_mnist, directory=tmp_path / "b")
    assert first["weights_sha256"] == second["weights_sha256"]
    assert first["recipe"] == TINY.recipe_dict() and first["platform"]["threads"] == 1
    assert first["command"] == "python -m ae train-classifier" and len(first["history"]) == 1


def test_cli_writes_the_checkpoint_and_fails_below_the_accuracy_target(tmp_path, monkeypatch, capsys):
    from ae.cli import train
    from ae.cli.main import main

    monkeypatch.setitem(train.READERS, "mnist", TINY)
    assert main(["train-classifier", "--checkpoints", str(tmp_path)]) == 1  # one tiny epoch: below 99%
    meta = checkpoints.read_sidecar(CLASSIFIER.name, tmp_path)
    assert meta["command"].startswith("python -m ae") and meta["metrics"]["test_accuracy"] < ACCURACY_TARGET
    assert f"test accuracy {meta['metrics']['test_accuracy']:.4f}" in capsys.readouterr().out
