"""Does retraining with a checkpoint's recorded command reproduce its metrics? Checked, and the answer kept.

``python -m ae reproduce --model NAME`` retrains NAME from its registry recipe into a scratch folder, compares
the test MSE with the shipped checkpoint's (within 1%) and the weights bit for bit, and records the result in
``checkpoints/reproducibility.json`` for the Compare page.
"""

from __future__ import annotations

import json
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import torch

from ae import checkpoints
from ae.data import Mnist
from ae.fileio import atomic_write
from ae.registry import ModelSpec
from ae.runs import train_and_save

TOLERANCE = 0.01
RESULTS = "reproducibility.json"


def results_path(directory: Path | str = checkpoints.DEFAULT_DIR) -> Path:
    return Path(directory) / RESULTS


def load_results(directory: Path | str = checkpoints.DEFAULT_DIR) -> dict:
    try:
        return json.loads(results_path(directory).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def check(
    spec: ModelSpec, data: Mnist, directory: Path | str = checkpoints.DEFAULT_DIR, progress=None, should_stop=None
) -> dict:
    """Retrain ``spec`` in a scratch folder and compare with the checkpoint in ``directory``."""
    shipped_model, shipped = checkpoints.load(spec.name, directory)
    with tempfile.TemporaryDirectory() as scratch:
        fresh = train_and_save(spec, data, directory=scratch, progress=progress, should_stop=should_stop)
        model, _ = checkpoints.load(spec.name, scratch, {spec.name: spec})
    a, b = shipped["metrics"]["test_mse"], fresh["metrics"]["test_mse"]
    same = all(
        torch.equal(x, y) for x, y in zip(shipped_model.state_dict().values(), model.state_dict().values(), strict=True)
    )
    return {
        "command": shipped.get("command"),
        "shipped_test_mse": a,
        "retrained_test_mse": b,
        "relative_difference": abs(b - a) / a,
        "reproduced": abs(b - a) / a <= TOLERANCE,
        "bit_identical": same,
        "checked": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} ({fresh['platform']['cpu_capability']}), "
        f"{fresh['platform']['threads']} training thread(s), torch {torch.__version__}",
        "weights_sha256": shipped["weights_sha256"],
    }


def record(name: str, result: dict, directory: Path | str = checkpoints.DEFAULT_DIR) -> None:
    results = load_results(directory)
    results[name] = result
    atomic_write(results_path(directory), (json.dumps(results, indent=2) + "\n").encode())


def current(name: str, directory: Path | str = checkpoints.DEFAULT_DIR) -> dict | None:
    """The recorded check for ``name``, if it was made against the checkpoint that is there now."""
    result = load_results(directory).get(name)
    try:
        meta = checkpoints.read_sidecar(name, directory)
    except checkpoints.CheckpointError:
        return None
    return result if result and result.get("weights_sha256") == meta.get("weights_sha256") else None
