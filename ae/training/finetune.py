"""Teach a model someone's handwriting: fine-tune a copy for a few seconds on their digits mixed with MNIST.

Every batch is part the user's digits (drawn with replacement: there are few of them) and part MNIST training
digits, so that the model learns the new hand without forgetting the old ones; every digit is moved by a small
random shift, so that a few dozen drawings stand for many. The run is seeded and short (a few hundred Adam steps,
cut off at a time limit), and the result says how much the error fell on the user's digits and how it moved on the
10,000 MNIST test digits: did it forget MNIST?

``save`` keeps the result as a model built in the lab. Its spec carries a normal recipe for its architecture (a
retrain trains it from scratch on MNIST); the fine-tune itself is recorded in the checkpoint's sidecar under
``finetune``, which is also why ``python -m ae reproduce`` skips it.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ae.data import noise
from ae.data.handwriting import MIN_FOR_FINETUNE, DigitSet
from ae.data.mnist import Mnist, to_float
from ae.measure.metrics import Quality, evaluate
from ae.models.batching import mean_squared_error, to_model
from ae.models.specs import ModelSpec, Recipe
from ae.runtime import workspace
from ae.runtime.cores import torch_threads
from ae.storage import checkpoints, spec_files
from ae.storage.catalogue import CONV_RECIPE, LINEAR_RECIPE, shipped_registry
from ae.training.loop import TEST_NOISE_SEED, Diverged
from ae.training.runs import quality_metrics, record

SUFFIX = "-mine"
PROGRESS_EVERY = 10  # steps between progress reports


@dataclass(frozen=True)
class FinetuneConfig:
    steps: int = 300
    batch_size: int = 64
    user_share: float = 0.5  # of each batch, the user's digits; the rest are MNIST training digits
    lr: float = 1e-3  # Adam's rate at the start, decaying to 0 along a cosine
    shift: int = 2  # each digit moves by up to this many pixels each way
    seed: int = 0
    max_seconds: float = 10.0  # the training stops here, even short of its steps (a big model on a busy core)
    threads: int = 1  # intra-op threads, for the measuring too: one core, which the caller holds (ae.runtime.cores)


@dataclass(frozen=True)
class Scores:
    yours: float  # mean per-pixel MSE on the user's digits
    mnist: float  # ... on the 10,000 MNIST test digits


@dataclass
class Finetuned:
    model: nn.Module
    before: Scores
    after: Scores
    steps: int  # steps done (fewer than asked if the time ran out)
    seconds: float  # the training's wall time, without the measuring
    train_loss: float  # mean loss over the last 50 steps
    digits: DigitSet
    config: FinetuneConfig
    quality: Quality  # the fine-tuned model on the MNIST test digits: MSE, PSNR, SSIM, as its sidecar records


def scores(model: nn.Module, digits: DigitSet, data: Mnist) -> Scores:
    """The model's reconstruction error on the user's digits and on the MNIST test digits (batched)."""
    return Scores(mean_squared_error(model, digits.tensors()[0]), mean_squared_error(model, data.test_images()))


def recorded_test_mse(meta: dict | None, data: Mnist) -> float | None:
    """The test MSE a checkpoint's sidecar recorded, if measured on these very test digits (it is then the number a
    new pass would give: the same batched sum), else None."""
    meta = meta or {}
    if (meta.get("data") or {}).get("fingerprint") != data.fingerprint:
        return None
    value = (meta.get("metrics") or {}).get("test_mse")
    return float(value) if isinstance(value, int | float) else None


def finetune(
    model: nn.Module,
    digits: DigitSet,
    data: Mnist,
    *,
    config: FinetuneConfig = FinetuneConfig(),
    noise_std: float = 0.0,
    before_mnist: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Finetuned:
    """Fine-tune a copy of ``model`` (left as it is) on ``digits`` mixed with MNIST. ``noise_std`` > 0 for a
    denoising model, which keeps being fed noisy inputs; ``before_mnist``, the model's test MSE when already known
    (``recorded_test_mse``), saves a pass over the test digits; ``progress(step, steps)`` is called every few steps."""
    if len(digits) < MIN_FOR_FINETUNE:
        raise ValueError(f"fine-tuning needs at least {MIN_FOR_FINETUNE} digits; there are {len(digits)}")
    with torch_threads(config.threads):
        return _finetune(model, digits, data, config=config, noise_std=noise_std, mnist=before_mnist, progress=progress)


def _finetune(model, digits, data, *, config, noise_std, mnist, progress) -> Finetuned:
    yours = digits.tensors()[0]
    mnist = mean_squared_error(model, data.test_images()) if mnist is None else mnist
    before = Scores(mean_squared_error(model, yours), mnist)
    tuned = copy.deepcopy(model)
    with torch.random.fork_rng():  # a model that samples (a VAE) draws from the global generator: seed it, locally
        torch.manual_seed(config.seed)
        steps, seconds, loss = _train(tuned, digits, data, config=config, noise_std=noise_std, progress=progress)
    quality = evaluate(tuned, data.test_images())  # one pass for the table and the sidecar
    after = Scores(mean_squared_error(tuned, yours), quality.mse)
    return Finetuned(tuned, before, after, steps, seconds, loss, digits, config, quality)


def _train(model, digits, data, *, config, noise_std, progress) -> tuple[int, float, float]:
    gen = torch.Generator().manual_seed(config.seed)
    yours = digits.tensors()[0]
    n_yours = min(config.batch_size, max(1, round(config.batch_size * config.user_share)))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / config.steps)))
    model.train()
    started, losses, step = time.perf_counter(), [], 0
    for step in range(1, config.steps + 1):
        mnist = torch.randint(len(data.train_x), (config.batch_size - n_yours,), generator=gen)
        x = torch.cat([yours[torch.randint(len(yours), (n_yours,), generator=gen)], to_float(data.train_x[mnist])])
        x = to_model(model, shifted(x, config.shift, gen))
        x_in = noise.gaussian(x, noise_std, gen)  # x itself unless denoising
        loss = model.training_loss(x_in, x) if hasattr(model, "training_loss") else F.mse_loss(model(x_in), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if not math.isfinite(value := loss.item()):
            raise Diverged(f"the loss became {value} at step {step} of the fine-tune; nothing was saved")
        losses.append(value)
        out_of_time = time.perf_counter() - started > config.max_seconds
        if progress is not None and (step % PROGRESS_EVERY == 0 or step == config.steps or out_of_time):
            progress(step, config.steps)
        if out_of_time:
            break
    return step, time.perf_counter() - started, sum(losses[-50:]) / len(losses[-50:])


def shifted(x: torch.Tensor, most: int, generator: torch.Generator) -> torch.Tensor:
    """Each (1, 28, 28) image of ``x`` moved by its own random whole-pixel offset of up to ``most`` each way (the
    pixels moved in are black, as MNIST's borders are)."""
    if most <= 0:
        return x
    n, size = len(x), x.shape[-1]
    padded = F.pad(x[:, 0], (most, most, most, most))
    dy, dx = torch.randint(0, 2 * most + 1, (2, n), generator=generator)
    rows = (dy[:, None] + torch.arange(size))[:, :, None]
    cols = (dx[:, None] + torch.arange(size))[:, None, :]
    return padded[torch.arange(n)[:, None, None], rows, cols].unsqueeze(1)


# --- keeping the result as a model built in the lab ---


def default_name(base: str) -> str:
    """``<base>-mine``, shortened to fit the 40 characters a name may have."""
    return base[: 40 - len(SUFFIX)].rstrip("-") + SUFFIX


def retrain_recipe(base: ModelSpec) -> Recipe:
    """The recipe the fine-tuned model's spec carries: the base's, when the lab offers it, else the normal recipe of
    its family (the seed models' closed-form start and growing batch are not lab options), with the same noise."""
    recipe = base.recipe
    if recipe.init != "pytorch" or recipe.batch_sizes:
        normal = CONV_RECIPE if base.family == "conv" else LINEAR_RECIPE
        recipe = replace(normal, noise_std=recipe.noise_std, seed=recipe.seed)
    return recipe


def finetuned_spec_note(base: ModelSpec, result: Finetuned) -> str:
    yours = f"{result.before.yours:.4f} -> {result.after.yours:.4f}"
    mnist = f"{result.before.mnist:.4f} -> {result.after.mnist:.4f}"
    digits = f"{len(result.digits)} of your handwritten digits"
    return f"{base.name} fine-tuned on {digits}: MSE on them {yours}, on the MNIST test digits {mnist}."


def finetuned_spec(base: ModelSpec, name: str, note: str, digits: int) -> ModelSpec:
    """The spec of ``base`` fine-tuned as ``name``, checked as any model built in the lab (SpecError if not valid)."""
    note = note or f"{base.name} fine-tuned on {digits} of your handwritten digits."
    described = f"{base.description} (fine-tuned on your handwriting)" if base.description else ""
    spec = ModelSpec(name, base.family, dict(base.args), retrain_recipe(base), described, "lab", note)
    spec_files.check(spec)
    return spec


def check_target(base: ModelSpec, name: str | None, digits: int, home: Path | str | None = None) -> ModelSpec:
    """The spec ``base`` fine-tuned on ``digits`` digits is saved under as ``name`` (default ``<base>-mine``); SpecError
    if that name is not valid, is a shipped model's, or is a model built in the lab other than an earlier fine-tune
    (which is replaced)."""
    home = Path(workspace.home() if home is None else home)
    spec = finetuned_spec(base, name or default_name(base.name), "", digits)
    _check_free(spec.name, home)
    return spec


def _check_free(name: str, home: Path) -> None:
    """SpecError unless ``name`` is free, or a model fine-tuned here before (which is replaced)."""
    if name in shipped_registry():
        raise spec_files.SpecError(f"{name!r} is the name of a shipped model: choose another name")
    if not (spec_files.folder(home) / f"{name}.json").exists():
        return
    try:
        meta = checkpoints.read_sidecar(name, home / "checkpoints")
    except checkpoints.CheckpointError:
        meta = {}
    if "finetune" not in meta:
        raise spec_files.SpecError(f"a model built in the lab is already called {name!r}: choose another name")


def save(
    result: Finetuned,
    base: ModelSpec,
    base_meta: dict,
    data: Mnist,
    *,
    name: str | None = None,
    note: str = "",
    home: Path | str | None = None,
) -> ModelSpec:
    """Keep ``result`` (the fine-tune of ``base``, whose checkpoint's sidecar is ``base_meta``) as the built model
    ``name`` (default ``<base>-mine``): its checkpoint, then its spec, in the workspace. Raises SpecError, with
    nothing written, for a name that is not valid or is taken; TrainingBusy while another run writes that name."""
    home = Path(workspace.home() if home is None else home)
    spec = replace(check_target(base, name, len(result.digits), home), note=note or finetuned_spec_note(base, result))
    meta = _sidecar(result, base, base_meta, data)
    with checkpoints.training_lock(spec.name, home / "checkpoints"):
        checkpoints.save(result.model, meta, spec, home / "checkpoints")
        spec_files.save(spec, home)  # last: the registry lists the model once its checkpoint is there
    return spec


def _sidecar(result: Finetuned, base: ModelSpec, base_meta: dict, data: Mnist) -> dict:
    """What ``runs.sidecar`` records for a training run, measured the same way, with the base's epochs and one
    row for the fine-tune as its history, and what the fine-tune was under ``finetune``. No ``code_range``: measuring
    it takes a pass over the 60,000 training digits (longer than the fine-tune itself for a conv model), and what
    uses it (rate-distortion, ``python -m ae calibrate``) measures it when it is missing."""
    history = list(base_meta.get("history") or [])
    row = {"epoch": len(history) + 1, "train_loss": result.train_loss, "test_loss": _test_loss(result, base, data)}
    row |= {"seconds": round(result.seconds, 3), "batch_size": result.config.batch_size, "revived_channels": 0}
    digits = {"train_digits": len(data.train_x), "test_digits": len(data.test_x), "your_digits": len(result.digits)}
    return record(
        f"fine-tuned from {base.name} on {len(result.digits)} of your digits (Draw page)", data, device="cpu",
        threads=torch.get_num_threads(), digits=digits,
        wall_time_s=round(float(base_meta.get("wall_time_s") or 0.0) + result.seconds, 3),
        images_per_second=base_meta.get("images_per_second"), history=[*history, row | {"finetune": True}],
        metrics=quality_metrics(result.model, result.quality),
        finetune={
            "base": base.name, "base_fingerprint": base_meta.get("weights_sha256"), "digits": len(result.digits),
            "labels": result.digits.counts(), "steps": result.steps, "seconds": round(result.seconds, 3),
            "config": asdict(result.config), "before": asdict(result.before), "after": asdict(result.after),
        },
    )  # fmt: skip


def _test_loss(result: Finetuned, base: ModelSpec, data: Mnist) -> float:
    """The test loss as training measures it: on noisy inputs for a denoising model, else the test MSE."""
    std = base.recipe.noise_std
    if not std:
        return result.after.mnist
    tests = data.test_images()
    return mean_squared_error(result.model, tests, noise.corrupt(tests, "gaussian", std, TEST_NOISE_SEED))
