"""The one registry of model specs. Training, evaluation, the CLI and the pages all read it: a new model is one entry.

A spec names the architecture (family + its arguments) and the training recipe. Both are plain data, stored in
every checkpoint's sidecar, so a checkpoint can be rebuilt from its own metadata and recognised as stale when
the registry entry has changed since it was trained.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from torch import nn

from ae.families import FAMILIES


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: Adam on per-pixel MSE, with a one-cycle learning-rate schedule."""

    epochs: int
    batch_size: int
    lr: float
    # A growing batch: the batch size of each epoch in turn (the last repeats), in place of batch_size. Small steps
    # while the loss falls fast, then bigger ones, which cost less per digit, once the learning rate decays.
    batch_sizes: tuple[int, ...] = ()
    schedule: str = "onecycle"  # "onecycle" (warm-up then cosine decay) or "constant" (the seed's)
    warmup: float = 0.15  # fraction of steps spent warming up, for onecycle
    seed: int = 0
    train_subset: int | None = None  # use only the first N training digits (tests, quick demos)
    noise_std: float = 0.0  # > 0: a denoising autoencoder, fed clip(x + N(0, std²)) and asked for the clean x
    # "pytorch": PyTorch's initialisation (conv models then centre their code channels, ae.train);
    # "logit-rrr": linear models start from the reduced-rank regression of the pixels' logits (ae.warmstart)
    init: str = "pytorch"
    # Intra-op threads. Fixed by the recipe: another count sums in another order and gives other weights. A run holds
    # that many cores (ae.cores.CORES); one is the default, since two runs side by side on one core each use two
    # cores better than one run on both.
    threads: int = 1
    # Adam's decay of its squared-gradient average (PyTorch's default 0.999). A shorter memory (0.95) keeps each
    # step's size in line with the gradients as the rate and the batch change; it makes conv-8 meet its bar for
    # every seed (bench/README.md).
    beta2: float = 0.999

    def batch_for(self, epoch: int) -> int:
        """The batch size of (1-based) ``epoch``."""
        return self.batch_sizes[min(epoch, len(self.batch_sizes)) - 1] if self.batch_sizes else self.batch_size


@dataclass(frozen=True)
class ClassifierRecipe:
    """How the reference digit classifier (ae.classifier) is trained: Adam on cross-entropy with OneCycleLR."""

    epochs: int
    batch_size: int
    lr: float  # OneCycleLR's peak rate
    warmup: float  # OneCycleLR's pct_start
    seed: int = 0
    threads: int = 1  # intra-op threads: fixed, as for Recipe, since another count gives other weights
    train_subset: int | None = None  # use only the first N training digits (tests)


MAX_SEED = 2**31 - 1


def check_seed(seed: object) -> int:
    """``seed`` if it is a valid seed, else ValueError saying what one is (every place a seed comes in checks here)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"the seed must be a whole number from 0 to {MAX_SEED}, not {seed!r}")
    return seed


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: a model's name, its architecture, and the recipe that trains it (a ClassifierRecipe for the
    reference classifier, whose entry is ``ae.classifier.SPEC``)."""

    name: str
    family: str
    args: dict = field(default_factory=dict)
    recipe: Recipe | ClassifierRecipe = Recipe(epochs=5, batch_size=25, lr=1e-3)
    description: str = ""
    group: str = "seed"  # "seed" (the notebook's models), "matched" (equal-code-size rivals), "denoise", "lab"
    note: str = ""  # the builder's own words, for a model built in the lab

    def build(self) -> nn.Module:
        return FAMILIES[self.family](**self.args)

    def arch_dict(self) -> dict:
        """What fixes the weights' meaning; a checkpoint whose arch differs from this is stale."""
        return {"name": self.name, "family": self.family, "args": dict(self.args)}

    def recipe_dict(self) -> dict:
        return _as_json(asdict(self.recipe))

    def with_seed(self, seed: int | None) -> ModelSpec:
        """This model trained from another seed (None: the recipe's own). Any seed meets the seed models' bars
        (bench/README.md), so a checkpoint of another seed is still fresh; its sidecar records the seed."""
        if seed is None:
            return self
        return replace(self, recipe=replace(self.recipe, seed=check_seed(seed)))


