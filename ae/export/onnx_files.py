"""Every model as ONNX, for the browser (onnxruntime-web) and for download.

Each autoencoder becomes two graphs, its encoder and its decoder, each with a dynamic batch dimension; the reference
classifier becomes one. Files are named by model and weights hash (the first 12 hex digits of the sidecar's
``weights_sha256``), e.g. ``conv-8-3f2a9c01b7de.encoder.onnx``: a retrained model gets new names, so a browser that
cached the old files never serves them for the new weights, and a changed checkpoint is exported again on first use.

The exported files are kept in the workspace (``ae.runtime.workspace.home() / "export"``), where the app's live Draw
component serves them from; ``python -m ae export --onnx DIR`` copies them out.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import filelock
import numpy as np
import torch
from torch import nn

from ae.data.datasets import DATASETS, load_dataset
from ae.export import compact
from ae.measure.familiarity import Familiarity, per_image_errors
from ae.models.specs import ModelSpec
from ae.runtime import workspace
from ae.runtime.cores import torch_threads
from ae.runtime.fileio import atomic_write
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER as CLASSIFIER_SPEC
from ae.storage.catalogue import readers

CLASSIFIER = CLASSIFIER_SPEC.name
HASH_CHARS = 12
OPSET = 20  # torch's exporter targets it; onnxruntime-web 1.30 runs it


def export_home() -> Path:
    """The workspace's export folder: the live Draw component is served from it."""
    return workspace.home() / "export"


def models_dir() -> Path:
    return export_home() / "models"


@dataclass(frozen=True)
class Exported:
    """One model's ONNX files: ``files`` maps a role ("encoder", "decoder"; "classifier") to a file name."""

    name: str
    sha: str
    origin: str
    files: dict[str, str] = field(default_factory=dict)
    code_shape: list[int] = field(default_factory=list)
    precision: str = "fp32"  # how its weights are stored (ae.export.compact)
    max_diff: float = 0.0  # max |output - torch's| on the probe digits at that precision
    # The model's errors on its test set at ae.measure.familiarity.LEVELS: the browser places a drawing among them
    familiarity: list[float] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


class _Part(nn.Module):
    """One of an autoencoder's halves as a module of its own, so that the exporter traces just that half."""

    def __init__(self, model: nn.Module, half: str) -> None:
        super().__init__()
        self.model, self.half = model, half

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return half(self.model, self.half)(x)


def half(model: nn.Module, name: str):
    """The model's ``encode`` or ``decode`` as the browser runs it: its ``export_encode``/``export_decode`` where it
    has them (a codec rounds in its decoder's graph, so that its encoder's graph is continuous and comparable)."""
    return getattr(model, f"export_{name}", getattr(model, name))


