"""The comparison table across all registry models, computed from their checkpoints on the 10k test digits."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch

from ae.data.mnist import Mnist
from ae.measure.metrics import Quality, elbo, evaluate, measure_code, ssim
from ae.models.autoencoders import parameter_count
from ae.models.specs import ModelSpec
from ae.models.vae import is_vae
from ae.storage import checkpoints
from ae.storage.catalogue import active_registry

COLUMNS = [
    "model", "family", "group", "code shape", "code values", "compression ratio", "test MSE", "PSNR (dB)", "SSIM",
    "ELBO (nats)", "KL (nats)",
    "code bytes (float32)", "code bytes (8-bit)", "parameters", "epochs", "seed", "training time (s)", "checkpoint",
    "origin", "note",
]  # fmt: skip


def model_row(
    spec: ModelSpec, data: Mnist, directory: Path | str, registry: dict[str, ModelSpec], measure: bool = True
) -> dict:
    """One row: code size measured from the architecture, quality measured from the checkpoint's weights (or,
    with ``measure=False``, as recorded in its sidecar when it was trained on the same data)."""
    untrained = spec.build()
    code = measure_code(untrained)
    row = {
        "model": spec.name,
        "family": spec.family,
        "group": spec.group,
        "code shape": code.shape_text,
        "code values": code.values,
        "compression ratio": code.compression_ratio,
        "code bytes (float32)": code.bytes_float32,
        "code bytes (8-bit)": code.bytes_8bit,
        "parameters": parameter_count(untrained),
        "epochs": None,
        "seed": None,
        "training time (s)": None,
        "test MSE": math.nan,
        "PSNR (dB)": math.nan,
        "SSIM": math.nan,
    }
    try:
        model, meta = checkpoints.load(spec.name, directory, registry)
    except checkpoints.CheckpointError as e:
        return {**row, "checkpoint": e.reason, "note": e.detail}
    why = checkpoints.staleness(meta, spec)
    same_data = meta.get("data", {}).get("fingerprint") == data.fingerprint
    if not same_data:
        why.append("trained on different data")
    recorded = meta.get("metrics", {})
    if not measure and same_data and all(k in recorded for k in ("test_mse", "psnr_db", "ssim")):
        # Measured by train_and_save on these very test digits, under the weights hash load() just checked.
        quality = Quality(recorded["test_mse"], recorded["psnr_db"], recorded["ssim"])
    else:
        quality = evaluate(model, data.test_images())
    return {
        **row,
        "epochs": len(meta.get("history", [])),
        "seed": meta.get("seed"),
        "training time (s)": meta.get("wall_time_s"),
        "test MSE": quality.mse,
        "PSNR (dB)": quality.psnr,
        "SSIM": quality.ssim,
        "checkpoint": "stale" if why else "fresh",
        "note": "; ".join(why),
        **vae_columns(model, data),
    }


def vae_columns(model, data: Mnist) -> dict:
    """A VAE's bound on log p(x) per test digit and its KL term; none for other models (the table shows a gap).
    Measured each time, since sidecars do not record them: one pass over the 10,000 test digits, as for the MSE."""
    if not is_vae(model):
        return {}
    value, kl = elbo(model, data.test_images())
    return {"ELBO (nats)": value, "KL (nats)": kl}


def comparison_table(
    data: Mnist,
    directory: Path | str | checkpoints.Folders | None = None,
    registry: dict[str, ModelSpec] | None = None,
    measure: bool = True,
) -> pd.DataFrame:
    """Every row of a registry model that learns ``data``'s dataset, each read from the folder that serves it
    (``checkpoints.folders``: by default the workspace's checkpoint when it has one, else the shipped one), and where
    that checkpoint comes from."""
    registry = active_registry() if registry is None else registry
    source = checkpoints.folders(directory)
    rows = []
    for spec in (s for s in registry.values() if s.dataset == data.dataset):  # the models of these images
        folder, origin = source.resolve(spec.name, registry)
        row = model_row(spec, data, folder, registry, measure)
        rows.append({**row, "origin": origin if row["checkpoint"] in ("fresh", "stale") else None})
    return pd.DataFrame(rows, columns=COLUMNS)


def haze_cost(level: float = 0.01) -> tuple[float, float]:
    """(SSIM, MSE) of a uniform grey haze of ``level`` over a pure-black patch: what a faint background costs in
    each measure."""
    black = torch.zeros(1, 1, 28, 28)
    haze = black + level
    return float(ssim(haze, black)[0]), float((haze - black).pow(2).mean())


def ssim_disagreement(table: pd.DataFrame) -> dict | None:
    """The pair of models (table rows) on which MSE and SSIM disagree most: ``better`` has the lower MSE, by the
    factor ``ratio``, yet the lower SSIM. None when the two measures rank every pair the same way."""
    rows = table[table["test MSE"].notna() & table["SSIM"].notna()].to_dict("records")
    worst = None
    for a in rows:
        for b in rows:
            if a["test MSE"] < b["test MSE"] and a["SSIM"] < b["SSIM"]:
                # Most striking: a large MSE factor and a large SSIM gap together (not a 10x factor over an SSIM
                # gap in the fourth decimal).
                ratio = b["test MSE"] / a["test MSE"]
                score = ratio * (b["SSIM"] - a["SSIM"])
                if worst is None or score > worst["score"]:
                    worst = {"better": a, "worse": b, "ratio": ratio, "score": score}
    return worst
