"""The "Show the code" expander draws the source only once it is opened (code blocks load
the browser's syntax highlighter, which would delay a page's first chart), and a helper
that draws one from two places on a page gets two expanders, not a duplicate key."""
from __future__ import annotations

import inspect

from streamlit.testing.v1 import AppTest


def _page():
    from analysis import dropout as dp
    from ui.code import show_code

    def explained_chart():   # one helper drawing an expander, called from two places
        show_code(dp.sample_mask, dp.thinned_forward)

    explained_chart()
    explained_chart()


def test_the_source_is_drawn_only_once_the_expander_is_opened():
    from analysis import dropout as dp

    app = AppTest.from_function(_page, default_timeout=60).run()
    assert not app.exception
    assert [e.label for e in app.expander] == ["Show the code"] * 2
    assert len({e.key for e in app.expander}) == 2 and not app.code
    app.session_state[app.expander[1].key] = True   # the reader opens the second one
    app.run()
    assert [c.value.strip() for c in app.expander[1].code] == [inspect.getsource(dp.sample_mask).strip(),
                                                               inspect.getsource(dp.thinned_forward).strip()]
    assert not app.expander[0].code