def _as_json(value: dict) -> dict:
    """As it reads back from a sidecar (tuples become lists), so that the two compare equal."""
    return json.loads(json.dumps(value))


# A sidecar older than a new field has its default.
RECIPE_DEFAULTS = _as_json({f.name: f.default for f in fields(Recipe) if f.default is not MISSING})


def _linear(depth: int, recipe: Recipe, group: str = "seed", suffix: str = "") -> ModelSpec:
    return ModelSpec(
        f"linear-{depth}{suffix}",
        "linear",
        {"depth": depth},
        recipe,
        f"Linear(784->{depth}) encoder, Linear({depth}->784) decoder, sigmoid output",
        group,
    )


def _conv(code_channels: int, recipe: Recipe, group: str = "seed", suffix: str = "") -> ModelSpec:
    return ModelSpec(
        f"conv-{code_channels}{suffix}",
        "conv",
        {"code_channels": code_channels},
        recipe,
        f"Conv(1->64)+pool, Conv(64->{code_channels})+pool; ConvTranspose x2 back to 28x28, sigmoid output",
        group,
    )


# The seed notebook's own test MSEs on the 10k test digits (the "seed bar" column of bench/README.md): a faster
# recipe must still reach them. The conv bar is the notebook's result with all 8 code channels alive.
SEED_BARS = {"linear-32": 0.0097, "linear-64": 0.0037, "linear-128": 0.0016, "linear-256": 0.0010, "conv-8": 0.0027}

LINEAR_RECIPE = Recipe(epochs=8, batch_size=64, lr=5e-3)
# The seed's linear models start from the reduced-rank regression of the pixels' logits (ae.warmstart), one fit
# shared by all four, so one epoch of Adam polishes them. The wider the code, the nearer that start is to the
# optimum and the smaller the peak rate that polishes it best (the rates tried are in bench/README.md).
SEED_LINEAR_LR = {32: 1e-2, 64: 7e-3, 128: 5e-3, 256: 3.5e-3}
SEED_LINEAR_RECIPE = Recipe(epochs=1, batch_size=64, lr=5e-3, init="logit-rrr")
# Small batches learn the conv AE most per image seen. With its code channels centred at the start (ae.train) and a
# high peak rate it reaches the seed's bar in far fewer epochs than the seed recipe; the seeds and rates tried are
# in bench/README.md.
CONV_RECIPE = Recipe(epochs=5, batch_size=16, lr=7e-3)
# conv-8 alone decides how long retraining the seed's five models takes, so it holds both cores, and its batch grows
# as the rate decays: a second thread gains little at batch 16 and much more at 32-64, and with the batch growing
# only once the rate is low the model still reaches its bar in the same epochs. Adam's shorter second-moment memory
# (beta2 0.95) is what makes it meet the bar for every seed, not just some.
SEED_CONV_RECIPE = replace(CONV_RECIPE, batch_sizes=(16, 16, 32, 32, 64), threads=2, beta2=0.95)
# The VAEs: an MLP 784-256-128-code, mirrored (the checkpoints stay under 2 MB); 15 epochs at batch 128 take under a
# minute on one free core (bench/README.md).
VAE_RECIPE = Recipe(epochs=15, batch_size=128, lr=3e-3)


def _vae(code_size: int, recipe: Recipe = VAE_RECIPE) -> ModelSpec:
    return ModelSpec(
        f"vae-{code_size}",
        "vae",
        {"code_size": code_size, "hidden": [256, 128]},  # a list: the args come back from a sidecar's JSON as one
        recipe,
        f"VAE: MLP 784-256-128 -> mean and log-variance of a {code_size}-D code, mirrored decoder; BCE + KL",
        "generate",
    )


# The codecs trained for rate (ae.codec): one per λ of bits per pixel + λ · MSE, spanning about 0.1 to 2 bits per
# pixel; 6 epochs take about a minute on one core (bench/README.md).
CODEC_RECIPE = Recipe(epochs=6, batch_size=128, lr=4e-3)
CODEC_LAMBDAS = (30, 150, 750, 4000, 20000)


