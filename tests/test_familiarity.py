"""How familiar is this? An input's error among the model's test errors: the percentile, the words, the AUROC of the
score, and the real thing: letters drawn on the pad are unfamiliar to the default digit model, digits are not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from ae.data import fashion
from ae.data.datasets import load_dataset
from ae.data.preprocess import CANVAS_SIZE, CANVAS_STROKE, canvas_to_mnist
from ae.measure import familiarity
from ae.measure.familiarity import UNFAMILIAR, Familiarity, auroc, detection, per_image_errors
from ae.measure.one_digit import reconstruct_digit
from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = next(iter(REGISTRY))  # the first of the registry: what the Draw page picks when nothing is asked


def test_auroc_counts_pairs_and_ties_like_the_definition():
    rng = np.random.default_rng(0)
    inside, outside = rng.normal(size=300).round(1), (rng.normal(size=200) + 1).round(1)
    pairs = np.mean([(o > i) + 0.5 * (o == i) for i in inside for o in outside])
    assert auroc(inside, outside) == pytest.approx(pairs, abs=1e-12)
    assert auroc(inside, inside) == pytest.approx(0.5) and auroc(np.zeros(3), np.ones(2)) == 1.0


def test_the_percentile_places_an_error_among_the_test_errors():
    errors = np.random.default_rng(1).exponential(size=10_000)
    fam = Familiarity.of(errors)
    for e in (0.05, 0.7, 2.0, 4.0):
        assert fam.percentile(e) == pytest.approx((errors < e).mean(), abs=0.002)
    assert fam.percentile(-1) == 0.0 and fam.percentile(1e9) == 1.0
    assert len(fam.as_dict()["errors"]) == len(familiarity.LEVELS) < 200  # small enough for the live pad


@pytest.mark.parametrize(
    ("share", "kind"), [(0.997, "unfamiliar"), (0.99, "unfamiliar"), (0.93, "unusual"), (0.4, "familiar")]
)
def test_the_words_say_how_unusual_the_input_is(share, kind):
    assert familiarity.kind(share) == kind


def test_the_offline_pad_s_words_are_the_app_s_english_ones():
    """The offline edition has no catalogue: ae's English words must be the catalogue's, for digits."""
    english = json.loads((ROOT / "ui" / "locales" / "en.json").read_text())
    for key, words in familiarity.words("digit")["words"].items():
        assert english[f"familiar.{key}"] == words, key


def test_draw_says_how_familiar_a_test_digit_is():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["digit"] = "3"
    at.run()
    said = [i.value for i in at.info if "How familiar is this to" in i.value]
    assert said and said[0].startswith(f"**How familiar is this to {DEFAULT_MODEL}?** Familiar: like the test digits")


LETTERS = {  # pen strokes on the 256-pixel pad, as a student draws capitals
    "A": [[(60, 220), (128, 40), (196, 220)], [(90, 150), (166, 150)]],
    "H": [[(70, 40), (70, 220)], [(186, 40), (186, 220)], [(70, 130), (186, 130)]],
    "K": [[(80, 40), (80, 220)], [(190, 40), (80, 140), (190, 220)]],
    "M": [[(50, 220), (60, 40), (128, 160), (196, 40), (206, 220)]],
    "W": [[(40, 40), (80, 220), (128, 100), (176, 220), (216, 40)]],
    "E": [[(180, 40), (80, 40), (80, 220), (180, 220)], [(80, 130), (160, 130)]],
    "R": [[(80, 220), (80, 40), (170, 50), (170, 120), (80, 130), (180, 220)]],
    "X": [[(60, 40), (196, 220)], [(196, 40), (60, 220)]],
}
DIGITS = {
    "1": [[(128, 30), (128, 226)]],
    "7": [[(60, 40), (196, 40), (110, 226)]],
    "4": [[(160, 226), (160, 30), (60, 160), (200, 160)]],
    "0": [[(128, 30), (70, 80), (64, 170), (128, 226), (190, 170), (186, 80), (128, 30)]],
}


def _drawn(strokes: list) -> np.ndarray:
    """The 28x28 input the Draw page makes of these strokes (same pen width, same preprocessing)."""
    image = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    r = CANVAS_STROKE / 2
    for stroke in strokes:
        pen.line(stroke, fill="white", width=CANVAS_STROKE, joint="curve")
        for x, y in stroke:
            pen.ellipse([x - r, y - r, x + r, y + r], fill="white")
    return canvas_to_mnist(np.asarray(image))


@pytest.fixture(scope="module")
def default_model(mnist):
    model, _ = checkpoints.load(DEFAULT_MODEL, checkpoints.SHIPPED_DIR)
    return model, Familiarity.of(per_image_errors(model, mnist.test_images()))


def test_letters_drawn_on_the_pad_are_unfamiliar_to_the_default_model_and_digits_are_not(default_model):
    model, fam = default_model
    letters = {k: fam.percentile(reconstruct_digit(model, _drawn(s)).mse) for k, s in LETTERS.items()}
    digits = {k: fam.percentile(reconstruct_digit(model, _drawn(s)).mse) for k, s in DIGITS.items()}
    assert sum(p >= UNFAMILIAR for p in letters.values()) >= 6, letters  # measured: 7 of 8 (A is 97%, "unusual")
    assert all(p < UNFAMILIAR for p in digits.values()), digits


@pytest.mark.skipif(bool(fashion.missing()), reason="dataset-fashion-mnist is not installed (CI installs it)")
def test_the_default_model_tells_fashion_pictures_from_digits(default_model, mnist):
    model, _ = default_model
    found = detection(model, mnist.test_images()[:2000], load_dataset("fashion").test_images()[:2000])
    assert found.auroc > 0.95 and found.flagged > 0.8, found  # measured on all 10,000: 0.996 and 95%
    assert found.false_alarms == pytest.approx(1 - UNFAMILIAR, abs=0.006)
