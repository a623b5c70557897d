"""Compression ratio against reconstruction error, for every model, measured on the 10,000 test digits."""

import streamlit as st

from ae.metrics import measure_code
from ae.models import PIXELS
from ui import state
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
    if st.button(f"Train {row.model} now", key=f"train_{row.model}"):
        state.trainer().start([row.model])
        st.rerun()

st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "compression ratio": st.column_config.NumberColumn(format="%.3f"),
        "test MSE": st.column_config.NumberColumn(format="%.5f"),
        "PSNR (dB)": st.column_config.NumberColumn(format="%.2f"),
        "SSIM": st.column_config.NumberColumn(format="%.4f"),
        "training time (s)": st.column_config.NumberColumn(format="%.1f"),
        "note": st.column_config.TextColumn(width="medium"),
    },
)
st.download_button(
    "Download CSV", table.to_csv(index=False).encode(), "aelab-comparison.csv", "text/csv", icon=":material/download:"
)

fig = state.compare_figure()
if fig is not None:
    st.plotly_chart(fig, width="stretch")
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

st.subheader("Can these numbers be reproduced?")
st.write(
    "Each checkpoint records the command that made it. `python -m ae reproduce --model NAME` runs that training "
    "again from scratch and checks that the test MSE comes out within 1% of the shipped one (on the same kind "
    "of machine the weights are identical bit for bit: training is seeded)."
)
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
            "checked": check["checked"] if check else None,
        }
    )
st.dataframe(
    rows,
    hide_index=True,
    width="stretch",
    column_config={
        "shipped test MSE": st.column_config.NumberColumn(format="%.6f"),
        "retrained test MSE": st.column_config.NumberColumn(format="%.6f"),
    },
)
