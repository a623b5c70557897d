from dataclasses import replace

import pytest
import torch

from ae.models.autoencoders import LinearAE
from ae.models.batching import mean_squared_error as mse_on
from ae.models.codec import CodecAE
from ae.training import warmstart
from ae.training.loop import train
from tests.tiny import TINY_CONV, TINY_LINEAR

RRR_LINEAR = replace(TINY_LINEAR, recipe=replace(TINY_LINEAR.recipe, init="logit-rrr", epochs=1))


@pytest.fixture(scope="module")
def fit(mnist) -> warmstart.LogitRegression:
    return warmstart.fit_logit_regression(mnist.train_images()[:3000])


def test_the_start_is_the_rank_d_regression_map(fit, mnist):
    """Before the sigmoid, the started model computes (x - mean) @ coef @ V_d V_d^T + logit mean."""
    model = LinearAE(24)
    warmstart.start_linear(model, fit)
    x = mnist.test_images()[:50]
    basis = fit.directions[:, :24]
    want = (x.reshape(50, -1).double() - fit.mean) @ fit.coef @ basis @ basis.T + fit.logit_mean
    got = model.decoder(model.encode(x)).double()
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    # every code unit has unit variance over the digits the fit saw
    codes = model.encode(mnist.train_images()[:3000])
    torch.testing.assert_close(codes.std(0), torch.ones(24), rtol=2e-2, atol=0)


def test_more_directions_reconstruct_better_and_beat_pytorchs_start(fit, mnist):
    tests = mnist.test_images()[:1000]
    losses = {}
    for d in (8, 32, 128):
        model = LinearAE(d)
        warmstart.start_linear(model, fit)
        losses[d] = mse_on(model, tests)
    torch.manual_seed(0)
    untrained = mse_on(LinearAE(128), tests)
    assert losses[128] < losses[32] < losses[8] < untrained / 4
    assert losses[128] < 0.004  # PCA with 128 components, fitted on all 60k digits: 0.0042


def test_runs_with_that_start_share_one_fit_and_beat_the_default(small_mnist, monkeypatch):
    calls = []
    real = warmstart.fit_logit_regression
    monkeypatch.setattr(warmstart, "fit_logit_regression", lambda images: calls.append(len(images)) or real(images))
    monkeypatch.setattr(warmstart, "_cache", {})
    started = train(RRR_LINEAR, small_mnist).history[-1]["test_loss"]
    train(replace(RRR_LINEAR, args={"depth": 8}), small_mnist)
    assert calls == [600]  # the recipe's 600-digit subset, fitted once for both depths
    default = train(replace(RRR_LINEAR, recipe=replace(RRR_LINEAR.recipe, init="pytorch")), small_mnist)
    assert started < default.history[-1]["test_loss"] / 2


def test_the_start_refuses_models_it_does_not_fit(small_mnist):
    with pytest.raises(ValueError, match="linear"):
        train(replace(TINY_CONV, recipe=replace(TINY_CONV.recipe, init="logit-rrr")), small_mnist)
    with pytest.raises(ValueError, match="linear"):
        train(replace(RRR_LINEAR, recipe=replace(RRR_LINEAR.recipe, noise_std=0.5)), small_mnist)
    with pytest.raises(ValueError, match="unknown init"):
        train(replace(RRR_LINEAR, recipe=replace(RRR_LINEAR.recipe, init="magic")), small_mnist)


def test_a_codec_starts_as_the_rank_d_linear_code_in_logit_units(fit, mnist):
    """The codec's linear paths carry the regression map (unscaled directions), its conv branches start silent."""
    model = CodecAE(values=16, channels=8, step=0.5).eval()
    warmstart.start_codec(model, fit)
    x = mnist.test_images()[:50]
    basis = fit.directions[:, :16]
    code = (x.reshape(50, -1).double() - fit.mean) @ fit.coef @ basis
    with torch.no_grad():
        torch.testing.assert_close(model.export_encode(x).double(), code, rtol=1e-4, atol=1e-3)
        z = model.encode(x)  # the rounded code, in steps of 0.5
        want = torch.sigmoid((z.double() * 0.5) @ basis.T + fit.logit_mean)  # the conv branch adds nothing yet
        torch.testing.assert_close(model.decode(z).reshape(50, -1).double(), want, rtol=1e-4, atol=1e-5)
