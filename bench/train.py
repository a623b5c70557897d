"""Time to quality: the seed notebook's recipe against `python -m ae train`, for the five seed models.

    .venv/bin/python bench/train.py                 # 3 rounds; the seed recipe timed over one epoch per model
    .venv/bin/python bench/train.py --full-seed     # the seed recipe run to the end too (about 23 minutes a round)
    .venv/bin/python bench/train.py --our-loop --throughput --repeats 1

Each round runs, in turn:
1. The seed recipe (Adam 1e-3, batches of 25, constant rate; the notebook's layers, its ConvTranspose2d included;
   default threads and allocator), per model: wall time, images/s, test MSE. As the notebook runs it (torchvision's
   MNIST through a DataLoader); with --our-loop also in our loop with the digits as one tensor.
2. Ours: the real command, `python -m ae train --model ...` for the five models into a scratch folder, timed from
   process start to exit (imports, data, training side by side, evaluation, saving); each model's test MSE against
   its seed bar.
The rounds alternate so that a machine that grows slower or faster weighs on both alike; the figures are the
medians over the rounds, and ours / seed as the ratio of the medians (target <= 0.100).
3. With --throughput: conv-AE training throughput as a fraction of a 2048x2048 fp32 matmul on both cores, timed in
   this run: in the run above, and a bare training step at several batch sizes on one and two threads, with the
   time per image spent in the memory-bound ops (why large batches are slower here); batch 256 with the first block
   run over slices of the batch (the sidestep); and each convolution of the step timed alone.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `ae` importable

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from ae.data.mnist import load_mnist, write_torchvision_root
from ae.models.autoencoders import ConvAE
from ae.models.batching import mean_squared_error as test_loss
from ae.runtime.allocator import keep_freed_memory
from ae.storage.catalogue import REGISTRY, SEED_BARS

ROOT = Path(__file__).resolve().parent.parent
SEED_LR, SEED_BATCH = 1e-3, 25
SEED_EPOCHS = {"linear": 5, "conv": 30}
MEMORY_BOUND = ("aten::fill_", "aten::max_pool2d_with_indices", "aten::max_pool2d_with_indices_backward")


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def flops_per_training_image(model: nn.Module, batch: int = 64) -> float:
    """Forward + backward FLOPs of one training step, per image, counted by PyTorch's FLOP counter."""
    x = torch.rand(batch, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    with FlopCounterMode(display=False) as counter:
        F.mse_loss(model(x), x).backward()
    return counter.get_total_flops() / batch


class ChunkedConvAE(ConvAE):
    """conv-8 with its first block (conv, max-pool, ReLU) run over slices of the batch. Each image's output is the
    same; the first layer's 200 kB-per-image output and its gradient then stay in the caches at any batch size."""

    def __init__(self, chunk: int) -> None:
        super().__init__(8)
        self.chunk = chunk

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.cat([torch.relu(self.pool(self.conv1(c))) for c in x.split(self.chunk)])
        return torch.relu(self.pool(self.conv2(h)))


class SeedConvAE(ConvAE):
    """The notebook's conv AE exactly as written: pool(relu(conv)) and the ConvTranspose2d layers, default memory
    layout. (ConvAE's encoder swaps relu and pool and its decoder runs the same layers as two matmuls.)"""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x))))))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode_with_layers(z)


