"""Training the reference classifier (``python -m ae train-classifier``; ``python -m ae reproduce --model classifier``
retrains it in a scratch folder and compares the weights with the shipped ones)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ae.data.mnist import Mnist
from ae.measure.classifier import accuracy
from ae.models.specs import ModelSpec
from ae.runtime.cores import torch_threads
from ae.storage.catalogue import CLASSIFIER
from ae.training.loop import Cancelled

ACCURACY_TARGET = 0.99
# What a reader must reach on its dataset's test images: clothes are harder to tell apart than digits (a small CNN
# reads about 91% of Fashion-MNIST's test pictures right).
ACCURACY_TARGETS = {"mnist": ACCURACY_TARGET, "fashion": 0.90}


def train_classifier(
    data: Mnist, spec: ModelSpec = CLASSIFIER, progress: Callable[[str], None] | None = None, should_stop=None
) -> tuple[nn.Module, list[dict], float]:
    """Train ``spec`` from its recipe; returns the model, its per-epoch history and the wall time. Raises
    ae.training.loop.Cancelled when ``should_stop()`` turns true (polled every epoch)."""
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
