"""Compression ratio against reconstruction error, for every model, measured on the 10,000 test digits."""

import streamlit as st

from ae.measure.compare import haze_cost, ssim_disagreement
from ae.measure.metrics import measure_code
from ae.models.autoencoders import PIXELS
from ui import actions, alternatives, state
from ui.sidebar import sidebar

sidebar()
reg = state.registry()
st.title("Compare models")
st.write(
    "Each autoencoder squeezes a 784-pixel digit into a smaller **code** and rebuilds it. The **compression "
    "ratio** is code values ÷ 784, measured by running each encoder. Test MSE, PSNR and SSIM come from "
    "reconstructing all 10,000 MNIST test digits with each checkpoint, measured when it was trained and kept in "
    "its sidecar (`python -m ae eval` measures them again). Lower MSE, higher PSNR and SSIM are better."
)

table = state.table()
usable = table[table["test MSE"].notna()]
for row in table[~table.index.isin(usable.index)].itertuples():
    st.warning(f"**{row.model}** has no usable checkpoint ({row.checkpoint}): {row.note}", icon=":material/warning:")
    actions.train_now_button(row.model)

# Two tables over the same rows, each narrow enough to read at 1400 px without scrolling sideways.
number = st.column_config.NumberColumn
st.header("Code size and quality")
st.dataframe(
    table,
    hide_index=True,
    height="content",
    column_order=["model", "family", "group", "code shape", "code values", "compression ratio", "test MSE",
                  "PSNR (dB)", "SSIM"],
    column_config={
        "code values": number("values"),
        "compression ratio": number("ratio", format="%.3f", help="code values ÷ 784"),
        "test MSE": number(format="%.5f", help="Every model, the denoisers too, fed the clean test digits."),
        "PSNR (dB)": number(format="%.2f"),
        "SSIM": number(format="%.4f", help="Punishes a faint haze on the black background far more than MSE does: "
                       "see below the table."),
    },
)  # fmt: skip
denoisers = {n: s.recipe.noise_std for n, s in reg.items() if s.group == "denoise"}
if denoisers:
    sigmas = " / ".join(f"{v:g}" for v in sorted(set(denoisers.values())))
    st.caption(
        f"**Denoisers** ({', '.join(denoisers)}) are scored here like every model: clean test digits in, the same "
        f"digits as target. The Training page's test curve for them is measured on a fixed noisy copy of the test "
        f"digits (Gaussian σ = {sigmas}), so it ends higher; the Denoise page scores them on the noise you choose."
    )
gap = ssim_disagreement(usable)
level = 0.01
haze_ssim, haze_mse = haze_cost(level)
st.caption(
    "**Why SSIM can disagree with MSE.** SSIM compares each small patch's brightness, contrast and structure. On "
    f"a pure-black patch, a grey haze of just {level:g} (invisible, and an MSE of {haze_mse:.4f}) scores an SSIM "
    f"of {haze_ssim:.2f} instead of 1. The linear models leave such a faint grey haze on much of the black "
    "background, which MSE barely counts; the conv models output almost pure black there. So the linear models "
    "score a lower SSIM than their MSE suggests."
    + (
        f" Here {gap['better']['model']} has {gap['ratio']:.1f}× lower MSE than {gap['worse']['model']} "
        f"({gap['better']['test MSE']:.5f} against {gap['worse']['test MSE']:.5f}) but a lower SSIM "
        f"({gap['better']['SSIM']:.4f} against {gap['worse']['SSIM']:.4f})."
        if gap
        else ""
    )
)
st.header("Cost and checkpoint")
st.dataframe(
    table,
    hide_index=True,
    height="content",
    column_order=["model", "code bytes (float32)", "code bytes (8-bit)", "parameters", "epochs", "seed",
                  "training time (s)", "checkpoint", "origin", "note"],
    column_config={
        "code bytes (float32)": number("code bytes, float32"),
        "code bytes (8-bit)": number("code bytes, 8-bit"),
        "training time (s)": number(format="%.1f"),
        "seed": number(format="%d", help="The seed it was trained from (retrain with another in the sidebar)"),
        "origin": st.column_config.TextColumn(help="shipped with aelab, or retrained here (kept in the workspace)"),
        "note": st.column_config.TextColumn(width="medium"),
    },
)  # fmt: skip
vaes = table[table["ELBO (nats)"].notna()]
if not vaes.empty:
    st.header("Generative models")
    st.dataframe(
        vaes,
        hide_index=True,
        height="content",
        column_order=["model", "test MSE", "ELBO (nats)", "KL (nats)"],
        column_config={
            "test MSE": number(format="%.5f"),
            "ELBO (nats)": number("ELBO", format="%.1f", help="The evidence lower bound on log p(digit), in nats "
                                  "per test digit (higher is better): −(pixel cross-entropy + KL), one sampled code "
                                  "per digit."),
            "KL (nats)": number("KL", format="%.1f", help="KL(q(z|x) ‖ N(0, I)) per test digit: the nats the code "
                                "carries beyond the prior."),
        },
    )  # fmt: skip
st.download_button(
    "Download CSV", table.to_csv(index=False).encode(), "aelab-comparison.csv", "text/csv", icon=":material/download:"
)

fig = state.compare_figure()
if fig is not None:
    alternatives.chart(fig, width="stretch")
    st.caption("Down and to the left is better: fewer code values and a smaller error.")

if "conv-8" in reg:
    code = measure_code(reg["conv-8"].build())
    hand = 8 * 5 * 5  # the seed text's count: it shrinks 28 -> 5 as if the convolutions had no padding
    st.info(
        f"**Why conv-8's code is {code.shape_text} = {code.values} values, not 200.** The seed notebook counts "
        f"8×5×5 = {hand} values (compression ratio {hand / PIXELS:.3f}). But both convolutions use padding 1, so "
        f"they keep the 28×28 size, and the two 2×2 max-pools halve it twice: 28 → 14 → 7. Running the encoder "
        f"gives {code.shape_text} = {code.values} values, a compression ratio of {code.compression_ratio:.2f}.",
        icon=":material/straighten:",
    )

st.header("Can these numbers be reproduced?")
st.write(
    "Each checkpoint records the command that made it. `python -m ae reproduce --model NAME` runs that training "
    "again from scratch and checks that the test MSE comes out within 1% of the shipped one. Training is seeded, so "
    "on a machine that rounds like the one that trained it (same CPU vendor and model, instruction sets, torch, "
    "oneDNN and MKL builds, thread count) the weights must also be identical bit for bit; on any other machine "
    "they may differ in the last bits and only the quality is checked."
)


def machine_verdict(check: dict | None) -> str | None:
    """Whether the check was held to bit-identity (same machine fingerprint) or to quality, and why."""
    if not check or "same_machine" not in check:
        return None
    if check["bit_required"]:
        return "same as training: bit-identity required"
    return "other machine: quality only (" + "; ".join(f.split(":")[0] for f in check["machine_differences"]) + ")"


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
            "within 1%": ("yes" if check["reproduced"] else "NO") if check else "not checked yet",
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
        "shipped test MSE": st.column_config.NumberColumn(format="%.6f"),
        "retrained test MSE": st.column_config.NumberColumn(format="%.6f"),
    },
)
# The commands are long: a static table wraps them instead of hiding them behind a sideways scroll.
st.table([{"model": r["model"], "command that made the checkpoint": r["command"]} for r in rows], hide_index=True)
