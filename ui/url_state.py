"""A page's state lives in its link: every widget a shared link should reproduce (a tab, a
case, a slider, a select, the sidebar's choices, the runs picked for comparison) is bound
to a URL query parameter named after its key.

Streamlit (>= 1.55) does the binding itself (`bind="query-params"`): a change writes the
parameter, a reload or a shared link restores the widget, a value equal to the default is
left out of the link, and an invalid value is dropped. Every page uses `bound(key)` so the
parameter name is the widget key in one place. The walkthrough's own `lesson`, `step` and
`presenter` parameters are read and written explicitly (views/walkthroughs.py); they are
not widget keys, so the two never collide.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

BIND = "query-params"


def bound(key: str) -> dict[str, str]:
    """Keyword arguments that bind a widget (or st.tabs) to the URL parameter `key`."""
    return {"key": key, "bind": BIND}


def sections(key: str, renderers: dict[str, Callable[[], None]]) -> str:
    """A long page as tabs bound to the URL parameter `key`, of which only the open one runs.

    Streamlit computes every tab's content unless the tabs track their state; bound to the
    URL they do, and `.open` tells which one is shown. So a page's first chart waits only for
    its own section, a knob reruns one section, and a shared link opens the same section.
    Returns the open section's label."""
    labels = list(renderers)
    opened = labels[0]
    for tab, label in zip(st.tabs(labels, **bound(key)), labels):
        if tab.open:
            opened = label
            with tab:
                renderers[label]()
    return opened