def notebook_run(name: str, data, epochs: int, root: Path) -> dict:
    """The seed notebook as written: torchvision's MNIST with ToTensor(), a DataLoader (batch 25, shuffled, no
    workers), Adam 1e-3, nn.MSELoss, the default memory layout."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    spec = REGISTRY[name]
    torch.manual_seed(0)
    model = SeedConvAE(**spec.args) if spec.family == "conv" else spec.build()
    loader = DataLoader(
        datasets.MNIST(str(root), train=True, download=False, transform=transforms.ToTensor()),
        batch_size=SEED_BATCH, shuffle=True, num_workers=0,
    )  # fmt: skip
    criterion = nn.MSELoss()
    opt = torch.optim.Adam(model.parameters(), lr=SEED_LR)
    t = time.perf_counter()
    for _ in range(epochs):
        model.train()
        train_loss = 0.0
        for images, _labels in loader:
            opt.zero_grad()
            loss = criterion(model(images), images)
            loss.backward()
            opt.step()
            train_loss += loss.item() * images.size(0)
    wall = time.perf_counter() - t
    return {"wall": wall, "ips": epochs * len(loader.dataset) / wall, "mse": test_loss(model, data.test_images())}


def seed_run(name: str, data, epochs: int) -> dict:
    """The notebook's recipe in our loop: Adam 1e-3, batches of 25, constant rate, shuffled every epoch, but the
    digits kept as one in-memory tensor (one of the levers the issue allows us): a stricter baseline."""
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


def ours(names: list[str]) -> tuple[float, dict[str, dict]]:
    """`python -m ae train` for ``names`` into a scratch folder: wall time of the whole command, and the sidecars."""
    with tempfile.TemporaryDirectory() as scratch:
        cmd = [sys.executable, "-m", "ae", "train", "--checkpoints", scratch]
        for n in names:
            cmd += ["--model", n]
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if out.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
        return wall, {n: json.loads((Path(scratch) / f"{n}.json").read_text()) for n in names}


def step_throughput(
    batch: int, threads: int, images: torch.Tensor, steps: int = 150, chunk: int | None = None
) -> tuple[float, float]:
    """Images/s of a bare conv-8 training step (as ae.training.loop runs it), and the share of time in memory-bound ops.
    ``chunk``: run the first block over slices of that many images (ChunkedConvAE)."""
    from torch.profiler import profile

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = (ConvAE(8) if chunk is None else ChunkedConvAE(chunk)).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # as ae.training.loop
    x = images[:batch].contiguous(memory_format=torch.channels_last)

    def step() -> None:
        loss = F.mse_loss(model(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    ips = steps * batch / (time.perf_counter() - t)
    with profile() as p:
        for _ in range(20):
            step()
    events = p.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    share = sum(e.self_cpu_time_total for e in events if e.key in MEMORY_BOUND) / total
    return ips, share


def convolutions_alone(batch: int, threads: int, images: torch.Tensor, reps: int = 50) -> dict[str, float]:
    """Microseconds per image of each conv-8 layer's forward and backward, each timed alone with the step's shapes:
    what the step would cost if nothing but its convolutions ran."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ConvAE(8).to(memory_format=torch.channels_last)
    layers = {"conv1": model.conv1, "conv2": model.conv2, "t_conv1": model.t_conv1, "t_conv2": model.t_conv2}
    inputs: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=n: inputs.__setitem__(n, i[0].detach())) for n, m in layers.items()
    ]
    with torch.no_grad():  # through the ConvTranspose layers, so that their hooks see their inputs
        model.decode_with_layers(model.encode(images[:batch].contiguous(memory_format=torch.channels_last)))
    for h in hooks:
        h.remove()

    def per_image(f) -> float:
        for _ in range(5):
            f()
        t = time.perf_counter()
        for _ in range(reps):
            f()
        return (time.perf_counter() - t) / reps / batch * 1e6

    times = {}
    for name, layer in layers.items():
        x = inputs[name].requires_grad_(name != "conv1")  # the step needs no gradient for the digits themselves
        with torch.no_grad():
            times[f"{name} forward"] = per_image(lambda layer=layer, x=x: layer(x))
        out = layer(x)
        grad = torch.randn_like(out)
        wrt = [*layer.parameters(), *([x] if x.requires_grad else [])]
        times[f"{name} backward"] = per_image(
            lambda out=out, wrt=wrt, grad=grad: torch.autograd.grad(out, wrt, grad, retain_graph=True)
        )
    # What the step runs instead of the two ConvTransposes (and their sigmoid): ConvAE.decode's two matmuls.
    z = inputs["t_conv1"].requires_grad_()
    with torch.no_grad():
        times["decoder as matmuls forward"] = per_image(lambda: model.decode(z))
    out = model.decode(z)
    grad = torch.randn_like(out)
    wrt = [z, *model.t_conv1.parameters(), *model.t_conv2.parameters()]
    times["decoder as matmuls backward"] = per_image(lambda: torch.autograd.grad(out, wrt, grad, retain_graph=True))
    return times


