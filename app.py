"""aelab: train and compare MNIST autoencoders in the browser. This file is only navigation."""

import streamlit as st

st.set_page_config(page_title="aelab · autoencoder lab", page_icon=":material/neurology:", layout="wide")
page = st.navigation(
    [
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
        st.Page("pages/training.py", title="Training", icon=":material/show_chart:"),
    ]
)
page.run()
