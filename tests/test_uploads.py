"""Uploads: whatever a student picks, the app either reads a digit or says clearly why not."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from ae.data.preprocess import MAX_UPLOAD_BYTES, InputError, read_upload


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


# --- only the listed formats' decoders are ever reached -------------------------------------------------------------


class ReachedExternalDecoder(Exception):
    """Raised by the stand-ins for Ghostscript and subprocess: an upload got as far as an external program."""


@pytest.fixture
def no_external_decoders(monkeypatch):
    _forbid_external_decoders(monkeypatch)


def _forbid_external_decoders(monkeypatch) -> None:
    """Ghostscript looks installed, and reaching it (or any subprocess) raises instead of running it."""
    import subprocess

    from PIL import EpsImagePlugin

    def reached(*args, **kwargs):
        raise ReachedExternalDecoder(args)

    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", "gs")
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", reached)
    for name in ("Popen", "run", "call", "check_call", "check_output"):
        monkeypatch.setattr(subprocess, name, reached)


def _eps() -> bytes:
    return _encode(_seven(size=(64, 64)), "EPS")  # Pillow writes EPS itself; reading it needs Ghostscript


def _pdf() -> bytes:
    return _encode(_seven(size=(64, 64), mode="RGB"), "PDF")


def test_the_stand_in_ghostscript_would_catch_an_unrestricted_open(no_external_decoders):
    """The control: without a format list, Pillow hands an EPS file to Ghostscript."""
    with pytest.raises(ReachedExternalDecoder):
        Image.open(io.BytesIO(_eps())).load()


@pytest.mark.parametrize("make", [_eps, _pdf], ids=["eps", "pdf"])
def test_eps_and_pdf_are_refused_without_reaching_an_external_decoder(no_external_decoders, make):
    with pytest.raises(InputError, match="not a picture this app reads: only PNG, JPEG, BMP, GIF or WEBP"):
        read_upload(make())


@pytest.mark.parametrize("make", [_eps, _pdf], ids=["eps", "pdf"])
def test_an_eps_or_pdf_renamed_png_is_refused_on_the_draw_page(monkeypatch, make):
    at = _upload_page()  # loaded first: starting the app itself runs a subprocess (ctypes' library lookup)
    _forbid_external_decoders(monkeypatch)
    at.get("file_uploader")[0].upload(f"digit-{make.__name__}.png", make(), "image/png")
    at.run()
    assert not at.exception, at.exception
    assert any("not a picture this app reads" in e.value for e in at.error)


def test_the_canvas_picture_is_read_as_a_png_only(no_external_decoders):
    from ae.data.preprocess import CANVAS_SIZE, canvas_rgba

    rgba = canvas_rgba(_encode(_seven(size=(CANVAS_SIZE, CANVAS_SIZE), mode="RGBA", ink=(255,) * 4, paper=(0,) * 4)))
    assert rgba.shape == (CANVAS_SIZE, CANVAS_SIZE, 4)
    with pytest.raises(InputError, match="only PNG"):
        canvas_rgba(_eps())
    with pytest.raises(InputError, match="too large"):  # a tiny file claiming a huge picture: refused unread
        canvas_rgba(_encode(Image.new("1", (5000, 5000)), optimize=True))


# --- each distinct upload is decoded once ---------------------------------------------------------------------------


def _upload_page() -> AppTest:
    from tests.test_app import ROOT

    at = AppTest.from_file(str(ROOT / "pages/draw.py"), default_timeout=120).run()
    return at.segmented_control(key="source").set_value("Upload").run()


def _upload(name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at = _upload_page()
    at.get("file_uploader")[0].upload(name, data, mime)
    return at.run()


def test_an_upload_is_decoded_once_across_reruns(monkeypatch):
    from ae.data import preprocess

    monkeypatch.setattr(preprocess, "_decoded", preprocess.OrderedDict())  # start from no remembered upload
    data = _encode(_seven())
    opened = []
    real_open = Image.open

    def counting_open(fp, *args, **kwargs):
        if isinstance(fp, io.BytesIO) and fp.getvalue() == data:
            opened.append(kwargs.get("formats"))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    at = _upload("seven.png", data)
    assert not at.exception, at.exception
    mse = [m.value for m in at.metric if m.label.startswith("MSE")]
    assert mse  # the upload was read and reconstructed
    at.radio(key="model").set_value("conv-8").run()  # reruns, as every click on the page makes
    at.run()
    assert not at.exception, at.exception
    assert opened == [list(preprocess.UPLOAD_FORMATS)]  # opened once, and only with the listed decoders
    assert np.array_equal(read_upload(data), read_upload(data)) and len(opened) == 1


def test_a_refused_upload_is_not_examined_again_either(no_external_decoders, monkeypatch):
    from ae.data import preprocess

    monkeypatch.setattr(preprocess, "_decoded", preprocess.OrderedDict())  # start from no remembered upload
    calls = []
    real = preprocess._open_image
    monkeypatch.setattr(preprocess, "_open_image", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(3):
        with pytest.raises(InputError, match="not a picture"):
            read_upload(_eps())
    assert len(calls) == 1
