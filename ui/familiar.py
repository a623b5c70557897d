"""How familiar is this? An input's error for a model, placed among that model's errors on its test set
(``ae.measure.familiarity``): a drawing unlike anything the model learned comes back with an unusually large error."""

from __future__ import annotations

import streamlit as st

from ae.measure.familiarity import UNFAMILIAR, kind
from ui import datasets, state
from ui.i18n import t


def share(name: str, mse: float) -> float | None:
    """The share of ``name``'s test images it reconstructs better than this input (None: not measurable)."""
    fam = state.familiarity(name)
    return None if fam is None else fam.percentile(mse)


def percent(p: float) -> str:
    """A percentile as the sentences write it: a tenth of a percent where an input is flagged."""
    return f"{p * 100:.1f}" if p >= UNFAMILIAR else f"{p * 100:.0f}"


def verdict(name: str, mse: float) -> None:
    """The plain sentence for ``name``'s error on this input, flagged when the input is unfamiliar."""
    p = share(name, mse)
    if p is None:
        return
    text = f"**{t('familiar.question', name=name)}** {datasets.t_item(f'familiar.{kind(p)}', pct=percent(p))}"
    if p >= UNFAMILIAR:
        st.warning(text, icon=":material/help:")
    else:
        st.info(text, icon=":material/check_circle:")


def short(name: str, mse: float) -> str:
    """The same in a few words, for a tile's caption ("" when not measurable)."""
    p = share(name, mse)
    if p is None:
        return ""
    return (
        t("familiar.short_unfamiliar") if p >= UNFAMILIAR else datasets.t_item("familiar.short", pct=f"{p * 100:.0f}")
    )


def words() -> dict:
    """What the live pad needs to say the same in this session's language: its thresholds and sentences."""
    keys = ("unfamiliar", "unusual", "familiar", "short")
    said = {k: datasets.t_item(f"familiar.{k}", pct="{pct}") for k in keys}
    return {
        **said,
        "short_unfamiliar": t("familiar.short_unfamiliar"),
        "question": t("familiar.question", name="{name}"),
    }
