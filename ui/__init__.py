"""Streamlit helpers every page shares: run sources, cached loading, charts with export,
"show the code", and the standard messages. Only the app and pages import this package."""
from __future__ import annotations


def _leave_pages_directory_mode() -> None:
    """Make a deep link on a fresh server go through app.py's st.navigation.

    Streamlit treats a `pages/` folder next to the main script as the old multipage
    layout until some session has called st.navigation. So the very first visitor who
    opens /runs (say) on a fresh server would get that page alone, without app.py: the
    wrong menu and no shared sidebar. Every page imports this package, and the first
    import happens in that first run: switch the process to st.navigation and rerun."""
    import streamlit as st

    try:   # Streamlit internals (1.4x-1.67): without them there is nothing to fix
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", False) and get_script_run_ctx() is not None:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()
