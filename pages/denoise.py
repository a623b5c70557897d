"""Add noise to a digit and compare plain autoencoders with ones trained to remove noise."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from ae.data.noise import corrupt
from ae.measure.metrics import psnr
from ae.measure.one_digit import reconstruct_digit
from ae.storage.catalogue import denoise_pairs
from ui import datasets, familiar, state, view
from ui.images import enlarge
from ui.sidebar import sidebar

sidebar()
st.title("Denoise")
st.write(
    "Noise is added to a test digit, and each autoencoder is asked to rebuild it. The plain models were trained "
    "on clean digits; the **denoising** models saw noisy digits (Gaussian, σ = 0.5) and were asked for the clean "
    "one. PSNR is measured against the clean digit: higher is better."
)

# Every denoising model of the registry beside its plain twin (same architecture, trained on clean digits).
shown = [n for pair in denoise_pairs(state.registry()) for n in pair if n is not None]
available = [n for n in shown if state.model(n)[0] is not None]
missing = [n for n in shown if n not in available]
if not shown:
    st.info(
        f"No denoising model learns {datasets.title()} yet: build one on the Build page (noise σ above 0).",
        icon=":material/blur_on:",
    )
    st.stop()
if missing:
    st.warning(f"Not available yet: {', '.join(missing)}. Use **Retrain** in the sidebar.")

c1, c2, c3 = st.columns([1, 2, 1])
kind = c1.radio("Noise", ["gaussian", "salt-and-pepper"], format_func=str.capitalize, key="noise_kind")
if kind == "gaussian":
    level = c2.slider("σ (noise strength)", 0.0, 1.0, 0.5, 0.05, key="noise_sigma")
else:
    level = c2.slider("Fraction of pixels flipped to black or white", 0.0, 0.5, 0.2, 0.02, key="noise_amount")
if (linked := view.digit(len(state.data().test_x))) is not None:
    st.session_state["denoise_index"] = linked
if c3.button("Another digit", icon=":material/casino:") or "denoise_index" not in st.session_state:
    st.session_state["denoise_index"] = int(np.random.default_rng().integers(len(state.data().test_x)))
index = st.session_state["denoise_index"]
view.show_digit(index)


def db(mse: float) -> str:
    value = psnr(mse)
    return f"{value:.1f} dB" if np.isfinite(value) else "identical to the clean digit"


clean, label = state.test_digit(index)
noisy = corrupt(torch.from_numpy(clean)[None, None], kind, level, seed=index)[0, 0].numpy()
scale = 8 if state.presenter() else 5
cols = st.columns(2 + len(available))
# width="stretch": every tile as wide as its column, so all of them show at the same size
cols[0].image(
    enlarge(clean, scale), caption=f"clean (label {label})", width="stretch", output_format="PNG",
    alt=f"Test digit number {index}, a clean {label}",
)  # fmt: skip
noisy_caption = f"noisy · {db(float(np.mean((noisy - clean) ** 2)))}"
cols[1].image(
    enlarge(noisy, scale), caption=noisy_caption, width="stretch", output_format="PNG",
    alt=f"The same digit with {kind} noise: {noisy_caption}",
)  # fmt: skip
names = available
for col, name in zip(cols[2:], names, strict=True):
    out = reconstruct_digit(state.model(name)[0], noisy).image
    err = float(np.mean((out - clean) ** 2))
    # How familiar the noisy input is to the model: its error against what it was given, among its test errors
    familiarity = familiar.short(name, float(np.mean((out - noisy) ** 2)))
    col.image(
        enlarge(out, scale), caption=f"{name} · {db(err)} · {familiarity}", width="stretch", output_format="PNG",
        alt=f"{name}'s output from the noisy digit: MSE {err:.4f} against the clean one, {db(err)}",
    )  # fmt: skip

st.header("Over 1,000 test digits at this noise")
scores = state.denoise_scores(tuple(names), kind, level)
st.dataframe(
    pd.DataFrame(scores),
    hide_index=True,
    column_config={
        "PSNR (dB)": st.column_config.NumberColumn(format="%.2f", help="inf: identical to the clean digits"),
        "SSIM": st.column_config.NumberColumn(format="%.4f"),
    },
)
