"""Turn a drawing or an uploaded picture into an MNIST-style 28x28 input, the way MNIST itself was made.

MNIST's digits were cropped to their ink, scaled (with antialiasing) so the longer side is 20 pixels, and placed
in a 28x28 field with their centre of mass at the centre. Light ink on a dark background, values in [0, 1].
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 28
BOX = 20
CENTRE = SIZE // 2
INK_THRESHOLD = 0.05  # below this (of full white) a pixel counts as background, not ink
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # also server.maxUploadSize in .streamlit/config.toml
MAX_PIXELS = 80_000_000  # any phone photo up to 80 megapixels (JPEGs decode at reduced size); no decompression bomb
# The Draw page's canvas: 256 px fits its column at 1024 px with the sidebar open (280 was clipped). The stroke keeps
# MNIST's pen: about 1/16 of the frame, like 18 px on 280.
CANVAS_SIZE, CANVAS_STROKE = 256, 16
WORKING_SIZE = 1024  # big photos are shrunk to this before finding the digit: the result is 28x28 anyway
# The only decoders an upload may reach. Without a list Pillow tries every format it knows, and EPS hands the file
# to Ghostscript, an external program, where it is installed.
UPLOAD_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
# The canvas sends a PNG of its own size; anything much larger did not come from it, and a small PNG can claim
# an enormous size (a few KB inflating to gigabytes).
MAX_CANVAS_SIDE = 4 * CANVAS_SIZE
DECODED_KEPT = 32  # uploads remembered by content hash: a rerun, or the same file again, is not decoded again


class InputError(ValueError):
    """An upload that cannot be used; the message is meant for the person who uploaded it."""


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] from an (H, W, 4) uint8 canvas: bright, opaque strokes are ink.

    Works whether the canvas returns its black background or a transparent one.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (H, W, 4) RGBA array, got shape {rgba.shape}")
    rgb = rgba[..., :3].astype(np.float32).max(axis=2) / 255.0
    return rgb * (rgba[..., 3].astype(np.float32) / 255.0)


def to_mnist(ink: np.ndarray) -> np.ndarray | None:
    """(H, W) ink in [0, 1] -> (28, 28) float32 MNIST-style digit, or None if there is no ink."""
    ink = np.nan_to_num(np.asarray(ink, dtype=np.float32), nan=0.0).clip(0.0, 1.0)
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    glyph = np.asarray(Image.fromarray(crop, mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS))
    glyph = glyph.clip(0.0, 1.0)  # Lanczos rings slightly outside [0, 1]
    if glyph.sum() <= 0:
        return None
    # Place the glyph so that its centre of mass lands on pixel (14, 14): where MNIST's own digits have it
    # (measured on the test set: mean 14.00, 14.01), rather than the geometric centre 13.5.
    ys, xs = np.indices(glyph.shape)
    cy, cx = (ys * glyph).sum() / glyph.sum(), (xs * glyph).sum() / glyph.sum()
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - new_h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - new_w))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[top : top + new_h, left : left + new_w] = glyph
    return out


SMALL_INK = 0.2  # ink spanning less of the canvas than this is blown up into a blob by to_mnist


def ink_extent(rgba: np.ndarray | None) -> float:
    """How much of the canvas the ink spans: its bounding box's longer side over the canvas' longer side (0 if blank).

    to_mnist scales every drawing to fill MNIST's 20-pixel box, as MNIST did; a dot or a tiny digit then comes out as
    a fat blob that still gets a confident reading, so the page warns below SMALL_INK.
    """
    if rgba is None:
        return 0.0
    ink = ink_from_rgba(rgba) > INK_THRESHOLD
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return 0.0
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / max(ink.shape)


def canvas_to_mnist(rgba: np.ndarray | None) -> np.ndarray | None:
    """A canvas' RGBA image (or None before the first stroke) -> 28x28 digit, or None when it is blank."""
    if rgba is None:
        return None
    return to_mnist(ink_from_rgba(rgba))


