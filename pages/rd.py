"""Rate–distortion: how many bits each method needs, and what quality it buys, against PCA and real codecs."""

import plotly.express as px
import streamlit as st

from ui import state
from ui.sidebar import sidebar

sidebar()
st.title("Rate and distortion")
st.write(
    "Compression counted in **bits**: a code value stored as float32 costs 32 bits, as an 8-bit number 8 bits. "
    "Bits per pixel = code bits ÷ 784. Every point is measured on the MNIST test digits: the autoencoders (their "
    "codes sent as float32, 8-bit and 4-bit), PCA (the best any purely linear code can do) and real image files "
    "(PNG, JPEG, WebP) with their actual bytes. Up and to the left is better."
)

table = state.rd_table()
if table is None:
    st.warning("The reference classifier has no checkpoint: run `python -m ae train-classifier`.")
    st.stop()
metric = (
    st.segmented_control(
        "Quality measure", ["PSNR (dB)", "MSE", "SSIM", "classifier accuracy"], default="PSNR (dB)", key="rd_metric"
    )
    or "PSNR (dB)"
)
points = table[table["family"] != "original"].sort_values("bits per pixel")
points = points.assign(label=points["name"].where(points["family"].isin(["linear", "conv"]), ""))
fig = px.line(
    points, x="bits per pixel", y=metric, color="family", line_dash="kind", markers=True, text="label",
    log_x=True, log_y=metric == "MSE", hover_data=["name", "kind", "code values", "digits"],
)  # fmt: skip
fig.update_traces(textposition="top center", textfont_size=10)
fig.update_layout(height=560, margin={"t": 20}, legend_title_text="")
st.plotly_chart(fig, width="stretch")

st.subheader("What the chart shows")
for sentence in state.rd_findings():
    st.markdown(f"- {sentence}")
st.caption(
    "The decoder is a shared codebook: sender and receiver hold it once, so only the code is counted per digit. "
    "Its size, for the record:"
)
st.dataframe(state.decoder_sizes(), hide_index=True)

st.subheader("The seed's view: compression ratio in values")
values = points[points["code values"].notna() & (points["kind"] == "float32 code")]
fig2 = px.line(
    values.sort_values("compression ratio"), x="compression ratio", y=metric, color="family", markers=True,
    text="label", log_y=metric == "MSE", labels={"compression ratio": "compression ratio (code values / 784)"},
)  # fmt: skip
fig2.update_traces(textposition="top center", textfont_size=10)
fig2.update_layout(height=420, margin={"t": 20}, legend_title_text="")
st.plotly_chart(fig2, width="stretch")
st.caption("Counted in values, a float32 code and an 8-bit code look the same; counted in bits they differ 4×.")

st.dataframe(table, hide_index=True, width="stretch")
st.caption(
    "Measuring every point takes about a minute on 2 cores, so `python -m ae rd` measures them once and keeps them "
    "in `checkpoints/rd.json`, each under the hash of the weights it was measured with. A model retrained since "
    "does not match its stored points and is measured again when this page opens."
)
st.download_button("Download CSV", table.to_csv(index=False).encode(), "aelab-rate-distortion.csv", "text/csv")
