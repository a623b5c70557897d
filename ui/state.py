"""Shared app state: the cached data, models, table and the one background trainer per server.

The app reads each model from the folder that serves it (``checkpoints.Folders``: the workspace's checkpoint when
it has a usable one, else the shipped one) and trains only into the workspace. Every cache below is keyed on the
serving folder and its files' fingerprint, so a retrain is picked up and a reset goes back to the shipped model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
import streamlit as st
import torch

from ae.compression import rd
from ae.data import noise
from ae.data.datasets import DATASETS, DEFAULT, load_dataset
from ae.data.mnist import Mnist
from ae.export import onnx_files
from ae.export.background import EXPORTS
from ae.measure import explore
from ae.measure.compare import comparison_table
from ae.measure.familiarity import Familiarity, per_image_errors
from ae.measure.metrics import evaluate, measure_code, psnr, reconstruct, ssim
from ae.models.specs import ModelSpec
from ae.runtime import workspace
from ae.runtime.allocator import keep_freed_memory
from ae.runtime.cores import CORES, torch_threads
from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY_ENV, active_registry, built, readers
from ae.storage.catalogue import reader as reader_of
from ae.training import reproduce
from ae.training.queue import Trainer
from ui import charts, i18n

# The shipped folder, when it is not the repository's (tests, a deployment that keeps the models elsewhere). It is
# only read; the app trains into the workspace (AELAB_HOME).
CHECKPOINTS_ENV = "AELAB_CHECKPOINTS"
keep_freed_memory()  # every session's inference and the background trainer run in this process


DATASET_KEY = "aelab_dataset"  # this session's dataset (ui.datasets sets it from the sidebar or a link)


def dataset() -> str:
    """The dataset this session works on: every page shows its models and its test images."""
    key = st.session_state.get(DATASET_KEY, DEFAULT)
    return key if key in DATASETS else DEFAULT


def registry() -> dict[str, ModelSpec]:
    """The models of this session's dataset, shipped and built: what every page lists."""
    return {name: spec for name, spec in active_registry().items() if spec.dataset == dataset()}


def registry_key() -> str:
    """Changes whenever the registry does (another test registry, a model built or deleted in the lab) or the
    session's dataset: a cache key for everything computed from it."""
    # The specs' repr holds every field (architecture, recipe, notes): a tenth of a millisecond, on every lookup.
    digest = hashlib.sha256(repr(active_registry()).encode()).hexdigest()[:16]
    return f"{os.environ.get(REGISTRY_ENV)}|{digest}|{dataset()}"


def spec_problems() -> dict[str, str]:
    """Spec files in the workspace that are left out, and why."""
    return built()[1]


def shipped_dir() -> str:
    return os.environ.get(CHECKPOINTS_ENV) or str(checkpoints.SHIPPED_DIR)


def checkpoint_dir() -> str:
    """The folder the app trains into and removes from ("Reset to shipped"): the workspace's checkpoints."""
    return str(workspace.checkpoint_dir(create=False))


def folders() -> checkpoints.Folders:
    return checkpoints.Folders(shipped_dir(), checkpoint_dir())


def resolved(name: str) -> tuple[str, str]:
    """(folder, origin) of the checkpoint serving ``name``: origin is "shipped" or "retrained <date>"."""
    folder, origin = folders().resolve(name, registry())
    return str(folder), origin


def checkpoint_key(name: str) -> str:
    """Changes when the checkpoint serving ``name`` changes, or another folder starts serving it."""
    folder, _ = resolved(name)
    return f"{folder}|{checkpoints.fingerprint(name, folder)}"


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """Heavy page work waits its turn for a core in the same line as training runs, and keeps to that one core, so
    that it never slows a run (or every student's strokes) by oversubscribing the machine."""
    with CORES.hold(1), torch_threads(1):
        yield


_COMPUTED: set[tuple] = set()  # what ``busy`` has seen computed in this process


@contextlib.contextmanager
def busy(key: str, *args) -> Iterator[None]:
    """A spinner saying ``key`` (in the session's language) while a cached value for ``args`` is computed the first
    time: a cache's own spinner text is fixed when the module loads, in one language. After an eviction the value is
    computed again without one."""
    if (key, *args) in _COMPUTED:
        yield
        return
    with st.spinner(i18n.t(key)):
        yield
    _COMPUTED.add((key, *args))


@st.cache_resource(show_spinner=False)
def dataset_images(key: str) -> Mnist:
    """Dataset ``key``'s images, loaded once per server."""
    return load_dataset(key)


def data() -> Mnist:
    """This session's dataset: MNIST's digits, or Fashion-MNIST's pictures."""
    with busy("state.loading_images", dataset()):
        return dataset_images(dataset())


LIVE_ENV = "AELAB_LIVE_DRAW"  # "0": the Draw page computes on the server only (tests of the server path)


def live_enabled() -> bool:
    return os.environ.get(LIVE_ENV, "1") != "0"


