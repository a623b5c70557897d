import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch
from safetensors.torch import save_file

from ae.models.specs import Recipe
from ae.runtime import fileio
from ae.storage import checkpoints
from ae.storage.checkpoints import (
    CorruptCheckpoint,
    MissingCheckpoint,
    NonFiniteWeights,
    ShapeMismatch,
    StaleCheckpoint,
    TrainingBusy,
)
from tests.tiny import REGISTRY as TINY_REGISTRY
from tests.tiny import TINY_LINEAR


def _save(directory, spec=TINY_LINEAR, seed=0):
    torch.manual_seed(seed)
    model = spec.build()
    checkpoints.save(model, {"history": [], "metrics": {}}, spec, directory)
    return model


def _load(directory, registry=TINY_REGISTRY):
    return checkpoints.load(TINY_LINEAR.name, directory, registry)


def test_round_trip(tmp_path):
    model = _save(tmp_path)
    loaded, meta = _load(tmp_path)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(model(x), loaded(x))
    assert meta["spec"] == TINY_LINEAR.arch_dict() and meta["recipe"]["seed"] == 7
    assert {"python", "torch", "numpy"} <= set(meta["versions"])
    assert checkpoints.status(TINY_LINEAR.name, tmp_path, TINY_REGISTRY).state == "fresh"


def test_the_same_weights_give_the_same_file_every_time(tmp_path):
    # safetensors writes its metadata map in a random order: with two keys, about every other save of the same weights
    # was a different file, and a retrain with identical weights lost its reproducibility check and rd points.
    shas = set()
    for i in range(12):
        _save(tmp_path / str(i))
        shas.add(checkpoints.read_sidecar(TINY_LINEAR.name, tmp_path / str(i))["weights_sha256"])
    assert len(shas) == 1


def test_shipped_weights_are_written_the_way_save_writes_them():
    # The shipped files were rewritten with save's metadata; a retrain with identical weights then keeps their sha256.
    weights = [
        p for p in checkpoints.SHIPPED_DIR.glob("*.safetensors") if not p.name.endswith(".snapshots.safetensors")
    ]
    for path in sorted(weights):
        header = json.loads(path.read_bytes()[8 : 8 + int.from_bytes(path.read_bytes()[:8], "little")])
        assert header["__metadata__"] == {"format": "pt"}, path.name


def test_missing(tmp_path):
    with pytest.raises(MissingCheckpoint, match="python -m ae train --model tiny-linear"):
        _load(tmp_path)


def test_truncated_weights(tmp_path):
    _save(tmp_path)
    weights, _ = checkpoints.paths(TINY_LINEAR.name, tmp_path)
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CorruptCheckpoint, match="does not match its sidecar"):
        _load(tmp_path)


def test_empty_and_garbage_weights_with_matching_hash(tmp_path):
    """Even when the sidecar's hash agrees, an unreadable safetensors file is reported, not crashed on."""
    _save(tmp_path)
    weights, meta_path = checkpoints.paths(TINY_LINEAR.name, tmp_path)
    for blob in (b"", b"\x00" * 64):
        weights.write_bytes(blob)
        meta = json.loads(meta_path.read_text())
        meta["weights_sha256"] = __import__("hashlib").sha256(blob).hexdigest()
        meta_path.write_text(json.dumps(meta))
        with pytest.raises(CorruptCheckpoint, match="not a readable safetensors"):
            _load(tmp_path)


