"""``python -m ae eval | calibrate | rd | info``: the commands that measure and report."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd

from ae.cli import folders
from ae.compression.rd import findings, rd_table
from ae.data.datasets import DATASETS, DEFAULT
from ae.data.mnist import DataError, cache_dir
from ae.measure.compare import comparison_table
from ae.measure.familiarity import detection
from ae.measure.quantize import code_range
from ae.storage import checkpoints
from ae.storage.catalogue import active_registry


def cmd_eval(args: argparse.Namespace) -> int:
    registry, t0 = active_registry(), time.perf_counter()
    data = _datasets(args, registry)
    table = pd.concat([comparison_table(d, folders.source(args), registry) for d in data.values()], ignore_index=True)
    table.insert(3, "dataset", [registry[name].dataset for name in table["model"]])
    if args.ood:
        table = table.merge(_familiarity(args, registry, data), on="model", how="left")
    seconds = time.perf_counter() - t0
    shown = table.drop(columns=["note"]).map(_cell)
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(shown.to_string(index=False))
    tests = " and ".join(f"{len(d.test_x):,} test images of {DATASETS[k].title}" for k, d in data.items())
    print(f"\n{tests}; {len(table)} models, evaluated in {seconds:.2f} s")
    if args.ood and len(data) > 1:
        print(OOD_LEGEND)
    for row in table.itertuples():
        if row.note:
            print(f"{row.model}: {row.checkpoint}: {row.note}")
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0 if table["test MSE"].notna().all() else 1


OOD_LEGEND = (
    "OOD AUROC: how well a model's reconstruction error tells the other dataset's test images from its own (1 = "
    "always, 0.5 = chance); flagged: the share of the other dataset's images above the model's 99th percentile, "
    "where the app says 'unfamiliar' (its own test images: 1%)."
)


def _datasets(args: argparse.Namespace, registry: dict) -> dict:
    """Each dataset the registry's models learn that is installed; one sentence for each other one that is not (no
    MNIST is an error: the app needs it)."""
    found = {}
    for key in dict.fromkeys([DEFAULT, *(spec.dataset for spec in registry.values())]):
        try:
            found[key] = folders.data(args, key)
        except DataError as e:
            if key == DEFAULT:
                raise
            print(f"{e} Its models are not evaluated.", file=sys.stderr)
    return found


def _familiarity(args: argparse.Namespace, registry: dict, data: dict) -> pd.DataFrame:
    """For each model that loads, its error as a detector of another installed dataset (columns for the table)."""
    rows = []
    for name, spec in registry.items():
        other = next((k for k in data if k != spec.dataset), None)
        if other is None or spec.dataset not in data:
            continue
        try:
            model, _ = checkpoints.load(name, folders.source(args).resolve(name, registry)[0], registry)
        except checkpoints.CheckpointError:
            continue
        found = detection(model, data[spec.dataset].test_images(), data[other].test_images())
        rows.append({"model": name, "OOD vs": DATASETS[other].title, "OOD AUROC": found.auroc,
                     "flagged (%)": 100 * found.flagged})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "OOD vs", "OOD AUROC", "flagged (%)"])


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Record each checkpoint's code range (for quantization) in its sidecar, for checkpoints made before it."""
    train = folders.data(args).train_images()
    for name in active_registry():
        try:
            model, meta = checkpoints.load(name, args.checkpoints)
        except checkpoints.CheckpointError as e:
            print(f"{name}: skipped ({e.reason})")
            continue
        if "code_range" in meta and not args.force:
            continue
        lo, hi = code_range(model, train)
        checkpoints.update_sidecar(name, {"code_range": [lo, hi]}, args.checkpoints)
        print(f"{name}: code range [{lo:.4f}, {hi:.4f}]")
    return 0


def cmd_rd(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    table = rd_table(
        folders.data(args, args.dataset),
        folders.source(args),
        remeasure=not args.stored,
        save=not args.codec_digits,
        codec_digits=args.codec_digits,
        log=lambda s: print(s, file=sys.stderr),
    )
    with pd.option_context("display.width", 250, "display.max_columns", None, "display.max_rows", None):
        print(table.map(_cell).to_string(index=False))
    print(f"\n{len(table)} points in {time.perf_counter() - t0:.1f} s")
    for sentence in findings(table):
        print("- " + sentence)
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    try:
        data = folders.data(args)
        print(f"data:        {data.source}")
        print(f"             {len(data.train_x):,} train + {len(data.test_x):,} test digits, {data.fingerprint}")
    except DataError as e:
        print(f"data:        unavailable: {e}")
    print(f"cache:       {cache_dir()}")
    if args.explicit_checkpoints:
        print(f"checkpoints: {Path(args.checkpoints).resolve()}")
    else:
        print(f"workspace:   {args.checkpoints.resolve()} (AELAB_HOME; what train writes)")
        print(f"shipped:     {checkpoints.SHIPPED_DIR} (read-only; --checkpoints checkpoints to regenerate)")
    for name in active_registry():
        s, origin = folders.status(args, name)
        when = f" {origin}, trained {s.meta.get('created')}" if s.meta else ""
        # Only where training writes; a workspace not made yet has nothing training in it (nor is made by asking).
        training = Path(args.checkpoints).is_dir() and checkpoints.is_training(name, args.checkpoints)
        busy = " (training now)" if training else ""
        print(f"  {name:<12} {s.state:<14}{when}{busy}" + (f"\n  {'':<12} {s.detail}" if s.detail else ""))
    return 0
