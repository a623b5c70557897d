import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ae.data.preprocess import canvas_to_mnist, image_to_mnist, ink_from_rgba, to_mnist


def _stroke_canvas(box=(60, 40, 120, 220), width=18, background_alpha=255) -> np.ndarray:
    """A 280x280 RGBA canvas like the app's: a white vertical stroke ('1') on black, off-centre."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, background_alpha))
    ImageDraw.Draw(img).line([box[:2], box[2:]], fill=(255, 255, 255, 255), width=width)
    return np.asarray(img)


def _bbox(d: np.ndarray, thr: float = 0.05):
    rows = np.flatnonzero((d > thr).any(1))
    cols = np.flatnonzero((d > thr).any(0))
    return rows[0], rows[-1], cols[0], cols[-1]


def _com(d: np.ndarray):
    ys, xs = np.indices(d.shape)
    return (ys * d).sum() / d.sum(), (xs * d).sum() / d.sum()


@pytest.mark.parametrize("background_alpha", [255, 0])  # black background returned, or transparent
def test_stroke_lands_centred_in_a_20px_box(background_alpha):
    d = canvas_to_mnist(_stroke_canvas(background_alpha=background_alpha))
    assert d.shape == (28, 28) and d.dtype == np.float32
    assert d.min() >= 0 and d.max() <= 1
    r0, r1, c0, c1 = _bbox(d)
    assert max(r1 - r0 + 1, c1 - c0 + 1) in (20, 21)  # longer side 20 px (+1 for antialiased edge)
    cy, cx = _com(d)
    # whole-pixel placement: within half a pixel of where MNIST puts the centre of mass
    assert abs(cy - 14) <= 0.51 and abs(cx - 14) <= 0.51
    assert d.max() > 0.9  # the ink survives scaling: full-strength pixels remain


def test_position_on_canvas_does_not_matter():
    a = canvas_to_mnist(_stroke_canvas((40, 30, 80, 200)))
    b = canvas_to_mnist(_stroke_canvas((190, 60, 230, 230)))
    assert np.abs(a - b).max() < 0.25 and abs(a.sum() - b.sum()) / a.sum() < 0.1


@pytest.mark.parametrize("canvas", [None, np.zeros((280, 280, 4), np.uint8)], ids=["none", "blank"])
def test_blank_or_missing_canvas_gives_none(canvas):
    assert canvas_to_mnist(canvas) is None


def test_faint_noise_is_not_ink():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = 5
    rgba[..., 3] = 255
    assert canvas_to_mnist(rgba) is None


def test_single_dot_and_full_canvas_give_finite_digits():
    dot = np.zeros((280, 280), np.float32)
    dot[100:103, 50:53] = 1
    d = to_mnist(dot)
    assert d is not None and np.isfinite(d).all() and d.max() > 0.5
    full = to_mnist(np.ones((280, 280), np.float32))
    assert full is not None and np.isfinite(full).all()
    assert _bbox(full) == (4, 23, 4, 23)  # a 20x20 square in the middle (its mass centre 13.5 rounds to 4)


def test_nan_in_input_is_treated_as_background():
    ink = np.full((50, 50), np.nan, np.float32)
    ink[10:40, 20:25] = 1
    d = to_mnist(ink)
    assert np.isfinite(d).all()


def test_ink_from_rgba_rejects_wrong_shape():
    with pytest.raises(ValueError, match="RGBA"):
        ink_from_rgba(np.zeros((28, 28)))


def _png(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    buf.seek(0)
    return Image.open(buf)


def test_dark_ink_on_paper_is_inverted(mnist):
    digit = mnist.test_x[0]
    on_paper = Image.fromarray(255 - np.kron(digit, np.ones((4, 4), np.uint8))).convert("RGB")
    d = image_to_mnist(_png(on_paper))
    ref = to_mnist(digit.astype(np.float32) / 255)
    assert np.abs(d - ref).mean() < 0.03


def test_mnist_digit_round_trips(mnist):
    x = mnist.test_x[:50].astype(np.float32) / 255
    out = np.stack([to_mnist(d) for d in x])
    # MNIST digits already sit in a 20x20 box centred by mass: preprocessing barely moves them
    assert np.abs(out - x).mean() < 0.01


def test_digit_in_a_corner_is_centred():
    d = canvas_to_mnist(_stroke_canvas((5, 5, 40, 60), width=10))
    cy, cx = _com(d)
    assert abs(cy - 14) <= 0.51 and abs(cx - 14) <= 0.51


def test_huge_stroke_covering_most_of_the_canvas():
    d = canvas_to_mnist(_stroke_canvas((140, 0, 140, 280), width=200))
    assert d is not None and np.isfinite(d).all()
    r0, r1, c0, c1 = _bbox(d)
    assert max(r1 - r0, c1 - c0) + 1 <= 21


def test_ink_extent_is_the_share_of_the_canvas_the_drawing_spans():
    from ae.data.preprocess import SMALL_INK, ink_extent

    assert ink_extent(None) == 0.0
    assert ink_extent(np.zeros((256, 256, 4), np.uint8)) == 0.0
    dot = _stroke_canvas((128, 128, 130, 129), width=16)
    assert ink_extent(dot) < SMALL_INK
    one = _stroke_canvas((140, 40, 140, 240), width=18)
    assert ink_extent(one) == pytest.approx(201 / 280)  # rows 40 to 240 of 280