def _rewrite_weights(tmp_path, state):
    weights, meta_path = checkpoints.paths(TINY_LINEAR.name, tmp_path)
    save_file(state, weights)
    meta = json.loads(meta_path.read_text())
    meta["weights_sha256"] = __import__("hashlib").sha256(weights.read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def test_wrong_shapes(tmp_path):
    model = _save(tmp_path)
    state = dict(model.state_dict())
    state["encoder.weight"] = torch.zeros(8, 784)
    _rewrite_weights(tmp_path, state)
    with pytest.raises(ShapeMismatch, match=r"encoder.weight: expected \(16, 784\), found \(8, 784\)"):
        _load(tmp_path)


def test_nan_weights(tmp_path):
    model = _save(tmp_path)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["decoder.bias"][3] = float("nan")
    _rewrite_weights(tmp_path, state)
    with pytest.raises(NonFiniteWeights, match=r"decoder\.bias"):
        _load(tmp_path)


def test_missing_or_malformed_sidecar(tmp_path):
    _save(tmp_path)
    _, meta_path = checkpoints.paths(TINY_LINEAR.name, tmp_path)
    meta_path.write_text("{not json")
    with pytest.raises(CorruptCheckpoint, match="not valid JSON"):
        _load(tmp_path)
    meta_path.write_text('{"format": "something else"}')
    with pytest.raises(CorruptCheckpoint, match="not an aelab checkpoint"):
        _load(tmp_path)
    meta_path.unlink()
    with pytest.raises(CorruptCheckpoint, match=r"sidecar .* is missing"):
        _load(tmp_path)


def test_architecture_change_is_stale(tmp_path):
    _save(tmp_path)
    changed = {TINY_LINEAR.name: replace(TINY_LINEAR, args={"depth": 8})}
    with pytest.raises(StaleCheckpoint, match="stale, retrain: architecture changed"):
        checkpoints.load(TINY_LINEAR.name, tmp_path, changed)
    s = checkpoints.status(TINY_LINEAR.name, tmp_path, changed)
    assert not s.usable and s.state == "stale: architecture changed"


def test_recipe_change_loads_but_is_marked_stale(tmp_path):
    _save(tmp_path)
    changed = {TINY_LINEAR.name: replace(TINY_LINEAR, recipe=replace(TINY_LINEAR.recipe, epochs=9))}
    checkpoints.load(TINY_LINEAR.name, tmp_path, changed)  # loads without raising
    s = checkpoints.status(TINY_LINEAR.name, tmp_path, changed)
    assert s.usable and s.state == "stale" and "epochs=2 (registry: 9)" in s.detail


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old contents")

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        fileio.atomic_write(target, b"new" * 1000)
    assert target.read_bytes() == b"old contents"
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = _save(tmp_path, seed=0)

    def broken_replace(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError):
        _save(tmp_path, seed=1)
    monkeypatch.undo()
    loaded, _ = _load(tmp_path)
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(fileio.TMP_SUFFIX)]


def test_lock_excludes_a_second_trainer(tmp_path):
    with checkpoints.training_lock("m", tmp_path):
        assert checkpoints.is_training("m", tmp_path)
        with pytest.raises(TrainingBusy), checkpoints.training_lock("m", tmp_path):
            pass
        with checkpoints.training_lock("other", tmp_path):
            pass
    assert not checkpoints.is_training("m", tmp_path)


def test_lock_of_a_killed_process_is_released(tmp_path):
    code = (
        "import sys, time; from ae.storage import checkpoints\n"
        f"with checkpoints.training_lock('m', {str(tmp_path)!r}):\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert checkpoints.is_training("m", tmp_path)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 5
    while checkpoints.is_training("m", tmp_path) and time.time() < deadline:
        time.sleep(0.05)
    assert not checkpoints.is_training("m", tmp_path)


def test_sidecar_records_what_rebuilds_the_model(tmp_path, small_mnist):
    from ae.training.runs import train_and_save

    spec = replace(TINY_LINEAR, recipe=Recipe(epochs=1, batch_size=50, lr=3e-3, train_subset=300))
    meta = train_and_save(spec, small_mnist, directory=tmp_path, command="python -m ae train --model tiny-linear")
    on_disk = json.loads(checkpoints.paths(spec.name, tmp_path)[1].read_text())
    assert on_disk == meta
    assert meta["data"]["fingerprint"] == small_mnist.fingerprint
    assert meta["command"] == "python -m ae train --model tiny-linear"
    assert len(meta["history"]) == 1 and meta["wall_time_s"] > 0 and meta["device"] == "cpu"
    assert meta["metrics"]["code_values"] == 16 and meta["metrics"]["test_mse"] > 0
    rebuilt, _ = checkpoints.load(spec.name, tmp_path, {spec.name: spec})
    assert rebuilt.depth == 16
