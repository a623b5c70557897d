"""A tiny registry for tests: real models and real MNIST, but few digits and epochs, so a retrain takes seconds.

The app serves it when AELAB_REGISTRY=tests.tiny:REGISTRY.
"""

from ae.models.specs import ModelSpec, Recipe
from ae.storage.catalogue import REGISTRY as CATALOGUE

TINY_RECIPE = Recipe(epochs=2, batch_size=50, lr=3e-3, train_subset=600, seed=7)
TINY_LINEAR = ModelSpec("tiny-linear", "linear", {"depth": 16}, TINY_RECIPE, "test model")
TINY_CONV = ModelSpec("tiny-conv", "conv", {"code_channels": 2}, TINY_RECIPE, "test model")
REGISTRY = {s.name: s for s in (TINY_LINEAR, TINY_CONV)}

# The same with a model that learns Fashion-MNIST, for the dataset switch (tests/test_datasets.py).
TINY_FASHION = ModelSpec("tiny-fashion", "linear", {"depth": 16}, TINY_RECIPE, "test model", dataset="fashion")
WITH_FASHION = {**REGISTRY, TINY_FASHION.name: TINY_FASHION}

# The seed's linear-32 on each dataset, with their shipped checkpoints: a real out-of-distribution check in seconds.
LINEAR_PAIR = {name: CATALOGUE[name] for name in ("linear-32", "fashion-linear-32")}
