"""A map of a model's code space: 2,000 test digits placed by the two main directions of their codes."""

import numpy as np
import plotly.express as px
import streamlit as st

from ui import alternatives, state, view
from ui.i18n import t
from ui.images import enlarge
from ui.selection import picked_custom_data
from ui.sidebar import sidebar

sidebar()
st.title(t("latent.title"))
st.write(t("latent.intro"))

name = view.model("latent_model", state.usable(), default="conv-8")
lm = state.latent_map(name)
fig = px.scatter(
    x=lm["xy"][:, 0], y=lm["xy"][:, 1], color=lm["labels"].astype(str),
    category_orders={"color": [str(c) for c in range(10)]},
    custom_data=[lm["index"]], opacity=0.75,
    labels={"x": t("latent.pc1", share=lm["explained"][0]), "y": t("latent.pc2", share=lm["explained"][1]),
            "color": t("latent.label")},
)  # fmt: skip
fig.update_traces(hovertemplate=t("latent.hover"))
drawn = st.session_state.get("last_digit")
if drawn is not None:
    p = state.project_digit(name, drawn)
    star = {"symbol": "star", "size": 22, "color": "gold", "line": {"color": "black", "width": 2}}  # on light and dark
    fig.add_scatter(x=[p[0]], y=[p[1]], mode="markers", name=t("latent.yours"), marker=star)
fig.update_layout(height=560, margin={"t": 20})
event = alternatives.chart(
    fig, width="stretch", on_select="rerun", selection_mode=("points", "box", "lasso"), key="latent_chart"
)

points = event.selection.points if event and event.selection else []
picked = picked_custom_data(fig, points)
if picked:
    st.caption(t("latent.selected_many", n=len(picked)) if len(picked) > 8 else t("latent.selected"))
    cols = st.columns(min(8, len(picked)))
    for col, i in zip(cols, picked[:8], strict=False):
        digit, label = state.test_digit(int(i))
        rec = state.reconstructions(name, (int(i),))[0]
        col.image(
            enlarge(np.concatenate([digit, rec]), 4), caption=f"#{i}: {label}", output_format="PNG",
            alt=t("latent.picked_alt", i=i, label=label, name=name),
        )  # fmt: skip
else:
    st.caption(t("latent.click"))
