"""Time the lab's default model of each family: built as the Build page builds it, trained on the 60k digits.

    .venv/bin/python bench/lab.py [--family mlp ...]

Prints, per family, the parameters, the training wall time (whole run, evaluation after each epoch included) and
the test MSE. The target is under 30 s each on 2 cores. Runs one after another, each on its recipe's threads.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from ae.data.mnist import load_mnist
from ae.models.families import FAMILIES
from ae.storage import lab, spec_files
from ae.training.loop import train


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--family", action="append", help="one family (repeatable); default: every one")
    families = p.parse_args().family or [f for f in lab.DEFAULTS if f in FAMILIES]
    os.environ.setdefault("AELAB_HOME", tempfile.mkdtemp(prefix="aelab-bench-"))
    data = load_mnist()
    print(f"{cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__}")
    print(f"{'family':<8} {'parameters':>11} {'epochs':>6} {'seconds':>8} {'test MSE':>9}  model")
    for family in dict.fromkeys(families):
        spec = lab.spec_for(lab.Build(f"bench-{family}", family))
        t0 = time.perf_counter()
        result = train(spec, data)
        seconds = time.perf_counter() - t0
        mse = result.history[-1]["test_loss"]
        row = f"{family:<8} {spec_files.parameters(spec):>11,} {spec.recipe.epochs:>6} {seconds:>8.1f} {mse:>9.5f}"
        print(f"{row}  {spec.description}")


if __name__ == "__main__":
    main()
