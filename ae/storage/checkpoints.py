"""Self-describing checkpoints: ``<name>.safetensors`` (weights) plus ``<name>.json`` (everything else).

The sidecar holds the spec and recipe that rebuild the model, the seed, the data fingerprint, library versions,
device, wall time, per-epoch history, final metrics and the command that made it. Nothing here unpickles: weights
are safetensors, metadata is JSON. Both files are written atomically, and the sidecar records the weights' sha256
so a mismatched pair is caught rather than loaded.

Two folders hold checkpoints: the shipped one (the repository's ``checkpoints/``, read-only at run time) and the
workspace (``workspace``), where the app and the CLI write what they train. ``resolve`` says which one serves a
model: the workspace when its checkpoint there loads and fits the registry, else the shipped one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock
import numpy
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from ae.models.autoencoders import preferred_memory_format
from ae.models.specs import RECIPE_DEFAULTS, ModelSpec
from ae.runtime import machine as _machine
from ae.runtime import workspace as _workspace
from ae.runtime.fileio import atomic_write
from ae.runtime.workspace import SHIPPED_DIR
from ae.storage import snapshots as _snapshots
from ae.storage.catalogue import active_registry

FORMAT = "aelab-checkpoint"
VERSION = 1
SHIPPED = "shipped"


class CheckpointError(Exception):
    """A checkpoint cannot be used; ``reason`` is a short label for tables, ``detail`` says what to do."""

    reason = "unusable"

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail


class MissingCheckpoint(CheckpointError):
    reason = "missing"


class CorruptCheckpoint(CheckpointError):
    reason = "corrupt"


class StaleCheckpoint(CheckpointError):
    reason = "stale: architecture changed"


class ShapeMismatch(CheckpointError):
    reason = "wrong shapes"


class NonFiniteWeights(CheckpointError):
    reason = "NaN/inf weights"


class TrainingBusy(RuntimeError):
    """Another process holds the training lock for this model."""


def paths(name: str, directory: Path | str = SHIPPED_DIR) -> tuple[Path, Path]:
    directory = Path(directory)
    return directory / f"{name}.safetensors", directory / f"{name}.json"


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}


def save(model: nn.Module, meta: dict, spec: ModelSpec, directory: Path | str) -> dict:
    """Write weights then sidecar, each atomically. Returns the sidecar as written."""
    weights_path, meta_path = paths(spec.name, directory)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # One metadata key only: safetensors writes its metadata map in a random order, so two keys gave the same weights
    # two different files (and sha256s) about half the time. The model's name is in the sidecar.
    blob = st_save(state, metadata={"format": "pt"})
    meta = dict(meta)
    machine = {
        "machine": platform.machine(),
        "system": platform.system(),
        # The kernels torch picked (AVX2, AVX512, ...): x86_64 machines with different ones round differently.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }
    platform_fields = {**machine, **meta.pop("platform", {})}  # a training run says how many threads it used
    sidecar = {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec.arch_dict(),
        "recipe": spec.recipe_dict(),
        "seed": spec.recipe.seed,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "platform": platform_fields,
        # What a retrain must share with this run to be held to bit-identity (ae.runtime.machine).
        "rounding": _machine.fingerprint(platform_fields["threads"]),
        **meta,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
    }
    atomic_write(weights_path, blob)
    atomic_write(meta_path, (json.dumps(sidecar, indent=2, sort_keys=False) + "\n").encode())
    return sidecar


def read_sidecar(name: str, directory: Path | str = SHIPPED_DIR) -> dict:
    weights_path, meta_path = paths(name, directory)
    if not meta_path.exists() and not weights_path.exists():
        raise MissingCheckpoint(
            name, f"no checkpoint in {Path(directory)}; train it with `python -m ae train --model {name}`"
        )
    if not meta_path.exists():
        raise CorruptCheckpoint(name, f"sidecar {meta_path.name} is missing; retrain the model")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptCheckpoint(name, f"sidecar {meta_path.name} is not valid JSON ({e}); retrain the model") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("spec"), dict):
        raise CorruptCheckpoint(name, f"{meta_path.name} is not an aelab checkpoint sidecar; retrain the model")
    return meta


def update_sidecar(name: str, values: dict, directory: Path | str) -> dict:
    """Add derived fields to an existing sidecar (atomically); the weights are untouched."""
    meta = read_sidecar(name, directory)
    meta.update(values)
    atomic_write(paths(name, directory)[1], (json.dumps(meta, indent=2) + "\n").encode())
    return meta


def staleness(meta: dict, spec: ModelSpec) -> list[str]:
    """Why a checkpoint no longer matches its registry entry; empty when it is fresh."""
    why = []
    if meta.get("spec") != spec.arch_dict():
        why.append(f"architecture changed (trained as {meta.get('spec')}, registry has {spec.arch_dict()})")
    recipe = meta.get("recipe") or {}
    changed = [
        f"{k}={recipe.get(k, RECIPE_DEFAULTS.get(k))!r} (registry: {v!r})"
        for k, v in spec.recipe_dict().items()
        if k != "seed" and recipe.get(k, RECIPE_DEFAULTS.get(k)) != v  # another seed is the same recipe
    ]
    if changed:
        why.append("trained with " + ", ".join(changed))
    return why


def load(
    name: str, directory: Path | str = SHIPPED_DIR, registry: dict[str, ModelSpec] | None = None
) -> tuple[nn.Module, dict]:
    """Rebuild ``name`` from its checkpoint, validated. Raises a CheckpointError subclass saying what is wrong.

    A changed recipe still loads (the weights fit the architecture; ``staleness`` reports it); a changed
    architecture does not.
    """
    spec = (registry or active_registry()).get(name)
    if spec is None:
        raise MissingCheckpoint(name, "not in the model registry")
    meta = read_sidecar(name, directory)
    if meta.get("spec") != spec.arch_dict():
        raise StaleCheckpoint(name, f"stale, retrain: {staleness(meta, spec)[0]}")
    weights_path, _ = paths(name, directory)
    try:
        blob = weights_path.read_bytes()
    except FileNotFoundError:
        raise CorruptCheckpoint(name, f"weights file {weights_path.name} is missing; retrain the model") from None
    if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
        raise CorruptCheckpoint(
            name, f"{weights_path.name} does not match its sidecar (truncated or replaced); retrain"
        )
    try:
        state = st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise CorruptCheckpoint(name, f"{weights_path.name} is not a readable safetensors file ({e}); retrain") from e

    model = spec.build()
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        diff = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
        detail = ", ".join(f"{k}: expected {expected.get(k)}, found {found.get(k)}" for k in diff[:3])
        raise ShapeMismatch(name, f"tensor shapes do not fit the architecture ({detail}); retrain")
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise NonFiniteWeights(name, f"NaN or infinite values in {', '.join(bad)}; retrain")
    model.load_state_dict(state)
    model.to(memory_format=preferred_memory_format(model)).eval()
    return model, meta


@dataclass(frozen=True)
class Status:
    name: str
    usable: bool
    state: str  # "fresh", "stale", or the CheckpointError reason
    detail: str
    meta: dict | None


def status(name: str, directory: Path | str = SHIPPED_DIR, registry: dict[str, ModelSpec] | None = None) -> Status:
    """Load-check one checkpoint without raising: for tables, `ae info` and the app."""
    registry = registry or active_registry()
    try:
        _, meta = load(name, directory, registry)
    except CheckpointError as e:
        return Status(name, False, e.reason, e.detail, None)
    why = staleness(meta, registry[name])
    return Status(name, True, "stale" if why else "fresh", "; ".join(why), meta)


def fingerprint(name: str, directory: Path | str = SHIPPED_DIR) -> str:
    """Changes exactly when the checkpoint's files change: a cache key for tables derived from it."""
    parts = []
    for p in paths(name, directory):
        try:
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{p.name}:-")
    return "|".join(parts)


