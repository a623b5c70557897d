"""The live Draw's web folder: the component's page and scripts, onnxruntime-web's files and the exported models.

One layout serves both uses: the app declares its custom component on ``onnx_files.export_home()`` (assembled here),
and ``python -m ae export --site DIR`` writes the same files plus ``manifest.json`` and a few test digits as the
offline edition, which any static web server serves with no Python.

The page runs the models with its own small interpreter (``tinyonnx.mjs``). onnxruntime-web is the fallback for a
graph with an op that interpreter lacks, fetched only then: it comes from the npm registry (``scripts/setup.sh`` runs
``npm ci`` in ``components/``, whose ``package-lock.json`` pins the version and the files' hashes), and nothing is
fetched when the app runs. Without it, such a model is listed as unable to run in the browser.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ae.data.mnist import load_mnist
from ae.export import onnx_files
from ae.measure.familiarity import words
from ae.models.specs import ModelSpec
from ae.runtime.fileio import atomic_write
from ae.storage.catalogue import built

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "components" / "live_draw"
FRONTEND_FILES = ("index.html", "live.js", "preprocess.js", "tinyonnx.mjs")
ORT_PACKAGE = ROOT / "components" / "node_modules" / "onnxruntime-web"
# The WebAssembly build alone (no WebGL/WebGPU): the ES module with its loader inlined, and the SIMD binary.
ORT_FILES = ("ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm")
TEST_DIGITS = 12


def runtime() -> dict | None:
    """Where the page finds onnxruntime-web (a folder named by its version, so the browser may cache it for good), or
    None when it is not installed (scripts/setup.sh installs it with npm)."""
    try:
        version = json.loads((ORT_PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    if not all((ORT_PACKAGE / "dist" / f).is_file() for f in ORT_FILES):
        return None
    return {"dir": f"ort-{version}", "wasm": ORT_FILES[1], "version": version}


def _copy_if_changed(src: Path, dest: Path) -> None:
    data = src.read_bytes()
    if not dest.is_file() or dest.read_bytes() != data:
        atomic_write(dest, data)


def install_frontend(root: Path) -> dict | None:
    """The component's files and onnxruntime-web's into ``root`` (only what changed); returns ``runtime()``."""
    info = runtime()
    root.mkdir(parents=True, exist_ok=True)
    for name in FRONTEND_FILES:
        _copy_if_changed(FRONTEND / name, root / name)
    if info is None:
        return None
    ort_dir = root / info["dir"]
    ort_dir.mkdir(exist_ok=True)
    for name in ORT_FILES:
        if not (ort_dir / name).is_file():  # named by version: the same name is the same file
            shutil.copyfile(ORT_PACKAGE / "dist" / name, ort_dir / name)
    _copy_if_changed_text(ort_dir / "LICENSE.txt", ORT_LICENSE.format(version=info["version"]))
    return info


def _copy_if_changed_text(dest: Path, text: str) -> None:
    if not dest.is_file() or dest.read_text() != text:
        atomic_write(dest, text.encode())


# The npm package carries no licence file, only its headers' "Licensed under the MIT License": this is that licence.
ORT_LICENSE = """onnxruntime-web {version} (npm package onnxruntime-web), installed from the npm registry.

MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def page_manifest(
    exported: list[onnx_files.Exported],
    info: dict | None,
    unavailable: dict[str, str] | None = None,
    shown: set[str] | None = None,
    reader: str | None = onnx_files.CLASSIFIER,
) -> dict:
    """What the page is given: the models and the reader named ``reader`` (onnx_files.manifest), where the fallback
    runtime is, which models cannot run in the browser (name: why), which models the page shows (and fetches) before
    the student asks for the others (``shown``; None: all of them), and the words for how familiar an input is (of a
    digit)."""
    short = {name: why.split(":")[0] for name, why in (unavailable or {}).items()}
    man = onnx_files.manifest(exported, reader)
    for m in man["models"]:
        m["shown"] = shown is None or m["name"] in shown
    return {**man, "runtime": info, "base": "models/", "unavailable": short, "familiarity": words("digit")}


def test_digits(count: int = TEST_DIGITS) -> list[dict]:
    """The first test digit of each class (and then the next ones) as 784 bytes each, with its label."""
    data = load_mnist()
    picked: list[int] = []
    for label in range(10):
        picked.append(int(np.flatnonzero(data.test_y == label)[0]))
    picked += [i for i in range(len(data.test_y)) if i not in picked][: max(0, count - len(picked))]
    return [{"index": i, "label": int(data.test_y[i]), "pixels": data.test_x[i].ravel().tolist()} for i in picked]


def shown_first(registry: dict[str, ModelSpec]) -> set[str]:
    """The models the strip shows (and the browser fetches) before the student asks for every model: the seed's,
    and the ones built in the lab."""
    return {name for name, spec in registry.items() if spec.group == "seed"} | set(built()[0])


def build_site(dest: Path, exported: list[onnx_files.Exported], shown: set[str] | None = None) -> int:
    """The offline edition in ``dest``: index.html and scripts, onnxruntime-web, models, manifest.json, digits.json;
    ``shown``: the models its strip shows first (None: all). Returns its size in bytes."""
    dest = Path(dest)
    info = install_frontend(dest)
    onnx_files.copy_files(exported, onnx_files.models_dir(), dest / "models")
    manifest = {**page_manifest(exported, info, shown=shown), "digits": "digits.json"}
    atomic_write(dest / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    atomic_write(dest / "digits.json", json.dumps(test_digits()).encode())
    return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
