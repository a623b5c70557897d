"""One training run end to end: take the model's lock, train, measure, save the checkpoint with its sidecar.

The CLI and the app both train through here, so a checkpoint always carries the same metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from torch import nn

from ae.data.mnist import Mnist
from ae.measure.metrics import Quality, evaluate, measure_code
from ae.measure.quantize import code_range
from ae.models.autoencoders import parameter_count
from ae.models.specs import ClassifierRecipe, ModelSpec
from ae.runtime import workspace
from ae.runtime.cores import torch_threads
from ae.storage import checkpoints, snapshots
from ae.training.classifier_training import train_classifier
from ae.training.loop import TrainResult, train


def train_and_save(
    spec: ModelSpec,
    data: Mnist,
    *,
    directory: Path | str | None = None,
    epochs: int | None = None,
    progress: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
    device: str | None = None,
    watch: Callable[[snapshots.Snapshots], None] | None = None,
) -> dict:
    """Train ``spec`` and write its checkpoint into ``directory`` (default: the workspace, never the shipped
    folder unless named); returns the sidecar. The reference classifier (a ClassifierRecipe) trains the same way,
    its ``progress`` a line of text per epoch.

    Raises TrainingBusy if another process is training the same model, and Cancelled / Diverged (ae.training.loop)
    when the run ends early: in every such case the previous checkpoint is left as it was. The caller holds the
    run's cores (ae.runtime.cores), which cover the evaluation too.

    Per-epoch snapshots (ae.storage.snapshots) are kept beside the checkpoint, and handed to ``watch`` as they grow.
    """
    directory = workspace.checkpoint_dir() if directory is None else directory
    if data.dataset != spec.dataset:  # a model learns only the dataset its spec names
        raise ValueError(f"{spec.name} learns {spec.dataset}, not {data.dataset}")
    if isinstance(spec.recipe, ClassifierRecipe):
        return _train_classifier(spec, data, directory, command, progress=progress, should_stop=should_stop)
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


def _train_classifier(spec: ModelSpec, data: Mnist, directory: Path | str, command: str | None, **run) -> dict:
    with checkpoints.training_lock(spec.name, directory):
        model, history, wall = train_classifier(data, spec, run["progress"], run["should_stop"])
        meta = record(
            command or "python -m ae train-classifier", data, device="cpu", threads=spec.recipe.threads,
            wall_time_s=round(wall, 2), history=history, metrics={"test_accuracy": history[-1]["test_accuracy"]},
        )  # fmt: skip
        return checkpoints.save(model, meta, spec, directory)


def record(command: str, data: Mnist, *, device: str, threads: int, history: list, metrics: dict, **more) -> dict:
    """What every checkpoint records beside its weights (a training run's, the classifier's, a fine-tune's): how it
    was made and what it measures. ``more`` adds what one kind of run knows besides; its ``digits`` add to the data's
    fingerprint and source."""
    digits = {"fingerprint": data.fingerprint, "source": data.source.split(":", 1)[0], **more.pop("digits", {})}
    made = {"command": command, "data": digits, "device": device, "platform": {"threads": threads}}
    return {**made, "wall_time_s": more.pop("wall_time_s"), **more, "history": history, "metrics": metrics}


def quality_metrics(model: nn.Module, quality: Quality) -> dict:
    """An autoencoder's ``metrics`` in its sidecar: quality on the test digits, code size, parameters."""
    code = measure_code(model)
    return {
        "test_mse": quality.mse,
        "psnr_db": quality.psnr,
        "ssim": quality.ssim,
        "code_shape": list(code.shape),
        "code_values": code.values,
        "compression_ratio": code.compression_ratio,
        "parameters": parameter_count(model),
    }


def sidecar(result: TrainResult, data: Mnist, command: str) -> dict:
    """What a training run's checkpoint records beside its weights: how it was made, and what it measures."""
    digits = {"train_digits": result.recipe.train_subset or len(data.train_x), "test_digits": len(data.test_x)}
    return record(
        command, data, device=result.device, threads=result.recipe.threads, digits=digits,
        wall_time_s=round(result.wall_time, 3), images_per_second=round(result.images_per_second, 1),
        # The code's value range over the digits it trained on: what 8- and 4-bit quantization map to.
        code_range=list(code_range(result.model, data.train_images()[: result.recipe.train_subset or None])),
        history=result.history,
        metrics=quality_metrics(result.model, evaluate(result.model, data.test_images())),
    )  # fmt: skip


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
