"""Rate–distortion: how many bits each method needs, and what quality it buys, against PCA and real codecs."""

import streamlit as st

from ae.compression.rd import codec_findings, codec_table, target_findings
from ae.data.datasets import DEFAULT
from ui import alternatives, datasets, state, view
from ui.charts import direction, ratio_figure, rd_figure
from ui.sidebar import sidebar

sidebar()
st.title("Rate and distortion")
st.write(
    "Compression counted in **bits**: a code value stored as float32 costs 32 bits, as an 8-bit number 8 bits. "
    "Bits per pixel = code bits ÷ 784. Every point is measured on the MNIST test digits: the autoencoders (their "
    "codes sent as float32, 8-bit and 4-bit), PCA (the best any purely linear code can do) and real image files "
    "(PNG, JPEG, WebP) with their actual bytes. Two kinds of point are real files too: every model's 8-bit code "
    "**entropy coded** into an `.ael` file (each code value coded with its own probability table, fitted on the "
    "training digits' codes), and the **codec** models, small autoencoders trained for rate (bits per pixel + "
    "λ · MSE, with a learned prior for their integer code; one model per λ), whose files are their points. An "
    "`.ael` file's bits include its 3-byte header (a model tag and a 2-byte check), as a PNG's or a WebP's do. The "
    "**PCA codec** is the classical yardstick sent the same way: PCA, one uniform quantizer step for every kept "
    "component, and the same entropy coder, into real `.ael` files."
)

if state.dataset() != DEFAULT:  # every point is a digit file, and its codecs and reader learned digits
    st.info(
        f"Rate and distortion is measured on MNIST's digits, and the models of {datasets.title()} are not on it. "
        "Switch the sidebar's dataset to MNIST digits to see it.", icon=":material/swap_horiz:",
    )  # fmt: skip
    st.stop()
table = state.rd_table()
if table is None:
    st.warning("The reference classifier has no checkpoint: run `python -m ae train-classifier`.")
    st.stop()
metric = view.metric(["PSNR (dB)", "MSE", "SSIM", "classifier accuracy"], "rd_metric", default="PSNR (dB)")
st.markdown(f"**{direction(metric)}**")
fig = rd_figure(table, metric)
alternatives.chart(fig, width="stretch")
st.caption(
    "Colours are kinds of method (the same on every page), dashes how the code is sent. Only the autoencoders' "
    "float32 points are named; hover any point for its name and numbers."
    + (
        " A dotted vertical line marks a lossless file at its bits per pixel: an exact copy has PSNR ∞ and MSE 0, "
        "which have no place on this axis, so it gets a line instead of a point."
        if fig.layout.shapes
        else ""
    )
)

st.header("What the chart shows")
for sentence in state.rd_findings():
    st.markdown(f"- {sentence}")

st.header("Is an autoencoder a good compressor?")
if sentences := codec_findings(table):
    for sentence in sentences:
        st.markdown(f"- {sentence}")
    st.markdown("**The targets** (issue 26; the codec's files, headers included, on the test digits):")
    for sentence in target_findings(table):
        st.markdown(f"- {sentence}")
    st.dataframe(codec_table(table), hide_index=True, width="stretch")
    st.caption(
        "The codec's curve beside the image files, the PCA codec's files and the best autoencoder codes sent as "
        "fixed-length numbers (those that no other fixed-length code beats on both bits and PSNR). Try it on your own "
        "digit: the Draw page shows your drawing as a PNG, a WebP and a codec file."
    )
else:
    st.info("No codec model has a checkpoint yet: train one with `python -m ae train --model codec-3`.")
st.caption(
    "The decoder is a shared codebook: sender and receiver hold it once, so only the code is counted per digit. "
    "Its size, for the record:"
)
st.dataframe(state.decoder_sizes(), hide_index=True)

st.header("The seed's view: compression ratio in values")
alternatives.chart(ratio_figure(table, metric), width="stretch")
st.caption(
    f"{direction(metric, 'code values')} Counted in values, a float32 code and an 8-bit code look the same; counted "
    "in bits they differ 4×."
)

st.dataframe(table, hide_index=True, width="stretch")
st.caption(
    "Measuring every point takes a few minutes, so `python -m ae rd` measures them once and keeps them "
    "in `checkpoints/rd.json`, each under the hash of the weights it was measured with. A model retrained since "
    "does not match its stored points and is measured again when this page opens."
)
st.download_button("Download CSV", table.to_csv(index=False).encode(), "aelab-rate-distortion.csv", "text/csv")
