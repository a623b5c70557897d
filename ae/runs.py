"""One training run end to end: take the model's lock, train, measure, save the checkpoint with its sidecar.

The CLI and the app both train through here, so a checkpoint always carries the same metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ae import checkpoints, snapshots, workspace
from ae.cores import torch_threads
from ae.data import Mnist
from ae.metrics import evaluate, measure_code, parameter_count
from ae.quantize import code_range
from ae.registry import ModelSpec
from ae.train import Progress, TrainResult, train


def train_and_save(
    spec: ModelSpec,
    data: Mnist,
    *,
    directory: Path | str | None = None,
    epochs: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
    device: str | None = None,
    watch: Callable[[snapshots.Snapshots], None] | None = None,
) -> dict:
    """Train ``spec`` and write its checkpoint into ``directory`` (default: the workspace, never the shipped
    folder unless named); returns the sidecar.

    Raises TrainingBusy if another process is training the same model, and train.Cancelled / train.Diverged
    when the run ends early: in every such case the previous checkpoint is left as it was. The caller holds the
    run's cores (ae.cores), which cover the evaluation too.

    Per-epoch snapshots (ae.snapshots) are kept beside the checkpoint, and handed to ``watch`` as they grow.
    """
    directory = workspace.checkpoint_dir() if directory is None else directory
    recorder = snapshots.Recorder(data)

    def on_epoch(epoch: int, model) -> None:
        taken = recorder.record(model)
        if watch is not None:
            watch(taken)

    with checkpoints.training_lock(spec.name, directory), torch_threads(spec.recipe.threads):
        args = {"progress": progress, "should_stop": should_stop, "device": device, "on_epoch": on_epoch}
        result = train(spec, data, epochs=epochs, **args)
        meta = sidecar(result, data, command or f"python -m ae train --model {spec.name}")
        # Written before the checkpoint that names them: until that lands, the old sidecar does not match them.
        meta[snapshots.SIDECAR_KEY] = snapshots.save(recorder.snapshots(), spec.name, directory)
        # Saved under the recipe actually used: an --epochs override makes the checkpoint "stale" on purpose,
        # since it no longer reproduces the registry's recipe.
        return checkpoints.save(result.model, meta, replace(spec, recipe=result.recipe), directory)


def sidecar(result: TrainResult, data: Mnist, command: str) -> dict:
    """What a checkpoint records beside its weights: how it was made, and what it measures."""
    quality = evaluate(result.model, data.test_images())
    code = measure_code(result.model)
    return {
        "command": command,
        "data": {
            "fingerprint": data.fingerprint,
            "source": data.source.split(":", 1)[0],
            "train_digits": result.recipe.train_subset or len(data.train_x),
            "test_digits": len(data.test_x),
        },
        "device": result.device,
        "platform": {"threads": result.recipe.threads},
        "wall_time_s": round(result.wall_time, 3),
        "images_per_second": round(result.images_per_second, 1),
        "history": result.history,
        # The code's value range over the digits it trained on: what 8- and 4-bit quantization map to.
        "code_range": list(code_range(result.model, data.train_images()[: result.recipe.train_subset or None])),
        "metrics": {
            "test_mse": quality.mse,
            "psnr_db": quality.psnr,
            "ssim": quality.ssim,
            "code_shape": list(code.shape),
            "code_values": code.values,
            "compression_ratio": code.compression_ratio,
            "parameters": parameter_count(result.model),
        },
    }


def expected_seconds(spec: ModelSpec, directory: Path | str | None = None) -> float:
    """How long a run of ``spec`` should take: the wall time recorded by the checkpoint that serves it, scaled to
    the recipe's epochs, or a rough guess (a conv epoch costs about ten linear ones) when it was never trained."""
    try:
        folder, _ = checkpoints.folders(directory).resolve(spec.name, {spec.name: spec})
        meta = checkpoints.read_sidecar(spec.name, folder)
        return float(meta["wall_time_s"]) / max(1, len(meta["history"])) * spec.recipe.epochs
    except (checkpoints.CheckpointError, KeyError, TypeError, ValueError):
        return spec.recipe.epochs * (10.0 if spec.family == "conv" else 1.0)


def longest_first(names: list[str], registry: dict[str, ModelSpec], directory: Path | str | None = None) -> list[str]:
    """The order in which runs side by side finish soonest: the runs that need the most cores first (they find them
    all free; later, one would wait while another holds a core and the rest stands idle), then the longest first."""
    return sorted(
        names, key=lambda n: (registry[n].recipe.threads, expected_seconds(registry[n], directory)), reverse=True
    )


def denoise_note(name: str, meta: dict) -> str | None:
    """For a denoising checkpoint, why its test curve ends higher than the test MSE that Compare shows."""
    std = meta.get("recipe", {}).get("noise_std") or 0.0
    history, metrics = meta.get("history") or [], meta.get("metrics", {})
    if not std or not history or "test_mse" not in metrics:
        return None
    return (
        f"**{name}** is a denoising model: its curves are measured on noisy inputs (Gaussian noise, σ = {std:g}) "
        f"scored against the clean digits, so its test curve ends at {history[-1]['test_loss']:.4f}. Fed the clean "
        f"test digits, as on the Compare page, its test MSE is {metrics['test_mse']:.5f}."
    )
