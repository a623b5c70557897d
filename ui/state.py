"""Shared app state: the cached data, models, table and the one background trainer per server."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from ae import checkpoints
from ae.background import Trainer
from ae.compare import comparison_table
from ae.data import Mnist, load_mnist
from ae.metrics import measure_code
from ae.registry import REGISTRY_ENV, ModelSpec, active_registry

CHECKPOINTS_ENV = "AELAB_CHECKPOINTS"


def registry() -> dict[str, ModelSpec]:
    return active_registry()


def checkpoint_dir() -> str:
    return os.environ.get(CHECKPOINTS_ENV) or str(checkpoints.DEFAULT_DIR)


@st.cache_resource(show_spinner="Loading MNIST ...")
def data() -> Mnist:
    return load_mnist()


@st.cache_resource
def _trainer(directory: str, registry_ref: str | None) -> Trainer:
    return Trainer(data, active_registry(), directory)


def trainer() -> Trainer:
    """One per server (shared by every browser session), keyed so tests with another registry get their own."""
    return _trainer(checkpoint_dir(), os.environ.get(REGISTRY_ENV))


@st.cache_data
def _code_shapes(registry_ref: str | None) -> dict[str, str]:
    return {name: measure_code(spec.build()).shape_text for name, spec in active_registry().items()}


def code_shapes() -> dict[str, str]:
    """Each model's code shape, measured by running its (untrained) encoder once."""
    return _code_shapes(os.environ.get(REGISTRY_ENV))


def fingerprints() -> tuple[str, ...]:
    d = checkpoint_dir()
    return tuple(checkpoints.fingerprint(name, d) for name in registry())


@st.cache_resource(max_entries=64)
def _load(name: str, directory: str, fingerprint: str, registry_ref: str | None):
    try:
        model, meta = checkpoints.load(name, directory, active_registry())
        return model, meta, None
    except checkpoints.CheckpointError as e:
        return None, None, e


def model(name: str):
    """(model, sidecar, error) for ``name``; reloaded exactly when its checkpoint files change."""
    d = checkpoint_dir()
    return _load(name, d, checkpoints.fingerprint(name, d), os.environ.get(REGISTRY_ENV))


@st.cache_data(show_spinner="Measuring every model on the 10,000 test digits ...", max_entries=16)
def _table(directory: str, keys: tuple[str, ...], data_fingerprint: str, registry_ref: str | None) -> pd.DataFrame:
    return comparison_table(data(), directory, active_registry())


def table() -> pd.DataFrame:
    """The comparison table, recomputed exactly when some checkpoint changes."""
    return _table(checkpoint_dir(), fingerprints(), data().fingerprint, os.environ.get(REGISTRY_ENV))
