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

BIND = "query-params"


def bound(key: str) -> dict[str, str]:
    """Keyword arguments that bind a widget (or st.tabs) to the URL parameter `key`."""
    return {"key": key, "bind": BIND}