def onnx_bytes(module: nn.Module, example: torch.Tensor, names: tuple[str, str]) -> bytes:
    """``module`` exported by torch's own (dynamo) exporter, batch dimension dynamic; the model in one buffer."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings(), torch_threads(1):
        warnings.simplefilter("ignore")  # the exporter's notes on dynamic shapes and deprecations are not ours
        program = torch.onnx.export(
            module.eval(), (example,), dynamo=True, input_names=[names[0]], output_names=[names[1]],
            dynamic_shapes=({0: batch},), opset_version=OPSET, verbose=False, external_data=False,
        )  # fmt: skip
    return program.model_proto.SerializeToString()


def weights_hash(meta: dict) -> str:
    return str(meta["weights_sha256"])[:HASH_CHARS]


def file_names(name: str, sha: str, classifier: bool = False) -> dict[str, str]:
    if classifier:
        return {"classifier": f"{name}-{sha}.onnx"}
    return {half: f"{name}-{sha}.{half}.onnx" for half in ("encoder", "decoder")}


# 4: each autoencoder's test errors for "how familiar is this?"; 3: weights stored compactly, each graph at its own
# precision. Files of another format are made again.
FORMAT = 4
PROBE = 256  # test digits that decide a model's precision


@dataclass(frozen=True)
class Fidelity:
    """What a precision costs a model on test digits, against torch (``fidelity``): the max |diff| of the
    reconstructions and their MSE, or for the classifier of its logits and how many readings changed."""

    precision: str
    max_diff: float
    mse_torch: float = 0.0
    mse_onnx: float = 0.0
    readings_changed: int = 0

    def holds(self) -> bool:
        mse_ok = abs(self.mse_onnx - self.mse_torch) <= 0.01 * self.mse_torch
        return self.max_diff <= compact.bound(self.precision) and mse_ok and self.readings_changed == 0


def _probe(dataset: str) -> torch.Tensor:
    return load_dataset(dataset).test_images()[:PROBE].contiguous()


def fidelity(e: Exported, folder: Path, model: nn.Module, x: torch.Tensor) -> Fidelity:
    """What the exported files compute for digits ``x`` against torch's model: reconstructions through both graphs
    (a codec's decoder fed torch's code instead: one code value that rounds the other way would dwarf the weights'
    precision), their MSE either way; for the classifier its logits and readings. Torch runs the contiguous model:
    channels-last, as ``checkpoints.load`` gives conv models, sums in another order (1.1e-5 from float64 on conv-1)."""
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    xs = x.numpy().astype(np.float32)
    with torch.inference_mode(), torch_threads(1):
        if "classifier" in e.files:
            ref = model(x).float().numpy()
            got = run_onnx(e, folder, xs)
            changed = int((got.argmax(1) != ref.argmax(1)).sum())
            return Fidelity(e.precision, float(np.abs(got - ref).max()), readings_changed=changed)
        z = half(model, "encode")(x)
        ref = half(model, "decode")(z).float().numpy()
    got = run_onnx(e, folder, xs)
    near = got
    if hasattr(model, "export_decode"):
        near = session(folder / e.files["decoder"]).run(None, {"z": z.float().numpy()})[0]
    mse = (float(((ref - xs) ** 2).mean()), float(((got - xs) ** 2).mean()))
    return Fidelity(e.precision, float(np.abs(near - ref).max()), *mse)


def _graphs(model: nn.Module, files: dict[str, str]) -> tuple[dict[str, bytes], list[int]]:
    """Each role's float32 ONNX bytes, and the code shape (without the batch)."""
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    if "classifier" in files:
        return {"classifier": onnx_bytes(model, x, ("x", "logits"))}, []
    with torch.inference_mode():
        z = half(model, "encode")(x)
    enc = onnx_bytes(_Part(model, "encode"), x, ("x", "z"))
    return {"encoder": enc, "decoder": onnx_bytes(_Part(model, "decode"), z.clone(), ("z", "y"))}, list(z.shape[1:])


def _choices(files: dict[str, str]) -> list[dict[str, str]]:
    """Each role's precision, smallest files first: the classifier's one graph, or an autoencoder's pair."""
    if "classifier" in files:
        return [{"classifier": p} for p in reversed(compact.PRECISIONS)]
    return [{"encoder": e, "decoder": d} for e, d in compact.PAIRS]


def _write_onnx(model: nn.Module, files: dict[str, str], out: Path, dataset: str) -> dict:
    """Export ``model``'s graphs as ``files`` into ``out``, each at the smallest precision whose cost holds (int8,
    else float16, else float32; an autoencoder's encoder and decoder each their own); returns the code shape, the
    precision and what it costs."""
    model = model.to(memory_format=torch.contiguous_format)
    graphs, shape = _graphs(model, files)
    for choice in _choices(files):
        for role, name in files.items():
            atomic_write(out / name, compact.compact(graphs[role], choice[role]))
        precision = compact.label(tuple(choice[role] for role in files))
        measured = fidelity(Exported("", "", "", files, precision=precision), out, model, _probe(dataset))
        if measured.holds() or precision == "fp32":
            break
    _check_batches(model, files, out, precision, dataset)
    info = {"code_shape": shape, **asdict(measured), "format": FORMAT}
    if "classifier" not in files:
        info["familiarity"] = list(Familiarity.of(per_image_errors(model, load_dataset(dataset).test_images())).errors)
    return info


class ExportError(RuntimeError):
    """The exported graphs do not compute what the model does (e.g. the exporter fixed the batch size)."""


def _check_batches(model: nn.Module, files: dict[str, str], out: Path, precision: str, dataset: str) -> None:
    """The exported pair runs one digit and three, and gives torch's answer within its precision's bound: the
    exporter can silently fix a batch dimension that a model's code pins (its graph then refuses any other batch).
    Such files are removed."""
    e, bound = Exported("", "", "", files, precision=precision), compact.bound(precision)
    for n in (1, 3):
        x = _probe(dataset)[-n:]  # test digits: the bound is stated on them (uniform noise is no digit)
        try:
            diff = fidelity(e, out, model, x).max_diff
        except Exception as err:  # onnxruntime's own error types: the graph refused this batch
            diff, why = float("inf"), f"{type(err).__name__}: {str(err)[:200]}"
        else:
            why = f"max |diff| {diff:.1e} against torch"
        if not diff <= bound:
            for f in files.values():
                (out / f).unlink(missing_ok=True)
            raise ExportError(f"the exported graphs fail on a batch of {n} ({why})")


