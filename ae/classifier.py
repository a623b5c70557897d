"""A small reference CNN that reads digits: does a reconstruction still read as the same digit?

Trained once on the 60k training digits and shipped as ``checkpoints/classifier.safetensors`` plus sidecar, like
the autoencoders. ``python -m ae train-classifier`` retrains it from ``SPEC``; ``python -m ae reproduce --model
classifier`` retrains it in a scratch folder and compares the weights with the shipped ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ae import checkpoints, workspace
from ae.cores import torch_threads
from ae.data import Mnist
from ae.inference import EVAL_BATCH, cat_batches
from ae.registry import ClassifierRecipe, ModelSpec
from ae.train import Cancelled

ACCURACY_TARGET = 0.99

# The classifier's registry entry. The shipped weights were trained with OneCycleLR's default warm-up (0.3) on two
# threads; the recipe names both, so that retraining from it gives those weights again.
SPEC = ModelSpec(
    "classifier",
    "classifier",
    {},
    ClassifierRecipe(epochs=3, batch_size=64, lr=2e-3, warmup=0.3, threads=2),
    "reference digit reader",
    "reference",
)


def train_classifier(
    data: Mnist, spec: ModelSpec = SPEC, progress: Callable[[str], None] | None = None, should_stop=None
) -> tuple[nn.Module, list[dict], float]:
    """Train ``spec`` from its recipe; returns the model, its per-epoch history and the wall time. Raises
    ae.train.Cancelled when ``should_stop()`` turns true (polled every epoch)."""
    recipe = spec.recipe
    with torch_threads(recipe.threads):
        torch.manual_seed(recipe.seed)
        model = spec.build().to(memory_format=torch.channels_last)
        shuffle = torch.Generator().manual_seed(recipe.seed)
        x, y = data.train_images()[: recipe.train_subset], torch.from_numpy(data.train_y)[: recipe.train_subset]
        steps = len(x) // recipe.batch_size
        opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
        total_steps = recipe.epochs * steps
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=total_steps, pct_start=recipe.warmup)
        history, t0 = [], time.perf_counter()
        for epoch in range(1, recipe.epochs + 1):
            if should_stop is not None and should_stop():
                raise Cancelled(f"training of {spec.name} cancelled in epoch {epoch}")
            perm = torch.randperm(len(x), generator=shuffle)
            batches = perm[: steps * recipe.batch_size].view(steps, recipe.batch_size)
            loss = _epoch(model, opt, sched, (x, y), batches)
            acc = accuracy(model, data.test_images(), data.test_y)
            history.append({"epoch": epoch, "train_loss": loss, "test_accuracy": acc})
            if progress:
                progress(f"classifier epoch {epoch}/{recipe.epochs}: loss {loss:.4f}, test accuracy {acc:.4f}")
    return model.eval(), history, time.perf_counter() - t0


def _epoch(model: nn.Module, opt, sched, data: tuple[torch.Tensor, torch.Tensor], batches: torch.Tensor) -> float:
    """One pass over the (steps, batch) indices ``batches`` of ``data`` (images, labels); the mean training loss."""
    x, y = data
    model.train()
    total = 0.0
    for idx in batches:
        loss = F.cross_entropy(model(x[idx].contiguous(memory_format=torch.channels_last)), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
    return total / len(batches)


def train_and_save(
    data: Mnist,
    directory: Path | str | None = None,
    spec: ModelSpec = SPEC,
    *,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
    should_stop=None,
) -> dict:
    """Train the classifier and write its checkpoint into ``directory`` (default: the workspace); returns the
    sidecar."""
    directory = workspace.checkpoint_dir() if directory is None else directory
    with checkpoints.training_lock(spec.name, directory):
        model, history, wall = train_classifier(data, spec, progress, should_stop)
        meta = {
            "command": command or "python -m ae train-classifier",
            "data": {"fingerprint": data.fingerprint, "source": data.source.split(":", 1)[0]},
            "device": "cpu",
            "platform": {"threads": spec.recipe.threads},
            "wall_time_s": round(wall, 2),
            "history": history,
            "metrics": {"test_accuracy": history[-1]["test_accuracy"]},
        }
        return checkpoints.save(model, meta, spec, directory)


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """The digit ``model`` reads in each of ``images`` (N, 1, 28, 28)."""
    return cat_batches(lambda x: model(x).argmax(1), model, images, batch_size=batch_size)


def accuracy(model: nn.Module, images: torch.Tensor, labels) -> float:
    return float((predict(model, images) == torch.as_tensor(labels)).float().mean())


def read_digits(model: nn.Module, digits) -> list[tuple[int, float]]:
    """The classifier's reading of each (28, 28) digit: (digit, confidence)."""
    x = torch.as_tensor(np.stack([np.asarray(d, dtype=np.float32) for d in digits])).reshape(-1, 1, 28, 28)
    confidence, label = cat_batches(lambda b: torch.softmax(model(b), dim=1), model, x).max(dim=1)
    return list(zip(label.tolist(), confidence.tolist(), strict=True))


def read_digit(model: nn.Module, digit) -> tuple[int, float]:
    """The classifier's reading of one (28, 28) digit and its confidence."""
    return read_digits(model, [digit])[0]
