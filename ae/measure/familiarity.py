"""How familiar is this? An input's reconstruction error, placed among the model's errors on its test set.

A model reconstructs pictures like those it learned well and anything else badly, so the error is a score of how
unusual an input is to that model. As a percentile of the test set's errors it reads plainly: "less familiar than
99 % of test digits". ``auroc`` says how well the score tells another dataset from the model's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ae.models.batching import cat_batches

# The levels at which a model's test errors are kept: every 1 % and, where inputs get flagged, every 0.1 % then
# 0.01 %: 119 numbers a model instead of 10,000, yet exact to a tenth of a percent where it matters.
LEVELS = tuple(
    round(float(p), 4) for p in [*np.arange(0, 99) / 100, *np.arange(990, 999) / 1000, *np.arange(9990, 10001) / 10000]
)
UNFAMILIAR = 0.99  # above this percentile an input is flagged as unlike the training data
UNUSUAL = 0.90


def per_image_errors(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Each image's mean squared reconstruction error (float64)."""

    def errors(x: torch.Tensor) -> torch.Tensor:
        return (model(x) - x).pow(2).flatten(1).mean(1)

    return cat_batches(errors, model, images).double().numpy()


@dataclass(frozen=True)
class Familiarity:
    """A model's test errors at ``LEVELS``: enough to place any error among them."""

    errors: tuple[float, ...]

    @classmethod
    def of(cls, test_errors: np.ndarray) -> Familiarity:
        return cls(tuple(float(e) for e in np.quantile(np.asarray(test_errors, float), LEVELS)))

    def percentile(self, error: float) -> float:
        """The share of test images (0 to 1) the model reconstructs better than one with this error."""
        return float(np.interp(error, self.errors, LEVELS, left=0.0, right=1.0))

    def as_dict(self) -> dict:
        return {"levels": list(LEVELS), "errors": [round(e, 8) for e in self.errors]}


# The words for a percentile, by how unusual the input is; the live pad fills them in too (``words``).
WORDS = {
    "unfamiliar": "Unfamiliar: less familiar than {pct}% of test {item}s, not like what this model learned.",
    "unusual": "Unusual: less familiar than {pct}% of test {item}s.",
    "familiar": "Familiar: like the test {item}s (less familiar than {pct}% of them).",
    "short": "rarer than {pct}% of test {item}s",  # under a small picture
    "short_unfamiliar": "unfamiliar",
    "question": "How familiar is this to {name}?",
}


def kind(share: float) -> str:
    return "unfamiliar" if share >= UNFAMILIAR else "unusual" if share >= UNUSUAL else "familiar"


def words(item: str) -> dict:
    """What the live pad needs to say the same: the levels, the thresholds and the words for ``item``s."""
    filled = {k: w.replace("{item}", item) for k, w in WORDS.items()}
    return {"levels": list(LEVELS), "unfamiliar": UNFAMILIAR, "unusual": UNUSUAL, "words": filled}


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """How often an ``outside`` image scores above an ``inside`` one (ties count half): 1 is a perfect detector of
    the other dataset, 0.5 a coin. The Mann-Whitney statistic, from ranks."""
    scores = np.concatenate([inside, outside])
    _, which, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[which]  # 1-based, the mean rank for tied scores
    n_in, n_out = len(inside), len(outside)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out))


@dataclass(frozen=True)
class Detection:
    """How well a model's error tells another dataset's test images from its own."""

    auroc: float
    flagged: float  # the share of the other dataset's images above the model's UNFAMILIAR percentile
    false_alarms: float  # the share of its own test images above it (about 1 - UNFAMILIAR, by construction)


def detection(model: nn.Module, own: torch.Tensor, other: torch.Tensor) -> Detection:
    inside, outside = per_image_errors(model, own), per_image_errors(model, other)
    threshold = np.quantile(inside, UNFAMILIAR)
    return Detection(auroc(inside, outside), float((outside > threshold).mean()), float((inside > threshold).mean()))