def prebuilt_dir(source: checkpoints.Folders) -> Path:
    """Where ``python -m ae export --shipped`` (run by scripts/setup.sh) keeps the shipped models' ONNX files."""
    return source.shipped / "onnx"


def _info(folder: Path, name: str, sha: str, files: dict[str, str]) -> dict | None:
    """The export's record of ``name``'s files in ``folder``, if they are all there in today's format."""
    path = folder / f"{name}-{sha}.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = info.get("format") == FORMAT and all((folder / f).is_file() for f in files.values())
    return info if ok else None


def _link(src: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    try:
        dest.hardlink_to(src)
    except OSError:  # another file system: a copy (atomic, as every write here)
        atomic_write(dest, src.read_bytes())


def _adopt(source: checkpoints.Folders, name: str, sha: str, files: dict[str, str], out: Path) -> dict | None:
    """The files of ``name`` from the prebuilt folder into ``out`` (made at setup, so a visit exports nothing)."""
    pre = prebuilt_dir(source)
    info = _info(pre, name, sha, files) if pre.resolve() != out.resolve() else None
    if info is None:
        return None
    for f in [*files.values(), f"{name}-{sha}.json"]:
        _link(pre / f, out / f)
    return info


def _exported(name: str, sha: str, origin: str, files: dict[str, str], info: dict) -> Exported:
    return Exported(
        name, sha, origin, files, info["code_shape"], info["precision"], info["max_diff"], info.get("familiarity", [])
    )


def _target(name: str, source: checkpoints.Folders, registry: dict[str, ModelSpec]) -> tuple[Path, str, str, dict]:
    """(checkpoint folder, origin, weights hash, ONNX file names) of the checkpoint that serves ``name``."""
    folder, origin = source.resolve(name, registry)
    sha = weights_hash(checkpoints.read_sidecar(name, folder))
    return folder, origin, sha, file_names(name, sha, registry[name].family == "classifier")


PENDING = "pending"  # the precision of a model whose files are still to be made


def find_one(name: str, source: checkpoints.Folders, registry: dict[str, ModelSpec], out: Path) -> Exported:
    """``name``'s files in ``out`` (or linked there from the prebuilt folder) without exporting anything; its
    precision is PENDING when they still have to be made. Raises CheckpointError, and ExportError for weights the
    exporter refused."""
    _, origin, sha, files = _target(name, source, registry)
    if (out / f"{name}-{sha}.failed").exists():
        raise ExportError((out / f"{name}-{sha}.failed").read_text())
    out.mkdir(parents=True, exist_ok=True)
    info = _info(out, name, sha, files) or _adopt(source, name, sha, files, out)
    if info is None:
        return Exported(name, sha, origin, files, precision=PENDING)
    return _exported(name, sha, origin, files, info)


def export_one(name: str, source: checkpoints.Folders, registry: dict[str, ModelSpec], out: Path) -> Exported:
    """The ONNX files of the checkpoint that serves ``name`` in ``out``: found there or in the prebuilt folder (same
    weights hash), else exported. Older versions of the same model in ``out`` are removed. Raises CheckpointError."""
    folder, origin, sha, files = _target(name, source, registry)
    out.mkdir(parents=True, exist_ok=True)
    failed = out / f"{name}-{sha}.failed"  # the exporter's verdict on these weights, kept: it costs seconds
    with filelock.FileLock(str(out / f".{name}.lock")):
        found = find_one(name, source, registry, out)
        if found.precision == PENDING:
            model, _ = checkpoints.load(name, folder, registry)  # validated: hash, shapes, finite weights
            try:
                info = _write_onnx(model, files, out, registry[name].dataset)
            except ExportError as e:
                atomic_write(failed, str(e).encode())
                raise
            atomic_write(out / f"{name}-{sha}.json", json.dumps({**info, "origin": origin}).encode())
            found = _exported(name, sha, origin, files, info)
        _prune(out, name, sha)
    return found


def _prune(out: Path, name: str, sha: str) -> None:
    """Remove other versions of ``name``'s files (names are "<name>-<12 hex>...", and model names may hold '-')."""
    for p in out.glob(f"{name}-*"):
        rest = p.name[len(name) + 1 :]
        if len(rest) > HASH_CHARS and rest[HASH_CHARS] == "." and not rest.startswith(sha):
            p.unlink(missing_ok=True)


def export_all(
    source: checkpoints.Folders,
    registry: dict[str, ModelSpec],
    out: Path | None = None,
    log: Callable[[str], None] | None = None,
    classifier: bool = True,
) -> tuple[list[Exported], dict[str, str]]:
    """Every registry model whose checkpoint loads, then each dataset's reader: (exported, {name: why not} for those
    whose checkpoint is there but cannot be used or exported). Models without a checkpoint yet are skipped."""
    out = models_dir() if out is None else Path(out)
    specs = {**registry, **readers()} if classifier else dict(registry)
    done, failed = [], {}
    for name in specs:
        if why := DATASETS[specs[name].dataset].missing():  # served only once its dataset is installed
            if log:
                log(f"{name}: not exported: {why}")
            continue
        try:
            done.append(export_one(name, source, specs, out))
            if log:
                log(f"{name}: {', '.join(done[-1].files.values())}")
        except checkpoints.MissingCheckpoint as e:
            if log:
                log(f"{name}: not exported (no checkpoint yet): {e.detail}")
        except checkpoints.CheckpointError as e:
            failed[name] = f"{e.reason}: {e.detail}"
            if log:
                log(f"{name}: not exported ({e.reason}): {e.detail}")
        except Exception as e:  # one model the exporter cannot handle must not cost the others
            failed[name] = f"export failed: {type(e).__name__}: {e}"
            if log:
                log(f"{name}: {failed[name]}")
    return done, failed


def find_all(
    source: checkpoints.Folders, registry: dict[str, ModelSpec], out: Path, reader: ModelSpec | None = CLASSIFIER_SPEC
) -> tuple[list[Exported], list[Exported], dict[str, str]]:
    """What a page visit may use without exporting: (models whose files are ready, models still to export (their
    precision PENDING), {name: why not} for checkpoints that cannot be used or exported); ``reader``: the images'
    reference reader, if they have one."""
    specs = {**registry, reader.name: reader} if reader else dict(registry)
    ready, pending, failed = [], [], {}
    for name in specs:
        try:
            found = find_one(name, source, specs, out)
        except checkpoints.MissingCheckpoint:
            continue
        except (checkpoints.CheckpointError, ExportError) as e:
            failed[name] = f"{e.reason}: {e.detail}" if isinstance(e, checkpoints.CheckpointError) else str(e)
            continue
        (pending if found.precision == PENDING else ready).append(found)
    return ready, pending, failed


def manifest(exported: list[Exported], reader: str | None = CLASSIFIER) -> dict:
    """What the browser needs: each autoencoder's files and those of the reader named ``reader``, in the order given
    (registry order). A model whose precision is PENDING is being exported: the browser looks for its files until
    they appear."""
    models = [e.as_dict() for e in exported if "classifier" not in e.files]
    classifier = next((e.as_dict() for e in exported if e.name == reader), None)
    return {"format": "aelab-onnx", "version": FORMAT, "models": models, "classifier": classifier}


def copy_files(exported: list[Exported], src: Path, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for e in exported:
        for f in e.files.values():
            shutil.copyfile(src / f, dest / f)
            copied.append(dest / f)
    return copied


def session(path: Path):
    import onnxruntime as ort  # here: only the parity check needs it, and the app should not load it

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(e: Exported, folder: Path, images: np.ndarray) -> np.ndarray:
    """What the exported graphs compute for (N, 1, 28, 28) float32 ``images``: reconstructions, or logits."""
    if "classifier" in e.files:
        return session(folder / e.files["classifier"]).run(None, {"x": images})[0]
    z = session(folder / e.files["encoder"]).run(None, {"x": images})[0]
    return session(folder / e.files["decoder"]).run(None, {"z": z})[0]


def write_manifest(exported: list[Exported], folder: Path) -> Path:
    path = Path(folder) / "manifest.json"
    atomic_write(path, (json.dumps(manifest(exported), indent=1) + "\n").encode())
    return path
