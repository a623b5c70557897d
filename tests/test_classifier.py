"""The reference classifier as a registry entry: its recipe describes the shipped weights and retrains them."""

from dataclasses import replace

import torch

from ae.models.specs import ClassifierRecipe
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER
from ae.training.classifier_training import ACCURACY_TARGET, train_classifier
from ae.training.runs import train_and_save

# A few hundred digits and one epoch: the same code path as the shipped recipe, in about a second.
TINY = replace(
    CLASSIFIER, recipe=ClassifierRecipe(epochs=1, batch_size=64, lr=2e-3, warmup=0.3, threads=1, train_subset=256)
)


def test_the_shipped_sidecar_records_the_recipe_in_the_registry():
    meta = checkpoints.read_sidecar(CLASSIFIER.name)
    assert meta["recipe"] == CLASSIFIER.recipe_dict()
    assert checkpoints.status(CLASSIFIER.name, registry={CLASSIFIER.name: CLASSIFIER}).state == "fresh"


def test_the_recipe_names_the_threads_the_shipped_weights_were_trained_on():
    assert checkpoints.read_sidecar(CLASSIFIER.name)["platform"]["threads"] == CLASSIFIER.recipe.threads


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

    monkeypatch.setattr(train, "CLASSIFIER", TINY)
    assert main(["train-classifier", "--checkpoints", str(tmp_path)]) == 1  # one tiny epoch: below 99%
    meta = checkpoints.read_sidecar(CLASSIFIER.name, tmp_path)
    assert meta["command"].startswith("python -m ae") and meta["metrics"]["test_accuracy"] < ACCURACY_TARGET
    assert f"test accuracy {meta['metrics']['test_accuracy']:.4f}" in capsys.readouterr().out
