import pytest
import torch
from torch.nn import functional as F

from ae.measure.metrics import measure_code
from ae.models.autoencoders import ConvAE, LinearAE, parameter_count
from ae.storage.catalogue import REGISTRY


def test_registry_starts_with_the_seed_models():
    assert list(REGISTRY)[:5] == ["linear-32", "linear-64", "linear-128", "linear-256", "conv-8"]


@pytest.mark.parametrize("depth", [32, 64, 128, 256])
def test_linear_code_is_measured(depth):
    model = REGISTRY[f"linear-{depth}"].build()
    code = measure_code(model)
    assert code.shape == (depth,) and code.values == depth
    assert code.compression_ratio == pytest.approx(depth / 784)
    assert parameter_count(model) == 784 * depth + depth + depth * 784 + 784


def test_conv_code_is_8x7x7_not_the_hand_count():
    code = measure_code(REGISTRY["conv-8"].build())
    assert code.shape == (8, 7, 7) and code.values == 392
    assert code.compression_ratio == 0.5
    assert code.bytes_float32 == 1568 and code.bytes_8bit == 392


def test_layers_are_the_seeds():
    m = ConvAE()
    assert (m.conv1.in_channels, m.conv1.out_channels, m.conv1.kernel_size, m.conv1.padding) == (1, 64, (3, 3), (1, 1))
    assert (m.conv2.in_channels, m.conv2.out_channels, m.conv2.padding) == (64, 8, (1, 1))
    assert (m.t_conv1.in_channels, m.t_conv1.out_channels, m.t_conv1.kernel_size, m.t_conv1.stride) == (
        8,
        64,
        (2, 2),
        (2, 2),
    )
    assert (m.t_conv2.in_channels, m.t_conv2.out_channels, m.t_conv2.stride) == (64, 1, (2, 2))
    lin = LinearAE(32)
    assert [type(c).__name__ for c in lin.children()] == ["Linear", "Linear"]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_encode_decode_forward(name):
    model = REGISTRY[name].build()
    x = torch.rand(3, 1, 28, 28)
    z = model.encode(x)
    y = model.decode(z)
    assert y.shape == x.shape and torch.equal(y, model(x))
    assert y.min() >= 0 and y.max() <= 1  # sigmoid output


def _seed_encode(m: ConvAE, x):
    """The seed notebook's literal order: pool(relu(conv(x)))."""
    x = m.pool(F.relu(m.conv1(x)))
    return m.pool(F.relu(m.conv2(x)))


def test_conv_relu_pool_order_is_the_same_function(mnist):
    torch.manual_seed(0)
    ours, seed = ConvAE(), ConvAE()
    seed.load_state_dict(ours.state_dict())
    x = mnist.test_images()[:64]
    a = ours.encode(x)
    b = _seed_encode(seed, x)
    assert torch.equal(a, b)
    F.mse_loss(ours.decode(a), x).backward()
    F.mse_loss(seed.decode_with_layers(b), x).backward()
    for (name, p), q in zip(ours.named_parameters(), seed.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7), name


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("code_channels", [8, 1])
def test_the_matmul_decoder_is_the_transposed_convolutions(code_channels, fmt, mnist):
    torch.manual_seed(0)
    m = ConvAE(code_channels).to(memory_format=fmt)
    x = mnist.test_images()[:32].contiguous(memory_format=fmt)
    z = m.encode(x).detach().requires_grad_()
    decoder = [z, *m.t_conv1.parameters(), *m.t_conv2.parameters()]
    ours, theirs = m.decode(z), m.decode_with_layers(z)
    assert ours.shape == theirs.shape == (32, 1, 28, 28)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    g = torch.rand_like(ours)
    for a, b in zip(torch.autograd.grad(ours, decoder, g), torch.autograd.grad(theirs, decoder, g), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_dead_code_channels_are_found_and_revived(mnist):
    torch.manual_seed(0)
    m = ConvAE()
    x = mnist.train_images()[:256]
    with torch.no_grad():
        m.conv2.bias[[1, 5]] = -1e3  # kill two channels
        assert (~m.firing(m.encode(x))).nonzero().flatten().tolist() == [1, 5]
    m.revive_code_channels([1, 5], x, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert m.firing(m.encode(x)).all()
