"""The Draw page's "Your drawing as a file": the current digit's bytes as a PNG, as a WebP at the quality that
matches the trained codec's PSNR, and as the codec's own .ael file, each decoded picture beside its byte count."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ae.compression.aelfile import Sender, model_hash, png_bytes, unpack
from ae.compression.baselines import encode_decode
from ae.compression.entropy import coder_for
from ae.measure.metrics import psnr
from ae.models.autoencoders import PIXELS
from ui import state
from ui.i18n import t
from ui.images import enlarge

WEBP_QUALITIES = range(0, 101, 5)


@st.cache_resource(max_entries=16)
def _sender(name: str, weights_sha256: str, _model, _meta) -> Sender:
    coder = coder_for(_model, _meta, None)
    return Sender(name, _model, coder, model_hash(weights_sha256, coder))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return psnr(float(np.mean((np.asarray(a, np.float64) - b) ** 2)))


def matching_webp(pixels: np.ndarray, target: float) -> tuple[int, int, np.ndarray]:
    """The smallest WebP of ``pixels`` (uint8) whose PSNR reaches ``target`` (else the best one): quality, bytes,
    decoded picture in [0, 1]."""
    tried = []
    for q in WEBP_QUALITIES:
        size, out = encode_decode(pixels, "WEBP", q)
        tried.append((q, size, out.astype(np.float32) / 255.0))
    good = [t for t in tried if _psnr(t[2], pixels / 255.0) >= target]
    return min(good, key=lambda t: t[1]) if good else max(tried, key=lambda t: _psnr(t[2], pixels / 255.0))


def _tile(col, picture: np.ndarray, title: str, size: int, detail: str) -> None:
    alt = t("file.tile_alt", title=title, size=size)
    col.image(enlarge(picture, 4), width="stretch", output_format="PNG", alt=alt)
    col.markdown(t("file.tile", title=title, size=size, bpp=8 * size / PIXELS, detail=detail))


def section(digit: np.ndarray | None) -> None:
    """Show ``digit`` (28x28 in [0, 1]) as three files; nothing without a digit."""
    if digit is None:
        return
    st.header(t("file.title"))
    codecs = [n for n, s in state.registry().items() if s.family == "codec"]
    usable = [n for n in codecs if state.model(n)[0] is not None]
    if not usable:
        st.info(t("rd.no_codec"))
        return
    name = st.radio(t("file.codec"), usable, index=len(usable) // 2, key="file_codec", horizontal=True)
    model, meta, _ = state.model(name)
    sender = _sender(name, meta["weights_sha256"], model, meta)
    pixels = np.round(np.clip(digit, 0, 1) * 255).astype(np.uint8)
    blob = sender.compress(pixels / 255.0)
    picture = sender.decompress(blob)
    target = _psnr(picture, pixels / 255.0)
    quality, webp_size, webp = matching_webp(pixels, target)
    png = png_bytes(pixels / 255.0)
    cols = st.columns(3)
    png_size, _ = encode_decode(pixels, "PNG", None)  # optimised, as on the Rate & distortion page
    _tile(cols[0], pixels / 255.0, "PNG", png_size, t("file.lossless"))
    _tile(cols[1], webp, f"WebP q={quality}", webp_size, f"PSNR {_psnr(webp, pixels / 255.0):.1f} dB")
    header = unpack(blob).header_bytes
    _tile(cols[2], picture, f"{name} (.ael)", len(blob), t("file.header", psnr=target, header=header))
    st.caption(t("file.caption", psnr=target, name=name))
    left, right = st.columns(2)
    left.download_button(t("file.download_png"), png, "digit.png", "image/png")
    right.download_button(t("file.download_ael"), blob, f"digit-{name}.ael", "application/octet-stream")
