"""Do a model's samples look like digits? The reference classifier's confidence in samples, for every model.

    .venv/bin/python bench/generate.py                 # every registry model, 256 samples each, seed 0
    .venv/bin/python bench/generate.py --samples 1024 --seed 1

A VAE's samples decode codes drawn from its prior N(0, I); a plain autoencoder's decode codes drawn from a Gaussian
fitted to its codes of 2,000 training digits (ae.measure.generate). Printed per model: the classifier's mean confidence,
the share of samples it reads with confidence above 0.9, how evenly the ten digits occur among the samples, and for
the VAEs their test MSE, ELBO and KL (ae.measure.metrics.elbo), with the time taken on one thread.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `ae` importable

import numpy as np
import torch

from ae.data.mnist import load_mnist
from ae.measure import generate as gen
from ae.measure.classifier import read_digits
from ae.measure.metrics import elbo
from ae.models.batching import mean_squared_error
from ae.models.vae import is_vae
from ae.runtime.cores import torch_threads
from ae.storage import checkpoints
from ae.storage.catalogue import CLASSIFIER, active_registry


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=gen.CONFIDENCE_SAMPLES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", type=Path, default=checkpoints.SHIPPED_DIR, help="default: the shipped ones")
    args = p.parse_args()
    data = load_mnist()
    clf, _ = checkpoints.load(CLASSIFIER.name, args.checkpoints, {CLASSIFIER.name: CLASSIFIER})
    print(f"torch {torch.__version__}, {platform.machine()} ({torch.backends.cpu.get_cpu_capability()}), 1 thread")
    print(
        f"{'model':<20}{'kind':<8}{'confidence':>11}{'>0.9':>7}{'digits seen':>12}{'test MSE':>10}{'ELBO':>9}{'KL':>7}"
    )
    scores, vaes = {}, set()
    with torch_threads(1):
        for name in active_registry():
            try:
                model, _ = checkpoints.load(name, args.checkpoints, active_registry())
            except checkpoints.CheckpointError as e:
                print(f"{name:<20}skipped: {e.reason}")
                continue
            t0 = time.perf_counter()
            vae = is_vae(model)
            stats = None if vae else gen.code_stats(model, data.train_images()[: gen.FIT_DIGITS], data.train_y)
            digits, conf = read_digits(clf, gen.samples(model, args.samples, args.seed, stats))
            scores[name] = float(conf.mean())
            extra = ""
            if vae:
                vaes.add(name)
                value, kl = elbo(model, data.test_images())
                extra = f"{mean_squared_error(model, data.test_images()):>10.5f}{value:>9.1f}{kl:>7.2f}"
            seen = len(np.unique(digits[conf > 0.9]))
            print(
                f"{name:<20}{'VAE' if vae else 'plain':<8}{conf.mean():>11.3f}{(conf > 0.9).mean():>7.2f}"
                f"{seen:>12}{extra}  ({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
    print("\n" + gen.confidence_sentence(scores, vaes))


if __name__ == "__main__":
    main()
