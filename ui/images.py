"""Small image helpers for display: crisp enlargement and a colour map for error images."""

from __future__ import annotations

import numpy as np

from ae.measure.generate import framed_grid
from ui import datasets
from ui.i18n import t


def enlarge(img: np.ndarray, scale: int = 6) -> np.ndarray:
    """Nearest-neighbour upscaling, so each of the 28x28 pixels stays a visible square."""
    return np.kron(np.clip(img, 0, 1), np.ones((scale, scale), dtype=np.float32))


def gray_rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(img, dtype=np.float32)[..., None], 3, axis=-1)


def heat(err: np.ndarray, vmax: float = 1.0, scale: int = 6) -> np.ndarray:
    """|error| in [0, vmax] as an RGB "hot" map: black, red, yellow, white."""
    t = np.clip(np.asarray(err, dtype=np.float32) / vmax, 0, 1)
    rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], axis=-1)
    return np.kron(rgb, np.ones((scale, scale, 1), dtype=np.float32))


def strip(images: np.ndarray, scale: int = 4, gap: int = 2) -> np.ndarray:
    """(N, 28, 28) images side by side, enlarged, with a thin gap between them."""
    tiles = [enlarge(im, scale) for im in images]
    h = tiles[0].shape[0]
    sep = np.full((h, gap), 0.25, dtype=np.float32)
    out = [tiles[0]]
    for tile in tiles[1:]:
        out += [sep, tile]
    return np.concatenate(out, axis=1)


def pair_grid(originals: np.ndarray, reconstructions: np.ndarray, nrow: int = 8) -> np.ndarray:
    """Tiles of original-above-reconstruction, framed in grey."""
    pairs = np.concatenate([originals, reconstructions], axis=1)  # (N, 56, 28)
    return enlarge(framed_grid(pairs, nrow), 3)


def described(rec) -> str:
    """A reconstruction (ae.measure.one_digit.Reconstruction) in words, for its image's text alternative."""
    if rec.reads is None:
        return t("images.described", mse=rec.mse, psnr=rec.psnr)
    return t("images.described_reads", mse=rec.mse, psnr=rec.psnr, digit=datasets.label(rec.reads[0]))
