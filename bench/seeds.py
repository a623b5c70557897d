"""Test MSE of the five seed models for every seed: does the recipe meet the seed's bars whatever the seed?

    .venv/bin/python bench/seeds.py [--seeds 0-7] [--model conv-8 ...]

For each seed, the real command, ``python -m ae train --seed S --model ...`` for the models asked for, into a scratch
folder, one process per seed (timed whole, from process start). Prints a table of test MSE per model and seed, each
model's worst seed against its bar, and the time per command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `ae` importable

from ae.storage.catalogue import SEED_BARS

ROOT = Path(__file__).resolve().parent.parent


def seed_list(text: str) -> list[int]:
    """'0-7' or '0,3,5' as a list of seeds."""
    if "-" in text:
        first, last = map(int, text.split("-"))
        return list(range(first, last + 1))
    return [int(s) for s in text.split(",")]


def train_seed(models: list[str], seed: int) -> tuple[float, dict[str, float]]:
    """``python -m ae train --seed seed`` for ``models``: the command's wall time and each model's test MSE."""
    with tempfile.TemporaryDirectory() as scratch:
        cmd = [sys.executable, "-m", "ae", "train", "--seed", str(seed), "--checkpoints", scratch]
        for name in models:
            cmd += ["--model", name]
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "AELAB_HOME": scratch})
        wall = time.perf_counter() - t
        if out.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
        metas = {n: json.loads((Path(scratch) / f"{n}.json").read_text()) for n in models}
    assert all(m["seed"] == seed for m in metas.values())
    return wall, {n: m["metrics"]["test_mse"] for n, m in metas.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=seed_list, default=list(range(8)), help="e.g. 0-7 (default) or 0,3")
    ap.add_argument("--model", action="append", help="a seed model (repeatable); default: all five")
    args = ap.parse_args()
    models = args.model or list(SEED_BARS)
    import torch

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    results: dict[int, dict[str, float]] = {}
    for seed in args.seeds:
        wall, results[seed] = train_seed(models, seed)
        row = "  ".join(f"{n} {v:.6f}" for n, v in results[seed].items())
        print(f"seed {seed}: {wall:6.1f} s  {row}", flush=True)

    print("\n| model | " + " | ".join(f"seed {s}" for s in args.seeds) + " | worst | bar |")
    print("| --- " * (len(args.seeds) + 3) + "|")
    for name in models:
        values = [results[s][name] for s in args.seeds]
        worst = max(values)
        verdict = "met" if worst <= SEED_BARS[name] else "MISSED"
        cells = " | ".join(f"{v:.6f}" for v in values)
        print(f"| {name} | {cells} | {worst:.6f} ({100 * worst / SEED_BARS[name]:.1f}% of the bar) | "
              f"{SEED_BARS[name]} {verdict} |")  # fmt: skip


if __name__ == "__main__":
    main()
