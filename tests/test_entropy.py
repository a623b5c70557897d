"""Entropy coding (ae.compression.entropy): bytes from constriction's range coder decode to exactly the symbols sent."""

from __future__ import annotations

import numpy as np
import torch

from ae.compression import entropy
from ae.measure.quantize import dequantize, quantize
from ae.models.autoencoders import LinearAE


def _skewed(rng: np.random.Generator, n: int, d: int, levels: int) -> np.ndarray:
    """Symbols whose distribution differs per dimension: dimension j is near level 10·j, spread j + 1."""
    centres = (np.arange(d) * 10) % levels
    return np.clip(np.round(rng.normal(centres, np.arange(d) + 1, size=(n, d))), 0, levels - 1).astype(np.int64)


def test_round_trip_is_exact_and_costs_about_the_information():
    rng = np.random.default_rng(0)
    train, test = _skewed(rng, 5000, 12, 256), _skewed(rng, 200, 12, 256)
    tables = entropy.histogram_tables(train, 256)
    assert tables.shape == (12, 256) and np.allclose(tables.sum(axis=1), 1, atol=1e-5)
    sizes = []
    for s in test:
        data = entropy.encode(s, tables)
        assert np.array_equal(entropy.decode(data, tables), s)
        sizes.append(len(data))
    information = -np.log2(tables[np.arange(12), test]).sum(axis=1) / 8
    # Cut at byte precision: at most two bytes over the information content, not whole 32-bit words.
    assert np.all(np.array(sizes) <= information + 2)
    assert any(n % 4 for n in sizes)
    assert np.mean(sizes) < 12  # fewer bytes than one byte per value


def test_every_symbol_can_be_sent_even_one_never_seen_in_training():
    tables = entropy.histogram_tables(np.zeros((100, 3), dtype=np.int64), 16)
    unseen = np.array([15, 7, 0])
    assert np.array_equal(entropy.decode(entropy.encode(unseen, tables), tables), unseen)


def test_the_words_are_cut_to_the_shortest_bytes_that_decode():
    rng = np.random.default_rng(1)
    tables = entropy.histogram_tables(_skewed(rng, 2000, 6, 64), 64)
    for s in _skewed(rng, 50, 6, 64):
        data = entropy.encode(s, tables)
        # One byte fewer (cut, or cut and rounded up) no longer decodes to these symbols.
        shorter = [data[:-1], entropy._round_up(data[:-1])] if data else []
        assert not any(c is not None and entropy._decodes_to(c, s.astype(np.int32), tables) for c in shorter)


def test_a_plain_model_is_coded_at_8_bits_over_its_code_range(mnist):
    torch.manual_seed(0)
    model = LinearAE(8).eval()
    train = mnist.train_images()[:2000]
    coder = entropy.coder_for(model, {"code_range": [-3.0, 3.0]}, train)
    assert coder.kind == "uniform" and coder.tables.shape == (8, 256) and coder.shape == (8,)
    with torch.inference_mode():
        z = model.encode(mnist.test_images()[:50])
    symbols = coder.symbols(z)
    assert np.array_equal(symbols, quantize(z, -3.0, 3.0, 8).numpy())
    for i, data in enumerate(coder.encode(z)):
        assert torch.equal(coder.decode(data)[0], dequantize(torch.from_numpy(symbols[i]).float(), -3.0, 3.0, 8))


def test_the_tables_digest_changes_with_the_tables():
    a = entropy.Coder("integer", (2,), np.full((2, 3), 1 / 3, dtype=np.float32), 3, offset=1)
    b = entropy.Coder("integer", (2,), np.array([[0.2, 0.6, 0.2]] * 2, dtype=np.float32), 3, offset=1)
    assert a.digest() != b.digest() and a.digest() == entropy.Coder(**vars(a)).digest()
