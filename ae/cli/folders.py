"""What every command reads: the data it was pointed at and the checkpoint folders that serve each model."""

from __future__ import annotations

import argparse

from ae.data.datasets import DEFAULT, load_dataset
from ae.data.mnist import Mnist
from ae.storage import checkpoints


def data(args: argparse.Namespace, dataset: str = DEFAULT) -> Mnist:
    """Dataset ``dataset`` (MNIST from --mnist-root when one is named)."""
    return load_dataset(dataset, args.mnist_root)


def datas(args: argparse.Namespace, specs) -> dict[str, Mnist]:
    """Each dataset the models of ``specs`` learn, loaded once."""
    return {key: data(args, key) for key in dict.fromkeys(spec.dataset for spec in specs)}


def source(args: argparse.Namespace) -> checkpoints.Folders:
    """Where models are read from: a folder named with --checkpoints alone, else each model from the workspace when
    it has a usable checkpoint there, from the shipped folder otherwise."""
    return checkpoints.Folders(args.checkpoints) if args.explicit_checkpoints else checkpoints.folders()


def status(args: argparse.Namespace, name: str) -> tuple[checkpoints.Status, str]:
    """The status of the checkpoint that serves ``name``, and its origin ("shipped" / "retrained <date>")."""
    folder, origin = source(args).resolve(name)
    return checkpoints.status(name, folder), origin
