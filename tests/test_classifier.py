"""The reference classifier as a registry entry: its recipe describes the shipped weights and retrains them."""

from dataclasses import replace

import torch

from ae import checkpoints
from ae.classifier import SPEC, train_and_save, train_classifier
from ae.registry import ClassifierRecipe

# A few hundred digits and one epoch: the same code path as the shipped recipe, in about a second.
TINY = replace(SPEC, recipe=ClassifierRecipe(epochs=1, batch_size=64, lr=2e-3, warmup=0.3, threads=1, train_subset=256))


def test_the_shipped_sidecar_records_the_recipe_in_the_registry():
    meta = checkpoints.read_sidecar(SPEC.name)
    assert meta["recipe"] == SPEC.recipe_dict()
    assert checkpoints.status(SPEC.name, registry={SPEC.name: SPEC}).state == "fresh"


def test_the_recipe_names_the_threads_the_shipped_weights_were_trained_on():
    assert checkpoints.read_sidecar(SPEC.name)["platform"]["threads"] == SPEC.recipe.threads


def test_the_recorded_warmup_is_the_one_training_uses(small_mnist):
    """Two warm-ups give two sets of weights: the recipe's warm-up reaches the scheduler."""
    a, _, _ = train_classifier(small_mnist, TINY)
    b, _, _ = train_classifier(small_mnist, replace(TINY, recipe=replace(TINY.recipe, warmup=0.1)))
    assert not torch.equal(a.fc2.weight, b.fc2.weight)


def test_training_twice_from_the_recipe_gives_the_same_file(small_mnist, tmp_path):
    first = train_and_save(small_mnist, tmp_path / "a", TINY)
    second = train_and_save(small_mnist, tmp_path / "b", TINY)
    assert first["weights_sha256"] == second["weights_sha256"]
    assert first["recipe"] == TINY.recipe_dict() and first["platform"]["threads"] == 1
    assert first["command"] == "python -m ae train-classifier" and len(first["history"]) == 1


def test_cli_writes_the_checkpoint_and_fails_below_the_accuracy_target(tmp_path, monkeypatch, capsys):
    from ae import classifier, cli

    tiny_run = classifier.train_and_save
    monkeypatch.setattr(
        classifier, "train_and_save", lambda data, directory, **kw: tiny_run(data, directory, TINY, **kw)
    )
    assert cli.main(["train-classifier", "--checkpoints", str(tmp_path)]) == 1  # one tiny epoch: below 99%
    meta = checkpoints.read_sidecar(SPEC.name, tmp_path)
    assert meta["command"].startswith("python -m ae") and meta["metrics"]["test_accuracy"] < classifier.ACCURACY_TARGET
    assert f"test accuracy {meta['metrics']['test_accuracy']:.4f}" in capsys.readouterr().out
