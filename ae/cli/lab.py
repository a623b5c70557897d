"""The lab's commands: ``python -m ae new | delete | list``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ae.cli import folders
from ae.data.datasets import DATASETS, DEFAULT
from ae.storage import checkpoints, lab, spec_files
from ae.storage.catalogue import active_registry, built


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of widths, e.g. 256,128") from None


def add_new(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="1-40 lower-case letters, digits and dashes")
    p.add_argument("--family", required=True, help=f"one of {', '.join(lab.DEFAULTS)}")
    p.add_argument("--code", type=int, help="code size (conv: code channels, each a 7x7 map)")
    p.add_argument("--hidden", type=_widths, help="mlp/vae: hidden widths, e.g. 256,128; conv: hidden channels")
    p.add_argument("--activation", default="relu", help=f"mlp: one of {', '.join(spec_files.ACTIVATIONS)}")
    p.add_argument("--third-block", action="store_true", help="conv: one more 3x3 conv block on each side")
    p.add_argument("--kind", default="mlp", help="vae: mlp or conv encoder and decoder")
    p.add_argument("--beta", type=float, default=1.0, help="vae: weight of the KL term")
    p.add_argument("--noise", type=float, default=0.0, help="denoising noise σ (0: a plain autoencoder)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="a few words kept with the model")
    p.add_argument("--dataset", choices=list(DATASETS), default=DEFAULT, help="what it learns (default: mnist)")
    p.add_argument("--train-subset", type=int, help="train on the first N training digits only (quick demos)")
    p.add_argument("--train", action="store_true", help="train it now (else: python -m ae train --model NAME)")


def cmd_new(args: argparse.Namespace) -> int:
    """Build the model; with --train, leave ``args`` asking ``train`` for it (``ae.cli.main`` runs that next)."""
    extra = {"train_subset": args.train_subset} if args.train_subset else {}
    build = lab.Build(
        args.name, args.family, args.code, args.hidden, args.activation, args.third_block, args.kind, args.beta,
        args.noise, args.epochs, args.lr, args.seed, args.note, extra, args.dataset,
    )  # fmt: skip
    try:
        spec = lab.create(build, args.checkpoints if args.explicit_checkpoints else None)
    except spec_files.SpecError as e:
        print(f"not built: {e}", file=sys.stderr)
        return 2
    print(f"built {spec.name}: {spec.description}; {spec_files.parameters(spec):,} parameters")
    if not args.train:
        print(f"train it with: python -m ae train --model {spec.name}")
        return 0
    args.model, args.all, args.missing, args.jobs, args.epochs = [spec.name], False, False, 1, None
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    try:
        removed = lab.delete(args.name)
    except spec_files.SpecError as e:
        print(f"not deleted: {e}", file=sys.stderr)
        return 2
    print(f"deleted {args.name}: " + ", ".join(f"{Path(p).parent.name}/{Path(p).name}" for p in removed))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    source = folders.source(args)
    print(f"{'model':<22} {'family':<8} {'dataset':<8} {'origin':<8} {'status':<10} {'parameters':>11}  test MSE")
    for name, spec in active_registry().items():
        folder, where = source.resolve(name)
        status = checkpoints.status(name, folder)
        mse = (status.meta or {}).get("metrics", {}).get("test_mse")
        if status.state == "fresh" and where != "shipped":
            state = "retrained" if lab.origin(name) == "shipped" else "trained"
        else:
            state = status.state
        mse_text = f"{mse:.5f}" if isinstance(mse, float) and state != "missing" else "-"
        what = f"{spec.family:<8} {spec.dataset:<8} {lab.origin(name):<8}"
        row = f"{name:<22} {what} {state:<10} {spec_files.parameters(spec):>11,}  "
        print(row + mse_text)
    for file, why in built()[1].items():
        print(f"left out: specs/{file}: {why}", file=sys.stderr)
    return 0
