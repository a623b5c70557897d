"""The Draw page's computation: every model's reconstruction of one digit and the classifier's readings."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ae.measure.classifier import read_digits
from ae.measure.one_digit import reconstruct_all, reconstruct_digit
from ae.models.batching import cat_batches, map_batches, mean_squared_error, sum_batches, totals
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER


@pytest.fixture(scope="module")
def models():
    return {n: checkpoints.load(n)[0] for n in ("linear-32", "conv-8")}


@pytest.fixture(scope="module")
def reader():
    return checkpoints.load(CLASSIFIER.name, registry={CLASSIFIER.name: CLASSIFIER})[0]


def _read(reader, digit) -> tuple[int, float]:
    digits, confidences = read_digits(reader, [digit])
    return int(digits[0]), float(confidences[0])


def test_batched_readings_equal_one_by_one(mnist, models, reader):
    digit = mnist.test_x[7].astype(np.float32) / 255.0
    read_in, recs = reconstruct_all(models, digit, reader)
    assert read_in == pytest.approx(_read(reader, digit), rel=1e-5)
    assert read_in[0] == mnist.test_y[7]
    for name, model in models.items():
        alone = reconstruct_digit(model, digit)
        np.testing.assert_allclose(recs[name].image, alone.image, atol=1e-6)
        assert recs[name].mse == pytest.approx(alone.mse, rel=1e-5)
        assert recs[name].reads == pytest.approx(_read(reader, alone.image), rel=1e-5)


def test_without_a_reader_there_are_no_readings(mnist, models):
    read_in, recs = reconstruct_all(models, mnist.test_x[0] / 255.0)
    assert read_in is None and all(r.reads is None for r in recs.values())
    assert list(recs) == list(models)


def test_strokes_run_on_one_thread_and_leave_the_setting_alone(mnist, models, reader):
    """A stroke's passes run on INFERENCE_THREADS, whatever the page's thread had; its own count is restored."""
    import ae.models.batching

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
        assert seen == [ae.measure.one_digit.INFERENCE_THREADS] * 2 and ae.measure.one_digit.INFERENCE_THREADS == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


# --- the batched-inference helper every batched pass in ae goes through ---


def _conv_model():
    """A small conv model on 3-channel inputs: unlike 1-channel digits, whose layouts coincide, its batches show
    whether they were put into channels-last."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 3)).to(
        memory_format=torch.channels_last
    )


def test_a_ragged_last_batch_is_run_and_the_result_equals_one_big_pass():
    model = _conv_model()
    x = torch.rand(300, 3, 12, 12)
    sizes = map_batches(len, model, x, batch_size=128)
    assert sizes == [128, 128, 44]
    with torch.inference_mode():
        whole = model(x)
    assert torch.equal(cat_batches(model, model, x, batch_size=128), whole)


def test_batches_reach_a_conv_model_channels_last_and_results_come_back_the_same():
    model = _conv_model()
    x = torch.rand(20, 3, 12, 12)  # contiguous (NCHW)
    layouts = map_batches(lambda b: b.is_contiguous(memory_format=torch.channels_last), model, x, batch_size=8)
    assert layouts == [True, True, True] and not x.is_contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        whole = model(x)
    assert torch.equal(cat_batches(model, model, x, batch_size=8), whole)


def test_a_linear_model_gets_its_batches_as_they_are():
    x = torch.rand(10, 3, 4, 4)
    assert map_batches(lambda b: b.is_contiguous(), nn.Linear(48, 2), x, batch_size=4) == [True, True, True]


def test_batches_go_to_the_models_device():
    """The meta device stands in for a GPU: a batch on the CPU must be moved to where the model's weights are."""
    model = nn.Linear(4, 2).to("meta")
    assert map_batches(lambda b: b.device.type, model, torch.rand(5, 4), batch_size=2) == ["meta"] * 3


def test_batches_run_in_eval_mode_without_autograd():
    model = nn.Dropout(0.5).train()
    seen = map_batches(lambda b: (model.training, torch.is_inference_mode_enabled()), model, torch.ones(3, 2))
    assert seen == [(False, True)]


def test_sums_are_taken_position_by_position():
    assert totals([(1, 10.0), (2, 20.0), (3, 30.0)]) == (6.0, 60.0) and totals([0.5, 0.25]) == (0.75,)
    x = torch.arange(10, dtype=torch.float32)
    count, total = sum_batches(lambda b: (len(b), b.sum()), nn.Identity(), x, batch_size=3)
    assert (count, total) == (10.0, 45.0)


def test_mean_squared_error_equals_one_big_pass_and_scores_inputs_against_targets(mnist):
    model = checkpoints.load("conv-8")[0]
    x = mnist.test_images()[:300]  # 128, 128 and a ragged 44
    noisy = (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    with torch.inference_mode():
        clean, denoised = F.mse_loss(model(x), x).item(), F.mse_loss(model(noisy), x).item()
    assert mean_squared_error(model, x) == pytest.approx(clean, rel=1e-6)
    assert mean_squared_error(model, x, noisy) == pytest.approx(denoised, rel=1e-6)
    assert mean_squared_error(model, x, noisy) > 1.5 * mean_squared_error(model, x)
