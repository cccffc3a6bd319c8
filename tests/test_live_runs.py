"""The Runs page's live panel draws a running job's loss and accuracy curves as they grow,
and a job takes a free slot within a second of its launch."""
from __future__ import annotations

import re
import time
from pathlib import Path

import streamlit as st
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from cache import store
from training import jobs
from ui import try_it

REPO = Path(__file__).resolve().parent.parent


def test_the_live_panel_draws_growing_curves(monkeypatch, cache_dir):
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(REPO / "cache" / "demo"))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    st.cache_data.clear()
    # 16 epochs, not the try-it variant's 10: a run of ~3 s would end within one refresh of the whole page
    spec = try_it.DROPOUT_RATE.spec((0.2, 0.5)).with_overrides({"epochs": 16})
    run_id = jobs.launch(spec, cache_dir=cache_dir, owner="app:test")
    folder = store.run_folder(cache_dir, run_id)
    page = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).switch_page("views/runs.py")
    drawn, deadline = [], time.time() + 120
    while time.time() < deadline and store.read_status(folder)["state"] in ("queued", "running"):
        page.run()
        assert not page.exception
        if store.read_status(folder)["state"] == "running":
            drawn.append(points_of(page, run_id))
        time.sleep(0.5)
    assert store.read_status(folder)["state"] == "finished"
    charts = [len(counts) for counts in drawn if counts]
    assert charts and max(charts) >= 2, drawn   # loss and accuracy while it ran (the comparison may draw it too)
    losses = [counts[0] for counts in drawn if counts]
    assert len(set(losses)) >= 2 and losses == sorted(losses), drawn   # and they grew


def points_of(page: AppTest, run_id: str) -> list[int]:
    """Rows of each chart whose data names the run (the live panel's charts while it runs)."""
    counts = []
    for chart in page.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:
            frame = convert_arrow_bytes_to_pandas_df(dataset.data.data)
            named = frame.astype(str).apply(lambda column: column.str.contains(run_id)).any(axis=1)
            if named.any():
                counts.append(int(named.sum()))
    return counts


def test_a_job_takes_a_free_slot_within_a_second(cache_dir):
    run_id = jobs.launch(try_it.DROPOUT_RATE.spec((0.8, 0.8)), cache_dir=cache_dir, owner="app:test")
    launched = time.time()
    log = store.run_folder(cache_dir, run_id) / "job.log"
    while time.time() - launched < 5 and not (log.exists() and re.search("got slot", log.read_text())):
        time.sleep(0.02)
    took = time.time() - launched
    jobs.cancel(run_id, cache_dir=cache_dir, wait_s=5.0)
    assert took < 1.0, f"{took:.2f} s from launch to holding a slot"
