"""The best and worst reconstructed test digits for a model, and the error per digit class."""

import plotly.express as px
import streamlit as st

from ui import alternatives, state, view
from ui.i18n import t
from ui.images import pair_grid
from ui.sidebar import sidebar

sidebar()
st.title(t("gallery.title"))
st.write(t("gallery.intro"))

name = view.model("gallery_model", state.usable(), default="conv-8")
ranking = state.error_ranking(name)
images = state.data().test_x
labels = state.data().test_y

for which, idx in (("best", ranking.order[:16]), ("worst", ranking.order[::-1][:16])):
    st.header(t(f"gallery.{which}"))
    rec = state.reconstructions(name, tuple(int(i) for i in idx))
    listed = "  ·  ".join(f"#{i}: {labels[i]} ({ranking.errors[i]:.4f})" for i in idx)
    alt = t(f"gallery.{which}_alt", name=name, listed=listed)
    st.image(pair_grid(images[idx] / 255.0, rec), width="stretch", output_format="PNG", alt=alt)
    st.caption(listed)

st.header(t("gallery.per_class"))
fig = px.bar(
    x=[str(c) for c in range(10)], y=ranking.class_mean, labels={"x": t("gallery.digit"), "y": t("gallery.mean_mse")}
)
# Plotly reads "0".."9" as numbers and labels only every other one; a category axis labels each digit.
fig.update_xaxes(type="category", dtick=1)
fig.update_layout(height=320, margin={"t": 20})
alternatives.chart(fig, width="stretch")