def export_soon(name: str, key: str | None = None) -> None:
    """Export ``name`` for the browser on the export thread (``key``: once per key), waiting for a core like any
    heavy page work: no page visit waits for it."""

    def job() -> None:
        with one_core():
            specs = {**registry(), **readers()}
            onnx_files.export_one(name, folders(), specs, onnx_files.models_dir())

    EXPORTS.submit(key, job)


def _export(name: str) -> None:
    """A freshly trained model goes to the export thread (when live Draw is on)."""
    if live_enabled():
        export_soon(name)


@st.cache_resource
def _trainer(directory: str, registry_ref: str | None) -> Trainer:
    return Trainer(dataset_images, active_registry, directory, after=_export)


def trainer() -> Trainer:
    """One per server (shared by every browser session), writing into the workspace; keyed so that tests with
    another registry or workspace get their own."""
    return _trainer(checkpoint_dir(), os.environ.get(REGISTRY_ENV))  # not the lab's models: they join it live


@st.cache_data
def _code_shapes(registry_ref: str) -> dict[str, str]:
    return {name: measure_code(spec.build()).shape_text for name, spec in active_registry().items()}


def code_shapes() -> dict[str, str]:
    """Each model's code shape, measured by running its (untrained) encoder once."""
    return _code_shapes(registry_key())


def fingerprints() -> tuple[str, ...]:
    return tuple(checkpoint_key(name) for name in registry())


@st.cache_resource(max_entries=64)
def _load(name: str, directory: str, fingerprint: str, registry_ref: str):
    try:
        model, meta = checkpoints.load(name, directory, active_registry())
        return model, meta, None
    except checkpoints.CheckpointError as e:
        return None, None, e


def model(name: str):
    """(model, sidecar, error) for ``name`` from the folder serving it; reloaded exactly when that changes."""
    folder, _ = resolved(name)
    return _load(name, folder, checkpoints.fingerprint(name, folder), registry_key())


def origin(name: str) -> str:
    """Where the model of ``name`` comes from: "shipped" or "retrained <date>"."""
    return resolved(name)[1]


@st.cache_data(show_spinner=False, max_entries=16)
def _table(source: tuple[str, str], keys: tuple[str, ...], data_fingerprint: str, registry_ref: str):
    # Quality as recorded at training (on these test digits); `python -m ae eval` measures it again.
    return comparison_table(data(), checkpoints.Folders(*source), active_registry(), measure=False)


def _source() -> tuple[str, str]:
    return shipped_dir(), checkpoint_dir()


def table() -> pd.DataFrame:
    """The comparison table, recomputed exactly when some serving checkpoint changes."""
    args = (_source(), fingerprints(), data().fingerprint, registry_key())
    with busy("state.reading_checkpoints", *args):
        return _table(*args)


@st.cache_resource(max_entries=16)
def _compare_figure(
    source: tuple[str, str], keys: tuple[str, ...], data_fingerprint: str, registry_ref: str, lang: str
):
    return charts.compare_figure(_table(source, keys, data_fingerprint, registry_ref))  # its labels in ``lang``


def compare_figure():
    """The Compare page's chart, built once per table (building it took about 2/3 of a cached rerun)."""
    return _compare_figure(_source(), fingerprints(), data().fingerprint, registry_key(), i18n.current())


@st.cache_resource(max_entries=64, show_spinner=False)
def _familiarity(name: str, key: str, registry_ref: str) -> Familiarity | None:
    with contextlib.suppress(checkpoints.CheckpointError, onnx_files.ExportError):
        found = onnx_files.find_one(name, folders(), active_registry(), onnx_files.models_dir())
        if found.familiarity:
            return Familiarity(tuple(found.familiarity))
    m = model(name)[0]
    if m is None:
        return None
    with one_core():
        return Familiarity.of(per_image_errors(m, dataset_images(active_registry()[name].dataset).test_images()))


def familiarity(name: str) -> Familiarity | None:
    """``name``'s errors on its test set, to place an input among them, once per checkpoint: from its browser files
    when they are made (setup makes the shipped models'), else measured here."""
    key = checkpoint_key(name)
    with busy("state.measuring_familiarity", name, key):
        return _familiarity(name, key, registry_key())


def presenter() -> bool:
    return bool(st.session_state.get("presenter"))


def usable() -> list[str]:
    """Every registry model whose checkpoint loads, in registry order: what each page's model picker offers."""
    return [n for n in registry() if model(n)[0] is not None]


def test_digit(index: int) -> tuple:
    """Test digit ``index`` as a (28, 28) float image in [0, 1], and its label."""
    d = data()
    return d.test_x[index].astype(np.float32) / 255.0, int(d.test_y[index])


