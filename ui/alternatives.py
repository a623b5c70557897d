"""Text alternatives for what a picture alone would show: every chart comes with its points as a table."""

from __future__ import annotations

import streamlit as st

from ui.charts import as_table
from ui.i18n import t


def chart(fig, **options):
    """``st.plotly_chart(fig, **options)`` (its return value too: a selection event where asked), then the same
    points as a table in a closed expander."""
    event = st.plotly_chart(fig, **options)
    with st.expander(t("alternatives.table"), icon=":material/table_view:"):
        st.dataframe(as_table(fig), hide_index=True, width="stretch")
    return event
