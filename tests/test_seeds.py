"""The seed models' recipes meet the seed's bars from seeds other than the shipped one (bench/seeds.py runs 0-7)."""

import pytest

from ae.storage.catalogue import REGISTRY, SEED_BARS
from ae.training.runs import train_and_save


@pytest.mark.slow
@pytest.mark.parametrize(("name", "seed"), [("linear-64", 5), ("conv-8", 1)])  # the tightest linear; conv's worst
def test_a_seed_model_meets_its_bar_from_another_seed(name, seed, mnist, tmp_path):
    meta = train_and_save(REGISTRY[name].with_seed(seed), mnist, directory=tmp_path)
    assert meta["seed"] == seed and meta["recipe"] == {**REGISTRY[name].recipe_dict(), "seed": seed}
    assert meta["metrics"]["test_mse"] <= SEED_BARS[name]
