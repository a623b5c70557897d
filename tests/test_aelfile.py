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


def test_pack_and_unpack_round_trip_and_count_the_header():
    payload = bytes(range(200))
    data = aelfile.pack("codec-3", b"\x01\x02\x03\x04", payload)
    parsed = aelfile.unpack(data)
    assert (parsed.name, parsed.model_hash, parsed.payload) == ("codec-3", b"\x01\x02\x03\x04", payload)
    assert parsed.header_bytes == len(data) - len(payload) == aelfile.header_bytes("codec-3", len(payload))
    assert parsed.header_bytes == 2 + 1 + 7 + 4 + 2 + 2  # mark, version; name; hash; length (2-byte varint); CRC


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


def test_every_truncation_is_reported_as_truncated(sender, digit):
    data = sender.compress(digit)
    with pytest.raises(aelfile.NotAelFile):
        sender.decompress(b"")
    for n in range(1, len(data)):
        with pytest.raises(aelfile.TruncatedFile, match="truncated"):
            sender.decompress(data[:n])


def test_every_flipped_byte_is_refused_never_decoded(sender, digit):
    data = sender.compress(digit)
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        with pytest.raises(aelfile.AelError):
            sender.decompress(bytes(bad))
    # A changed payload byte: the checksum catches it.
    bad = bytearray(data)
    bad[-3] ^= 0xFF
    with pytest.raises(aelfile.CorruptFile, match="checksum"):
        sender.decompress(bytes(bad))
    with pytest.raises(aelfile.NotAelFile):
        sender.decompress(b"\x89PNG" + data[4:])
    with pytest.raises(aelfile.UnsupportedVersion):
        sender.decompress(data[:1] + b"\x07" + data[2:])


def test_a_file_for_another_model_is_refused(sender, digit):
    other = aelfile.load_sender(CODECS[0])
    with pytest.raises(aelfile.WrongModel, match=f"made with model '{CODECS[0]}'"):
        sender.decompress(other.compress(digit))


def test_a_file_for_a_changed_model_is_refused(tmp_path, sender, digit):
    name = sender.name
    model, meta = checkpoints.load(name)
    with torch.no_grad():
        model.decoder[0].bias.add_(0.01)  # retrained, say: same name, other weights
    checkpoints.save(model, {k: v for k, v in meta.items() if k != "weights_sha256"}, REGISTRY[name], tmp_path)
    changed = aelfile.load_sender(name, checkpoints.Folders(tmp_path))
    with pytest.raises(aelfile.ChangedModel, match="another version"):
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
    ael.write_bytes(ael.read_bytes()[:-5])
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
    assert aelfile.unpack(data).name == "linear-32"
    with torch.inference_mode():
        z = plain.model.encode(torch.tensor(digit, dtype=torch.float32).reshape(1, 784))
        expected = plain.model.decode(plain.coder.values(plain.coder.symbols(z)))
    assert np.array_equal(plain.decompress(data), expected.reshape(28, 28).numpy())
