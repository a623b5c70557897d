"""``python -m ae export``: every model as ONNX (``--onnx DIR``) and the offline live-Draw site (``--site DIR``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ae import checkpoints, export
from ae.registry import active_registry

CHECK_DIGITS = 1000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--onnx", type=Path, help="write every model's ONNX files (and manifest.json) into this folder")
    p.add_argument("--site", type=Path, help="write the offline live-Draw edition (a static folder) here")
    p.add_argument(
        "--no-check", action="store_true", help=f"skip the onnxruntime-vs-torch check on {CHECK_DIGITS:,} test digits"
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Export (or find in the workspace's cache) every model, check it, then copy it where asked."""
    source = checkpoints.Folders(args.checkpoints) if args.explicit_checkpoints else checkpoints.folders()
    registry = active_registry()
    t0 = time.perf_counter()
    done, failed = export.export_all(source, registry, log=lambda s: print(s, file=sys.stderr))
    print(f"{len(done)} model(s) exported or up to date in {export.models_dir()} ({time.perf_counter() - t0:.1f} s)")
    worst = 0.0 if args.no_check else _check(done, source, registry)
    if args.onnx:
        export.copy_files(done, export.models_dir(), args.onnx)
        export.write_manifest(done, args.onnx)
        print(f"wrote {len(done)} model(s) to {args.onnx}")
    if args.site:
        from ae import site

        size = site.build_site(args.site, done)
        print(f"wrote the offline edition to {args.site} ({size / 1e6:.1f} MB); serve it with any static web server")
    bad = worst > export.PARITY_TOLERANCE
    return 1 if failed or bad else 0


def _check(done: list[export.Exported], source: checkpoints.Folders, registry: dict) -> float:
    """onnxruntime against torch on the first test digits; prints each model's max abs difference."""
    from ae.data import load_mnist

    images = load_mnist().test_images()[:CHECK_DIGITS].contiguous()
    specs = {**registry, export.CLASSIFIER: export.CLASSIFIER_SPEC}
    worst = 0.0
    for e in done:
        model, _ = checkpoints.load(e.name, source.resolve(e.name, specs)[0], specs)
        diff = export.parity(e, export.models_dir(), model, images)
        worst = max(worst, diff)
        ok = "ok" if diff <= export.PARITY_TOLERANCE else "TOO LARGE"
        print(f"  {e.name:<20} {e.sha}  onnxruntime vs torch on {len(images):,} digits: max |diff| {diff:.2e} {ok}")
    return worst
