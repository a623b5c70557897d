"""The best and worst reconstructed test digits for a model, and the error per digit class."""

import plotly.express as px
import streamlit as st

from ui import alternatives, state, view
from ui.images import pair_grid
from ui.sidebar import sidebar

sidebar()
st.title("Gallery")
st.write(
    "All 10,000 test digits, reconstructed by one model and ranked by their error. Each tile shows the original "
    "above its reconstruction. The best are usually plain, upright 1s; the worst are odd shapes the model never "
    "learned to draw. The bar chart shows which digit classes are hardest for this model."
)

name = view.model("gallery_model", state.usable(), default="conv-8")
ranking = state.error_ranking(name)
images = state.data().test_x
labels = state.data().test_y

for title, idx in (("16 best", ranking.order[:16]), ("16 worst", ranking.order[::-1][:16])):
    st.header(title)
    rec = state.reconstructions(name, tuple(int(i) for i in idx))
    listed = "  ·  ".join(f"#{i}: {labels[i]} ({ranking.errors[i]:.4f})" for i in idx)
    alt = f"The {title} reconstructed test digits under {name}, each above its reconstruction (label, MSE): {listed}"
    st.image(pair_grid(images[idx] / 255.0, rec), width="stretch", output_format="PNG", alt=alt)
    st.caption(listed)

st.header("Mean error per digit class")
fig = px.bar(x=[str(c) for c in range(10)], y=ranking.class_mean, labels={"x": "digit", "y": "mean MSE"})
# Plotly reads "0".."9" as numbers and labels only every other one; a category axis labels each digit.
fig.update_xaxes(type="category", dtick=1)
fig.update_layout(height=320, margin={"t": 20})
alternatives.chart(fig, width="stretch")