@st.cache_data(max_entries=64, show_spinner=False)
def _denoise_scores(names: tuple[str, ...], kind: str, level: float, keys: tuple[str, ...], lang: str) -> list[dict]:
    clean = data().test_images()[:1000]
    loaded = [(name, model(name)[0]) for name in names]
    with one_core():
        noisy = noise.corrupt(clean, kind, level, seed=0)
        rows = [
            {
                "model": i18n.t("denoise.noisy_input"),
                "PSNR (dB)": psnr(float(torch.mean((noisy - clean) ** 2))),
                "SSIM": float(ssim(noisy, clean).mean()),
            }
        ]
        for name, m in loaded:
            q = evaluate(m, clean, inputs=noisy)
            rows.append({"model": name, "PSNR (dB)": q.psnr, "SSIM": q.ssim})
    return rows


def denoise_scores(names: tuple[str, ...], kind: str, level: float) -> list[dict]:
    """Mean quality of each model's output on the first 1,000 test digits with this noise added."""
    args = (names, kind, level, tuple(checkpoint_key(n) for n in names), i18n.current())
    with busy("state.scoring_noisy", *args):
        return _denoise_scores(*args)


@st.cache_data(max_entries=32, show_spinner=False)
def _ranking(name: str, key: str):
    m, d = model(name)[0], data()
    with one_core():
        return explore.rank_errors(m, d.test_images(), d.test_y)


def error_ranking(name: str):
    """Per-digit test error for ``name``, best first, with the per-class mean."""
    key = checkpoint_key(name)
    with busy("state.ranking", name, key):
        return _ranking(name, key)


def reconstructions(name: str, indices: tuple[int, ...]):
    images = data().test_images()[list(indices)]
    return reconstruct(model(name)[0], images)[:, 0].numpy()


LATENT_DIGITS = 2000


@st.cache_data(max_entries=32, show_spinner=False)
def _latent(name: str, key: str) -> dict:
    m, images = model(name)[0], data().test_images()[:LATENT_DIGITS]
    with one_core():
        z = explore.codes(m, images)
        proj = explore.fit_projection(z)
        xy = proj(z)
    return {
        "xy": xy, "labels": data().test_y[:LATENT_DIGITS], "index": list(range(LATENT_DIGITS)),
        "explained": proj.explained, "projection": proj,
    }  # fmt: skip


def latent_map(name: str) -> dict:
    """2-D PCA coordinates of the first 2,000 test digits' codes under ``name``, with their labels."""
    key = checkpoint_key(name)
    with busy("state.encoding_test", name, key):
        return _latent(name, key)


def project_digit(name: str, digit: np.ndarray) -> np.ndarray:
    z = explore.codes(model(name)[0], torch.from_numpy(np.asarray(digit, dtype=np.float32)).reshape(1, 1, 28, 28))
    return latent_map(name)["projection"](z)[0]


def reproducibility(name: str) -> dict | None:
    """The last `python -m ae reproduce` result for the checkpoint that serves ``name`` now, if any: the CLI keeps
    its checks in the workspace (the shipped folder holds those of the shipped models)."""
    return reproduce.current(name, resolved(name)[0], (checkpoint_dir(), shipped_dir()))


def reader() -> ModelSpec | None:
    """The reference reader of this session's images (its catalogue entry), or None when they have none."""
    return reader_of(dataset())


def reader_key() -> tuple[str, str]:
    """The folder and the fingerprint of the checkpoint that serves this session's reader ("-" without one)."""
    spec = reader()
    if spec is None:
        return "-", "-"
    folder = str(folders().resolve(spec.name, {spec.name: spec})[0])
    return folder, checkpoints.fingerprint(spec.name, folder)


def _rd_keys() -> tuple[str, ...]:
    stored = [f"{f.stat().st_mtime_ns}" if f.exists() else "-" for f in rd.stored_files(folders())]
    return (*fingerprints(), dataset(), *reader_key(), *stored)


@st.cache_data(max_entries=4, show_spinner=False)
def _rd(source: tuple[str, str], keys: tuple[str, ...], registry_ref: str):
    try:
        # Stored points are read at once; only a measurement waits for a core.
        return rd.rd_table(data(), checkpoints.Folders(*source), active_registry(), budget=one_core)
    except checkpoints.CheckpointError:
        return None


def rd_table():
    """Every rate-distortion point (stored points read, missing or outdated ones measured and kept in the
    workspace); None when the reference classifier is missing."""
    args = (_source(), _rd_keys(), registry_key())
    with busy("state.measuring_rd", *args):
        return _rd(*args)


def rd_findings() -> list[str]:
    table = rd_table()
    return [] if table is None else rd.findings(table)


def decoder_sizes() -> list[dict]:
    return [
        {"model": n, "decoder parameters": (p := s.build().decoder_parameters()), "decoder bytes (float32)": 4 * p}
        for n, s in registry().items()
    ]


@st.cache_resource
def _classifier(name: str, directory: str, key: str):
    try:
        return checkpoints.load(name, directory, {name: readers()[name]})[0]
    except checkpoints.CheckpointError:
        return None


def classifier():
    """The reference reader of this session's images (digits, clothes, ...), or None if they have none or its
    checkpoint is missing."""
    spec = reader()
    return None if spec is None else _classifier(spec.name, *reader_key())
