"""``python -m ae export``: every model as ONNX (``--onnx DIR``), the offline live-Draw site (``--site DIR``), and the
shipped models' files made ahead of any visit (``--shipped``, run by scripts/setup.sh)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ae.cli import folders
from ae.data.datasets import DEFAULT, load_dataset
from ae.export import compact, onnx_files, site
from ae.storage import checkpoints
from ae.storage.catalogue import active_registry, readers, shipped_registry

CHECK_DIGITS = 1000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--onnx", type=Path, help="write every model's ONNX files (and manifest.json) into this folder")
    p.add_argument("--site", type=Path, help="write the offline live-Draw edition (a static folder) here")
    p.add_argument(
        "--shipped", action="store_true",
        help="export the shipped models into checkpoints/onnx (what scripts/setup.sh does), so no visit exports them",
    )  # fmt: skip
    p.add_argument(
        "--no-check", action="store_true", help=f"skip the onnxruntime-vs-torch check on {CHECK_DIGITS:,} test digits"
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Export (or find in the workspace's cache) every model, check it, then copy it where asked."""
    source = folders.source(args)
    registry = shipped_registry() if args.shipped else active_registry()
    if args.shipped:
        source = checkpoints.Folders(source.shipped)
    out = onnx_files.prebuilt_dir(source) if args.shipped else onnx_files.models_dir()
    t0 = time.perf_counter()
    done, failed = onnx_files.export_all(source, registry, out, log=lambda s: print(s, file=sys.stderr))
    print(f"{len(done)} model(s) exported or up to date in {out} ({time.perf_counter() - t0:.1f} s)")
    bad = False if args.no_check else _check(done, source, registry, out)
    if args.onnx:
        onnx_files.copy_files(done, out, args.onnx)
        onnx_files.write_manifest(done, args.onnx)
        print(f"wrote {len(done)} model(s) to {args.onnx}")
    if args.site:
        specs = {**registry, **readers()}
        digits = [e for e in done if specs[e.name].dataset == DEFAULT]  # a digit pad
        size = site.build_site(args.site, digits, site.shown_first(registry))
        print(f"wrote the offline edition to {args.site} ({size / 1e6:.1f} MB); serve it with any static web server")
    return 1 if failed or bad else 0


def _check(done: list[onnx_files.Exported], source: checkpoints.Folders, registry: dict, out: Path) -> bool:
    """onnxruntime against torch on the first test digits; prints each model's precision and max abs difference
    against its precision's bound. True when one is out of bounds."""
    specs = {**registry, **readers()}
    datasets = {spec.dataset for spec in specs.values()}
    tests = {key: load_dataset(key).test_images()[:CHECK_DIGITS].contiguous() for key in datasets}
    bad = False
    for e in done:
        model, _ = checkpoints.load(e.name, source.resolve(e.name, specs)[0], specs)
        images = tests[specs[e.name].dataset]
        diff, bound = onnx_files.fidelity(e, out, model, images).max_diff, compact.bound(e.precision)
        bad |= diff > bound
        ok = "ok" if diff <= bound else "TOO LARGE"
        print(
            f"  {e.name:<20} {e.sha}  {e.precision}: onnxruntime vs torch on {len(images):,} digits: "
            f"max |diff| {diff:.2e} (bound {bound:g}) {ok}"
        )
    return bad
