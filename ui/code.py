"""The "Show the code" expander: the analysis functions behind a chart, as source.

The source is drawn only once a reader opens the expander: code blocks need the browser's
syntax highlighter, a 1.5 MB script that would otherwise be loaded, parsed and run before a
page's first chart is drawn (about 0.5 s of a warm page load on 2 cores).
"""
from __future__ import annotations

import hashlib
import inspect
import sys

import streamlit as st

CALLERS_IN_KEY = 4   # page helper, section, page, page runner


def show_code(*functions, key: str | None = None) -> None:
    """`key` tells apart two expanders drawn by one line (a helper called twice on a page)."""
    with st.expander("Show the code", icon=":material/code:", key=_expander_key(functions, key),
                     on_change="rerun") as box:
        if box.open:
            for function in functions:
                st.code(_source(function), language="python")


def _source(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return f"# source of {getattr(function, '__qualname__', function)!r} is not available"


def _expander_key(functions: tuple, key: str | None) -> str:
    """A widget key stable across reruns: what it shows and the calls that drew it (so a helper
    called from two places on one page draws two expanders)."""
    names = ",".join(getattr(f, "__qualname__", repr(f)) for f in functions)
    frame, calls = sys._getframe(2), []
    while frame is not None and len(calls) < CALLERS_IN_KEY:
        calls.append(f"{frame.f_code.co_filename}:{frame.f_lineno}")
        frame = frame.f_back
    return "code-" + hashlib.sha1(f"{names}|{key}|{'|'.join(calls)}".encode()).hexdigest()[:12]