def _codec(index: int, lam: float) -> ModelSpec:
    return ModelSpec(
        f"codec-{index}",
        "codec",
        {"lam": lam, "step": round(5 / math.sqrt(lam), 4)},
        CODEC_RECIPE,
        f"codec trained for rate, λ = {lam:g}: conv encoder to 128 integers entropy coded with a learned prior, "
        "MLP decoder",
        "codec",
    )


# Denoising: the same architectures, fed clip(x + N(0, 0.5²)) with the clean digit as target.
DENOISE_STD = 0.5

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        *(_linear(d, replace(SEED_LINEAR_RECIPE, lr=lr)) for d, lr in SEED_LINEAR_LR.items()),
        _conv(8, SEED_CONV_RECIPE),
        _linear(128, replace(LINEAR_RECIPE, noise_std=DENOISE_STD), "denoise", "-denoise"),
        _conv(8, replace(CONV_RECIPE, noise_std=DENOISE_STD), "denoise", "-denoise"),
        # Matched compression: linear vs conv at equal code size (392 = 8x7x7; 196, 98, 49 = 4, 2, 1 x 7x7).
        _linear(392, LINEAR_RECIPE, "matched"),
        _conv(4, CONV_RECIPE, "matched"),
        _conv(2, CONV_RECIPE, "matched"),
        _conv(1, CONV_RECIPE, "matched"),
        # Generative: VAEs (ae.vae) whose prior can be sampled; 2-D for the latent plane, 16-D for better digits.
        *(_vae(code) for code in (2, 16)),
        # Trained for rate (ae.codec), from the fewest bits up.
        *(_codec(i, lam) for i, lam in enumerate(CODEC_LAMBDAS, 1)),
    ]
}


def denoise_pairs(registry: dict[str, ModelSpec]) -> list[tuple[str | None, str]]:
    """Each denoising model (trained on noisy inputs) with its plain twin, the model of the same architecture
    trained on clean digits (None if the registry has none), in registry order."""
    plain = {(s.family, repr(sorted(s.args.items()))): n for n, s in registry.items() if not s.recipe.noise_std}
    return [(plain.get((s.family, repr(sorted(s.args.items())))), n) for n, s in registry.items() if s.recipe.noise_std]


def get_spec(name: str, registry: dict[str, ModelSpec] | None = None) -> ModelSpec:
    registry = REGISTRY if registry is None else registry
    try:
        return registry[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(registry)}") from None


REGISTRY_ENV = "AELAB_REGISTRY"


def shipped_registry() -> dict[str, ModelSpec]:
    """The shipped models: REGISTRY, or the ``module:NAME`` dict that AELAB_REGISTRY names (tests use a tiny one so
    that a real retrain takes seconds)."""
    import importlib
    import os

    ref = os.environ.get(REGISTRY_ENV)
    if not ref:
        return REGISTRY
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr or "REGISTRY")


def built() -> tuple[dict[str, ModelSpec], dict[str, str]]:
    """The models built in the lab, from the workspace's spec files, and each spec file left out, with why."""
    from ae import specs, workspace

    found, problems = specs.load_folder(workspace.home())
    shipped = shipped_registry()
    for name in [n for n in found if n in shipped]:
        problems[f"{name}.json"] = f"{name!r} is the name of a shipped model"
        del found[name]
    return found, problems


def active_registry() -> dict[str, ModelSpec]:
    """Every model the app and the CLI serve: the shipped ones, then the ones built in the lab."""
    return {**shipped_registry(), **built()[0]}


def _shipped_specs() -> dict[str, ModelSpec]:
    """The shipped models built through the lab: spec files in the shipped checkpoints/specs/."""
    from pathlib import Path

    from ae import specs  # imports this module's classes, all defined above

    found, problems = specs.load_folder(Path(__file__).resolve().parent.parent / "checkpoints")
    if problems:
        raise RuntimeError(f"a shipped spec is not valid: {problems}")
    return found


REGISTRY.update(_shipped_specs())
