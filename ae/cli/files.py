"""``python -m ae compress | decompress``: a digit picture as an .ael file, and back."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from ae.cli import folders
from ae.compression.aelfile import AelError, Sender, WrongModel, load_sender, models_with_tag, png_bytes, unpack
from ae.data.preprocess import InputError, read_picture
from ae.models.autoencoders import PIXELS
from ae.runtime.fileio import atomic_write
from ae.storage import checkpoints
from ae.storage.catalogue import active_registry


def _sender(args, name: str) -> Sender:
    registry = active_registry()
    if name not in registry:
        raise WrongModel(f"model {name!r} is not in this lab; known: {', '.join(registry)}")
    return load_sender(name, folders.source(args), registry=registry, mnist_root=args.mnist_root)


def cmd_compress(args) -> int:
    """``python -m ae compress IMAGE -o digit.ael --model NAME``."""
    try:
        digit = read_picture(args.image)
        sender = _sender(args, args.model)
    except (OSError, InputError, AelError, checkpoints.CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    blob = sender.compress(digit)
    atomic_write(args.output, blob)
    header = unpack(blob).header_bytes
    mse = max(float(np.mean((sender.decompress(blob) - digit) ** 2)), 1e-12)
    print(
        f"{args.output}: {len(blob)} bytes = {8 * len(blob) / PIXELS:.3f} bits per pixel (header {header} bytes, "
        f"code {len(blob) - header} bytes); decompressed by {args.model}: PSNR {10 * math.log10(1 / mse):.1f}"
        " dB against the input"
    )
    return 0


def _maker(args, blob: bytes) -> tuple[str, np.ndarray]:
    """The model that made ``blob`` (``--model``, else the lab's model of the file's tag) and its picture."""
    parsed = unpack(blob)
    names = [args.model] if args.model else models_with_tag(parsed.tag, active_registry())
    if not names:
        raise WrongModel("this file was made with a model this lab does not have (or it is not an .ael file)")
    for name in names[:-1]:  # two models of one tag: the file's check passes with the one that made it
        try:
            return name, _sender(args, name).decompress(blob)
        except AelError:
            continue
    return names[-1], _sender(args, names[-1]).decompress(blob)


def cmd_decompress(args) -> int:
    """``python -m ae decompress digit.ael -o out.png`` (``--model NAME``: refuse a file made by another model)."""
    try:
        blob = Path(args.file).read_bytes()
        name, picture = _maker(args, blob)
    except (OSError, AelError, checkpoints.CheckpointError) as e:
        print(f"error: {args.file}: {e}", file=sys.stderr)
        return 1
    atomic_write(args.output, png_bytes(picture))
    print(f"{args.output}: the picture {name} decodes from {len(blob)} bytes")
    return 0


def add_compress(p) -> None:
    p.add_argument("image", type=Path, help="a picture of one digit (PNG, JPEG, ...; a 28x28 one is used as it is)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .ael file to write")
    p.add_argument("--model", required=True, help="the model that codes it (a codec-* model is made for this)")


def add_decompress(p) -> None:
    p.add_argument("file", type=Path, help="an .ael file")
    p.add_argument("-o", "--output", type=Path, required=True, help="the PNG file to write")
    p.add_argument("--model", help="refuse the file unless this model made it (default: the model its tag names)")
