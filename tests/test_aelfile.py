"""The .ael file (ae.compression.aelfile): exact round trips, and a clear error for every way a file can be wrong."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ae.cli.main import main
from ae.compression import aelfile
from ae.data import preprocess
from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
CODECS = [n for n, s in REGISTRY.items() if s.family == "codec"]


def test_pack_and_unpack_round_trip_with_a_3_byte_header():
    payload = bytes(range(200))
    data = aelfile.pack("codec-3", b"\x01\x02\x03\x04", payload)
    parsed = aelfile.unpack(data)
    assert (parsed.tag, parsed.payload) == (aelfile.model_tag("codec-3"), payload)
    assert parsed.header_bytes == len(data) - len(payload) == aelfile.header_bytes() == 3
    aelfile.verify("codec-3", b"\x01\x02\x03\x04", parsed)  # passes: no exception
    with pytest.raises(aelfile.CorruptFile, match="another version"):
        aelfile.verify("codec-3", b"\x01\x02\x03\x05", parsed)  # the check is seeded with the model's hash


def test_the_crc_is_crc_12_and_the_shipped_models_have_distinct_tags():
    assert aelfile.crc12(b"123456789", 0) == 0xF5B  # CRC-12/DECT's check value (poly 0x80F, unreflected, no final xor)
    tags = [aelfile.model_tag(n) for n in REGISTRY]
    assert len(set(tags)) == len(tags) and max(tags) < aelfile.OLD_MARK


def test_an_old_format_file_gets_its_own_message(sender):
    old = bytes([0xAE, 1, 7]) + b"codec-3" + bytes(4) + b"\x01\x00\x12\x34"  # format 1: mark, version, name, ...
    with pytest.raises(aelfile.OldFormat, match="old format"):
        sender.decompress(old)
    with pytest.raises(aelfile.UnsupportedVersion, match="later format"):
        sender.decompress(b"\xf0\x00\x00\x01")


@pytest.fixture(scope="module")
def sender():
    return aelfile.load_sender(CODECS[len(CODECS) // 2])


@pytest.fixture(scope="module")
def digit(mnist) -> np.ndarray:
    return mnist.test_x[0] / 255.0


def test_a_digit_round_trips_through_a_file_to_the_models_own_reconstruction(sender, digit):
    data = sender.compress(digit)
    with torch.inference_mode():
        expected = sender.model(torch.tensor(digit, dtype=torch.float32).reshape(1, 1, 28, 28))
    assert np.array_equal(sender.decompress(data), expected.reshape(28, 28).numpy())
    assert len(data) < 100  # a few dozen bytes, header included


def test_every_truncation_is_refused_and_said_to_be_one(sender, digit):
    data = sender.compress(digit)
    with pytest.raises(aelfile.NotAelFile, match="empty"):
        sender.decompress(b"")
    for n in range(1, len(data)):
        # The length bits count modulo 16: a payload cut by a multiple of 16 bytes fails the CRC alone.
        cut_by_16 = n >= aelfile.HEADER_BYTES and (len(data) - n) % 16 == 0
        with pytest.raises(aelfile.CorruptFile if cut_by_16 else aelfile.TruncatedFile):
            sender.decompress(data[:n])
    with pytest.raises(aelfile.TruncatedFile, match="2 byte\\(s\\) of its code are missing"):
        sender.decompress(data[:-2])
    with pytest.raises(aelfile.TruncatedFile, match="too many"):
        sender.decompress(data + b"\x00")


def test_every_flipped_bit_is_refused_never_decoded(sender, digit):
    data = sender.compress(digit)
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            # The first byte names another model (or format); any other changed byte fails the CRC-12.
            with pytest.raises(
                aelfile.AelError if i == 0 else aelfile.CorruptFile, match=None if i == 0 else "changed"
            ):
                sender.decompress(bytes(bad))


def test_a_file_for_another_model_is_refused(sender, digit):
    other = aelfile.load_sender(CODECS[0])
    with pytest.raises(aelfile.WrongModel, match=f"made with model '{CODECS[0]}'"):
        sender.decompress(other.compress(digit))


def test_a_file_for_a_changed_model_is_refused(tmp_path, sender, digit):
    name = sender.name
    model, meta = checkpoints.load(name)
    with torch.no_grad():
        model.linear_path.bias.add_(0.01)  # retrained, say: same name, other weights
    checkpoints.save(model, {k: v for k, v in meta.items() if k != "weights_sha256"}, REGISTRY[name], tmp_path)
    changed = aelfile.load_sender(name, checkpoints.Folders(tmp_path))
    with pytest.raises(aelfile.CorruptFile, match="another version"):
        changed.decompress(sender.compress(digit))


def _png(picture: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture, mode="L").save(buf, "PNG")
    return buf.getvalue()


def test_compress_and_decompress_commands(tmp_path, mnist, sender, capsys):
    image = tmp_path / "digit.png"  # a 28x28 digit as the app saves one
    image.write_bytes(_png(mnist.test_x[0]))
    ael, out = tmp_path / "digit.ael", tmp_path / "out.png"
    shipped = ["--checkpoints", str(ROOT / "checkpoints")]
    assert main(["compress", str(image), "-o", str(ael), "--model", sender.name, *shipped]) == 0
    assert f"{ael.stat().st_size} bytes" in capsys.readouterr().out
    assert main(["decompress", str(ael), "-o", str(out), *shipped]) == 0
    with Image.open(out) as img:
        decoded = np.asarray(img)
    assert np.array_equal(decoded, np.round(sender.decompress(ael.read_bytes()) * 255).astype(np.uint8))
    ael.write_bytes(ael.read_bytes()[:-1])
    assert main(["decompress", str(ael), "-o", str(tmp_path / "x.png"), *shipped]) == 1
    assert "truncated" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_a_big_drawing_is_prepared_like_an_upload(tmp_path, sender):
    big = np.zeros((200, 200), dtype=np.uint8)
    big[40:160, 95:105] = 255  # a "1"
    (tmp_path / "one.png").write_bytes(_png(big))
    digit = preprocess.read_picture(tmp_path / "one.png")
    assert digit.shape == (28, 28) and digit.max() > 0.5


def test_a_plain_models_file_round_trips(mnist, digit):
    plain = aelfile.load_sender("linear-32", data=mnist)
    data = plain.compress(digit)
    assert aelfile.unpack(data).tag == aelfile.model_tag("linear-32")
    with torch.inference_mode():
        z = plain.model.encode(torch.tensor(digit, dtype=torch.float32).reshape(1, 784))
        expected = plain.model.decode(plain.coder.values(plain.coder.symbols(z)))
    assert np.array_equal(plain.decompress(data), expected.reshape(28, 28).numpy())
