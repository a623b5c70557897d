"""Training, in the style of pytorch/examples: a plain epoch loop, Adam on per-pixel MSE, nothing hidden.

The recipe (epochs, batch, lr, schedule, seed) comes from the model's spec. The same spec, data and machine give
the same weights: the seed fixes the initialisation and a private generator fixes the shuffling.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.nn import functional as F

from ae import noise
from ae.allocator import keep_freed_memory
from ae.data import Mnist
from ae.models import preferred_memory_format
from ae.registry import ModelSpec, Recipe

PROGRESS_EVERY = 25  # steps between progress reports: often enough for a live bar, cheap enough to ignore
# (should_stop is polled every step: a cancel takes effect within one batch)
REVIVE_EVERY = 100  # steps between checks for dead code channels (models that have them)
PROBE_SIZE = 512  # training digits used to tell a dead code channel
TEST_NOISE_SEED = 1234  # the noisy test digits that denoising models are scored on


class Cancelled(Exception):
    """Training was stopped on request; nothing was saved."""


class Diverged(RuntimeError):
    """The loss became NaN or infinite; nothing was saved."""


@dataclass(frozen=True)
class Progress:
    model: str
    epoch: int  # 1-based, the epoch under way
    epochs: int
    step: int  # steps done in this epoch
    steps: int  # steps per epoch
    loss: float  # running mean of this epoch's training loss
    test_loss: float | None = None  # set once an epoch has been evaluated
    history: tuple = ()

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) * self.steps + self.step) / max(1, self.epochs * self.steps)


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)
    wall_time: float = 0.0
    device: str = "cpu"
    images_per_second: float = 0.0
    recipe: Recipe | None = None


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


memory_format = preferred_memory_format


def make_scheduler(opt: torch.optim.Optimizer, recipe: Recipe, total_steps: int):
    if recipe.schedule == "constant":
        return None
    if recipe.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=recipe.lr, total_steps=total_steps, pct_start=recipe.warmup, anneal_strategy="cos"
        )
    raise ValueError(f"unknown schedule {recipe.schedule!r}")


@torch.inference_mode()
def test_loss(
    model: nn.Module, images: torch.Tensor, inputs: torch.Tensor | None = None, batch_size: int = 1000
) -> float:
    """Mean per-pixel MSE between ``model(inputs)`` (default: the images themselves) and ``images``."""
    model.eval()
    fmt = memory_format(model)
    device = next(model.parameters()).device
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(device).contiguous(memory_format=fmt)
        source = x if inputs is None else inputs[i : i + batch_size].to(device).contiguous(memory_format=fmt)
        total += F.mse_loss(model(source), x, reduction="sum").item()
    return total / images.numel()


def revive(model: nn.Module, opt: torch.optim.Optimizer, probe: torch.Tensor) -> int:
    """Let the model re-initialise dead code units, and forget Adam's moments for them so they start afresh."""
    fn = getattr(model, "revive_dead_code_channels", None)
    if fn is None:
        return 0
    dead = fn(probe)
    for p in (model.code_layer.weight, model.code_layer.bias):
        state = opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][dead] = 0
    return len(dead)


def train_epoch(model, opt, sched, images, perm, recipe, report, probe, noise_gen) -> tuple[float, int]:
    model.train()
    fmt = memory_format(model)
    bs = recipe.batch_size
    steps = len(images) // bs  # drop the ragged last batch: every step sees a full batch
    running = 0.0
    revived = 0
    for step in range(steps):
        if step % REVIVE_EVERY == 0:
            revived += revive(model, opt, probe)
        x = images[perm[step * bs : (step + 1) * bs]].contiguous(memory_format=fmt)
        inputs = noise.gaussian(x, recipe.noise_std, noise_gen)  # x itself unless a denoising recipe
        loss = F.mse_loss(model(inputs), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        value = loss.item()
        if not math.isfinite(value):
            raise Diverged(f"loss became {value} at step {step + 1}; the old checkpoint is kept")
        running += value
        report(step + 1, steps, running / (step + 1))
    return running / steps, revived


def train(
    spec: ModelSpec,
    data: Mnist,
    *,
    epochs: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str | None = None,
) -> TrainResult:
    """Train ``spec`` from scratch on the 60k digits, evaluating on the 10k test digits after every epoch.

    ``progress`` is called every few steps; ``should_stop`` is polled as often and, when it returns True,
    training ends with ``Cancelled``. ``epochs`` overrides the recipe's.
    """
    recipe = spec.recipe if epochs is None else replace(spec.recipe, epochs=int(epochs))
    if recipe.epochs < 1:
        raise ValueError("epochs must be at least 1")
    device = torch.device(device) if device is not None else pick_device()
    keep_freed_memory()

    torch.manual_seed(recipe.seed)
    model = spec.build().to(device)
    model = model.to(memory_format=memory_format(model))
    shuffle = torch.Generator().manual_seed(recipe.seed)

    images = data.train_images()
    if recipe.train_subset:
        images = images[: recipe.train_subset]
    images = images.to(device)
    tests = data.test_images().to(device)
    probe = images[:PROBE_SIZE].contiguous(memory_format=memory_format(model))
    noise_gen = torch.Generator().manual_seed(recipe.seed + 1)
    # A denoising model is scored on a fixed noisy copy of the test digits, a plain one on the digits.
    test_inputs = noise.corrupt(tests, "gaussian", recipe.noise_std, seed=TEST_NOISE_SEED) if recipe.noise_std else None
    steps = len(images) // recipe.batch_size
    if steps < 1:
        raise ValueError(f"batch size {recipe.batch_size} exceeds the {len(images)} training digits")

    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    sched = make_scheduler(opt, recipe, recipe.epochs * steps)
    history: list[dict] = []
    started = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):

        def report(step: int, steps: int, loss: float, epoch: int = epoch) -> None:
            if should_stop is not None and should_stop():
                raise Cancelled(f"training of {spec.name} cancelled in epoch {epoch}")
            if progress is not None and (step % PROGRESS_EVERY == 0 or step == steps):
                progress(Progress(spec.name, epoch, recipe.epochs, step, steps, loss, None, tuple(history)))

        t0 = time.perf_counter()
        perm = torch.randperm(len(images), generator=shuffle)
        train_mse, revived = train_epoch(model, opt, sched, images, perm, recipe, report, probe, noise_gen)
        seconds = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_mse,
                "test_loss": test_loss(model, tests, test_inputs),
                "seconds": round(seconds, 3),
                "revived_channels": revived,
            }
        )
        if progress is not None:
            progress(
                Progress(
                    spec.name, epoch, recipe.epochs, steps, steps, train_mse, history[-1]["test_loss"], tuple(history)
                )
            )
    wall = time.perf_counter() - started
    model.eval()
    model = model.cpu()  # still channels-last where that is faster; checkpoints.save stores contiguous tensors
    return TrainResult(
        model=model,
        history=history,
        wall_time=wall,
        device=str(device),
        images_per_second=recipe.epochs * steps * recipe.batch_size / max(wall, 1e-9),
        recipe=recipe,
    )
