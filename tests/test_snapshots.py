"""Watch it learn: per-epoch snapshots recorded while training, stored with the checkpoint, replayed on the page."""

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from ae.data.mnist import Mnist
from ae.models.autoencoders import ConvAE, LinearAE
from ae.runtime import workspace
from ae.storage import checkpoints, snapshots
from ae.training.loop import train
from ae.training.queue import Job, Trainer
from ae.training.runs import train_and_save
from tests.tiny import REGISTRY as TINY

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def few(mnist) -> Mnist:
    """Just the digits a tiny run sees (its recipe trains on 600), so that saving it, which measures the code's range
    over every training digit, takes no time."""
    return Mnist(mnist.train_x[:600], mnist.train_y[:600], mnist.test_x[:200], mnist.test_y[:200], "few", "few")


def test_first_layer_is_the_first_linear_on_the_pixels():
    linear = LinearAE(16)
    assert snapshots.first_layer(linear) is linear.encoder
    assert snapshots.first_layer(ConvAE(2)) is None
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.GELU(), nn.Linear(64, 8), nn.Linear(8, 784))
    assert snapshots.first_layer(mlp) is mlp[1]
    decoder_first = nn.ModuleDict({"decoder": nn.Linear(8, 784), "encoder": nn.Linear(784, 8)})
    assert snapshots.first_layer(decoder_first) is decoder_first["encoder"]


def test_fixed_digits_have_distinct_labels_and_fill_up_when_labels_are_missing(mnist):
    first = snapshots.fixed_indices(mnist.test_y)
    assert list(mnist.test_y[first]) == list(range(8))
    assert list(first) == list(snapshots.fixed_indices(mnist.test_y))
    ones = snapshots.fixed_indices(np.array([1, 1, 1, 1, 1, 1, 1, 1, 2, 1]))
    assert list(ones) == [0, 8, 1, 2, 3, 4, 5, 6]  # the first 1, the first 2, then the earliest others


def test_code_share_is_one_for_the_leading_components_and_zero_for_others():
    rng = np.random.default_rng(0)
    components, _ = np.linalg.qr(rng.standard_normal((40, 40)))  # an orthonormal basis, in rows (any size will do)
    variances = np.linspace(10.0, 0.1, 40)
    assert snapshots.code_share(components[:8], components, variances) == pytest.approx(1.0)
    assert snapshots.code_share(components[8:16], components, variances) == pytest.approx(0.0, abs=1e-9)
    mix = rng.standard_normal((8, 8)) @ components[:8]  # any mix spans the same space
    assert snapshots.code_share(mix, components, variances) == pytest.approx(1.0)


def test_snapshots_recorded_every_epoch_saved_and_loaded(few, tmp_path):
    seen = []
    meta = train_and_save(TINY["tiny-linear"], few, directory=tmp_path, watch=seen.append)
    assert [s.epochs for s in seen] == [0, 1, 2]  # the start, then after each epoch, as they come
    snaps = snapshots.load("tiny-linear", tmp_path, meta)
    assert snaps is not None and snaps.epochs == 2
    assert snaps.digits.shape == (8, 28, 28) and snaps.digits.dtype == np.uint8
    assert (snaps.digits == few.test_x[snaps.indices]).all()
    assert snaps.reconstructions.shape == (3, 8, 28, 28) and snaps.reconstructions.dtype == np.uint8
    assert snaps.filters.shape == (3, 16, 28, 28) and snaps.filters.dtype == np.uint8
    assert (snaps.reconstructions == seen[-1].reconstructions).all()
    # It learns: the rebuilt digits get closer to the digits epoch by epoch.
    errors = [np.mean((r / 255.0 - snaps.digits / 255.0) ** 2) for r in snaps.reconstructions]
    assert errors[2] < errors[1] < errors[0]
    model, _ = checkpoints.load("tiny-linear", tmp_path, TINY)
    expected = snapshots.signed_images(model.encoder.weight.detach()[:16].numpy())
    assert (snaps.filters[-1] == expected).all()  # the last filters are the saved weights'

    conv = train_and_save(TINY["tiny-conv"], few, directory=tmp_path, epochs=1)
    conv_snaps = snapshots.load("tiny-conv", tmp_path, conv)
    assert conv_snaps.filters is None and conv_snaps.reconstructions.shape == (2, 8, 28, 28)


