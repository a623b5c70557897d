import time
from dataclasses import replace

import pytest

from ae import checkpoints
from ae.background import Trainer
from tests.tiny import REGISTRY as TINY


@pytest.fixture
def trainer(small_mnist, tmp_path):
    return Trainer(lambda: small_mnist, TINY, tmp_path)


def test_trains_in_the_background_and_writes_checkpoints(trainer, tmp_path):
    assert trainer.start(["tiny-linear", "tiny-conv"]) == []
    assert trainer.start(["tiny-linear"]) == ["tiny-linear"]  # a second press joins the run under way
    assert trainer.wait(120)
    jobs = trainer.snapshot()
    assert {j.state for j in jobs.values()} == {"done"}, jobs
    assert trainer.generation == 2
    assert len(jobs["tiny-conv"].history) == TINY["tiny-conv"].recipe.epochs
    for name in TINY:
        assert checkpoints.status(name, tmp_path, TINY).state == "fresh"


def test_epochs_override_is_recorded(trainer, tmp_path):
    trainer.start(["tiny-linear"], epochs=1)
    assert trainer.wait(60)
    meta = checkpoints.read_sidecar("tiny-linear", tmp_path)
    assert meta["command"] == "python -m ae train --model tiny-linear --epochs 1"
    assert len(meta["history"]) == 1
    assert checkpoints.status("tiny-linear", tmp_path, TINY).state == "stale"


def test_cancel_keeps_the_previous_checkpoint(small_mnist, tmp_path):
    slow = {"tiny-linear": replace(TINY["tiny-linear"], recipe=replace(TINY["tiny-linear"].recipe, epochs=500))}
    quick = Trainer(lambda: small_mnist, TINY, tmp_path)
    quick.start(["tiny-linear"])
    assert quick.wait(60)
    before = checkpoints.paths("tiny-linear", tmp_path)[0].read_bytes()

    trainer = Trainer(lambda: small_mnist, slow, tmp_path)
    trainer.start(["tiny-linear"])
    while trainer.snapshot()["tiny-linear"].epoch < 1:
        pass
    trainer.cancel(["tiny-linear"])
    assert trainer.wait(60)
    assert trainer.snapshot()["tiny-linear"].state == "cancelled"
    assert checkpoints.paths("tiny-linear", tmp_path)[0].read_bytes() == before
    assert trainer.generation == 0


def test_another_process_training_the_model_is_reported_busy(trainer, tmp_path):
    with checkpoints.training_lock("tiny-linear", tmp_path):
        trainer.start(["tiny-linear"])
        assert trainer.wait(60)
    job = trainer.snapshot()["tiny-linear"]
    assert job.state == "busy" and "already being trained" in job.message
    assert not checkpoints.paths("tiny-linear", tmp_path)[0].exists()


def test_a_failing_run_is_reported_not_raised(tmp_path):
    def no_data():
        raise RuntimeError("disk on fire")

    trainer = Trainer(no_data, TINY, tmp_path)
    trainer.start(["tiny-linear"])
    assert trainer.wait(30)
    job = trainer.snapshot()["tiny-linear"]
    assert job.state == "failed" and "disk on fire" in job.message


def test_two_runs_side_by_side_longest_first(small_mnist, tmp_path):
    long = replace(TINY["tiny-conv"], recipe=replace(TINY["tiny-conv"].recipe, epochs=4))
    registry = {"tiny-linear": TINY["tiny-linear"], "tiny-conv": long}
    trainer = Trainer(lambda: small_mnist, registry, tmp_path)
    trainer.start(["tiny-linear", "tiny-conv"])
    running = set()
    while trainer.active():
        running.add(frozenset(n for n, j in trainer.snapshot().items() if j.state == "running"))
        time.sleep(0.01)
    assert frozenset(registry) in running  # both were under way at once
    jobs = trainer.snapshot()
    assert {j.state for j in jobs.values()} == {"done"}
    assert jobs["tiny-conv"].started <= jobs["tiny-linear"].started  # the longer run went first
