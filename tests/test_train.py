import math
from dataclasses import replace

import pytest
import torch

from ae.train import Cancelled, Diverged, train
from tests.tiny import TINY_CONV, TINY_LINEAR


@pytest.mark.parametrize("spec", [TINY_LINEAR, TINY_CONV], ids=lambda s: s.name)
def test_tiny_run_lowers_the_loss_and_reports_progress(spec, small_mnist):
    seen = []
    result = train(spec, small_mnist, progress=seen.append)
    hist = result.history
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["test_loss"] < 0.2  # far below an untrained sigmoid output (~0.23)
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


def test_every_run_holds_one_thread_and_restores_the_setting(small_mnist):
    """torch's thread count is per thread: each of two runs side by side must set its own, whatever its thread
    had before (a pool worker may have run other torch code at the default count first)."""
    import threading

    import ae.train

    seen: dict[str, set] = {}
    after = {}

    def run(spec):
        before = torch.get_num_threads()  # this thread's count, initialised before the run
        train(
            spec,
            small_mnist,
            epochs=1,
            progress=lambda p: seen.setdefault(spec.name, set()).add(torch.get_num_threads()),
        )
        after[spec.name] = (before, torch.get_num_threads())

    threads = [threading.Thread(target=run, args=(s,)) for s in (TINY_CONV, TINY_LINEAR)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"tiny-conv": {ae.train.TRAIN_THREADS}, "tiny-linear": {ae.train.TRAIN_THREADS}}
    assert all(b == a for b, a in after.values())


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
        t.join()
    beside = results["tiny-conv"].model.state_dict()
    assert all(torch.equal(alone[k], beside[k]) for k in alone)


def test_code_channels_start_centred(small_mnist):
    """Every code channel starts firing on about half of the probe's positions (positions tied at the median,
    such as blank background, count as not firing), none dead."""
    from ae.models import ConvAE

    torch.manual_seed(0)
    m = ConvAE(8)
    probe = small_mnist.train_images()[:512]
    m.revive_code_channels(list(range(8)), probe)
    with torch.no_grad():
        pre = m.conv2(torch.relu(m.pool(m.conv1(probe))))
    firing = (pre > 0).float().mean(dim=(0, 2, 3))
    assert ((firing > 0.3) & (firing < 0.55)).all(), firing