def test_a_snapshot_file_not_named_by_the_sidecar_is_not_replayed(few, tmp_path):
    meta = train_and_save(TINY["tiny-linear"], few, directory=tmp_path, epochs=1)
    path = snapshots.path("tiny-linear", tmp_path)
    assert snapshots.load("tiny-linear", tmp_path, {}) is None  # a checkpoint from before snapshots
    path.write_bytes(path.read_bytes()[:-10])
    assert snapshots.load("tiny-linear", tmp_path, meta) is None  # truncated
    path.unlink()
    assert snapshots.load("tiny-linear", tmp_path, meta) is None  # gone
    misfit = snapshots.Snapshots(np.arange(4), np.zeros((8, 28, 28), np.uint8), np.zeros((2, 8, 28, 28), np.uint8))
    with pytest.raises(ValueError):
        snapshots.decode(snapshots.encode(misfit))  # 4 indices for 8 digits


def test_reset_to_shipped_removes_the_snapshots_too(few, tmp_path):
    train_and_save(TINY["tiny-linear"], few, directory=tmp_path, epochs=1)
    assert snapshots.path("tiny-linear", tmp_path).exists()
    assert checkpoints.reset_to_shipped("tiny-linear", tmp_path)
    assert not list(tmp_path.glob("tiny-linear*"))


@pytest.mark.parametrize("name", list(TINY))
def test_watching_does_not_change_what_is_learned(few, name):
    spec = TINY[name]
    recorder = snapshots.Recorder(few)
    watched = train(spec, few, epochs=1, on_epoch=lambda epoch, model: recorder.record(model))
    plain = train(spec, few, epochs=1)
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, watched.model.state_dict()[key]), key
    assert recorder.snapshots().epochs == 1


def test_the_trainer_shows_the_snapshots_while_it_trains(few, tmp_path):
    trainer = Trainer(lambda _: few, TINY, tmp_path)
    assert trainer.snapshot() == {}
    trainer.start(["tiny-linear"])
    assert trainer.wait(60)
    job = trainer.snapshot()["tiny-linear"]
    assert job.state == "done" and job.snapshots.epochs == 2 and job.snapshots.filters.shape[:2] == (3, 16)


def _images(at) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def test_training_page_replays_stored_snapshots_with_the_slider(few, tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))  # no shipped checkpoints for the tiny models
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)
    train_and_save(TINY["tiny-linear"], few, directory=workspace.checkpoint_dir())
    at = AppTest.from_file(str(ROOT / "pages/training.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="watch_model").value == "tiny-linear"  # the model with snapshots comes first
    slider = at.slider(key="replay_tiny-linear_2")
    assert (slider.min, slider.max, slider.value) == (0, 2, 2)
    captions = _images(at)
    assert any("up to epoch 2" in c for c in captions)
    assert any("filters of the first layer, after epoch 2" in c for c in captions)
    assert any("principal components" in c for c in captions)
    assert any("span the same space as the leading principal components" in m.value for m in at.markdown)
    assert any("Measured on the saved model" in m.value for m in at.markdown)

    slider.set_value(0).run()
    assert not at.exception, at.exception
    assert any("up to epoch 0" in c for c in _images(at))
    assert any("after epoch 0" in c for c in _images(at))

    at.selectbox(key="watch_model").set_value("tiny-conv").run()
    assert any("tiny-conv has no checkpoint yet" in i.value for i in at.info)


def test_training_page_shows_a_run_under_way(few, tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    monkeypatch.delenv("AELAB_TEACHER_PASSWORD", raising=False)
    recorder = snapshots.Recorder(few)
    result = train(TINY["tiny-linear"], few, epochs=1, on_epoch=lambda epoch, model: recorder.record(model))
    running = Job("tiny-linear", 2, state="running", epoch=2, history=result.history, snapshots=recorder.snapshots())
    monkeypatch.setattr(Trainer, "snapshot", lambda self: {"tiny-linear": running})
    at = AppTest.from_file(str(ROOT / "pages/training.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="watch_model").value == "tiny-linear"  # a run that starts is shown
    assert any("1 of 2 epochs done" in c.value for c in at.caption)
    assert any("up to epoch 1" in c for c in _images(at)) and not at.slider  # no replay until it is saved
