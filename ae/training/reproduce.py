"""Does retraining with a checkpoint's recorded command reproduce its metrics? Checked, and the answer kept.

``python -m ae reproduce --model NAME`` retrains NAME from its registry recipe into a scratch folder, compares the
test metric with the shipped checkpoint's (an autoencoder's test MSE within 1%, the reference classifier's test
accuracy within 0.2 points) and the weights bit for bit, which must match only where the machine's rounding
fingerprint (``machine``) is the checkpoint's; the result is recorded in ``reproducibility.json`` for the Compare
page.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import torch

from ae.data.mnist import Mnist
from ae.models.specs import ModelSpec
from ae.runtime import machine
from ae.runtime.fileio import atomic_write
from ae.storage import checkpoints
from ae.training.runs import train_and_save

TOLERANCE = 0.01  # relative, on an autoencoder's test MSE
ACCURACY_TOLERANCE = 0.002  # absolute, on the classifier's test accuracy: 20 of the 10,000 test digits
RESULTS = "reproducibility.json"
NOT_REPRODUCIBLE = "fine-tuned on your drawings: not reproducible from its spec"


class NotReproducible(checkpoints.CheckpointError):
    """A checkpoint no retrain from its spec can give: one fine-tuned on a user's drawings (ae.training.finetune)."""

    reason = "fine-tuned"


def fine_tuned(name: str, directory: Path | str) -> bool:
    """Whether the checkpoint of ``name`` in ``directory`` was fine-tuned on a user's drawings."""
    try:
        return "finetune" in checkpoints.read_sidecar(name, directory)
    except checkpoints.CheckpointError:
        return False


def results_path(directory: Path | str = checkpoints.SHIPPED_DIR) -> Path:
    return Path(directory) / RESULTS


def load_results(directory: Path | str = checkpoints.SHIPPED_DIR) -> dict:
    try:
        return json.loads(results_path(directory).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def check(
    spec: ModelSpec,
    data: Mnist,
    directory: Path | str = checkpoints.SHIPPED_DIR,
    *,
    seed: int | None = None,
    should_stop=None,
) -> dict:
    """Retrain ``spec`` (an autoencoder, or the classifier's ``catalogue.CLASSIFIER``) in a scratch folder and compare
    with the checkpoint in ``directory``: from the seed that checkpoint records, or from ``seed`` (then the weights
    differ, and the check says whether that seed reaches the same quality)."""
    registry = {spec.name: spec}
    shipped_model, shipped = checkpoints.load(spec.name, directory, registry)
    if "finetune" in shipped:
        raise NotReproducible(spec.name, NOT_REPRODUCIBLE)
    recorded = (shipped.get("recipe") or {}).get("seed", spec.recipe.seed)
    spec = spec.with_seed(recorded if seed is None else seed)
    with tempfile.TemporaryDirectory() as scratch:
        fresh = train_and_save(spec, data, directory=scratch, should_stop=should_stop)
        model, _ = checkpoints.load(spec.name, scratch, registry)
    pairs = zip(shipped_model.state_dict().values(), model.state_dict().values(), strict=True)
    return judge(
        {
            "command": shipped.get("command"),
            "seed": spec.recipe.seed,
            "checkpoint_seed": recorded,
            **compare_metrics(spec, shipped["metrics"], fresh["metrics"]),
            "bit_identical": all(torch.equal(x, y) for x, y in pairs),
            "machine_differences": machine.differences(shipped.get("rounding"), fresh["rounding"]),
            "checked": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": describe_machine(fresh["rounding"]),
            "weights_sha256": shipped["weights_sha256"],
        }
    )


def judge(result: dict) -> dict:
    """Bit-identity is a property of one machine: it is required only where the retrain ran on a machine whose
    rounding fingerprint matches the checkpoint's, from the checkpoint's own seed. Elsewhere the quality check
    (within the tolerance) decides. ``result`` gains ``same_machine``, ``bit_required`` and the final ``reproduced``."""
    same_machine = not result["machine_differences"]
    bit_required = same_machine and same_seed(result)
    within = result["reproduced"]
    return result | {
        "quality_within_tolerance": within,
        "same_machine": same_machine,
        "bit_required": bit_required,
        "reproduced": within and (result["bit_identical"] or not bit_required),
    }


def describe_machine(rounding: dict) -> str:
    return (
        f"{rounding['cpu_model'] or rounding['arch']} ({rounding['cpu_vendor']}, {rounding['cpu_capability']}), "
        f"{rounding['threads']} training thread(s), torch {rounding['torch']}"
    )


def compare_metrics(spec: ModelSpec, shipped: dict, retrained: dict) -> dict:
    """The shipped and retrained test metric, how far apart, and whether that is within the tolerance."""
    if spec.family == "classifier":
        a, b = shipped["test_accuracy"], retrained["test_accuracy"]
        return {
            "shipped_test_accuracy": a,
            "retrained_test_accuracy": b,
            "difference": abs(b - a),
            "reproduced": abs(b - a) <= ACCURACY_TOLERANCE,
        }
    a, b = shipped["test_mse"], retrained["test_mse"]
    return {
        "shipped_test_mse": a,
        "retrained_test_mse": b,
        "relative_difference": abs(b - a) / a,
        "reproduced": abs(b - a) / a <= TOLERANCE,
    }


def describe(name: str, result: dict) -> str:
    """One line for the CLI: the verdict and the numbers behind it."""
    verdict = "reproduced" if result["reproduced"] else "NOT reproduced"
    if "shipped_test_accuracy" in result:
        numbers = (
            f"shipped test accuracy {result['shipped_test_accuracy']:.4f}, retrained "
            f"{result['retrained_test_accuracy']:.4f} ({100 * result['difference']:.2f} points apart"
        )
    else:
        numbers = (
            f"shipped test MSE {result['shipped_test_mse']:.6f}, retrained {result['retrained_test_mse']:.6f} "
            f"({100 * result['relative_difference']:.3f}% apart"
        )
    line = f"{name}: {verdict}: {numbers}; weights bit-identical: {result['bit_identical']})"
    if result.get("bit_required"):
        line += "; same machine fingerprint: bit-identity required"
    elif result.get("machine_differences"):
        line += "; bit-identity not required, the machines differ: " + "; ".join(result["machine_differences"])
    if not same_seed(result):
        line += f"; retrained from seed {result['seed']}, the checkpoint's is {result['checkpoint_seed']}: not recorded"
    return line


def same_seed(result: dict) -> bool:
    """Whether the check retrained from the checkpoint's own seed (only then does it say the checkpoint reproduces)."""
    return result.get("seed") == result.get("checkpoint_seed")


def record(name: str, result: dict, directory: Path | str) -> None:
    results = load_results(directory)
    results[name] = result
    atomic_write(results_path(directory), (json.dumps(results, indent=2) + "\n").encode())


def current(name: str, directory: Path | str, results_in: tuple[Path | str, ...] = ()) -> dict | None:
    """The recorded check for ``name``, if it was made against the checkpoint in ``directory`` now; looked up in
    ``results_in`` in turn (default: ``directory`` itself)."""
    try:
        sha = checkpoints.read_sidecar(name, directory).get("weights_sha256")
    except checkpoints.CheckpointError:
        return None
    for folder in results_in or (directory,):
        result = load_results(folder).get(name)
        if result and result.get("weights_sha256") == sha:
            return result
    return None
