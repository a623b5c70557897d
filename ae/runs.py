"""One training run end to end: take the model's lock, train, measure, save the checkpoint.

The CLI and the app both train through here, so a checkpoint always carries the same metadata.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from ae import checkpoints
from ae.data import Mnist
from ae.metrics import evaluate, measure_code, parameter_count
from ae.quantize import code_range
from ae.registry import ModelSpec
from ae.threads import CORES
from ae.train import Progress, on_cores, train

T = TypeVar("T")


def train_and_save(
    spec: ModelSpec,
    data: Mnist,
    *,
    directory: Path | str = checkpoints.DEFAULT_DIR,
    epochs: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str | None = None,
) -> dict:
    """Train ``spec`` and write its checkpoint; returns the sidecar.

    Raises TrainingBusy if another process is training the same model, and train.Cancelled / train.Diverged
    when the run ends early: in every such case the previous checkpoint is left as it was.
    """
    # The run's cores and threads cover its evaluation too, so that it never runs beside another run's training.
    with checkpoints.training_lock(spec.name, directory), on_cores(spec.name, spec.recipe.threads, should_stop):
        result = train(spec, data, epochs=epochs, progress=progress, should_stop=should_stop)
        quality = evaluate(result.model, data.test_images())
        code = measure_code(result.model)
        # Saved under the recipe actually used; an --epochs override makes the checkpoint "stale" on purpose,
        # since it no longer reproduces the registry's recipe.
        trained_spec = replace(spec, recipe=result.recipe)
        meta = {
            "command": command or f"python -m ae train --model {spec.name}",
            "data": {
                "fingerprint": data.fingerprint,
                "source": data.source.split(":", 1)[0],
                "train_digits": spec.recipe.train_subset or len(data.train_x),
                "test_digits": len(data.test_x),
            },
            "device": result.device,
            "platform": {"threads": result.threads},
            "wall_time_s": round(result.wall_time, 3),
            "images_per_second": round(result.images_per_second, 1),
            "history": result.history,
            # The code's value range over the training digits: what 8- and 4-bit quantization map to.
            "code_range": list(code_range(result.model, data.train_images())),
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
        return checkpoints.save(result.model, meta, trained_spec, directory)


def expected_seconds(spec: ModelSpec, directory: Path | str = checkpoints.DEFAULT_DIR) -> float:
    """How long a run of ``spec`` should take: its last recorded wall time, scaled to the recipe's epochs, or a
    rough guess (a conv epoch costs about ten linear ones) when it has never been trained."""
    try:
        meta = checkpoints.read_sidecar(spec.name, directory)
        return float(meta["wall_time_s"]) / max(1, len(meta["history"])) * spec.recipe.epochs
    except (checkpoints.CheckpointError, KeyError, TypeError, ValueError):
        return spec.recipe.epochs * (10.0 if spec.family == "conv" else 1.0)


def longest_first(names: list[str], registry: dict[str, ModelSpec], directory: Path | str) -> list[str]:
    """The order in which two trainers side by side finish soonest: the runs that need the most cores first (they
    find them all free; later, one would wait while another run holds a core the other stands idle), then the
    longest runs first."""
    return sorted(
        names, key=lambda n: (registry[n].recipe.threads, expected_seconds(registry[n], directory)), reverse=True
    )


@contextlib.contextmanager
def side_by_side(
    fn: Callable[[str, Callable[[], bool]], T],
    names: list[str],
    registry: dict[str, ModelSpec],
    directory: Path | str,
    jobs: int = 2,
) -> Iterator[Iterator[T]]:
    """``fn(name, should_stop)`` for every name, ``jobs`` at a time, in ``longest_first`` order (each run waits its
    turn for its recipe's cores); the results as the runs were handed out.

    Leaving the block early (Ctrl-C, an error) tells the runs under way to stop (they poll ``should_stop`` every
    batch) and waits for them, so their old checkpoints are kept and nothing is left running.
    """
    stop = threading.Event()
    order = iter(longest_first(names, registry, directory))
    lock = threading.Lock()

    def next_run(_: object) -> T:
        with lock:  # the next name and its place in line for cores, together: the line keeps this order
            name = next(order)
            ticket = CORES.line_up()
        with CORES.using(ticket):
            return fn(name, stop.is_set)

    pool = ThreadPoolExecutor(max(1, jobs), thread_name_prefix="aelab-run")
    try:
        yield pool.map(next_run, names)
    finally:
        stop.set()
        pool.shutdown(cancel_futures=True)


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
