"""Time to quality: the seed notebook's recipe against the registry's recipes, for the five seed models, one run.

    .venv/bin/python bench/train.py               # seed recipe timed over one epoch per model, then x epochs
    .venv/bin/python bench/train.py --full-seed   # seed recipe run to the end too (about 20 minutes here)

Prints per model: wall time, images/s and final test MSE for both recipes, the registry recipe against the
seed's quality bar, the total against 1/10 of the seed total, and the conv model's training throughput as a
fraction of a 2048x2048 fp32 matmul's FLOP/s measured in the same run (the practical ceiling of this CPU).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from ae.data import load_mnist
from ae.models import ConvAE
from ae.registry import REGISTRY, SEED_BARS
from ae.train import memory_format, test_loss, train

SEED_LR, SEED_BATCH = 1e-3, 25
SEED_EPOCHS = {"linear": 5, "conv": 30}


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def flops_per_training_image(model: nn.Module, batch: int = 64) -> float:
    """Forward + backward FLOPs of one training step, per image, counted by PyTorch's FLOP counter."""
    x = torch.rand(batch, 1, 28, 28).contiguous(memory_format=memory_format(model))
    with FlopCounterMode(display=False) as counter:
        F.mse_loss(model(x), x).backward()
    return counter.get_total_flops() / batch


class SeedConvAE(ConvAE):
    """The notebook's conv AE exactly as written: pool(relu(conv)), default memory layout."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x))))))


def seed_run(name: str, data, epochs: int) -> dict:
    """The notebook's loop: Adam 1e-3, batches of 25, constant rate, shuffled every epoch."""
    spec = REGISTRY[name]
    torch.manual_seed(0)
    model = SeedConvAE(**spec.args) if spec.family == "conv" else spec.build()
    opt = torch.optim.Adam(model.parameters(), lr=SEED_LR)
    images = data.train_images()
    steps = len(images) // SEED_BATCH
    t = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(images))
        for s in range(steps):
            x = images[perm[s * SEED_BATCH : (s + 1) * SEED_BATCH]]
            loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
    wall = time.perf_counter() - t
    return {"wall": wall, "ips": epochs * steps * SEED_BATCH / wall, "mse": test_loss(model, data.test_images())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full-seed", action="store_true", help="run the seed recipe for all its epochs, not one")
    ap.add_argument("--models", nargs="*", default=list(SEED_BARS), help="seed models to run (default: all five)")
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    data = load_mnist()
    ceiling = matmul_gflops()
    print(f"anchor: 2048x2048 fp32 matmul {ceiling:.0f} GFLOP/s")

    rows = []
    for name in args.models:
        spec = REGISTRY[name]
        seed_epochs = SEED_EPOCHS[spec.family]
        s = seed_run(name, data, seed_epochs if args.full_seed else 1)
        seed_wall = s["wall"] * (1 if args.full_seed else seed_epochs)
        r = train(spec, data)
        ours_mse = r.history[-1]["test_loss"]
        rows.append((name, seed_wall, s, r, ours_mse))
        seed_mse = f"{s['mse']:.6f}" if args.full_seed else "(1 epoch run)"
        print(
            f"{name:<11} seed: {seed_wall:7.1f} s {s['ips']:6.0f} img/s MSE {seed_mse} | ours: {r.wall_time:6.1f} s "
            f"{r.images_per_second:6.0f} img/s {r.recipe.epochs:2d} epochs MSE {ours_mse:.6f} "
            f"(bar {SEED_BARS[name]}: {'met' if ours_mse <= SEED_BARS[name] else 'MISSED'})",
            flush=True,
        )

    seed_total = sum(r[1] for r in rows)
    ours_total = sum(r[3].wall_time for r in rows)
    how = "measured" if args.full_seed else "1 epoch per model x its epochs"
    print(f"\nseed recipe total {seed_total:.1f} s ({how}); ours {ours_total:.1f} s")
    print(f"ours / seed = {ours_total / seed_total:.3f} (target <= 0.100)")
    for name, _, s, r, _ in rows:
        if REGISTRY[name].family == "conv":
            fpi = flops_per_training_image(REGISTRY[name].build())
            for label, ips in (("seed", s["ips"]), ("ours", r.images_per_second)):
                print(
                    f"{name} {label}: {ips:.0f} img/s x {fpi / 1e6:.2f} MFLOP/img = {ips * fpi / 1e9:.1f} GFLOP/s = "
                    f"{ips * fpi / 1e9 / ceiling:.1%} of the matmul anchor (target >= 40%)"
                )


if __name__ == "__main__":
    main()
