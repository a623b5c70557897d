"""Compression ratio against reconstruction error, for every model, measured on the 10,000 test digits."""

import streamlit as st

from ae.measure.compare import haze_cost, ssim_disagreement
from ae.measure.metrics import measure_code
from ae.models.autoencoders import PIXELS
from ui import actions, alternatives, state
from ui.i18n import headers, t
from ui.sidebar import sidebar

sidebar()
reg = state.registry()
st.title(t("compare.title"))
st.write(t("compare.intro"))

table = state.table()
usable = table[table["test MSE"].notna()]
for row in table[~table.index.isin(usable.index)].itertuples():
    st.warning(
        t("compare.no_checkpoint", model=row.model, checkpoint=row.checkpoint, note=row.note), icon=":material/warning:"
    )
    actions.train_now_button(row.model)

# Two tables over the same rows, each narrow enough to read at 1400 px without scrolling sideways.
number = st.column_config.NumberColumn
st.header(t("compare.quality"))
st.dataframe(
    table,
    hide_index=True,
    height="content",
    column_order=[
        "model",
        "family",
        "group",
        "code shape",
        "code values",
        "compression ratio",
        "test MSE",
        "PSNR (dB)",
        "SSIM",
    ],
    column_config={
        **headers(table.columns),
        "code values": number(t("col.values")),
        "compression ratio": number(t("col.ratio"), format="%.3f", help=t("compare.ratio_help")),
        "test MSE": number(t("col.test MSE"), format="%.5f", help=t("compare.mse_help")),
        "PSNR (dB)": number(format="%.2f"),
        "SSIM": number(format="%.4f", help=t("compare.ssim_help")),
    },
)
denoisers = {n: s.recipe.noise_std for n, s in reg.items() if s.group == "denoise"}
if denoisers:
    sigmas = " / ".join(f"{v:g}" for v in sorted(set(denoisers.values())))
    st.caption(t("compare.denoisers", names=", ".join(denoisers), sigmas=sigmas))
gap = ssim_disagreement(usable)
level = 0.01
haze_ssim, haze_mse = haze_cost(level)
st.caption(
    t("compare.why_ssim", level=level, haze_mse=haze_mse, haze_ssim=haze_ssim)
    + (
        " "
        + t(
            "compare.ssim_gap",
            better=gap["better"]["model"],
            ratio=gap["ratio"],
            worse=gap["worse"]["model"],
            better_mse=gap["better"]["test MSE"],
            worse_mse=gap["worse"]["test MSE"],
            better_ssim=gap["better"]["SSIM"],
            worse_ssim=gap["worse"]["SSIM"],
        )
        if gap
        else ""
    )
)
st.header(t("compare.cost"))
st.dataframe(
    table,
    hide_index=True,
    height="content",
    column_order=[
        "model",
        "code bytes (float32)",
        "code bytes (8-bit)",
        "parameters",
        "epochs",
        "seed",
        "training time (s)",
        "checkpoint",
        "origin",
        "note",
    ],
    column_config={
        **headers(table.columns),
        "code bytes (float32)": number(t("col.bytes_float32")),
        "code bytes (8-bit)": number(t("col.bytes_8bit")),
        "training time (s)": number(t("col.training time (s)"), format="%.1f"),
        "seed": number(t("col.seed"), format="%d", help=t("compare.seed_help")),
        "origin": st.column_config.TextColumn(t("col.origin"), help=t("compare.origin_help")),
        "note": st.column_config.TextColumn(t("col.note"), width="medium"),
    },
)
vaes = table[table["ELBO (nats)"].notna()]
if not vaes.empty:
    st.header(t("compare.generative"))
    st.dataframe(
        vaes,
        hide_index=True,
        height="content",
        column_order=["model", "test MSE", "ELBO (nats)", "KL (nats)"],
        column_config={
            **headers(vaes.columns),
            "test MSE": number(t("col.test MSE"), format="%.5f"),
            "ELBO (nats)": number("ELBO", format="%.1f", help=t("compare.elbo_help")),
            "KL (nats)": number("KL", format="%.1f", help=t("compare.kl_help")),
        },
    )
st.download_button(
    t("common.download_csv"),
    table.to_csv(index=False).encode(),
    "aelab-comparison.csv",
    "text/csv",
    icon=":material/download:",
)

fig = state.compare_figure()
if fig is not None:
    alternatives.chart(fig, width="stretch")
    st.caption(t("compare.chart_caption"))

if "conv-8" in reg:
    code = measure_code(reg["conv-8"].build())
    hand = 8 * 5 * 5  # the seed text's count: it shrinks 28 -> 5 as if the convolutions had no padding
    st.info(
        t(
            "compare.why_392",
            shape=code.shape_text,
            values=code.values,
            hand=hand,
            hand_ratio=hand / PIXELS,
            ratio=code.compression_ratio,
        ),
        icon=":material/straighten:",
    )

st.header(t("compare.reproduce"))
st.write(t("compare.reproduce_text"))


def machine_verdict(check: dict | None) -> str | None:
    """Whether the check was held to bit-identity (same machine fingerprint) or to quality, and why."""
    if not check or "same_machine" not in check:
        return None
    if check["bit_required"]:
        return t("compare.same_machine")
    return t("compare.other_machine", what="; ".join(f.split(":")[0] for f in check["machine_differences"]))


rows = []
for name in reg:
    _, meta, _ = state.model(name)
    check = state.reproducibility(name)
    rows.append(
        {
            "model": name,
            "command": (meta or {}).get("command", "-"),
            "shipped test MSE": (meta or {}).get("metrics", {}).get("test_mse"),
            "retrained test MSE": check["retrained_test_mse"] if check else None,
            "within 1%": t("common.yes" if check["reproduced"] else "compare.no") if check else t("compare.unchecked"),
            "bit-identical": check["bit_identical"] if check else None,
            "machine": machine_verdict(check),
            "checked": check["checked"] if check else None,
        }
    )
st.dataframe(
    rows,
    hide_index=True,
    height="content",
    column_order=[
        "model",
        "shipped test MSE",
        "retrained test MSE",
        "within 1%",
        "bit-identical",
        "machine",
        "checked",
    ],
    column_config={
        **headers(rows[0] if rows else []),
        "shipped test MSE": st.column_config.NumberColumn(t("col.shipped test MSE"), format="%.6f"),
        "retrained test MSE": st.column_config.NumberColumn(t("col.retrained test MSE"), format="%.6f"),
    },
)
# The commands are long: a static table wraps them instead of hiding them behind a sideways scroll.
st.table([{t("col.model"): r["model"], t("compare.command_col"): r["command"]} for r in rows], hide_index=True)
