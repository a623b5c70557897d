"""The one catalogue of models (the registry). Training, evaluation, the CLI and the pages all read it: a new model
is one entry here, or one spec file built in the lab (``ae.storage.spec_files``)."""

from __future__ import annotations

import importlib
import os
from dataclasses import replace

from ae.models.specs import ClassifierRecipe, ModelSpec, Recipe
from ae.runtime import workspace
from ae.runtime.workspace import SHIPPED_DIR
from ae.storage import spec_files


def _linear(depth: int, recipe: Recipe, group: str = "seed", suffix: str = "") -> ModelSpec:
    text = f"Linear(784->{depth}) encoder, Linear({depth}->784) decoder, sigmoid output"
    return ModelSpec(f"linear-{depth}{suffix}", "linear", {"depth": depth}, recipe, text, group)


def _conv(code_channels: int, recipe: Recipe, group: str = "seed", suffix: str = "") -> ModelSpec:
    text = f"Conv(1->64)+pool, Conv(64->{code_channels})+pool; ConvTranspose x2 back to 28x28, sigmoid output"
    return ModelSpec(f"conv-{code_channels}{suffix}", "conv", {"code_channels": code_channels}, recipe, text, group)


# The seed notebook's own test MSEs on the 10k test digits (the "seed bar" column of bench/README.md): a faster
# recipe must still reach them. The conv bar is the notebook's result with all 8 code channels alive.
SEED_BARS = {"linear-32": 0.0097, "linear-64": 0.0037, "linear-128": 0.0016, "linear-256": 0.0010, "conv-8": 0.0027}

LINEAR_RECIPE = Recipe(epochs=8, batch_size=64, lr=5e-3)
# The seed's linear models start from the reduced-rank regression of the pixels' logits (ae.training.warmstart), one fit
# shared by all four, so one epoch of Adam polishes them. The wider the code, the nearer that start is to the
# optimum and the smaller the peak rate that polishes it best (the rates tried are in bench/README.md).
SEED_LINEAR_LR = {32: 1e-2, 64: 7e-3, 128: 5e-3, 256: 3.5e-3}
SEED_LINEAR_RECIPE = Recipe(epochs=1, batch_size=64, lr=5e-3, init="logit-rrr")
# Small batches learn the conv AE most per image seen. With its code channels centred at the start (training.loop) and a
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


# The codecs trained for rate (ae.models.codec): one per λ of bits per pixel + λ · MSE, from about 0.05 to 1.3 bits per
# pixel. Each starts from the logit regression's linear code (init "logit-rrr") in logit units, where one quantizer
# step per codec sets the rate the run starts near; more code values for more bits. The last epoch fine-tunes the
# decoder alone on the rounded codes. 17-60 s an epoch on one core, by code size and load (bench/README.md).
CODEC_RECIPE = Recipe(epochs=20, batch_size=64, lr=3e-3, init="logit-rrr")
CODECS = (  # (λ, quantizer step, code values, epochs): the most epochs where the targets are hardest
    (2.5, 4.5, 32, 16),
    (60, 2.5, 64, 10),
    (8000, 1.5, 128, 20),
    (40000, 0.8, 256, 14),
    (100000, 0.45, 256, 14),
)


def _codec(index: int, lam: float, step: float, values: int, epochs: int) -> ModelSpec:
    return ModelSpec(
        f"codec-{index}",
        "codec",
        {"values": values, "channels": 32, "lam": lam, "step": step, "decoder_epochs": 1},
        replace(CODEC_RECIPE, epochs=epochs),
        f"codec trained for rate, λ = {lam:g}: conv encoder plus a linear path to {values} integers entropy coded with "
        "a learned prior; transposed-conv decoder plus a linear path",
        "codec",
    )


def _fashion(spec: ModelSpec) -> ModelSpec:
    """A seed model learning Fashion-MNIST's clothes instead of digits: the same architecture and recipe."""
    text = f"{spec.description}; learns Fashion-MNIST"
    return replace(spec, name=f"fashion-{spec.name}", description=text, dataset="fashion")


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
        # Generative: VAEs (ae.models.vae) whose prior can be sampled; 2-D for the latent plane, 16-D for better digits.
        *(_vae(code) for code in (2, 16)),
        # Trained for rate (ae.models.codec), from the fewest bits up.
        *(_codec(i, *codec) for i, codec in enumerate(CODECS, 1)),
        # The seed's smallest linear model and its conv model, on clothes (ae.data.fashion).
        _fashion(_linear(32, replace(SEED_LINEAR_RECIPE, lr=SEED_LINEAR_LR[32]))),
        _fashion(_conv(8, SEED_CONV_RECIPE)),
    ]
}


# The reference digit reader's entry (ae.measure.classifier reads, ae.training.classifier_training trains). The
# shipped weights were trained with OneCycleLR's default warm-up (0.3) on two threads; the recipe names both, so that
# retraining from it gives those weights again.
CLASSIFIER = ModelSpec(
    "classifier",
    "classifier",
    {},
    ClassifierRecipe(epochs=3, batch_size=64, lr=2e-3, warmup=0.3, threads=2),
    "reference digit reader",
    "reference",
)
# Each dataset's reader: the same network and recipe, trained on that dataset's training images
# (``python -m ae train-classifier --dataset KEY``). A dataset without one is shown without "reads as".
READERS: dict[str, ModelSpec] = {
    "mnist": CLASSIFIER,
    "fashion": replace(
        CLASSIFIER, name="fashion-classifier", description="reference clothes reader", dataset="fashion"
    ),
}


def reader(dataset: str) -> ModelSpec | None:
    """The reference reader of ``dataset``'s images, or None when it has none."""
    return READERS.get(dataset)


def readers() -> dict[str, ModelSpec]:
    """Every reference reader by name (for the commands that export or check them)."""
    return {spec.name: spec for spec in READERS.values()}


def denoise_pairs(registry: dict[str, ModelSpec]) -> list[tuple[str | None, str]]:
    """Each denoising model (trained on noisy inputs) with its plain twin, the model of the same architecture
    trained on the same dataset's clean images (None if the registry has none), in registry order."""

    def twin(s: ModelSpec) -> tuple:
        return s.dataset, s.family, repr(sorted(s.args.items()))

    plain = {twin(s): n for n, s in registry.items() if not s.recipe.noise_std}
    return [(plain.get(twin(s)), n) for n, s in registry.items() if s.recipe.noise_std]


REGISTRY_ENV = "AELAB_REGISTRY"


def shipped_registry() -> dict[str, ModelSpec]:
    """The shipped models: REGISTRY, or the ``module:NAME`` dict that AELAB_REGISTRY names (tests use a tiny one so
    that a real retrain takes seconds)."""
    ref = os.environ.get(REGISTRY_ENV)
    if not ref:
        return REGISTRY
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr or "REGISTRY")


def built() -> tuple[dict[str, ModelSpec], dict[str, str]]:
    """The models built in the lab, from the workspace's spec files, and each spec file left out, with why."""
    found, problems = spec_files.load_folder(workspace.home())
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
    found, problems = spec_files.load_folder(SHIPPED_DIR)
    if problems:
        raise RuntimeError(f"a shipped spec is not valid: {problems}")
    return found


REGISTRY.update(_shipped_specs())
