"""The Draw page's computation: every model's reconstruction of one digit and the classifier's readings."""

import numpy as np
import pytest

from ae import checkpoints
from ae.classifier import SPEC, read_digit
from ae.inference import reconstruct_all, reconstruct_digit


@pytest.fixture(scope="module")
def models():
    return {n: checkpoints.load(n)[0] for n in ("linear-32", "conv-8")}


@pytest.fixture(scope="module")
def reader():
    return checkpoints.load(SPEC.name, registry={SPEC.name: SPEC})[0]


def test_batched_readings_equal_one_by_one(mnist, models, reader):
    digit = mnist.test_x[7].astype(np.float32) / 255.0
    read_in, recs = reconstruct_all(models, digit, reader)
    assert read_in == pytest.approx(read_digit(reader, digit), rel=1e-5)
    assert read_in[0] == mnist.test_y[7]
    for name, model in models.items():
        alone = reconstruct_digit(model, digit)
        np.testing.assert_allclose(recs[name].image, alone.image, atol=1e-6)
        assert recs[name].mse == pytest.approx(alone.mse, rel=1e-5)
        assert recs[name].reads == pytest.approx(read_digit(reader, alone.image), rel=1e-5)


def test_without_a_reader_there_are_no_readings(mnist, models):
    read_in, recs = reconstruct_all(models, mnist.test_x[0] / 255.0)
    assert read_in is None and all(r.reads is None for r in recs.values())
    assert list(recs) == list(models)


def test_strokes_run_on_one_thread_and_leave_the_setting_alone(mnist, models, reader):
    """A stroke's passes run on INFERENCE_THREADS, whatever the page's thread had; its own count is restored."""
    import torch
    from torch import nn

    import ae.inference

    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        digit = mnist.test_x[7].astype(np.float32) / 255.0
        reconstruct_all({**models, "spy": Spy()}, digit, reader)
        reconstruct_digit(Spy(), digit)
        assert seen == [ae.inference.INFERENCE_THREADS] * 2 and ae.inference.INFERENCE_THREADS == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
