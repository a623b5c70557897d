"""Training, in the style of pytorch/examples: a plain epoch loop, Adam on per-pixel MSE, nothing hidden.

The recipe (epochs, batch, lr, schedule, seed) comes from the model's spec. The same spec, data and machine give
the same weights: the seed fixes the initialisation and a private generator fixes the shuffling.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.nn import functional as F

from ae import noise, warmstart
from ae.allocator import keep_freed_memory
from ae.data import Mnist
from ae.metrics import EVAL_BATCH
from ae.models import LinearAE, preferred_memory_format
from ae.registry import ModelSpec, Recipe
from ae.threads import CORES, torch_threads

PROGRESS_EVERY = 25  # steps between progress reports: often enough for a live bar, cheap enough to ignore
# (should_stop is polled every step: a cancel takes effect within one batch)
REVIVE_EVERY = 100  # steps over which a code channel that never fired counts as dead
PROBE_SIZE = 512  # training digits that set a revived code channel's bias
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
        return (self.epoch - 1 + self.step / max(1, self.steps)) / max(1, self.epochs)


@dataclass
class TrainResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)
    wall_time: float = 0.0
    device: str = "cpu"
    images_per_second: float = 0.0
    recipe: Recipe | None = None
    threads: int = 1


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


memory_format = preferred_memory_format


_init_lock = threading.Lock()


def make_scheduler(opt: torch.optim.Optimizer, recipe: Recipe, steps: list[int]):
    """The learning-rate schedule over the run's ``steps`` (per epoch). With a growing batch, the one cycle runs
    over the digits seen rather than the steps, and each epoch's rate is scaled by the square root of how much its
    batch grew (a batch twice as big averages out half the gradient noise's variance)."""
    if recipe.schedule == "constant":
        return None
    if recipe.schedule != "onecycle":
        raise ValueError(f"unknown schedule {recipe.schedule!r}")
    if not recipe.batch_sizes:
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=recipe.lr, total_steps=sum(steps), pct_start=recipe.warmup, anneal_strategy="cos"
        )
    batches = [recipe.batch_for(e) for e in range(1, len(steps) + 1)]
    total = sum(n * bs for n, bs in zip(steps, batches, strict=True))
    factors = []
    seen = 0
    for n, bs in zip(steps, batches, strict=True):
        for _ in range(n):
            factors.append(one_cycle(seen / total, recipe.warmup) * math.sqrt(bs / batches[0]))
            seen += bs
    factors.append(factors[-1])  # LambdaLR asks once more after the last step
    return torch.optim.lr_scheduler.LambdaLR(opt, factors.__getitem__)


def one_cycle(t: float, warmup: float, start: float = 1 / 25, end: float = 1 / 25e4) -> float:
    """OneCycleLR's factor of the peak rate at fraction ``t`` of the run: a cosine from ``start`` up to 1 over the
    first ``warmup`` of it, then a cosine down to ``end``."""

    def cosine(a: float, b: float, u: float) -> float:
        return b + (a - b) * (1 + math.cos(math.pi * u)) / 2

    return cosine(start, 1.0, t / warmup) if t < warmup else cosine(1.0, end, (t - warmup) / (1 - warmup))


@torch.inference_mode()
def test_loss(
    model: nn.Module, images: torch.Tensor, inputs: torch.Tensor | None = None, batch_size: int = EVAL_BATCH
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


def revive(
    model: nn.Module, opt: torch.optim.Optimizer, dead: list[int], probe: torch.Tensor, generator: torch.Generator
) -> int:
    """Re-initialise dead code channels, and forget Adam's moments for them so they start afresh."""
    model.revive_code_channels(dead, probe, generator)
    for p in (model.code_layer.weight, model.code_layer.bias):
        state = opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][dead] = 0
    return len(dead)


