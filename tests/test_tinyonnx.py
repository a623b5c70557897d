"""Live Draw's own ONNX interpreter (components/live_draw/tinyonnx.mjs, run here by Node) computes what onnxruntime
computes on the same files, and refuses a graph with an op it does not know (the page then uses onnxruntime-web)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from ae.export import compact, onnx_files
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER, REGISTRY
from tests.tiny import TINY_CONV, TINY_LINEAR

RUNNER = Path(__file__).parent / "js" / "run_graph.mjs"

if shutil.which("node") is None:
    pytest.skip("node not installed (Node.js 18+ runs the browser's interpreter here)", allow_module_level=True)


def run_js(path: Path, x: np.ndarray, tmp: Path) -> np.ndarray:
    x.astype(np.float32).tofile(tmp / "in.f32")
    done = subprocess.run(
        ["node", str(RUNNER), str(path), str(tmp / "in.f32"), ",".join(map(str, x.shape)), str(tmp / "out.f32")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "node failed")
    return np.fromfile(tmp / "out.f32", dtype=np.float32).reshape(json.loads(done.stdout))


def run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})[0]


@pytest.fixture(scope="module")
def shipped_files(tmp_path_factory) -> list[Path]:
    """The files scripts/setup.sh made for linear-32, conv-8 and the classifier (exported here if it did not run)."""
    source = checkpoints.Folders(checkpoints.SHIPPED_DIR)
    specs = {**REGISTRY, CLASSIFIER.name: CLASSIFIER}
    out = onnx_files.prebuilt_dir(source)
    found = [onnx_files.find_one(n, source, specs, out) for n in ("linear-32", "conv-8", CLASSIFIER.name)]
    if any(e.precision == onnx_files.PENDING for e in found):
        out = tmp_path_factory.mktemp("onnx")
        found = [onnx_files.export_one(n, source, specs, out) for n in ("linear-32", "conv-8", CLASSIFIER.name)]
    return [out / f for e in found for f in e.files.values()]


def test_the_interpreter_matches_onnxruntime_on_the_shipped_files(shipped_files, mnist, tmp_path):
    digits = mnist.test_x[:3].astype(np.float32).reshape(3, 1, 28, 28) / 255.0
    for path in shipped_files:
        x = digits
        if ".decoder." in path.name:  # fed the encoder's code, as the page does
            x = run_ort(path.with_name(path.name.replace(".decoder.", ".encoder.")), digits)
        got, want = run_js(path, x, tmp_path), run_ort(path, x)
        assert np.abs(got - want).max() <= 1e-5, f"{path.name}: max |diff| {np.abs(got - want).max():.2e}"


@pytest.mark.slow  # torch's exporter: about a second a graph
@pytest.mark.parametrize("spec", [TINY_LINEAR, TINY_CONV], ids=lambda s: s.name)
@pytest.mark.parametrize("precision", compact.PRECISIONS)
def test_the_interpreter_matches_onnxruntime(tmp_path, spec, precision):
    torch.manual_seed(0)
    model = spec.build().eval()
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        z = model.encode(x)
    for part, inp, names in (("encode", x, ("x", "z")), ("decode", z.clone(), ("z", "y"))):
        path = tmp_path / f"{part}.onnx"
        path.write_bytes(compact.compact(onnx_files.onnx_bytes(onnx_files._Part(model, part), inp, names), precision))
        got, want = run_js(path, inp.numpy(), tmp_path), run_ort(path, inp.numpy())
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-5, f"{part}: max |diff| {np.abs(got - want).max():.2e}"


def test_a_graph_with_an_unknown_op_is_refused_by_name(tmp_path):
    node = helper.make_node("Sin", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 28, 28])],
    )  # fmt: skip
    path = tmp_path / "sin.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]).SerializeToString())
    with pytest.raises(RuntimeError, match="Unsupported: ops Sin"):
        run_js(path, np.zeros((1, 1, 28, 28), np.float32), tmp_path)


@pytest.mark.slow  # torch's exporter
def test_transposed_and_strided_convolutions_match_onnxruntime(tmp_path):
    """The lab's and the codecs' decoder layers: ConvTranspose with stride, padding and output padding, a strided
    padded Conv, a 3x3 max pool, GELU and tanh."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1), torch.nn.GELU(),
        torch.nn.ConvTranspose2d(5, 4, 3, stride=2, padding=1, output_padding=1), torch.nn.Tanh(),
        torch.nn.Conv2d(4, 6, 5, stride=2, padding=2), torch.nn.MaxPool2d(3, stride=1, padding=1),
    ).eval()  # fmt: skip
    x = torch.randn(2, 3, 7, 7)
    path = tmp_path / "decoder.onnx"
    path.write_bytes(onnx_files.onnx_bytes(module, x, ("z", "y")))
    got, want = run_js(path, x.numpy(), tmp_path), run_ort(path, x.numpy())
    assert got.shape == want.shape == (2, 6, 14, 14)
    assert np.abs(got - want).max() <= 1e-5
