"""bench/train.py's claims that are not timings: the sliced first block computes the same model."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ae.models.autoencoders import ConvAE
from bench.train import ChunkedConvAE, convolutions_alone


def test_sliced_first_block_is_the_same_model(mnist) -> None:
    x = mnist.train_images()[:96].contiguous(memory_format=torch.channels_last)  # 3 slices of 32
    torch.manual_seed(0)
    plain = ConvAE(8).to(memory_format=torch.channels_last)
    sliced = ChunkedConvAE(32).to(memory_format=torch.channels_last)
    sliced.load_state_dict(plain.state_dict())

    assert torch.equal(sliced(x), plain(x))
    for model in (plain, sliced):
        F.mse_loss(model(x), x).backward()
    for (name, p), q in zip(plain.named_parameters(), sliced.parameters(), strict=True):
        # conv1's weight gradient is summed slice by slice: the same sum in another order
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-7, msg=name)


def test_convolutions_alone_times_every_layer_both_ways(mnist) -> None:
    times = convolutions_alone(8, 1, mnist.train_images(), reps=1)
    layers = ("conv1", "conv2", "t_conv1", "t_conv2", "decoder as matmuls")
    assert list(times) == [f"{n} {way}" for n in layers for way in ("forward", "backward")]
    assert all(t > 0 for t in times.values())


def test_the_seed_baseline_runs_the_seeds_own_conv_transpose_layers(mnist) -> None:
    from bench.train import SeedConvAE

    model = SeedConvAE(8)
    calls = []
    model.t_conv1.register_forward_hook(lambda *_: calls.append("t_conv1"))
    model.t_conv2.register_forward_hook(lambda *_: calls.append("t_conv2"))
    model(mnist.train_images()[:4])
    assert calls == ["t_conv1", "t_conv2"]