def train_epoch(model, opt, sched, images, perm, recipe, bs, report, probe, gens) -> tuple[float, int]:
    model.train()
    steps = len(images) // bs  # drop the ragged last batch: every step sees a full batch
    # One gather per epoch: each step then reads a contiguous slice. (1-channel images are already channels-last.)
    shuffled = images[perm[: steps * bs]].contiguous(memory_format=memory_format(model))
    can_die = hasattr(model, "revive_code_channels")  # a code behind a ReLU
    fired = None
    running = 0.0
    revived = 0
    for step in range(steps):
        x = shuffled[step * bs : (step + 1) * bs]
        inputs = noise.gaussian(x, recipe.noise_std, gens["noise"])  # x itself unless a denoising recipe
        code = model.encode(inputs)
        loss = F.mse_loss(model.decode(code), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        value = loss.item()
        if not math.isfinite(value):
            raise Diverged(f"loss became {value} at step {step + 1}; the old checkpoint is kept")
        running += value
        if can_die:
            # A channel that stayed zero for every digit of REVIVE_EVERY batches is dead: the batches' own codes
            # tell, at no extra cost.
            fired = model.firing(code) if fired is None else fired | model.firing(code)
            if (step + 1) % REVIVE_EVERY == 0:
                revived += revive(model, opt, (~fired).nonzero().flatten().tolist(), probe, gens["revive"])
                fired = None
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

    with on_cores(spec.name, recipe.threads, should_stop):
        return _train(spec, recipe, data, device, progress, should_stop)


@contextlib.contextmanager
def on_cores(name: str, threads: int, should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
    """Hold ``threads`` of the machine's cores (ae.threads.CORES, in line) and run this thread's torch ops on that
    many threads for the block; Cancelled if ``should_stop`` turns true while waiting. Nested, it takes none again."""
    with CORES.hold(threads, should_stop) as held:
        if not held:
            raise Cancelled(f"training of {name} cancelled before it started")
        with torch_threads(threads):
            yield


def _train(spec, recipe, data, device, progress, should_stop) -> TrainResult:
    with _init_lock:  # nn.Module init draws from the global RNG, which runs side by side share
        torch.manual_seed(recipe.seed)
        model = spec.build()
    model = model.to(device, memory_format=memory_format(model))
    # Everything random after that comes from the run's own generators.
    shuffle = torch.Generator().manual_seed(recipe.seed)
    gens = {
        "noise": torch.Generator().manual_seed(recipe.seed + 1),
        "revive": torch.Generator().manual_seed(recipe.seed + 2),
    }

    images = data.train_images()
    if recipe.train_subset:
        images = images[: recipe.train_subset]
    images = images.to(device)
    tests = data.test_images().to(device)
    probe = images[:PROBE_SIZE].contiguous(memory_format=memory_format(model))
    if recipe.init == "logit-rrr":
        if recipe.noise_std or not isinstance(model, LinearAE):
            raise ValueError("the logit-rrr start is for plain (not denoising) linear autoencoders")
        warmstart.start_linear(model, warmstart.shared_fit((data.fingerprint, recipe.train_subset), images))
    elif recipe.init != "pytorch":
        raise ValueError(f"unknown init {recipe.init!r}")
    if hasattr(model, "revive_code_channels"):
        # Start every code channel the way a revived one starts: firing on about half the probe's positions. With
        # PyTorch's default init some channels start (nearly) dead; this reached the seed's test MSE in 5 epochs
        # where the default init needed 6-7 (bench/README.md).
        model.revive_code_channels(list(range(model.code_channels)), probe, gens["revive"])
    # A denoising model is scored on a fixed noisy copy of the test digits, a plain one on the digits.
    test_inputs = noise.corrupt(tests, "gaussian", recipe.noise_std, seed=TEST_NOISE_SEED) if recipe.noise_std else None
    batches = [recipe.batch_for(e) for e in range(1, recipe.epochs + 1)]
    if max(batches) > len(images):
        raise ValueError(f"batch size {max(batches)} exceeds the {len(images)} training digits")
    steps = [len(images) // bs for bs in batches]  # per epoch

    # Fused: one kernel per step for every parameter, where the default loops over them in Python (at batch 16 that
    # loop was a tenth of conv-8's step: 3.9k against 3.4-3.6k images/s on 2 threads, bench/README.md).
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, fused=device.type in ("cpu", "cuda"))
    sched = make_scheduler(opt, recipe, steps)
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
        bs = batches[epoch - 1]
        train_mse, revived = train_epoch(model, opt, sched, images, perm, recipe, bs, report, probe, gens)
        seconds = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_mse,
                "test_loss": test_loss(model, tests, test_inputs),
                "seconds": round(seconds, 3),
                "batch_size": bs,
                "revived_channels": revived,
            }
        )
        if progress is not None:
            progress(
                Progress(
                    spec.name,
                    epoch,
                    recipe.epochs,
                    steps[epoch - 1],
                    steps[epoch - 1],
                    train_mse,
                    history[-1]["test_loss"],
                    tuple(history),
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
        images_per_second=sum(n * bs for n, bs in zip(steps, batches, strict=True)) / max(wall, 1e-9),
        recipe=recipe,
        threads=recipe.threads,
    )
