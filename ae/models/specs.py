"""The spec types: a model's architecture (family + arguments) and the recipe that trains it.

Both are plain data, stored in every checkpoint's sidecar, so a checkpoint can be rebuilt from its own metadata and
recognised as stale when the catalogue's entry has changed since it was trained.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

from torch import nn

from ae.models.families import FAMILIES


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
    # "pytorch": PyTorch's initialisation (conv models then centre their code channels, ae.training.loop);
    # "logit-rrr": linear models (and a codec's linear paths) start from the reduced-rank regression of the pixels'
    # logits (ae.training.warmstart)
    init: str = "pytorch"
    # Intra-op threads. Fixed by the recipe: another count sums in another order and gives other weights. A run holds
    # that many cores (ae.runtime.cores.CORES); one is the default, since two runs side by side on one core each use two
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
    """How the reference digit classifier (ae.measure.classifier) is trained: Adam on cross-entropy with OneCycleLR."""

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
    reference classifier, whose entry is ``ae.storage.catalogue.CLASSIFIER``)."""

    name: str
    family: str
    args: dict = field(default_factory=dict)
    recipe: Recipe | ClassifierRecipe = Recipe(epochs=5, batch_size=25, lr=1e-3)
    description: str = ""
    group: str = "seed"  # "seed" (the notebook's models), "matched" (equal-code-size rivals), "denoise", "lab"
    note: str = ""  # the builder's own words, for a model built in the lab
    dataset: str = "mnist"  # what it learns: a key of ae.data.datasets.DATASETS

    def build(self) -> nn.Module:
        return FAMILIES[self.family](**self.args)

    def arch_dict(self) -> dict:
        """What fixes the weights' meaning; a checkpoint whose arch differs from this is stale. (MNIST, the first
        dataset, goes unnamed, as in the checkpoints made before there were others.)"""
        arch = {"name": self.name, "family": self.family, "args": dict(self.args)}
        return arch if self.dataset == "mnist" else {**arch, "dataset": self.dataset}

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
