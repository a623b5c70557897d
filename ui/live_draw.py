"""The live Draw component: a drawing pad whose digit runs through every model and the classifier in the browser.

The component (components/live_draw, a Streamlit components-v1 iframe) is served from the workspace's export folder
(``site`` assembles it, ``onnx_files`` keeps every serving checkpoint there as ONNX, named by weights hash). The page
hands it a small manifest (names, hashes, file names) on each rerun; the browser fetches a model file once and keeps
it. While the pen moves nothing reaches the server: the component sends a value only when the student hands the
digit to the lab ("Use in the lab"), or once to say that live mode cannot run in this browser.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from ae.export import onnx_files, site
from ae.storage import checkpoints
from ui import state

FALLBACK_KEY = "live_fallback"  # why live mode cannot run in this session's browser, once it said so


@st.cache_resource
def _component(path: str):
    return components.declare_component("live_draw", path=path)


@st.cache_resource(max_entries=8, show_spinner=False)
def _prepare(root: str, keys: tuple[str, ...], registry_ref: str) -> dict:
    """Install the page and runtime into ``root`` and export every serving checkpoint there: once per set of
    checkpoints (``keys`` change with any retrain or reset)."""
    from pathlib import Path

    info = site.install_frontend(Path(root))
    with state.one_core():  # the exporter is heavy: it waits its turn like any other page work
        done, failed = onnx_files.export_all(state.folders(), state.registry(), Path(root) / "models")
    return site.page_manifest(done, info, failed)


def manifest() -> dict | None:
    """The manifest for this version of every model, or None (with a note on the page) when live mode cannot run."""
    classifier = state._classifier_folder()
    keys = (*state.fingerprints(), classifier, checkpoints.fingerprint(onnx_files.CLASSIFIER, classifier))
    try:
        with st.spinner("Preparing the models for your browser (once per model version, a few seconds each) ..."):
            return _prepare(str(onnx_files.export_home()), keys, state.registry_key())
    except site.RuntimeMissing as e:
        st.info(f"Live mode is off: {e}. Computing on the server.", icon=":material/cloud:")
        return None


ENABLE_ENV = "AELAB_LIVE_DRAW"  # "0": the Draw page computes on the server only (tests of the server path)


def enabled() -> bool:
    import os

    return os.environ.get(ENABLE_ENV, "1") != "0"


def available() -> bool:
    """Whether live mode is enabled here and this session's browser has not reported that it cannot run it."""
    return enabled() and not st.session_state.get(FALLBACK_KEY)


def live_draw(key: str = "live-draw") -> np.ndarray | None:
    """Show the live pad; returns the 28x28 digit the student last handed to the lab, else None. Falls back (the
    next rerun computes on the server) when the browser reports it cannot run the models."""
    man = manifest()
    if man is None:
        st.session_state[FALLBACK_KEY] = "onnxruntime-web is not installed"
        st.rerun()
    value = _component(str(onnx_files.export_home()))(manifest=man, key=key, default=None)
    if isinstance(value, dict) and value.get("fallback"):
        st.session_state[FALLBACK_KEY] = str(value["fallback"])[:200]
        st.rerun()
    digit = value.get("digit") if isinstance(value, dict) else None
    if not isinstance(digit, list) or len(digit) != 784:
        return None
    arr = np.asarray(digit, dtype=np.float32).reshape(28, 28)
    return np.nan_to_num(arr).clip(0.0, 1.0) if np.isfinite(arr).all() else None
