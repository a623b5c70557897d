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

from ae.models.specs import ModelSpec
from ae.runtime import workspace
from ae.runtime.cores import torch_threads
from ae.runtime.fileio import atomic_write
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER as CLASSIFIER_SPEC

CLASSIFIER = CLASSIFIER_SPEC.name
HASH_CHARS = 12
OPSET = 20  # torch's exporter targets it; onnxruntime-web 1.30 runs it
PARITY_TOLERANCE = 1e-5  # max abs difference onnxruntime vs torch, promised by issue 19


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


def _write_onnx(model: nn.Module, files: dict[str, str], out: Path) -> list[int]:
    """Export ``model``'s graphs as ``files`` into ``out``; returns the code shape (without the batch)."""
    model = model.to(memory_format=torch.contiguous_format)
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    if "classifier" in files:
        atomic_write(out / files["classifier"], onnx_bytes(model, x, ("x", "logits")))
        return []
    with torch.inference_mode():
        z = half(model, "encode")(x)
    atomic_write(out / files["encoder"], onnx_bytes(_Part(model, "encode"), x, ("x", "z")))
    atomic_write(out / files["decoder"], onnx_bytes(_Part(model, "decode"), z.clone(), ("z", "y")))
    _check_batches(model, files, out)
    return list(z.shape[1:])


class ExportError(RuntimeError):
    """The exported graphs do not compute what the model does (e.g. the exporter fixed the batch size)."""


def _check_batches(model: nn.Module, files: dict[str, str], out: Path) -> None:
    """The exported pair runs one digit and three, and gives torch's answer: the exporter can silently fix a batch
    dimension that a model's code pins (its graph then refuses any other batch). Such files are removed."""
    e = Exported("", "", "", files)
    for n in (1, 3):
        x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(n))
        try:
            diff = parity(e, out, model, x)
        except Exception as err:  # onnxruntime's own error types: the graph refused this batch
            diff, why = float("inf"), f"{type(err).__name__}: {str(err)[:200]}"
        else:
            why = f"max |diff| {diff:.1e} against torch"
        if not diff <= 1e-4:
            for f in files.values():
                (out / f).unlink(missing_ok=True)
            raise ExportError(f"the exported graphs fail on a batch of {n} ({why})")


def export_one(name: str, source: checkpoints.Folders, registry: dict[str, ModelSpec], out: Path) -> Exported:
    """The ONNX files of the checkpoint that serves ``name``, exported into ``out`` unless already there (same
    weights hash). Older versions of the same model in ``out`` are removed. Raises CheckpointError."""
    folder, origin = source.resolve(name, registry)
    meta = checkpoints.read_sidecar(name, folder)
    sha = weights_hash(meta)
    is_classifier = registry[name].family == "classifier"
    files = file_names(name, sha, is_classifier)
    out.mkdir(parents=True, exist_ok=True)
    shape_file = out / f"{name}-{sha}.json"
    failed = out / f"{name}-{sha}.failed"  # the exporter's verdict on these weights, kept: it costs seconds
    with filelock.FileLock(str(out / f".{name}.lock")):
        if failed.exists():
            raise ExportError(failed.read_text())
        if not all((out / f).exists() for f in files.values()) or not shape_file.exists():
            model, meta = checkpoints.load(name, folder, registry)  # validated: hash, shapes, finite weights
            try:
                shape = _write_onnx(model, files, out)
            except ExportError as e:
                atomic_write(failed, str(e).encode())
                raise
            atomic_write(shape_file, json.dumps({"code_shape": shape, "origin": origin}).encode())
        shape = json.loads(shape_file.read_text())["code_shape"]
        _prune(out, name, sha)
    return Exported(name, sha, origin, files, shape)


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
    """Every registry model whose checkpoint loads, then the classifier: (exported, {name: why not} for those whose
    checkpoint is there but cannot be used or exported). Models without a checkpoint yet are skipped."""
    out = models_dir() if out is None else Path(out)
    specs = {**registry, CLASSIFIER: CLASSIFIER_SPEC} if classifier else dict(registry)
    done, failed = [], {}
    for name in specs:
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


def manifest(exported: list[Exported]) -> dict:
    """What the browser needs: each autoencoder's files and the classifier's, in registry order."""
    models = [e.as_dict() for e in exported if e.name != CLASSIFIER]
    classifier = next((e.as_dict() for e in exported if e.name == CLASSIFIER), None)
    return {"format": "aelab-onnx", "version": 1, "models": models, "classifier": classifier}


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


def parity(e: Exported, folder: Path, model: nn.Module, images: torch.Tensor) -> float:
    """Max abs difference between onnxruntime running the exported files and torch running ``model``.

    Torch runs the model in its default (contiguous) memory format: channels-last, as ``checkpoints.load`` gives conv
    models for speed, sums in another order and alone is 1.1e-5 from a float64 reference on conv-1, where the
    contiguous model and onnxruntime are both within 8e-6 of it."""
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    x = images.numpy().astype(np.float32)
    if "classifier" in e.files:
        with torch.inference_mode(), torch_threads(1):
            ref = model(images)
        return float(np.abs(run_onnx(e, folder, x) - ref.float().numpy()).max())
    # Each graph against its torch half, the decoder fed torch's code: a composed check would also count a code value
    # that sits on a codec's rounding boundary and rounds the other way after a 1e-7 difference.
    with torch.inference_mode(), torch_threads(1):
        z = half(model, "encode")(images)
        y = half(model, "decode")(z)
    got_z = session(folder / e.files["encoder"]).run(None, {"x": x})[0]
    got_y = session(folder / e.files["decoder"]).run(None, {"z": z.float().numpy()})[0]
    return float(max(np.abs(got_z - z.float().numpy()).max(), np.abs(got_y - y.float().numpy()).max()))


def write_manifest(exported: list[Exported], folder: Path) -> Path:
    path = Path(folder) / "manifest.json"
    atomic_write(path, (json.dumps(manifest(exported), indent=1) + "\n").encode())
    return path
