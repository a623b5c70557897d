"""The dataset a session works on, MNIST's digits or Fashion-MNIST's clothes: from a link's ``data=`` or the
sidebar's picker. Every page then lists that dataset's models and shows its test images (``ui.state``)."""

from __future__ import annotations

import streamlit as st

from ae.data.datasets import DATASETS, DEFAULT
from ui import state, view

PARAM = "data"
_PICKER = "dataset_picker"
_REFUSED = "_aelab_dataset_refused"  # the sentence for a dataset that was asked for but is not installed


def _switch(key: str) -> bool:
    """Make ``key`` this session's dataset, if it is installed; else keep the current one and say why."""
    if why := DATASETS[key].missing():
        st.session_state[_REFUSED] = why
        return False
    if key != state.dataset():
        st.session_state[state.DATASET_KEY] = key
        st.session_state.pop("model", None)  # the picked model belongs to the other dataset
    return True


def from_link() -> None:
    """Apply a just-opened link's ``data=`` (before anything reads the registry), then write the choice back."""
    value = view.incoming(PARAM)
    if value is not None:
        if value in DATASETS:
            _switch(value)
        else:
            view.note(PARAM, value, f"the datasets are {', '.join(DATASETS)}")
    view.write(PARAM, None if state.dataset() == DEFAULT else state.dataset())


def _picked() -> None:
    if not _switch(st.session_state[_PICKER]):
        st.session_state[_PICKER] = state.dataset()


def picker() -> None:
    """The sidebar's dataset picker; a dataset that is not installed is refused with the sentence that says how to
    install it."""
    st.session_state[_PICKER] = state.dataset()
    st.selectbox(
        "Dataset", list(DATASETS), format_func=lambda k: DATASETS[k].title, key=_PICKER, on_change=_picked,
        help="Which images every page works on: the models that learned them and their test set.",
    )  # fmt: skip
    view.write(PARAM, None if state.dataset() == DEFAULT else state.dataset())
    if why := st.session_state.pop(_REFUSED, None):
        st.warning(why, icon=":material/dataset:")


def title() -> str:
    return DATASETS[state.dataset()].title


def item() -> str:
    """What one image of this session's dataset is called: "digit", "picture"."""
    return DATASETS[state.dataset()].item
