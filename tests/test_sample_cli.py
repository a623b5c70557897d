"""``python -m ae sample`` writes a PNG grid of a model's samples."""

import io

import numpy as np
from PIL import Image

from ae.cli.main import main


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(path.read_bytes())))


def test_sample_writes_the_requested_grid_and_is_seeded(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", "--model", "vae-2", "-n", "12", "--out", str(out), "--seed", "3"]) == 0
    grid = _png(out)
    # 12 samples: 4 per row (a square's side, rounded up), 3 rows of 28-pixel digits with 2-pixel gaps
    assert grid.shape == (3 * 28 + 4 * 2, 4 * 28 + 5 * 2)
    assert "12 samples of vae-2 from its prior" in capsys.readouterr().out
    again = tmp_path / "again.png"
    assert main(["sample", "--model", "vae-2", "-n", "12", "--out", str(again), "--seed", "3"]) == 0
    assert out.read_bytes() == again.read_bytes()
    other = tmp_path / "other.png"
    assert main(["sample", "--model", "vae-2", "-n", "12", "--out", str(other), "--seed", "4"]) == 0
    assert not np.array_equal(_png(other), grid)


def test_a_plain_model_samples_from_its_fitted_gaussian(tmp_path, capsys):
    out = tmp_path / "plain.png"
    assert main(["sample", "--model", "linear-32", "-n", "64", "--out", str(out)]) == 0
    assert _png(out).shape == (8 * 28 + 9 * 2, 8 * 28 + 9 * 2)
    assert "Gaussian fitted to its training codes" in capsys.readouterr().out


def test_an_unknown_model_is_refused(tmp_path):
    assert main(["sample", "--model", "nope", "--out", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()
