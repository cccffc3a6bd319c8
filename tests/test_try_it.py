"""Try it from a lesson page: the Dropout page's "train this variant" launches a small
background job owned by the session, its curve grows in next to the demo runs over
successive live refreshes, and it joins the sidebar's "Also draw my runs" choice."""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from cache import store
from ui import try_it
from ui.sources import MINE_KEY

REPO = Path(__file__).resolve().parent.parent
CHART_KEY = "chart-try-dropout-rate-chart"


def yours_points(page: AppTest) -> int:
    """How many data rows of the live chart belong to the student's run."""
    total = 0
    for chart in page.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:   # the chart's data, sent as Arrow next to the spec
            frame = convert_arrow_bytes_to_pandas_df(dataset.data.data)
            text = frame.select_dtypes(include=["object", "string"])
            mine = text.apply(lambda column: column.astype(str).str.startswith("yours")).any(axis=1)
            total = max(total, int(mine.sum()))
    return total


def test_the_quick_variant_is_small_and_changes_only_its_knob():
    spec = try_it.DROPOUT_RATE.spec((0.8, 0.8))
    assert spec.model.dropout == (0.8, 0.8) and spec.epochs == 10 and spec.data.n_train == 3000
    assert spec.run_id != try_it.DROPOUT_RATE.preset.spec.run_id


def test_a_try_it_run_draws_in_while_it_trains(monkeypatch, cache_dir):
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(REPO / "cache" / "demo"))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    st.cache_data.clear()
    page = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    page.query_params["section"] = "The textbook model"   # the section that offers the knob
    page = page.switch_page("views/dropout.py").run()
    assert not page.exception
    page.button(key="try-dropout-rate-go").click().run()
    assert not page.exception
    folder = Path(page.session_state["try-dropout-rate-folder"])
    assert str(folder) in page.session_state[MINE_KEY]           # drawn as "yours" on every chart
    assert store.read_status(folder)["owner"].startswith("app:")  # owned by this session
    # The section alone, as its live fragment redraws it (AppTest has no timer: each run is one refresh).
    section = AppTest.from_function(_try_it_section, default_timeout=60)
    section.session_state["try-dropout-rate-folder"] = str(folder)
    seen, deadline = [], time.time() + 120
    while time.time() < deadline:
        section.run()
        assert not section.exception
        state = store.read_status(folder)["state"]
        seen.append((state, yours_points(section)))
        if state not in try_it.ACTIVE:
            break
        time.sleep(0.3)
    growing = [n for state, n in seen if state == "running" and n > 0]
    assert len(set(growing)) >= 2, seen     # the curve grew across at least two refreshes while it trained
    assert seen[-1][0] == "finished" and seen[-1][1] > max(growing), seen


def _try_it_section():
    from ui import try_it
    try_it.render_try_it(try_it.DROPOUT_RATE, "dropout-rate")
