"""The one place that works around Streamlit's old pages-folder mode (a private class attribute; see the test).

Because a ``pages/`` folder sits beside app.py, Streamlit starts in its old folder mode: until some session has run
app.py's ``st.navigation``, a link like /compare runs pages/compare.py alone, without app.py's wide layout and with
the folder's file names as the menu. Streamlit offers no supported switch for this short of renaming the folder,
and the layout keeps ``pages/``. tests/test_app.py checks that the attribute still exists and still takes effect,
so a Streamlit upgrade that changes it fails there, loudly.
"""

from __future__ import annotations

import streamlit as st

FLAG = "uses_pages_directory"  # PagesManager's class attribute: True while the server is in folder mode


def pages_manager() -> type | None:
    """Streamlit's private PagesManager class, or None if this Streamlit has none (then there is no folder mode
    to leave, or it works differently: the test says which)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return None
    return PagesManager


def leave_folder_mode() -> None:
    """Send this session through app.py's navigation if the server is still in folder mode."""
    manager = pages_manager()
    if manager is not None and getattr(manager, FLAG, False):
        setattr(manager, FLAG, False)
        st.rerun()
