"""``python -m ae train | train-classifier | reproduce``: the commands that train."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import torch

from ae.cli import folders
from ae.data.mnist import Mnist
from ae.models.specs import MAX_SEED, check_seed
from ae.runtime.cores import side_by_side
from ae.storage import checkpoints
from ae.storage.catalogue import READERS, active_registry, readers
from ae.training import classifier_training, reproduce
from ae.training.loop import Cancelled, Diverged
from ae.training.runs import longest_first, train_and_save


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
    return [n for n in names if folders.status(args, n)[0].state != "fresh"] if args.missing else names


@dataclass
class _Training:
    """One ``train`` command: what every run shares, and the run of one model."""

    args: argparse.Namespace
    data: dict[str, Mnist]  # by dataset
    jobs: int
    failed: list[str] = field(default_factory=list)  # a run that diverged stops the others: the setup is wrong

    def run(self, name: str, should_stop) -> int:
        if self.failed:
            return 1
        bar = self._bar(name)
        try:
            spec = active_registry()[name].with_seed(self.args.seed)
            meta = train_and_save(
                spec, self.data[spec.dataset], directory=self.args.checkpoints, epochs=self.args.epochs,
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
        from tqdm import tqdm  # here: only the train command draws bars

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
    names = _train_names(args)
    if names is None:
        return 2
    data = folders.datas(args, [active_registry()[n] for n in names])
    training = _Training(args, data, max(1, min(args.jobs, len(names))))
    sources = "; ".join(f"{d.source} ({d.fingerprint})" for d in data.values())
    print(
        f"data: {sources}; torch {torch.__version__}; up to {training.jobs} run(s) at a time, on the threads each "
        "recipe names"
    )
    t0 = time.perf_counter()
    try:
        registry = active_registry()
        order = longest_first(names, registry, folders.source(args))
        codes = list(side_by_side(training.run, order, lambda n: registry[n].recipe.threads, training.jobs))
    except KeyboardInterrupt:
        print("interrupted; the previous checkpoints are kept", file=sys.stderr)
        return 130
    print(f"{len(names)} model(s) in {time.perf_counter() - t0:.1f} s")
    return 1 if any(codes) else 0


def cmd_train_classifier(args: argparse.Namespace) -> int:
    spec = READERS[args.dataset]
    meta = train_and_save(
        spec,
        folders.data(args, args.dataset),
        directory=args.checkpoints,
        command=checkpoints.command_line(),
        progress=lambda s: print(s, file=sys.stderr),
    )
    acc, target = meta["metrics"]["test_accuracy"], classifier_training.ACCURACY_TARGETS[args.dataset]
    print(f"{spec.name}: test accuracy {acc:.4f}, target {target:.2f} ({meta['wall_time_s']:.0f} s)")
    return 0 if acc >= target else 1


def cmd_reproduce(args: argparse.Namespace) -> int:
    specs = {**active_registry(), **readers()}  # the autoencoders and the reference readers
    names = list(specs) if args.all else args.model
    if not names or any(n not in specs for n in names):
        print(f"name models with --model NAME (known: {', '.join(specs)}), or use --all", file=sys.stderr)
        return 2
    for name in [n for n in names if reproduce.fine_tuned(n, folders.source(args).resolve(n, specs)[0])]:
        print(f"{name}: skipped: {reproduce.NOT_REPRODUCIBLE}", flush=True)
        names.remove(name)
    data = folders.datas(args, [specs[n] for n in names])

    def check(name: str, should_stop) -> tuple[str, dict | None, str]:
        try:
            folder, _ = folders.source(args).resolve(
                name, specs
            )  # the checkpoint that serves it: compared with a retrain
            spec = specs[name]
            return name, reproduce.check(spec, data[spec.dataset], folder, seed=args.seed, should_stop=should_stop), ""
        except checkpoints.CheckpointError as e:
            return name, None, e.detail

    failed = 0
    try:
        order = longest_first(names, specs, folders.source(args))
        for name, r, why in side_by_side(check, order, lambda n: specs[n].recipe.threads, args.jobs):
            if r is None:
                print(f"{name}: cannot check: {why}", file=sys.stderr)
                failed += 1
                continue
            # Recorded here, in one thread: the results file is read-modify-write. Another seed's retrain says
            # nothing about whether the checkpoint itself reproduces.
            if reproduce.same_seed(r):
                reproduce.record(name, r, folders.source(args).writable)
            print(reproduce.describe(name, r), flush=True)
            failed += not r["reproduced"]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 1 if failed else 0


def model_arguments(p: argparse.ArgumentParser, everything: str) -> None:
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
