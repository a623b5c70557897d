"""Time the comparison table: all registry models evaluated (MSE, PSNR, SSIM) on the 10,000 test digits.

    .venv/bin/python bench/eval.py

Prints per-model wall time and the total; the target is under 5 s on 2 cores.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from ae.data.mnist import load_mnist
from ae.measure.compare import comparison_table
from ae.measure.metrics import evaluate
from ae.storage import checkpoints
from ae.storage.catalogue import REGISTRY


def main() -> None:
    t0 = time.perf_counter()
    data = load_mnist()
    t_data = time.perf_counter() - t0
    images = data.test_images()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; data loaded in {t_data:.2f} s")
    total = 0.0
    for name in REGISTRY:
        model, _ = checkpoints.load(name)
        t = time.perf_counter()
        q = evaluate(model, images)
        dt = time.perf_counter() - t
        total += dt
        print(f"{name:<12} {dt * 1000:7.1f} ms   MSE {q.mse:.5f}  PSNR {q.psnr:.2f}  SSIM {q.ssim:.4f}")
    print(f"evaluate(), all models: {total:.2f} s")
    t = time.perf_counter()
    comparison_table(data)
    print(f"comparison_table() incl. loading checkpoints: {time.perf_counter() - t:.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
