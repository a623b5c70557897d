"""Training, in the style of pytorch/examples: set up, train one epoch, test, repeat. Nothing hidden.

The recipe (epochs, batch, lr, schedule, seed, threads) comes from the model's spec (the catalogue). The same spec,
data and machine give the same weights: the seed fixes the initialisation, and the run's own generators fix the
shuffling, the noise of denoising models and the revival of dead code channels.

Read top to bottom: ``train`` calls ``setup`` once, then ``train_epoch`` and ``test`` once per epoch.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.nn import functional as F

from ae.data import noise
from ae.data.mnist import Mnist
from ae.models.autoencoders import LinearAE, preferred_memory_format
from ae.models.batching import mean_squared_error
from ae.models.codec import CodecAE
from ae.models.specs import ModelSpec, Recipe
from ae.runtime.allocator import keep_freed_memory
from ae.runtime.cores import torch_threads
from ae.training import warmstart

DEVICE_ENV = "AELAB_DEVICE"
PROGRESS_EVERY = 25  # steps between progress reports; a cancel is noticed every step
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
    history: list[dict]
    wall_time: float
    device: str
    images_per_second: float
    recipe: Recipe


@dataclass(kw_only=True)
class Run:
    """Everything one epoch needs, made once by ``setup``."""

    spec: ModelSpec
    recipe: Recipe
    model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None
    images: torch.Tensor  # the training digits, on the device
    tests: torch.Tensor  # the test digits: the targets of the test loss
    test_inputs: torch.Tensor  # what the model is fed at test time (noisy for a denoising model)
    batches: list[int]  # the batch size of each epoch
    shuffle: torch.Generator
    noise: torch.Generator
    revive: torch.Generator
    probe: torch.Tensor  # training digits that set a revived code channel's bias
    progress: Callable[[Progress], None] | None = None
    should_stop: Callable[[], bool] | None = None
    on_epoch: Callable[[int, nn.Module], None] | None = None
    history: list[dict] = field(default_factory=list)

    def steps(self, epoch: int) -> int:
        """Steps in (1-based) ``epoch``: the ragged last batch is dropped, so every step sees a full batch."""
        return len(self.images) // self.batches[epoch - 1]

    def report(self, epoch: int, step: int, loss: float, test_loss: float | None = None) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled(f"training of {self.spec.name} cancelled in epoch {epoch}")
        steps = self.steps(epoch)
        if self.progress is not None and (step % PROGRESS_EVERY == 0 or step == steps):
            args = (self.spec.name, epoch, self.recipe.epochs, step, steps, loss, test_loss, tuple(self.history))
            self.progress(Progress(*args))

    def watch(self, epoch: int) -> None:
        """Show the model after ``epoch`` (0: at its start) to ``on_epoch``, e.g. to snapshot it (``snapshots``)."""
        if self.on_epoch is not None:
            self.on_epoch(epoch, self.model)


def pick_device(name: str | None = None) -> torch.device:
    """``name``, else $AELAB_DEVICE, else the CPU; "auto" is CUDA when present. Never a GPU unasked."""
    name = name or os.environ.get(DEVICE_ENV) or "cpu"
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def train(
    spec: ModelSpec,
    data: Mnist,
    *,
    epochs: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str | None = None,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> TrainResult:
    """Train ``spec`` from scratch on the training digits, testing on the 10k test digits after every epoch, on the
    recipe's threads. ``progress`` is called every few steps; when ``should_stop()`` turns true, ``Cancelled``.
    ``on_epoch(epoch, model)`` sees the model at its start (epoch 0) and after each epoch, before it is reported."""
    recipe = spec.recipe if epochs is None else replace(spec.recipe, epochs=int(epochs))
    if recipe.epochs < 1:
        raise ValueError("epochs must be at least 1")
    device = pick_device(device) if not isinstance(device, torch.device) else device
    keep_freed_memory()
    with torch_threads(recipe.threads):
        run = setup(spec, recipe, data, device)
        run.progress, run.should_stop, run.on_epoch = progress, should_stop, on_epoch
        run.watch(0)
        started = time.perf_counter()
        for epoch in range(1, recipe.epochs + 1):
            t0 = time.perf_counter()
            train_loss, revived = train_epoch(run, epoch)
            row = {"epoch": epoch, "train_loss": train_loss, "test_loss": test(run)}
            row |= {"seconds": round(time.perf_counter() - t0, 3), "batch_size": run.batches[epoch - 1]}
            run.history.append(row | {"revived_channels": revived})
            run.watch(epoch)
            run.report(epoch, run.steps(epoch), train_loss, row["test_loss"])
        wall = time.perf_counter() - started
    seen = sum(run.steps(e) * run.batches[e - 1] for e in range(1, recipe.epochs + 1))
    model = run.model.eval().cpu()  # channels-last stays; checkpoints.save stores contiguous tensors
    return TrainResult(model, run.history, wall, str(device), seen / max(wall, 1e-9), recipe)


_init_lock = threading.Lock()  # nn.Module init draws from the global RNG, which runs side by side share


def setup(spec: ModelSpec, recipe: Recipe, data: Mnist, device: torch.device) -> Run:
    """The model at its start, its optimiser and schedule, the data on the device, the run's generators."""
    with _init_lock:
        torch.manual_seed(recipe.seed)
        model = spec.build()
    fmt = preferred_memory_format(model)
    model = model.to(device, memory_format=fmt)
    images = data.train_images()[: recipe.train_subset or None].to(device)
    tests = data.test_images().to(device)
    batches = [recipe.batch_for(e) for e in range(1, recipe.epochs + 1)]
    if max(batches) > len(images):
        raise ValueError(f"batch size {max(batches)} exceeds the {len(images)} training digits")
    # Fused Adam: one kernel per step for all parameters, where the default loops over them in Python.
    fused = device.type in ("cpu", "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, betas=(0.9, recipe.beta2), fused=fused)
    steps = [len(images) // bs for bs in batches]
    # A denoising model is scored on a fixed noisy copy of the test digits, a plain one on the digits.
    test_inputs = noise.corrupt(tests, "gaussian", recipe.noise_std, TEST_NOISE_SEED) if recipe.noise_std else tests
    run = Run(
        spec=spec, recipe=recipe, model=model, opt=opt, sched=make_scheduler(opt, recipe, steps),
        images=images, tests=tests, test_inputs=test_inputs, batches=batches,
        shuffle=torch.Generator().manual_seed(recipe.seed),
        noise=torch.Generator().manual_seed(recipe.seed + 1),
        revive=torch.Generator().manual_seed(recipe.seed + 2),
        probe=images[:PROBE_SIZE].contiguous(memory_format=fmt),
    )  # fmt: skip
    start(run, data)
    return run


def start(run: Run, data: Mnist) -> None:
    """The model's starting point: PyTorch's init, or the closed-form start of a plain linear model or of a codec's
    linear paths. Conv models
    then start every code channel as a revived one starts: firing on about half the probe's positions, since with
    PyTorch's init some start (nearly) dead behind the code's ReLU."""
    model, recipe = run.model, run.recipe
    if recipe.init == "logit-rrr":
        if recipe.noise_std or not isinstance(model, LinearAE | CodecAE):
            raise ValueError("the logit-rrr start is for plain (not denoising) linear autoencoders and codecs")
        fit = warmstart.shared_fit((data.fingerprint, recipe.train_subset), run.images)
        (warmstart.start_codec if isinstance(model, CodecAE) else warmstart.start_linear)(model, fit)
    elif recipe.init != "pytorch":
        raise ValueError(f"unknown init {recipe.init!r}")
    if hasattr(model, "revive_code_channels"):
        model.revive_code_channels(list(range(model.code_channels)), run.probe, run.revive)


def train_epoch(run: Run, epoch: int) -> tuple[float, int]:
    """One pass over the shuffled training digits; returns the epoch's mean loss and how many channels revived."""
    model, bs, steps = run.model, run.batches[epoch - 1], run.steps(epoch)
    model.train()
    if hasattr(model, "start_epoch"):  # a model whose objective changes over the run (a codec's decoder fine-tune)
        model.start_epoch(epoch, run.recipe.epochs)
    perm = torch.randperm(len(run.images), generator=run.shuffle)
    # One gather per epoch: each step then reads a contiguous slice.
    shuffled = run.images[perm[: steps * bs]].contiguous(memory_format=preferred_memory_format(model))
    can_die = hasattr(model, "revive_code_channels")  # a code behind a ReLU
    fired, running, revived = None, 0.0, 0
    for step in range(1, steps + 1):
        x = shuffled[(step - 1) * bs : step * bs]
        x_in = noise.gaussian(x, run.recipe.noise_std, run.noise)  # x itself unless denoising
        if hasattr(model, "training_loss"):  # a model with its own objective (a VAE's ELBO, a codec's rate + λ·MSE)
            code, loss = None, model.training_loss(x_in, x)
        else:
            code = model.encode(x_in)
            loss = F.mse_loss(model.decode(code), x)
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        if run.sched is not None:
            run.sched.step()
        value = loss.item()
        if not math.isfinite(value):
            raise Diverged(f"loss became {value} at step {step}; the old checkpoint is kept")
        running += value
        if can_die:  # a channel that stayed zero for every digit of REVIVE_EVERY batches is dead
            fired = model.firing(code) if fired is None else fired | model.firing(code)
            if step % REVIVE_EVERY == 0:
                revived += revive(run, (~fired).nonzero().flatten().tolist())
                fired = None
        run.report(epoch, step, running / step)
    return running / steps, revived


def test(run: Run) -> float:
    """Mean per-pixel MSE of the model on the test digits (fed noisy ones if it is a denoising model)."""
    return mean_squared_error(run.model, run.tests, run.test_inputs)


def revive(run: Run, dead: list[int]) -> int:
    """Re-initialise dead code channels, and forget Adam's moments for them so they start afresh."""
    if not dead:
        return 0
    run.model.revive_code_channels(dead, run.probe, run.revive)
    for p in (run.model.code_layer.weight, run.model.code_layer.bias):
        state = run.opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq"):
            if key in state:
                state[key][dead] = 0
    return len(dead)


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
    factors, seen = [], 0
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
