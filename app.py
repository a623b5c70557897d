"""aelab: train and compare MNIST autoencoders in the browser. This file is only navigation."""

import streamlit as st

from ui import view
from ui.i18n import t

st.set_page_config(page_title=t("app.title"), page_icon=":material/neurology:", layout="wide")
page = st.navigation(
    [
        st.Page("pages/draw.py", title=t("nav.draw"), icon=":material/draw:", default=True),
        st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/leaderboard:"),
        st.Page("pages/rd.py", title=t("nav.rd"), icon=":material/ssid_chart:"),
        st.Page("pages/training.py", title=t("nav.training"), icon=":material/show_chart:"),
        st.Page("pages/interpolate.py", title=t("nav.interpolate"), icon=":material/linear_scale:"),
        st.Page("pages/denoise.py", title=t("nav.denoise"), icon=":material/blur_on:"),
        st.Page("pages/gallery.py", title=t("nav.gallery"), icon=":material/grid_view:"),
        st.Page("pages/latent.py", title=t("nav.latent"), icon=":material/scatter_plot:"),
        st.Page("pages/generate.py", title=t("nav.generate"), icon=":material/auto_awesome:"),
        st.Page("pages/build.py", title=t("nav.build"), icon=":material/construction:"),
    ],
    position=view.nav_position(),  # a teacher's link may hide the page list (hide=nav) or the sidebar (hide=sidebar)
)
page.run()