BASELINES = {
    "notebook": "the seed notebook as written (torchvision MNIST + DataLoader)",
    "tensor": "the seed recipe in our loop (digits as one in-memory tensor)",
}


def time_seed(kind: str, models: list[str], data, root: Path, full: bool) -> dict[str, dict]:
    """One baseline's run of the seed recipe for ``models``: per model its wall time for all its epochs (measured
    when ``full``, else one epoch timed and multiplied by its epochs), images/s and test MSE."""
    print(BASELINES[kind], flush=True)
    runs = {}
    for name in models:
        epochs = SEED_EPOCHS[REGISTRY[name].family]
        n = epochs if full else 1
        s = notebook_run(name, data, n, root) if kind == "notebook" else seed_run(name, data, n)
        s["wall_total"] = s["wall"] * (epochs // n)
        runs[name] = s
        mse = f"test MSE {s['mse']:.6f}" if full else "(1 epoch timed)"
        print(f"  {name:<11} {epochs:2d} epochs {s['wall_total']:7.1f} s {s['ips']:6.0f} img/s {mse}", flush=True)
    return runs


def report_ours(wall: float, metas: dict[str, dict]) -> None:
    met = 0
    for name, meta in metas.items():
        mse = meta["metrics"]["test_mse"]
        met += mse <= SEED_BARS[name]
        print(
            f"ours  {name:<11} {len(meta['history']):2d} epochs {meta['wall_time_s']:7.1f} s "
            f"{meta['images_per_second']:6.0f} img/s test MSE {mse:.6f} (seed bar {SEED_BARS[name]}: "
            f"{'met' if mse <= SEED_BARS[name] else 'MISSED'})",
            flush=True,
        )
    print(f"`python -m ae train` for the {len(metas)} models, whole command: {wall:.1f} s; {met}/{len(metas)} at bar\n")


def median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def timed_runs(args, data) -> tuple[dict, list[float], dict]:
    """``args.repeats`` rounds, each the seed baselines then our command, in turn (so that a machine growing slower
    or faster during the run weighs on both alike). Returns each baseline's totals, our walls, our last sidecars."""
    kinds = ["notebook", "tensor"] if args.our_loop else ["notebook"]
    totals: dict[str, list[float]] = {kind: [] for kind in kinds}
    walls, metas, seeds = [], {}, {}
    with tempfile.TemporaryDirectory() as root:
        write_torchvision_root(data, root)
        for r in range(1, args.repeats + 1):
            print(f"--- round {r} of {args.repeats}")
            for kind in kinds:
                seeds[kind] = time_seed(kind, args.models, data, Path(root), args.full_seed)
                totals[kind].append(sum(s["wall_total"] for s in seeds[kind].values()))
            wall, metas = ours(args.models)
            walls.append(wall)
            report_ours(wall, metas)
    return totals, walls, {"metas": metas, "seeds": seeds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full-seed", action="store_true", help="run the seed recipe for all its epochs, not one")
    ap.add_argument("--models", nargs="*", default=list(SEED_BARS), help="seed models to run (default: all five)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of seed and ours; medians are reported")
    ap.add_argument("--our-loop", action="store_true", help="also time the seed recipe in our loop")
    ap.add_argument("--throughput", action="store_true", help="also time bare conv-8 steps (a few minutes)")
    args = ap.parse_args()
    threads = torch.get_num_threads()
    print(f"{cpu_name()}: {platform.machine()}, torch {torch.__version__} on {threads} threads, "
          f"Python {platform.python_version()}")  # fmt: skip
    data = load_mnist()
    ceiling = matmul_gflops()
    print(f"anchor: 2048x2048 fp32 matmul on {threads} threads: {ceiling:.0f} GFLOP/s\n")
    totals, walls, last = timed_runs(args, data)
    how = "measured" if args.full_seed else "1 epoch per model x its epochs"
    print(f"ours, whole command: {', '.join(f'{w:.1f}' for w in walls)} s; median {median(walls):.1f} s")
    for kind, values in totals.items():
        ratios = ", ".join(f"{w / t:.3f}" for w, t in zip(walls, values, strict=True))
        print(
            f"{BASELINES[kind]} ({how}): {', '.join(f'{t:.1f}' for t in values)} s; median {median(values):.1f} s; "
            f"ours / seed per round {ratios}; median / median = {median(walls) / median(values):.3f} "
            "(target <= 0.100)"
        )
    print()
    if args.throughput:
        throughput(data, ceiling, last["seeds"], last["metas"])


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def throughput(data, ceiling: float, seeds: dict, metas: dict) -> None:
    """Conv-8 training FLOP/s against the anchor: the seed's and ours in the run, and bare steps."""
    threads = torch.get_num_threads()
    seed = seeds.get("tensor", {})
    fpi = flops_per_training_image(ConvAE(8).to(memory_format=torch.channels_last))
    print(f"conv-8 training: {fpi / 1e6:.2f} MFLOP per image (forward + backward, torch's FLOP counter)")

    def frac(ips: float) -> str:
        return f"{ips:6.0f} img/s = {ips * fpi / 1e9:5.1f} GFLOP/s = {ips * fpi / 1e9 / ceiling:5.1%} of the anchor"

    if "conv-8" in seeds["notebook"]:
        print(f"  seed notebook (batch 25, {threads} threads)         {frac(seeds['notebook']['conv-8']['ips'])}")
    if "conv-8" in seed:
        print(f"  seed recipe, our loop (batch 25, {threads} threads) {frac(seed['conv-8']['ips'])}")
    if "conv-8" in metas:
        m = metas["conv-8"]
        batches = "/".join(map(str, m["recipe"].get("batch_sizes") or [m["recipe"]["batch_size"]]))
        how = f"batch {batches}, {m['platform']['threads']} threads"
        print(f"  ours, in the run above ({how})   {frac(m['images_per_second'])}")
    images = data.train_images()
    keep_freed_memory()  # as ae.training.loop does; only now, so the seed ran with the default allocator
    for t in (1, 2):
        for batch in (16, 25, 64, 256):
            ips, share = step_throughput(batch, t, images)
            print(f"  bare step, batch {batch:3d}, {t} thread(s):   {frac(ips)}; {share:4.0%} in fill/max-pool")
    print("batch 256 with the first block over slices of 32 images (ChunkedConvAE):")
    for t in (1, 2):
        ips, share = step_throughput(256, t, images, chunk=32)
        print(f"  bare step, batch 256, {t} thread(s):   {frac(ips)}; {share:4.0%} in fill/max-pool")
    print("(target >= 40% of the anchor)\n")

    batch = 64
    ops = convolutions_alone(batch, 2, images)
    alone = sum(v for k, v in ops.items() if not k.startswith("t_conv"))  # the step runs the matmul decoder
    step_ips, _ = step_throughput(batch, 2, images)
    print(f"where a bare step's time goes, batch {batch}, 2 threads (each convolution timed alone, us per image):")
    for name, us in ops.items():
        print(f"  {name:<17} {us:6.1f}")
    print(f"  convolutions alone {alone:5.1f} us/image: {frac(1e6 / alone)}")
    rest = 1e6 / step_ips - alone
    print(f"  the whole step     {1e6 / step_ips:5.1f} us/image: {frac(step_ips)}")
    print(f"  the rest (max-pool, its gradient's zero fill, ReLU, loss, Adam, autograd): {rest:.1f} us/image")
    torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
