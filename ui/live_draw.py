"""The live Draw component: a drawing pad whose digit runs through every model and the classifier in the browser.

The component (components/live_draw, a Streamlit components-v1 iframe) is served from the workspace's export folder
(``site`` assembles it). A visit exports nothing: the shipped models' ONNX files were made by ``scripts/setup.sh``
(``python -m ae export --shipped``) and are linked in; a retrained or newly built model is exported after its
training, or else queued here on a thread of its own, and the browser picks its files up when they appear. The page
hands the component a small manifest (names, hashes, file names) on each rerun; the browser fetches a model file once
and keeps it. While the pen moves nothing reaches the server: the component sends a value only when the student hands
the digit to the lab ("Use in the lab"), or once to say that live mode cannot run in this browser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from ae.export import onnx_files, site
from ui import datasets, familiar, i18n, state

FALLBACK_KEY = "live_fallback"  # why live mode cannot run in this session's browser, once it said so


@st.cache_resource
def _component(path: str):
    return components.declare_component("live_draw", path=path)


@st.cache_resource(max_entries=8, show_spinner=False)
def _install(root: str) -> dict | None:
    return site.install_frontend(Path(root))


def manifest(picked: str | None = None) -> dict:
    """The manifest for this version of every model: ready ones with their files, the rest "pending" (queued for
    export here), the images' reader and its class names, and which models the strip shows first."""
    info, reg, reader = _install(str(onnx_files.export_home())), state.registry(), state.reader()
    ready, pending, failed = onnx_files.find_all(state.folders(), reg, onnx_files.models_dir(), reader)
    for e in pending:
        state.export_soon(e.name, key=f"{e.name}-{e.sha}")
    order = {name: i for i, name in enumerate(reg)}
    models = sorted(ready + pending, key=lambda e: order.get(e.name, len(order)))
    shown = site.shown_first(reg) | ({picked} if picked else set())
    man = site.page_manifest(models, info, failed, shown, reader.name if reader else None)
    man["familiarity"]["words"] = familiar.words()  # in this session's language, for this dataset's images
    man["classes"] = [datasets.label(i) for i in range(10)]  # what the reader's answers are called
    return {**man, "picked": picked if picked in reg else None}


def enabled() -> bool:
    return state.live_enabled()


def available() -> bool:
    """Whether live mode is enabled here and this session's browser has not reported that it cannot run it."""
    return enabled() and not st.session_state.get(FALLBACK_KEY)


def live_draw(key: str = "live-draw", picked: str | None = None) -> np.ndarray | None:
    """Show the live pad; returns the 28x28 digit the student last handed to the lab, else None. Falls back (the
    next rerun computes on the server) when the browser reports it cannot run the models."""
    man = manifest(picked)  # first: it installs the folder the component is declared on
    text, lang = i18n.templates("live."), i18n.current()  # the pad's words, in the student's language
    value = _component(str(onnx_files.export_home()))(manifest=man, text=text, lang=lang, key=key, default=None)
    if isinstance(value, dict) and value.get("fallback"):
        st.session_state[FALLBACK_KEY] = str(value["fallback"])[:200]
        st.rerun()
    digit = value.get("digit") if isinstance(value, dict) else None
    if not isinstance(digit, list) or len(digit) != 784:
        return None
    arr = np.asarray(digit, dtype=np.float32).reshape(28, 28)
    return np.nan_to_num(arr).clip(0.0, 1.0) if np.isfinite(arr).all() else None