# --- which folder serves a model ---

# A run with another epoch count or seed (the sidebar's Epochs and Seed, `train --epochs N --seed S`) is the user's
# choice, not a change of the recipe: its checkpoint is still served.
_SERVING_IGNORES = frozenset({"epochs", "seed"})
_SERVABLE_CACHE_SIZE = 256
_servable_cache: dict[tuple, dict | None] = {}
_servable_lock = threading.Lock()


def outdated(meta: dict, spec: ModelSpec) -> bool:
    """Whether a checkpoint no longer fits its registry entry: another architecture or another recipe (the epoch
    count aside)."""
    if meta.get("spec") != spec.arch_dict():
        return True
    recipe = meta.get("recipe") or {}
    return any(
        recipe.get(k, RECIPE_DEFAULTS.get(k)) != v for k, v in spec.recipe_dict().items() if k not in _SERVING_IGNORES
    )


def servable(name: str, directory: Path | str, spec: ModelSpec) -> dict | None:
    """The sidecar of ``name`` in ``directory`` if that checkpoint loads and is not outdated, else None (a cached
    dict: read it, do not change it).

    Loading hashes the weights, and the app asks on every rerun: the answer is kept per file fingerprint, so that
    asking again costs two stats until the files change."""
    before = fingerprint(name, directory)
    if all(part.endswith(":-") for part in before.split("|")):
        return None  # neither file is there: the common case, answered without a lookup
    key = (str(directory), name, before, spec.family, repr(sorted(spec.args.items())), spec.recipe)
    with _servable_lock:
        if key in _servable_cache:
            return _servable_cache[key]
    try:
        _, meta = load(name, directory, {name: spec})
    except CheckpointError:
        meta = None
    if meta is not None and outdated(meta, spec):
        meta = None
    if fingerprint(name, directory) == before:  # not replaced while it was read: the answer fits the key
        with _servable_lock:
            if len(_servable_cache) >= _SERVABLE_CACHE_SIZE:
                _servable_cache.clear()
            _servable_cache[key] = meta
    return meta


