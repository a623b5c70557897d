"""Rate–distortion: how many bits each method needs, and what quality it buys, against PCA and real codecs."""

import streamlit as st

from ae.compression.rd import codec_findings, codec_table, target_findings
from ae.data.datasets import DEFAULT
from ui import alternatives, datasets, state, view
from ui.charts import direction, metric_name, ratio_figure, rd_figure
from ui.i18n import headers, held, t
from ui.sidebar import sidebar

METRICS = ["PSNR (dB)", "MSE", "SSIM", "classifier accuracy"]  # the table's columns; the link's metric= names them
DECODER_COLUMNS = ["model", "decoder parameters", "decoder bytes (float32)"]


sidebar()
st.title(t("rd.title"))
st.write(t("rd.intro"))

if state.dataset() != DEFAULT:
    st.caption(t("rd.measured_on", title=datasets.title()))
table = state.rd_table()
if table is None:
    command = "python -m ae train-classifier" + ("" if state.dataset() == DEFAULT else f" --dataset {state.dataset()}")
    st.warning(t("rd.no_classifier", command=command))
    st.stop()
metric = view.metric(METRICS, "rd_metric", default="PSNR (dB)", format_func=held(metric_name))
st.markdown(f"**{direction(metric)}**")
fig = rd_figure(table, metric)
alternatives.chart(fig, width="stretch")
st.caption(t("rd.chart_caption") + (" " + t("rd.lossless_line") if fig.layout.shapes else ""))

st.header(t("rd.findings"))
for sentence in state.rd_findings():
    st.markdown(f"- {sentence}")

st.header(t("rd.good_compressor"))
if sentences := codec_findings(table):
    for sentence in sentences:
        st.markdown(f"- {sentence}")
    st.markdown(t("rd.targets"))
    for sentence in target_findings(table):
        st.markdown(f"- {sentence}")
    codecs = codec_table(table)
    st.dataframe(codecs, hide_index=True, width="stretch", column_config=headers(codecs.columns))
    st.caption(t("rd.codec_caption"))
else:
    st.info(t("rd.no_codec"))
st.caption(t("rd.decoder"))
st.dataframe(state.decoder_sizes(), hide_index=True, column_config=headers(DECODER_COLUMNS))

st.header(t("rd.seed_view"))
alternatives.chart(ratio_figure(table, metric), width="stretch")
st.caption(direction(metric, "values") + " " + t("rd.values_caption"))

st.dataframe(table, hide_index=True, width="stretch", column_config=headers(table.columns))
st.caption(t("rd.stored"))
st.download_button(
    t("common.download_csv"), table.to_csv(index=False).encode(), "aelab-rate-distortion.csv", "text/csv"
)
