"""ONNX export (ae.export): onnxruntime agrees with torch within each file's precision bound (weights stored as int8,
float16 or float32: ae.export.compact), files are named by weights hash and follow retrains, the shipped models'
files made at setup are used as they are."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ae.export import compact, onnx_files
from ae.measure.one_digit import reconstruct_digit
from ae.storage import catalogue, checkpoints
from ae.storage.catalogue import REGISTRY
from tests.live_models import REGISTRY as FAMILIES  # one shipped model of each family: the export costs seconds each
from tests.tiny import TINY_LINEAR

pytestmark = pytest.mark.slow  # torch's exporter takes a few seconds a graph


@pytest.fixture(scope="module")
def exported(session_workspace) -> tuple[dict[str, onnx_files.Exported], object]:
    # Into the session workspace's export folder, where the live-Draw browser tests' server finds them: exported once.
    out = session_workspace / "export" / "models"
    done, failed = onnx_files.export_all(checkpoints.Folders(checkpoints.SHIPPED_DIR), FAMILIES, out)
    assert not failed
    return {e.name: e for e in done}, out


@pytest.mark.parametrize("name", [*FAMILIES, onnx_files.CLASSIFIER])
def test_onnxruntime_matches_torch_on_1000_test_digits(exported, mnist, name):
    done, out = exported
    specs = {**REGISTRY, onnx_files.CLASSIFIER: catalogue.CLASSIFIER}
    model, meta = checkpoints.load(name, checkpoints.SHIPPED_DIR, specs)
    e = done[name]
    assert e.sha == meta["weights_sha256"][:12]
    assert all(f.startswith(f"{name}-{e.sha}") for f in e.files.values())
    images = mnist.test_images()[:1000].contiguous()
    measured = onnx_files.fidelity(e, out, model, images)
    assert all(p in compact.PRECISIONS for p in e.precision.split("+"))
    assert measured.max_diff <= compact.bound(e.precision), measured
    assert measured.holds() or e.precision == "fp32", measured  # the MSE within 1%, no reading changed
    one = onnx_files.run_onnx(e, out, images[:1].numpy())  # the batch is dynamic: one digit as well as 1,000
    assert one.shape[0] == 1


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_compact_weights_shrink_the_file_and_stay_within_their_bound(exported, mnist, tmp_path, precision):
    done, _ = exported
    model, _ = checkpoints.load("linear-32", checkpoints.SHIPPED_DIR, REGISTRY)
    e = done["linear-32"]
    raw = {role: onnx_files.onnx_bytes(*args) for role, args in _halves(model).items()}
    for role, name in e.files.items():
        (tmp_path / name).write_bytes(compact.compact(raw[role], precision))
    small = sum((tmp_path / f).stat().st_size for f in e.files.values())
    assert small < sum(len(b) for b in raw.values()) / (1.9 if precision == "fp16" else 3.0)
    got = onnx_files.fidelity(onnx_files.Exported(e.name, e.sha, "", e.files, precision=precision), tmp_path, model,
                              mnist.test_images()[:500].contiguous())  # fmt: skip
    assert got.max_diff <= compact.BOUNDS[precision] and abs(got.mse_onnx - got.mse_torch) <= 0.01 * got.mse_torch


def _halves(model) -> dict:
    x = torch.rand(2, 1, 28, 28)
    with torch.inference_mode():
        z = model.encode(x)
    return {"encoder": (onnx_files._Part(model, "encode"), x, ("x", "z")),
            "decoder": (onnx_files._Part(model, "decode"), z.clone(), ("z", "y"))}  # fmt: skip


def test_a_visit_uses_the_files_made_at_setup_and_exports_nothing(tmp_path):
    """find_one links the prebuilt files (python -m ae export --shipped) into the serving folder; with none there it
    exports nothing and says the model is still to be made."""
    shipped, out = tmp_path / "shipped", tmp_path / "served"
    shipped.mkdir()
    registry = {TINY_LINEAR.name: TINY_LINEAR}
    torch.manual_seed(0)
    checkpoints.save(TINY_LINEAR.build(), {}, TINY_LINEAR, shipped)
    source = checkpoints.Folders(shipped)
    pending = onnx_files.find_one(TINY_LINEAR.name, source, registry, out)  # nothing made yet
    assert pending.precision == onnx_files.PENDING
    assert not list(out.glob("*.onnx"))
    made = onnx_files.export_one(TINY_LINEAR.name, source, registry, onnx_files.prebuilt_dir(source))
    found = onnx_files.find_one(TINY_LINEAR.name, source, registry, out)
    assert found == made
    assert {p.name for p in out.glob("*.onnx")} == set(made.files.values())


def test_browser_and_server_paths_give_the_same_mse(exported, mnist):
    """For the same 28x28 input, the exported graphs' MSE equals the server path's (reconstruct_digit) to 1e-4."""
    done, out = exported
    model, _ = checkpoints.load("conv-1", checkpoints.SHIPPED_DIR, REGISTRY)
    digits = mnist.test_x[:20].astype(np.float32) / 255.0
    y = onnx_files.run_onnx(done["conv-1"], out, digits.reshape(-1, 1, 28, 28))
    for digit, rec in zip(digits, y[:, 0], strict=True):
        assert abs(float(np.mean((digit - rec) ** 2)) - reconstruct_digit(model, digit).mse) <= 1e-4


def test_a_changed_checkpoint_is_exported_again_under_its_new_hash(tmp_path):
    registry = {TINY_LINEAR.name: TINY_LINEAR}
    workspace, out = tmp_path / "ws", tmp_path / "onnx"
    source = checkpoints.Folders(checkpoints.SHIPPED_DIR, workspace)
    torch.manual_seed(0)
    checkpoints.save(TINY_LINEAR.build(), {}, TINY_LINEAR, workspace)
    (first,), _ = onnx_files.export_all(source, registry, out, classifier=False)
    assert first.origin.startswith("retrained")
    again, _ = onnx_files.export_all(source, registry, out, classifier=False)  # unchanged: found, not exported again
    assert again[0] == first
    assert {p.name for p in out.glob("*.onnx")} == set(first.files.values())

    model = TINY_LINEAR.build()
    with torch.no_grad():
        model.encoder.weight.mul_(-1)
    checkpoints.save(model, {}, TINY_LINEAR, workspace)  # a retrain: new weights in the workspace
    (second,), _ = onnx_files.export_all(source, registry, out, classifier=False)
    assert second.sha != first.sha
    assert {p.name for p in out.glob("*.onnx")} == set(second.files.values())  # the old version is gone
    loaded, _ = checkpoints.load(TINY_LINEAR.name, workspace, registry)
    x = torch.rand(5, 1, 28, 28)
    assert onnx_files.fidelity(second, out, loaded, x).max_diff <= compact.bound(second.precision)


def test_cli_writes_onnx_files_and_a_manifest(tmp_path, monkeypatch):
    from ae.cli.main import main

    monkeypatch.setenv("AELAB_REGISTRY", "tests.tiny:REGISTRY")
    folder = tmp_path / "ckpt"
    checkpoints.save(TINY_LINEAR.build(), {}, TINY_LINEAR, folder)
    assert main(["export", "--checkpoints", str(folder), "--no-check", "--onnx", str(tmp_path / "out")]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    (entry,) = manifest["models"]  # tiny-conv has no checkpoint (skipped), nor has the classifier here
    assert entry["name"] == TINY_LINEAR.name and manifest["classifier"] is None
    assert all((tmp_path / "out" / f).is_file() for f in entry["files"].values())
    assert entry["code_shape"] == [16]
