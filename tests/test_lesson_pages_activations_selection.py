"""The Activations and Model selection pages on the committed demo cache: every chart drawn,
captions filled from the data, nothing asking for runs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import point_app_at

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
CHART = "vega_lite_chart"


@pytest.mark.parametrize("page, charts, caption", [
    ("views/activations.py", 5, "sigmoid' peaks at 0.25"),
    ("views/model_selection.py", 2, "5-fold CV picks degree"),
])
def test_the_page_draws_every_chart_from_the_demo_cache(monkeypatch, tmp_path, page, charts, caption):
    point_app_at(monkeypatch, REPO / "cache" / "demo", tmp_path)
    app = AppTest.from_file(APP, default_timeout=90).switch_page(page).run()
    assert not app.exception, app.exception
    assert len(app.get(CHART)) == charts
    texts = [c.value for c in app.caption] + [m.value for m in app.markdown]
    assert any(caption in t for t in texts), texts
    assert not any("needs run" in t for t in texts)
