"""Teach it your handwriting: the fine-tune's before/after on the synthetic hand, and how long it takes on one core.

    .venv/bin/python bench/finetune.py                       # linear-32, conv-8, linear-128-denoise
    .venv/bin/python bench/finetune.py --model linear-32 --digits 40

For each model: the shipped checkpoint fine-tuned (finetune's defaults: 300 Adam steps of 64 digits, half yours,
cut off at 10 s) on ``--digits`` digits of the synthetic hand (MNIST test digits slanted and thickened,
ae.data.handwriting.synthetic), on one thread, as the Draw page runs it. Printed: the MSE on those digits and on the
10,000 MNIST test digits before and after, on as many digits of the same hand the fine-tune never saw, the steps
done, the training time and the whole call's time (the measuring included), and the load average while it ran.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `ae` importable

import torch

from ae.data import handwriting
from ae.data.mnist import load_mnist
from ae.models.batching import mean_squared_error
from ae.runtime.cores import torch_threads
from ae.storage import checkpoints
from ae.training import finetune


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


STROKES = Path(__file__).resolve().parent.parent / "tests" / "data" / "strokes.json"


def mouse_digits() -> tuple[handwriting.DigitSet, handwriting.DigitSet]:
    """The 30 stroke sets that tests/data/record_strokes.py drew with the mouse on the live pad (3 per digit, in
    order 0-9), drawn again with the pad's pen and turned into MNIST digits by the server's preprocessing: the first
    two of each digit to fine-tune on, the third unseen."""
    import json

    import numpy as np
    from PIL import Image, ImageDraw

    from ae.data.preprocess import CANVAS_SIZE, CANVAS_STROKE, canvas_to_mnist

    seen, unseen = handwriting.empty(), handwriting.empty()
    for i, strokes in enumerate(json.loads(STROKES.read_text())):
        img = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 255))
        pen = ImageDraw.Draw(img)
        for stroke in strokes:
            points = [tuple(p) for p in stroke]
            pen.line(points, fill=(255, 255, 255, 255), width=CANVAS_STROKE, joint="curve")
            for x, y in points[:1] + points[-1:]:  # round caps, as the pad's pen
                r = CANVAS_STROKE / 2
                pen.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
        digit = canvas_to_mnist(np.asarray(img))
        if i % 3 < 2:
            seen = handwriting.add(seen, digit, i // 3)
        else:
            unseen = handwriting.add(unseen, digit, i // 3)
    return seen, unseen


def one(name: str, data, digits: int, mouse: bool = False) -> None:
    model, meta = checkpoints.load(name, checkpoints.SHIPPED_DIR)
    spec = checkpoints.active_registry()[name]
    if mouse:
        hand, unseen_set = mouse_digits()
        unseen = unseen_set.tensors()[0]
    else:
        hand = handwriting.synthetic(data, digits)
        unseen = handwriting.synthetic(data, digits, start=digits).tensors()[0]
    t0 = time.perf_counter()
    r = finetune.finetune(
        model, hand, data, noise_std=spec.recipe.noise_std, before_mnist=finetune.recorded_test_mse(meta, data)
    )
    total = time.perf_counter() - t0
    with torch_threads(1):
        unseen_before, unseen_after = mean_squared_error(model, unseen), mean_squared_error(r.model, unseen)
    print(
        f"| {name} | {r.before.yours:.5f} → {r.after.yours:.5f} ({r.after.yours / r.before.yours - 1:+.0%}) "
        f"| {unseen_before:.5f} → {unseen_after:.5f} ({unseen_after / unseen_before - 1:+.0%}) "
        f"| {r.before.mnist:.5f} → {r.after.mnist:.5f} ({r.after.mnist / r.before.mnist - 1:+.0%}) "
        f"| {r.steps} | {r.seconds:.1f} s | {total:.1f} s | {os.getloadavg()[0]:.1f} |",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="a shipped model (repeatable)")
    p.add_argument("--digits", type=int, default=100, help="digits of the synthetic hand to fine-tune on")
    p.add_argument("--mouse", action="store_true", help="use the 20 mouse-drawn digits of strokes.json")
    args = p.parse_args()
    data = load_mnist()
    what = "20 mouse-drawn digits (10 unseen)" if args.mouse else f"{args.digits} synthetic digits"
    print(f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, {what}")
    print("| model | MSE on your digits | on unseen digits of the same hand | MNIST test | steps | training ", end="")
    print("| whole call | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.model or ["linear-32", "conv-8", "linear-128-denoise"]:
        one(name, data, args.digits, args.mouse)


if __name__ == "__main__":
    main()
