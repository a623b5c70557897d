import itertools
import math
from dataclasses import replace

import pytest
import torch

from ae.models.batching import mean_squared_error
from ae.training.loop import Cancelled, Diverged, train
from tests.tiny import TINY_CONV, TINY_LINEAR


def untrained_test_loss(spec, data) -> float:
    torch.manual_seed(spec.recipe.seed)
    return mean_squared_error(spec.build(), data.test_images())


@pytest.mark.parametrize("spec", [TINY_LINEAR, TINY_CONV], ids=lambda s: s.name)
def test_tiny_run_lowers_the_loss_and_reports_progress(spec, small_mnist):
    seen = []
    result = train(spec, small_mnist, progress=seen.append)
    hist = result.history
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["test_loss"] < 0.8 * untrained_test_loss(spec, small_mnist)
    # progress arrives during epochs and once per finished epoch with its test loss
    assert any(p.test_loss is None for p in seen)
    assert [p.test_loss for p in seen if p.test_loss is not None] == [h["test_loss"] for h in hist]
    assert seen[-1].fraction == 1.0


def test_same_seed_same_weights_bit_for_bit(small_mnist):
    a = train(TINY_CONV, small_mnist).model.state_dict()
    b = train(TINY_CONV, small_mnist).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = train(replace(TINY_CONV, recipe=replace(TINY_CONV.recipe, seed=8)), small_mnist).model.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_epochs_override(small_mnist):
    result = train(TINY_LINEAR, small_mnist, epochs=1)
    assert len(result.history) == 1 and result.recipe.epochs == 1


def test_cancel_stops_training(small_mnist):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        train(TINY_LINEAR, small_mnist, should_stop=stop)


def test_nan_loss_stops_with_a_message(small_mnist):
    bad = replace(TINY_LINEAR, recipe=replace(TINY_LINEAR.recipe, lr=math.inf, schedule="constant"))
    with pytest.raises(Diverged, match="old checkpoint is kept"):
        train(bad, small_mnist)


