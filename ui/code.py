"""The "Show the code" expander: the analysis functions behind a chart, as source."""
from __future__ import annotations

import inspect

import streamlit as st


def show_code(*functions) -> None:
    with st.expander("Show the code", icon=":material/code:"):
        for function in functions:
            try:
                source = inspect.getsource(function)
            except (OSError, TypeError):
                source = f"# source of {getattr(function, '__qualname__', function)!r} is not available"
            st.code(source, language="python")
