"""The dataset a session works on, MNIST's digits or Fashion-MNIST's clothes: from a link's ``data=`` or the
sidebar's picker. Every page then lists that dataset's models and shows its test images (``ui.state``)."""

from __future__ import annotations

import streamlit as st

from ae.data.datasets import DATASETS, DEFAULT
from ui import i18n, state, view
from ui.i18n import t

PARAM = "data"
_PICKER = "dataset_picker"
_REFUSED = "_aelab_dataset_refused"  # a dataset that was asked for but is not installed


def _switch(key: str) -> bool:
    """Make ``key`` this session's dataset, if it is installed; else keep the current one and say why."""
    if DATASETS[key].missing():
        st.session_state[_REFUSED] = key
        return False
    st.session_state[state.DATASET_KEY] = key  # a picker holding the other dataset's model falls back to its first
    return True


def from_link() -> None:
    """Apply a just-opened link's ``data=``: first in a run, before anything reads the registry (it draws nothing:
    ``in_link`` writes the choice back once the run's view has begun)."""
    value = view.incoming(PARAM)
    if value is not None:
        if value in DATASETS:
            _switch(value)
        else:
            view.note(PARAM, value, t("datasets.known", keys=", ".join(DATASETS)))


def in_link() -> None:
    """Keep this session's dataset in the URL (MNIST, the default, needs no parameter)."""
    view.write(PARAM, None if state.dataset() == DEFAULT else state.dataset())


def _picked() -> None:
    if not _switch(st.session_state[_PICKER]):
        st.session_state[_PICKER] = state.dataset()


def picker() -> None:
    """The sidebar's dataset picker; a dataset that is not installed is refused with the sentence that says how to
    install it."""
    st.session_state[_PICKER] = state.dataset()
    st.selectbox(
        t("datasets.picker"), list(DATASETS), format_func=i18n.held(lambda k: t(f"dataset.{k}")), key=_PICKER,
        on_change=_picked, help=t("datasets.picker_help"),
    )  # fmt: skip
    if key := st.session_state.pop(_REFUSED, None):
        st.warning(t(f"datasets.missing.{key}"), icon=":material/dataset:")


def title() -> str:
    """This session's dataset, named in its language."""
    return t(f"dataset.{state.dataset()}")


def t_item(key: str, **values) -> str:
    """``key``'s words for this session's dataset: ``key`` itself for MNIST's digits, ``<key>.<dataset>`` else."""
    return t(key if state.dataset() == DEFAULT else f"{key}.{state.dataset()}", **values)


def label(y: int) -> str:
    """Label ``y`` of this session's dataset in words: the digit itself, or a piece of clothing."""
    return str(y) if state.dataset() == DEFAULT else t(f"class.{state.dataset()}.{int(y)}")