def test_every_run_uses_its_recipes_threads_and_restores_the_setting(small_mnist):
    """torch's thread count is per thread: each of two runs side by side must set its own, whatever its thread
    had before (a pool worker may have run other torch code at the default count first), and put it back."""
    import threading

    two = replace(TINY_CONV, recipe=replace(TINY_CONV.recipe, threads=2))
    seen: dict[str, set] = {}
    after = {}

    def run(spec):
        torch.set_num_threads(3)  # whatever this thread had before
        train(
            spec,
            small_mnist,
            epochs=1,
            progress=lambda p: seen.setdefault(spec.name, set()).add(torch.get_num_threads()),
        )
        after[spec.name] = torch.get_num_threads()

    threads = [threading.Thread(target=run, args=(s,)) for s in (two, TINY_LINEAR)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert seen == {"tiny-conv": {2}, "tiny-linear": {1}}  # the recipes' threads
    assert after == {"tiny-conv": 3, "tiny-linear": 3}


def test_same_weights_alone_or_beside_another_run(small_mnist):
    """Two runs side by side (the CLI's --jobs, the app's two trainer threads) give each the weights it gets alone."""
    import threading

    alone = train(TINY_CONV, small_mnist).model.state_dict()
    results = {}
    runs = [
        threading.Thread(target=lambda s=s: results.setdefault(s.name, train(s, small_mnist)))
        for s in (TINY_CONV, TINY_LINEAR)
    ]
    for t in runs:
        t.start()
    for t in runs:
        t.join(120)
    beside = results["tiny-conv"].model.state_dict()
    assert all(torch.equal(alone[k], beside[k]) for k in alone)


def test_code_channels_start_centred(small_mnist):
    """Every code channel starts firing on about half of the probe's positions (positions tied at the median,
    such as blank background, count as not firing), none dead."""
    from ae.models.autoencoders import ConvAE

    torch.manual_seed(0)
    m = ConvAE(8)
    probe = small_mnist.train_images()[:512]
    m.revive_code_channels(list(range(8)), probe)
    with torch.no_grad():
        pre = m.conv2(torch.relu(m.pool(m.conv1(probe))))
    firing = (pre > 0).float().mean(dim=(0, 2, 3))
    assert ((firing > 0.3) & (firing < 0.55)).all(), firing


def test_a_growing_batch_trains_each_epoch_at_its_size(small_mnist):
    spec = replace(TINY_LINEAR, recipe=replace(TINY_LINEAR.recipe, epochs=3, batch_sizes=(50, 100)))
    seen = []
    result = train(spec, small_mnist, progress=seen.append)
    assert [h["batch_size"] for h in result.history] == [50, 100, 100]  # the last size repeats
    assert [p.steps for p in seen if p.test_loss is not None] == [12, 6, 6]  # 600 digits
    assert seen[-1].fraction == 1.0
    assert all(a.fraction <= b.fraction for a, b in itertools.pairwise(seen))


def test_the_one_cycle_over_digits_is_torchs_one_cycle_scaled_by_the_batchs_growth():
    import math

    from ae.models.specs import Recipe
    from ae.training.loop import make_scheduler

    def rates(recipe: Recipe, steps: list[int]) -> list[float]:
        opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=recipe.lr)
        sched = make_scheduler(opt, recipe, steps)
        out = []
        for _ in range(sum(steps)):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    torchs = rates(Recipe(epochs=2, batch_size=10, lr=0.01), [1000, 1000])
    # the same digits in batches of 10 then 40: the second epoch's steps are 4x fewer and their rate 2x higher
    ours = rates(Recipe(epochs=2, batch_size=10, lr=0.01, batch_sizes=(10, 40)), [1000, 250])
    assert ours[0] == pytest.approx(0.01 / 25)
    assert max(ours[:1000]) == pytest.approx(0.01, rel=1e-3)  # the peak, in the warm-up's last steps
    for k in range(250):  # each big step starts where torch's schedule is after the same digits
        assert ours[1000 + k] == pytest.approx(2 * torchs[1000 + 4 * k], abs=1e-4)  # 0.5% of the peak
    assert ours[-1] < 0.01 * 2 / 1000
    assert all(math.isfinite(r) for r in ours)


def test_a_recipe_with_a_batch_schedule_reads_back_fresh(small_mnist, tmp_path):
    from ae.storage import checkpoints
    from ae.training.runs import train_and_save

    spec = replace(TINY_LINEAR, recipe=replace(TINY_LINEAR.recipe, epochs=1, batch_sizes=(100,)))
    train_and_save(spec, small_mnist, directory=tmp_path)
    status = checkpoints.status(spec.name, tmp_path, {spec.name: spec})
    assert status.state == "fresh", status.detail


def test_training_never_picks_a_gpu_unasked(monkeypatch):
    from ae.training.loop import DEVICE_ENV, pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    assert pick_device().type == "cpu"
    assert pick_device("auto").type == "cuda"
    monkeypatch.setenv(DEVICE_ENV, "auto")
    assert pick_device().type == "cuda"
    assert pick_device("cpu").type == "cpu"  # the command line wins over the environment
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"


def test_the_sidecar_records_the_device_it_trained_on(small_mnist, tmp_path):
    from ae.training.runs import train_and_save

    meta = train_and_save(TINY_LINEAR, small_mnist, directory=tmp_path, epochs=1, device="cpu")
    assert meta["device"] == "cpu"


def test_the_recipes_beta2_is_adams_and_changes_the_weights(small_mnist):
    from ae.training.loop import setup

    short = replace(TINY_CONV.recipe, beta2=0.99)
    run = setup(replace(TINY_CONV, recipe=short), short, small_mnist, torch.device("cpu"))
    assert run.opt.param_groups[0]["betas"][1] == 0.99  # (OneCycleLR cycles the first)
    a = train(TINY_CONV, small_mnist).model.state_dict()
    b = train(replace(TINY_CONV, recipe=short), small_mnist).model.state_dict()
    assert not torch.equal(a["conv1.weight"], b["conv1.weight"])
