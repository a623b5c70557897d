"""Faults a classroom produces: broken checkpoints, a killed trainer, NaN losses, two people pressing Retrain."""

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY
from ae.training.loop import Diverged
from ae.training.runs import train_and_save

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "checkpoints"


@pytest.fixture
def broken_dir(tmp_path):
    """A copy of the shipped checkpoints with four of five damaged in different ways; linear-32 stays good."""
    for p in SHIPPED.iterdir():
        if p.suffix in (".json", ".safetensors"):
            shutil.copy(p, tmp_path / p.name)
    w64 = tmp_path / "linear-64.safetensors"
    w64.write_bytes(w64.read_bytes()[:500])  # truncated
    (tmp_path / "linear-128.json").unlink()  # sidecar missing
    meta = json.loads((tmp_path / "linear-256.json").read_text())
    meta["spec"]["args"]["depth"] = 300  # trained as something else: stale
    (tmp_path / "linear-256.json").write_text(json.dumps(meta))
    (tmp_path / "conv-8.safetensors").write_bytes(b"")  # empty
    return tmp_path


EXPECTED = {
    "linear-64": "corrupt",
    "linear-128": "corrupt",
    "linear-256": "stale: architecture changed",
    "conv-8": "corrupt",
}


def test_pages_name_each_unusable_model_and_keep_the_others(broken_dir, monkeypatch):
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(broken_dir))
    at = AppTest.from_file(str(ROOT / "pages/compare.py"), default_timeout=120).run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["linear-32", "checkpoint"] == "fresh" and table.loc["linear-32", "test MSE"] < 0.0097
    for name, reason in EXPECTED.items():
        assert table.loc[name, "checkpoint"] == reason
        assert any(name in w.value for w in at.warning)
        assert any(b.label == f"Train {name} now" for b in at.button)

    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=120).run()
    at.session_state["test_index"] = 3
    at.segmented_control(key="source").set_value("Random test digit").run()
    assert not at.exception
    assert float(next(m.value for m in at.metric if m.label.startswith("MSE"))) > 0  # linear-32 still reconstructs
    strip = " ".join(c.value for c in at.caption)
    for name, reason in EXPECTED.items():
        assert f"**{name}**: {reason}" in strip
    at.radio(key="model").set_value("conv-8").run()
    assert any("conv-8" in w.value and "does not match its sidecar" in w.value for w in at.warning)


def test_eval_cli_names_each_unusable_model_and_reports_the_rest(broken_dir):
    out = subprocess.run(
        [sys.executable, "-m", "ae", "eval", "--no-ood", "--checkpoints", str(broken_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}
    assert "0.009" in lines["linear-32"]  # the good model still has its MSE
    for name, reason in EXPECTED.items():
        assert f"{name}: {reason}:" in out.stdout


def test_sigkill_mid_training_leaves_the_previous_checkpoint(tmp_path):
    for suffix in (".json", ".safetensors"):
        shutil.copy(SHIPPED / f"linear-256{suffix}", tmp_path)
    before = (tmp_path / "linear-256.safetensors").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ae", "train", "--model", "linear-256", "--epochs", "50",
         "--checkpoints", str(tmp_path)],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        for line in proc.stderr:
            if "epoch 1/50" in line:  # mid-run: one epoch done, the next under way
                break
        assert checkpoints.is_training("linear-256", tmp_path)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (tmp_path / "linear-256.safetensors").read_bytes() == before
    checkpoints.load("linear-256", tmp_path)  # loads, validated
    assert checkpoints.status("linear-256", tmp_path).state == "fresh"
    assert not checkpoints.is_training("linear-256", tmp_path)  # the dead process's lock is gone
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_nan_loss_keeps_the_previous_checkpoint(tmp_path, small_mnist):
    for suffix in (".json", ".safetensors"):
        shutil.copy(SHIPPED / f"linear-32{suffix}", tmp_path)
    before = (tmp_path / "linear-32.safetensors").read_bytes()
    spec = REGISTRY["linear-32"]
    bad = replace(spec, recipe=replace(spec.recipe, lr=float("inf"), schedule="constant", train_subset=500))
    with pytest.raises(Diverged):
        train_and_save(bad, small_mnist, directory=tmp_path)
    assert (tmp_path / "linear-32.safetensors").read_bytes() == before
    assert not checkpoints.is_training("linear-32", tmp_path)


def test_two_trainer_processes_for_one_model_run_exactly_one(tmp_path):
    cmd = [sys.executable, "-m", "ae", "train", "--model", "linear-32", "--epochs", "3", "--checkpoints", str(tmp_path)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outs
    assert sum("already being trained by another process" in err for _, err in outs) == 1
    model, meta = checkpoints.load("linear-32", tmp_path, {"linear-32": replace(REGISTRY["linear-32"])})
    assert len(meta["history"]) == 3 and all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.slow
def test_two_sessions_pressing_retrain_share_one_run(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    monkeypatch.setenv("AELAB_CHECKPOINTS", str(tmp_path))
    sessions = [AppTest.from_file(str(ROOT / "pages/compare.py"), default_timeout=120).run() for _ in range(2)]
    for at in sessions:
        at.sidebar.selectbox(key="retrain_model").set_value("tiny-conv").run()
    for at in sessions:  # both press, one after the other, while the first run is under way
        at.sidebar.button(key="retrain_button").click().run()
    assert any("Already training: tiny-conv" in i.value for i in sessions[1].sidebar.info)
    from ui.state import trainer

    tr = trainer()
    assert list(tr.snapshot()) == ["tiny-conv"]
    assert tr.wait(120)
    assert tr.generation == 1  # one run wrote one checkpoint
    for at in sessions:
        at.run()
        table = at.dataframe[0].value.set_index("model")
        assert table.loc["tiny-conv", "checkpoint"] == "fresh"


@pytest.mark.slow  # two training processes (~7 s)
def test_two_models_trained_at_once_by_two_processes_are_both_intact(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ae", "train", "--model", name, "--epochs", "1", "--checkpoints", str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("linear-32", "linear-64")
    ]
    for p in procs:
        p.communicate(timeout=300)
        assert p.returncode == 0
    for name in ("linear-32", "linear-64"):
        _, meta = checkpoints.load(name, tmp_path)
        assert meta["metrics"]["test_mse"] < 0.05
