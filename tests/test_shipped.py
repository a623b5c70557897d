"""The shipped checkpoints load, are fresh, and meet the seed recipe's quality on the 10,000 test digits."""

import pytest

from ae.measure.compare import comparison_table
from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY, SEED_BARS


@pytest.fixture(scope="module")
def table(mnist):
    return comparison_table(mnist).set_index("model")


@pytest.mark.parametrize("name", list(SEED_BARS))
def test_meets_the_seed_bar(table, name):
    row = table.loc[name]
    assert row["checkpoint"] == "fresh", row["note"]
    assert row["test MSE"] <= SEED_BARS[name]
    assert row["PSNR (dB)"] > 20 and 0.8 < row["SSIM"] <= 1


def test_every_registry_model_is_shipped():
    for name in REGISTRY:
        s = checkpoints.status(name)
        assert s.usable and s.state == "fresh", (name, s.detail)


def test_sidecar_metrics_match_a_fresh_measurement(table, mnist):
    for name in REGISTRY:
        meta = checkpoints.read_sidecar(name)
        assert meta["data"]["fingerprint"] == mnist.fingerprint
        assert meta["metrics"]["test_mse"] == pytest.approx(table.loc[name, "test MSE"], rel=1e-4)
        assert meta["metrics"]["code_values"] == table.loc[name, "code values"]
        assert meta["command"].startswith("python -m ae train")


def test_the_app_table_reads_the_recorded_quality_without_evaluating(table, mnist, monkeypatch):
    import ae.measure.compare

    monkeypatch.setattr(ae.measure.compare, "evaluate", lambda *a, **k: pytest.fail("evaluated"))
    recorded = comparison_table(mnist, measure=False).set_index("model")
    for column in ("test MSE", "PSNR (dB)", "SSIM"):
        assert recorded[column].to_numpy() == pytest.approx(table[column].to_numpy(), rel=1e-4)
    assert (recorded["checkpoint"] == "fresh").all()


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_weights(mnist, tmp_path):
    """The same command gives the same weights on the same machine: retrain linear-32 and compare bit for bit."""
    import torch

    from ae.training.runs import train_and_save

    train_and_save(REGISTRY["linear-32"], mnist, directory=tmp_path)
    ours, _ = checkpoints.load("linear-32", tmp_path)
    shipped, meta = checkpoints.load("linear-32")
    same = all(
        torch.equal(a, b) for a, b in zip(ours.state_dict().values(), shipped.state_dict().values(), strict=True)
    )
    new_mse = checkpoints.read_sidecar("linear-32", tmp_path)["metrics"]["test_mse"]
    assert new_mse == pytest.approx(meta["metrics"]["test_mse"], rel=0.01)
    trained = (meta["platform"].get("cpu_capability"), meta["versions"]["torch"])
    here = (torch.backends.cpu.get_cpu_capability(), torch.__version__)
    if trained != here:
        pytest.skip(
            f"bit-for-bit check not made: the shipped weights were trained with {trained[0]} kernels on torch "
            f"{trained[1]}, this machine has {here[0]} on torch {here[1]}, which round differently"
        )
    assert same, "same kernels, same torch (the recipe fixes the threads): the weights must match bit for bit"
