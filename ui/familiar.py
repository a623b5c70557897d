"""How familiar is this? An input's error for a model, placed among that model's errors on its test set
(``ae.measure.familiarity``): a drawing unlike anything the model learned comes back with an unusually large error."""

from __future__ import annotations

import streamlit as st

from ae.measure import familiarity
from ae.measure.familiarity import UNFAMILIAR, sentence
from ui import datasets, state


def share(name: str, mse: float) -> float | None:
    """The share of ``name``'s test images it reconstructs better than this input (None: not measurable)."""
    fam = state.familiarity(name)
    return None if fam is None else fam.percentile(mse)


def verdict(name: str, mse: float) -> None:
    """The plain sentence for ``name``'s error on this input, flagged when the input is unfamiliar."""
    p = share(name, mse)
    if p is None:
        return
    text = f"**How familiar is this to {name}?** {sentence(p, datasets.item())}"
    if p >= UNFAMILIAR:
        st.warning(text, icon=":material/help:")
    else:
        st.info(text, icon=":material/check_circle:")


def short(name: str, mse: float) -> str:
    """The same in a few words, for a tile's caption ("" when not measurable)."""
    p = share(name, mse)
    if p is None:
        return ""
    return familiarity.short(p, datasets.item())
