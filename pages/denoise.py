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
from ui.i18n import headers, held, t
from ui.images import enlarge
from ui.sidebar import sidebar

sidebar()
st.title(t("denoise.title"))
st.write(t("denoise.intro"))

# Every denoising model of the registry beside its plain twin (same architecture, trained on clean digits).
shown = [n for pair in denoise_pairs(state.registry()) for n in pair if n is not None]
available = [n for n in shown if state.model(n)[0] is not None]
missing = [n for n in shown if n not in available]
if not shown:
    st.info(t("denoise.no_denoiser", title=datasets.title()), icon=":material/blur_on:")
    st.stop()
if missing:
    st.warning(t("denoise.missing", names=", ".join(missing)))

KINDS = {"gaussian": "denoise.gaussian", "salt-and-pepper": "denoise.salt"}
c1, c2, c3 = st.columns([1, 2, 1])
kind = c1.radio(t("denoise.noise"), list(KINDS), format_func=held(lambda k: t(KINDS[k])), key="noise_kind")
if kind == "gaussian":
    level = c2.slider(t("denoise.sigma"), 0.0, 1.0, 0.5, 0.05, key="noise_sigma")
else:
    level = c2.slider(t("denoise.fraction"), 0.0, 0.5, 0.2, 0.02, key="noise_amount")
if (linked := view.digit(len(state.data().test_x))) is not None:
    st.session_state["denoise_index"] = linked
if c3.button(t("draw.another"), icon=":material/casino:") or "denoise_index" not in st.session_state:
    st.session_state["denoise_index"] = int(np.random.default_rng().integers(len(state.data().test_x)))
index = st.session_state["denoise_index"]
view.show_digit(index)


def db(mse: float) -> str:
    value = psnr(mse)
    return f"{value:.1f} dB" if np.isfinite(value) else t("denoise.identical")


clean, label = state.test_digit(index)
noisy = corrupt(torch.from_numpy(clean)[None, None], kind, level, seed=index)[0, 0].numpy()
scale = 8 if state.presenter() else 5
cols = st.columns(2 + len(available))
# width="stretch": every tile as wide as its column, so all of them show at the same size
cols[0].image(
    enlarge(clean, scale), caption=t("denoise.clean", label=label), width="stretch", output_format="PNG",
    alt=t("denoise.clean_alt", index=index, label=label),
)  # fmt: skip
noisy_caption = t("denoise.noisy", db=db(float(np.mean((noisy - clean) ** 2))))
cols[1].image(
    enlarge(noisy, scale), caption=noisy_caption, width="stretch", output_format="PNG",
    alt=t("denoise.noisy_alt", kind=t(KINDS[kind]), caption=noisy_caption),
)  # fmt: skip
names = available
for col, name in zip(cols[2:], names, strict=True):
    out = reconstruct_digit(state.model(name)[0], noisy).image
    # How familiar the noisy input is to the model: its error against what it was given, among its test errors
    familiarity = familiar.short(name, float(np.mean((out - noisy) ** 2)))
    err = float(np.mean((out - clean) ** 2))
    col.image(
        enlarge(out, scale), caption=f"{name} · {db(err)} · {familiarity}", width="stretch", output_format="PNG",
        alt=t("denoise.output_alt", name=name, mse=err, db=db(err)),
    )  # fmt: skip

st.header(t("denoise.over"))
scores = state.denoise_scores(tuple(names), kind, level)
st.dataframe(
    pd.DataFrame(scores),
    hide_index=True,
    column_config={
        **headers(["model"]),
        "PSNR (dB)": st.column_config.NumberColumn(format="%.2f", help=t("denoise.inf")),
        "SSIM": st.column_config.NumberColumn(format="%.4f"),
    },
)
