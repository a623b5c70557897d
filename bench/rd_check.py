"""Are the shipped rate-distortion points regenerable? Measure every one again and compare with checkpoints/rd.json.

    .venv/bin/python bench/rd_check.py [--dataset fashion]

Runs the real command, ``python -m ae rd --checkpoints COPY --csv OUT``, on a copy of the shipped checkpoints without
their rd.json (so every point is measured on the 10,000 test digits), then compares each point with the stored one.
The unit tests check this for linear-32, codec-1 and the baselines; this script checks all of them (minutes).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `ae` importable

import numpy as np
import pandas as pd

from ae.compression import rd
from ae.data.datasets import DATASETS, DEFAULT, load_dataset
from ae.runtime.machine import fingerprint

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = ["bits per pixel", "MSE", "PSNR (dB)", "SSIM", "classifier accuracy"]


def measured_again(scratch: Path, dataset: str) -> tuple[pd.DataFrame, float]:
    copy = scratch / "checkpoints"
    shutil.copytree(ROOT / "checkpoints", copy)
    (copy / rd.STORED).unlink()
    out = scratch / "rd.csv"
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "ae", "rd", "--checkpoints", str(copy), "--csv", str(out), "--dataset", dataset]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    return pd.read_csv(out), time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=list(DATASETS), default=DEFAULT)
    dataset = parser.parse_args().dataset
    machine = fingerprint(threads=0)
    print(f"{machine['cpu_model']} ({machine['cpu_vendor']}, {machine['cpu_capability']}), torch {machine['torch']}")
    stored = rd.rd_table(load_dataset(dataset), ROOT / "checkpoints", save=False)
    with tempfile.TemporaryDirectory() as scratch:
        fresh, seconds = measured_again(Path(scratch), dataset)
    key = ["name", "kind"]
    both = stored.merge(fresh, on=key, suffixes=("_stored", "_fresh"), how="outer", indicator=True)
    missing = both[both["_merge"] != "both"]
    worst = {}
    for column in NUMBERS:
        a, b = both[f"{column}_stored"].to_numpy(float), both[f"{column}_fresh"].to_numpy(float)
        finite = np.isfinite(a) & np.isfinite(b)
        worst[column] = float(np.max(np.abs(a[finite] - b[finite]) / np.maximum(np.abs(a[finite]), 1e-12)))
    print(f"{len(fresh)} points measured in {seconds:.0f} s; {len(missing)} only on one side")
    for column, rel in worst.items():
        print(f"  {column:<20} largest relative difference {rel:.2e}")
    ok = missing.empty and max(worst.values()) <= 1e-4
    print("regenerable: every stored point measured again within 1e-4" if ok else "NOT regenerable")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
