"""aelab: train and compare MNIST autoencoders in the browser. This file is navigation, and the server that runs it.

Streamlit runs this file as every session's script (``__name__ == "__main__"``). `streamlit run app.py` finds the
``st.App`` assigned to ``app`` below (by reading this file) and serves it with uvicorn, which imports this file as the
module ``app``: then only the server is declared, with the warm-up and the compressed frontend (``ui/warmup.py``,
``ui/static_gzip.py``).
"""

import streamlit as st
from starlette.middleware import Middleware

from ui import static_gzip, view, warmup
from ui.i18n import t

if __name__ != "__main__":
    app = st.App(__file__, middleware=[Middleware(static_gzip.StaticGzip)], lifespan=warmup.lifespan)
else:
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
        position=view.nav_position(),  # a teacher's link may hide the page list (hide=nav) or sidebar (hide=sidebar)
    )
    page.run()
