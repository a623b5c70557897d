"""``python -m ae export``: every model as ONNX (``--onnx DIR``) and the offline live-Draw site (``--site DIR``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ae.cli import folders
from ae.data.mnist import load_mnist
from ae.export import onnx_files, site
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER, active_registry

CHECK_DIGITS = 1000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--onnx", type=Path, help="write every model's ONNX files (and manifest.json) into this folder")
    p.add_argument("--site", type=Path, help="write the offline live-Draw edition (a static folder) here")
    p.add_argument(
        "--no-check", action="store_true", help=f"skip the onnxruntime-vs-torch check on {CHECK_DIGITS:,} test digits"
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Export (or find in the workspace's cache) every model, check it, then copy it where asked."""
    source = folders.source(args)
    registry = active_registry()
    t0 = time.perf_counter()
    done, failed = onnx_files.export_all(source, registry, log=lambda s: print(s, file=sys.stderr))
    print(
        f"{len(done)} model(s) exported or up to date in {onnx_files.models_dir()} ({time.perf_counter() - t0:.1f} s)"
    )
    worst = 0.0 if args.no_check else _check(done, source, registry)
    if args.onnx:
        onnx_files.copy_files(done, onnx_files.models_dir(), args.onnx)
        onnx_files.write_manifest(done, args.onnx)
        print(f"wrote {len(done)} model(s) to {args.onnx}")
    if args.site:
        size = site.build_site(args.site, done)
        print(f"wrote the offline edition to {args.site} ({size / 1e6:.1f} MB); serve it with any static web server")
    bad = worst > onnx_files.PARITY_TOLERANCE
    return 1 if failed or bad else 0


def _check(done: list[onnx_files.Exported], source: checkpoints.Folders, registry: dict) -> float:
    """onnxruntime against torch on the first test digits; prints each model's max abs difference."""
    images = load_mnist().test_images()[:CHECK_DIGITS].contiguous()
    specs = {**registry, CLASSIFIER.name: CLASSIFIER}
    worst = 0.0
    for e in done:
        model, _ = checkpoints.load(e.name, source.resolve(e.name, specs)[0], specs)
        diff = onnx_files.parity(e, onnx_files.models_dir(), model, images)
        worst = max(worst, diff)
        ok = "ok" if diff <= onnx_files.PARITY_TOLERANCE else "TOO LARGE"
        print(f"  {e.name:<20} {e.sha}  onnxruntime vs torch on {len(images):,} digits: max |diff| {diff:.2e} {ok}")
    return worst
