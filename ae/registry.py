"""The one registry of model specs. Training, evaluation, the CLI and the pages all read it: a new model is one entry.

A spec names the architecture (family + its arguments) and the training recipe. Both are plain data, stored in
every checkpoint's sidecar, so a checkpoint can be rebuilt from its own metadata and recognised as stale when
the registry entry has changed since it was trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from torch import nn

from ae.models import FAMILIES


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: Adam on per-pixel MSE, with a one-cycle learning-rate schedule."""

    epochs: int
    batch_size: int
    lr: float
    schedule: str = "onecycle"  # "onecycle" (warm-up then cosine decay) or "constant" (the seed's)
    warmup: float = 0.15  # fraction of steps spent warming up, for onecycle
    seed: int = 0
    train_subset: int | None = None  # use only the first N training digits (tests, quick demos)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    args: dict = field(default_factory=dict)
    recipe: Recipe = Recipe(epochs=5, batch_size=25, lr=1e-3)
    description: str = ""

    def build(self) -> nn.Module:
        return FAMILIES[self.family](**self.args)

    def arch_dict(self) -> dict:
        """What fixes the weights' meaning; a checkpoint whose arch differs from this is stale."""
        return {"name": self.name, "family": self.family, "args": dict(self.args)}

    def recipe_dict(self) -> dict:
        return asdict(self.recipe)


def _linear(depth: int, recipe: Recipe) -> ModelSpec:
    return ModelSpec(
        f"linear-{depth}",
        "linear",
        {"depth": depth},
        recipe,
        f"Linear(784->{depth}) encoder, Linear({depth}->784) decoder, sigmoid output",
    )


def _conv(code_channels: int, recipe: Recipe) -> ModelSpec:
    return ModelSpec(
        f"conv-{code_channels}",
        "conv",
        {"code_channels": code_channels},
        recipe,
        f"Conv(1->64)+pool, Conv(64->{code_channels})+pool; ConvTranspose x2 back to 28x28, sigmoid output",
    )


LINEAR_RECIPE = Recipe(epochs=8, batch_size=64, lr=5e-3)
CONV_RECIPE = Recipe(epochs=30, batch_size=64, lr=5e-3)

REGISTRY: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        _linear(32, LINEAR_RECIPE),
        _linear(64, LINEAR_RECIPE),
        _linear(128, LINEAR_RECIPE),
        _linear(256, LINEAR_RECIPE),
        _conv(8, CONV_RECIPE),
    ]
}


def get_spec(name: str, registry: dict[str, ModelSpec] | None = None) -> ModelSpec:
    registry = REGISTRY if registry is None else registry
    try:
        return registry[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(registry)}") from None


REGISTRY_ENV = "AELAB_REGISTRY"


def active_registry() -> dict[str, ModelSpec]:
    """The registry the app serves: REGISTRY, or the ``module:NAME`` dict that AELAB_REGISTRY names (tests use a
    tiny one so that a real retrain takes seconds)."""
    import importlib
    import os

    ref = os.environ.get(REGISTRY_ENV)
    if not ref:
        return REGISTRY
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr or "REGISTRY")
