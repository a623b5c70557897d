import time
from dataclasses import replace

import pytest

from ae.storage import checkpoints
from ae.training.queue import MAX_EPOCHS, Refused, Trainer
from tests.tiny import REGISTRY as TINY


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def trainer(small_mnist, tmp_path):
    return Trainer(lambda _: small_mnist, TINY, tmp_path)


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
    quick = Trainer(lambda _: small_mnist, TINY, tmp_path)
    quick.start(["tiny-linear"])
    assert quick.wait(60)
    before = checkpoints.paths("tiny-linear", tmp_path)[0].read_bytes()

    trainer = Trainer(lambda _: small_mnist, slow, tmp_path)
    trainer.start(["tiny-linear"])
    wait_until(lambda: trainer.snapshot()["tiny-linear"].epoch >= 1)
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
    def no_data(dataset):
        raise RuntimeError("disk on fire")

    trainer = Trainer(no_data, TINY, tmp_path)
    trainer.start(["tiny-linear"])
    assert trainer.wait(30)
    job = trainer.snapshot()["tiny-linear"]
    assert job.state == "failed" and "disk on fire" in job.message


def test_two_runs_side_by_side_longest_first(small_mnist, tmp_path):
    long = replace(TINY["tiny-conv"], recipe=replace(TINY["tiny-conv"].recipe, epochs=4))
    registry = {"tiny-linear": TINY["tiny-linear"], "tiny-conv": long}
    trainer = Trainer(lambda _: small_mnist, registry, tmp_path)
    trainer.start(["tiny-linear", "tiny-conv"])
    running = set()
    deadline = time.monotonic() + 120
    while trainer.active():
        assert time.monotonic() < deadline, "timed out"
        running.add(frozenset(n for n, j in trainer.snapshot().items() if j.state == "running"))
        time.sleep(0.01)
    assert frozenset(registry) in running  # both were under way at once
    jobs = trainer.snapshot()
    assert {j.state for j in jobs.values()} == {"done"}
    assert jobs["tiny-conv"].started <= jobs["tiny-linear"].started  # the longer run went first


def test_epochs_beyond_the_cap_or_an_unknown_model_are_refused_and_nothing_is_queued(trainer):
    for bad in (0, MAX_EPOCHS + 1, 200):
        with pytest.raises(Refused, match=f"between 1 and {MAX_EPOCHS}"):
            trainer.start(["tiny-linear"], epochs=bad)
    with pytest.raises(Refused, match="unknown model"):
        trainer.start(["../../etc/passwd"])
    assert trainer.snapshot() == {} and not trainer.active()


def test_a_session_starts_nothing_new_while_its_run_is_under_way(small_mnist, tmp_path):
    slow = {"tiny-linear": replace(TINY["tiny-linear"], recipe=replace(TINY["tiny-linear"].recipe, epochs=500))}
    trainer = Trainer(lambda _: small_mnist, {**TINY, **slow}, tmp_path)
    trainer.start(["tiny-linear"], owner="alice")
    with pytest.raises(Refused, match="still queued or running"):
        trainer.start(["tiny-conv"], owner="alice")
    assert "tiny-conv" not in trainer.snapshot()
    assert trainer.cancel(["tiny-linear"], owner="bob") == []  # not bob's to cancel
    assert trainer.snapshot()["tiny-linear"].state in ("queued", "running")
    assert trainer.cancel(["tiny-linear"], owner="alice") == ["tiny-linear"]
    assert trainer.wait(60)
    assert trainer.snapshot()["tiny-linear"].state == "cancelled"
    trainer.start(["tiny-conv"], owner="alice", epochs=1)  # once it ended, alice may start again
    assert trainer.wait(60)
    assert trainer.snapshot()["tiny-conv"].state == "done"


def test_a_seed_is_trained_from_recorded_and_still_fresh(trainer, small_mnist, tmp_path):
    trainer.start(["tiny-linear"], seed=5)
    assert trainer.wait(60)
    meta = checkpoints.read_sidecar("tiny-linear", tmp_path)
    assert meta["command"] == "python -m ae train --model tiny-linear --seed 5"
    assert meta["seed"] == 5 and meta["recipe"]["seed"] == 5
    assert checkpoints.status("tiny-linear", tmp_path, TINY).state == "fresh"  # another seed, the same recipe
    seeded = checkpoints.paths("tiny-linear", tmp_path)[0].read_bytes()
    trainer.start(["tiny-linear"])
    assert trainer.wait(60)
    assert checkpoints.read_sidecar("tiny-linear", tmp_path)["seed"] == TINY["tiny-linear"].recipe.seed
    assert checkpoints.paths("tiny-linear", tmp_path)[0].read_bytes() != seeded


@pytest.mark.parametrize("seed", [-1, 2**31, 1.5])
def test_a_seed_out_of_range_is_refused_and_nothing_is_queued(trainer, seed):
    with pytest.raises(Refused, match="seed must be a whole number"):
        trainer.start(["tiny-linear"], seed=seed)
    assert trainer.snapshot() == {}