def image_to_mnist(image: Image.Image) -> np.ndarray | None:
    """Any picture -> 28x28 digit. Dark ink on a light background (paper, a phone photo) is inverted first."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        # Transparent pixels become the background colour implied by the opaque ones.
        gray = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        opaque = alpha > 0.5
        background = 1.0 - float(np.median(gray[opaque])) if opaque.any() else 0.0
        gray = gray * alpha + background * (1 - alpha)
    else:
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if light_background(gray):
        gray = 1.0 - gray
    # Stretch contrast so the faint background of a photo does not count as ink.
    lo, hi = np.percentile(gray, 50), gray.max()
    if hi - lo < 1e-3:
        return None
    return to_mnist((gray - lo) / (hi - lo))


def read_upload(data: bytes) -> np.ndarray:
    """Uploaded file bytes -> 28x28 digit. Raises InputError with a message for the user.

    Each distinct file (by SHA-256 of its bytes) is decoded once: the page calls this on every rerun.
    """
    if not data:
        raise InputError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"The file is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    key = hashlib.sha256(data).hexdigest()
    with _decoded_lock:
        result = _decoded.get(key)
        if result is not None:
            _decoded.move_to_end(key)
    if result is None:
        try:
            result = _decode_upload(data)
        except InputError as e:
            result = e
        with _decoded_lock:
            _decoded[key] = result
            while len(_decoded) > DECODED_KEPT:
                _decoded.popitem(last=False)
    if isinstance(result, InputError):
        raise InputError(str(result))
    return result.copy()  # the kept array stays as decoded, whatever the caller does with its copy


_decoded: OrderedDict[str, np.ndarray | InputError] = OrderedDict()
_decoded_lock = threading.Lock()  # every browser session's script runs in its own thread


def _decode_upload(data: bytes) -> np.ndarray:
    image = _open_image(data, UPLOAD_FORMATS, draft=True)
    image.thumbnail((WORKING_SIZE, WORKING_SIZE))
    digit = image_to_mnist(image)
    if digit is None:
        raise InputError("No digit found: the picture looks blank.")
    return digit


def _open_image(data: bytes, formats: tuple[str, ...], *, draft: bool = False, max_side: int = 0) -> Image.Image:
    """Open and decode ``data`` with only ``formats``' decoders, refusing huge pictures (over MAX_PIXELS, or with a
    side over ``max_side`` when given) before decoding them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(formats))
            w, h = image.size
            if w * h > MAX_PIXELS:
                raise InputError(f"The picture is too large: {w}×{h} pixels, over the {MAX_PIXELS / 1e6:.0f} MP limit.")
            if max_side and max(w, h) > max_side:
                raise InputError(f"The picture is too large: {w}×{h} pixels, over {max_side} on a side.")
            if draft:
                image.draft("L", (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at reduced size, much faster
            image.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # Pillow refuses before reading the size for us; its text speaks of attacks, which helps no student.
        raise InputError(f"The picture is too large: over the {MAX_PIXELS / 1e6:.0f} MP limit.") from e
    except UnidentifiedImageError as e:
        kinds = ", ".join(formats[:-1]) + f" or {formats[-1]}" if len(formats) > 1 else formats[0]
        raise InputError(f"That file is not a picture this app reads: only {kinds} files are opened.") from e
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt image data
        raise InputError(f"The picture's data is damaged or incomplete ({e}).") from e
    return image


def canvas_rgba(png: bytes | None) -> np.ndarray | None:
    """The canvas' PNG (None before the first stroke) -> (H, W, 4) uint8 RGBA. Only a PNG the canvas' size or
    near it is decoded: the bytes come from the browser, and a component could be sent anything."""
    if png is None:
        return None
    image = _open_image(png, ("PNG",), max_side=MAX_CANVAS_SIDE)
    return np.asarray(image.convert("RGBA"))


def light_background(gray: np.ndarray) -> bool:
    """The border is mostly light: dark ink on paper rather than light ink on black."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) > 0.5


def read_picture(path: str | Path) -> np.ndarray:
    """A picture file as a (28, 28) digit in [0, 1]: a 28x28 light-on-dark grayscale picture as it is (an MNIST
    digit, or one saved from the app), anything else prepared as the Draw page prepares an upload."""
    data = Path(path).read_bytes()
    with contextlib.suppress(OSError, ValueError), Image.open(io.BytesIO(data)) as img:
        if img.size == (28, 28) and img.mode in ("L", "P", "1"):
            gray = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
            if not light_background(gray):
                return gray
    return read_upload(data)