def retrained_label(meta: dict) -> str:
    """The origin label of a retrained checkpoint, "retrained <date>", from its sidecar's save time (local time)."""
    try:
        when = datetime.fromisoformat(meta["created"]).astimezone()
    except (KeyError, TypeError, ValueError):
        return "retrained"
    return f"retrained {when:%Y-%m-%d %H:%M}"


def _same_folder(a: Path | str, b: Path | str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


@dataclass(frozen=True)
class Folders:
    """Where models are read from. With a ``workspace``, a model is served from it when its checkpoint there is
    servable, else from ``shipped``; without one, from ``shipped`` alone (a folder named explicitly, as with
    ``--checkpoints``). Files made at run time (rate-distortion points, reproducibility checks) go to ``writable``.
    """

    shipped: Path = SHIPPED_DIR
    workspace: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shipped", Path(self.shipped))
        if self.workspace is not None:
            object.__setattr__(self, "workspace", Path(self.workspace))

    @property
    def writable(self) -> Path:
        return self.shipped if self.workspace is None else self.workspace

    def resolve(self, name: str, registry: dict[str, ModelSpec] | None = None) -> tuple[Path, str]:
        """(folder, origin) of the checkpoint that serves ``name``; origin is "shipped" or "retrained <date>"."""
        spec = (active_registry() if registry is None else registry).get(name)
        if self.workspace is not None and spec is not None:
            meta = servable(name, self.workspace, spec)
            if meta is not None:
                return self.workspace, retrained_label(meta)
        if self.workspace is None and not _same_folder(self.shipped, SHIPPED_DIR):
            # A folder of one's own, named explicitly: what is in it was trained there.
            try:
                return self.shipped, retrained_label(read_sidecar(name, self.shipped))
            except CheckpointError:
                pass
        return self.shipped, SHIPPED


def folders(directory: Path | str | Folders | None = None) -> Folders:
    """None: the workspace over the shipped folder; a Folders: itself; a path: that folder alone."""
    if isinstance(directory, Folders):
        return directory
    if directory is None:
        return Folders(SHIPPED_DIR, _workspace.checkpoint_dir(create=False))
    return Folders(Path(directory))


def reset_to_shipped(name: str, workspace: Path | str | None = None) -> bool:
    """Remove ``name``'s workspace checkpoint so that the shipped one is served again; True if there was one.

    Raises TrainingBusy while the model is being trained into the workspace (the run would write it back). The
    sidecar goes first: from then on the pair no longer loads, so no reader is ever served half of it. The
    training snapshots (ae.storage.snapshots) go with it.
    """
    directory = _workspace.checkpoint_dir(create=False) if workspace is None else Path(workspace)
    weights_path, meta_path = paths(name, directory)
    snapshots_path = _snapshots.path(name, directory)
    if not (weights_path.exists() or meta_path.exists() or snapshots_path.exists()):
        return False
    removed = False
    with training_lock(name, directory):
        for path in (meta_path, weights_path, snapshots_path):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
    return removed


@contextmanager
def training_lock(name: str, directory: Path | str = SHIPPED_DIR, timeout: float = 0) -> Iterator[None]:
    """Hold the per-model training lock. An OS file lock: a killed process releases it, so it never goes stale."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(Path(directory) / f".{name}.lock"), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise TrainingBusy(f"{name} is already being trained by another process") from None
    try:
        yield
    finally:
        lock.release()


def is_training(name: str, directory: Path | str = SHIPPED_DIR) -> bool:
    try:
        with training_lock(name, directory):
            return False
    except TrainingBusy:
        return True


def command_line() -> str:
    return " ".join(["python", "-m", "ae", *sys.argv[1:]])
