"""Uploads: whatever a student picks, the app either reads a digit or says clearly why not."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ae.preprocess import MAX_UPLOAD_BYTES, InputError, read_upload


def _encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _seven(size=(280, 280), ink=255, paper=0, mode="L") -> Image.Image:
    img = Image.new(mode, size, paper)
    w, h = size
    d = ImageDraw.Draw(img)
    d.line([(w * 0.25, h * 0.2), (w * 0.75, h * 0.2), (w * 0.4, h * 0.85)], fill=ink, width=max(1, w // 14))
    return img


def _centre_of_mass(d: np.ndarray):
    ys, xs = np.indices(d.shape)
    return (ys * d).sum() / d.sum(), (xs * d).sum() / d.sum()


def test_white_on_black_png():
    d = read_upload(_encode(_seven()))
    assert d.shape == (28, 28) and d.max() > 0.9
    assert all(abs(c - 14) < 1 for c in _centre_of_mass(d))


def test_black_on_white_is_inverted_automatically():
    a = read_upload(_encode(_seven()))
    b = read_upload(_encode(_seven(ink=0, paper=255)))
    assert np.abs(a - b).mean() < 0.02


@pytest.mark.parametrize(
    "mode,ink,paper", [("RGB", (20, 20, 160), (250, 245, 230)), ("RGBA", (0, 0, 0, 255), (0, 0, 0, 0))]
)
def test_colour_and_transparent_pictures(mode, ink, paper):
    d = read_upload(_encode(_seven(mode=mode, ink=ink, paper=paper)))
    assert d.max() > 0.9 and d[0].max() == 0  # a digit in the middle, empty top row


def test_a_phone_photo_sized_jpeg_is_decoded_at_reduced_size(monkeypatch):
    """A 20-megapixel JPEG is decoded at a reduced scale (JPEG draft mode), not in full and then shrunk: the
    largest reduction (1/2, 1/4 or 1/8) that keeps both sides at least WORKING_SIZE (1024) pixels."""
    from PIL import JpegImagePlugin

    photo = _seven(size=(5472, 3648), ink=(30, 30, 30), paper=(200, 195, 190), mode="RGB")  # 20 megapixels
    data = _encode(photo, "JPEG", quality=70)
    assert len(data) < MAX_UPLOAD_BYTES
    decoded_at = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = draft(self, mode, size)
        decoded_at.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    d = read_upload(data)
    assert decoded_at[0] == (5472 // 2, 3648 // 2)
    assert d.max() > 0.9


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"%PDF-1.4 not an image at all", "not a picture"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a picture|damaged"),
        (b"x" * (MAX_UPLOAD_BYTES + 1), "limit is 10 MB"),
    ],
    ids=["empty", "pdf", "garbage-png", "too-big"],
)
def test_unreadable_files_get_a_clear_message(data, message):
    with pytest.raises(InputError, match=message):
        read_upload(data)


def test_truncated_png():
    data = _encode(_seven())
    with pytest.raises(InputError, match="damaged or incomplete"):
        read_upload(data[: len(data) // 2])


# 85 MP: over our limit; 90 MP: over Pillow's warning too; 400 MP: Pillow refuses to open it at all
@pytest.mark.parametrize("side", [9_200, 9_500, 20_000])
def test_huge_pictures_are_refused_before_decoding(side):
    bomb = _encode(Image.new("1", (side, side)), optimize=True)  # a few KB on disk
    assert len(bomb) < 200_000
    with pytest.raises(InputError) as refused:
        read_upload(bomb)
    # the same plain sentence whichever check caught it, not Pillow's text about attacks
    assert "too large" in str(refused.value) and "80 MP limit" in str(refused.value)
    assert "DOS" not in str(refused.value) and "decompression" not in str(refused.value)


def test_a_48_megapixel_phone_photo_is_accepted():
    photo = _seven(size=(8000, 6000), ink=(30, 30, 30), paper=(200, 195, 190), mode="RGB")
    data = _encode(photo, "JPEG", quality=70)
    assert len(data) < MAX_UPLOAD_BYTES
    assert read_upload(data).max() > 0.9


@pytest.mark.parametrize("value", [0, 255])
def test_one_pixel_and_blank_pictures(value):
    with pytest.raises(InputError, match="looks blank"):
        read_upload(_encode(Image.new("L", (1, 1), value)))
    with pytest.raises(InputError, match="looks blank"):
        read_upload(_encode(Image.new("RGB", (300, 200), (value,) * 3)))
