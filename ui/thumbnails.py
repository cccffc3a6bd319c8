"""Home-page thumbnails: one small curve per page, from the demo cache only.

A thumbnail (lessons.Thumbnail) names preset runs, a metric and a split. Several runs are
drawn under their lesson's concept names (no BN / BN, no dropout / dropout), so they take
the same colours as on their page."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import compare, run_charts
from cache import store
from ui.charts import show_chart, vega_lite_spec
from ui.data import fingerprint, latest_run, load_table
from ui.keras_charts import KERAS_LAYOUTS
from ui.lesson_charts import DROPOUT_PAIR, FIG1
from ui.sources import demo_dir

# A thumbnail is ~400 px wide: more points than this per curve add nothing to see, only data for
# the browser to parse (the degree-19 run's 1,500 steps were 290 KB, most of Home's first paint).
THUMBNAIL_POINTS = 150
KERAS_PAIR = {"no BN": KERAS_LAYOUTS["no BN"], "BN": KERAS_LAYOUTS["BN before every Dense (course)"]}
CONCEPTS = {name: concept for pair in (FIG1, DROPOUT_PAIR, KERAS_PAIR) for concept, name in pair.items()}   # preset -> concept


def _frame(thumb, keys: tuple) -> pd.DataFrame:
    tables = {name: load_table(Path(folder), "scalars") for name, folder, _state, _rows in keys}
    curves = compare.curves(tables, "step")
    curves = curves[curves["metric"] == thumb.metric]
    curves = curves[curves["x"].isin(compare.pick_steps(curves["x"].to_numpy(), THUMBNAIL_POINTS))]
    if len(keys) > 1:
        curves = curves[curves["split"] == thumb.split].assign(series=curves["run"].map(lambda run: CONCEPTS.get(run, run)))
    else:
        curves = curves.assign(series=curves["split"])
    return curves[["x", "value", "series"]].reset_index(drop=True)   # what the chart encodes


@st.cache_data(show_spinner=False, max_entries=64)
def _thumbnail_spec(thumb, keys: tuple) -> tuple[dict | None, pd.DataFrame]:
    frame = _frame(thumb, keys)
    if frame.empty:
        return None, frame
    title = f"{thumb.split} {thumb.metric}" if len(keys) > 1 else thumb.metric
    values = frame["value"]   # a log axis only when the loss falls by orders of magnitude
    log_y = thumb.metric == "loss" and bool((values > 0).all()) and values.max() > 20 * values.min()
    return vega_lite_spec(run_charts.thumbnail_chart(frame, title, log_y)), frame


def _demo_keys(thumb) -> tuple:
    keys = []
    for name in thumb.runs:
        folder = latest_run(name, [demo_dir()])
        if folder is None:
            continue
        try:
            keys.append((name, str(folder), *fingerprint(folder)))
        except store.StoreError:
            continue
    return tuple(keys)


def show_thumbnail(thumb, key: str) -> None:
    """The thumbnail, or a note saying which demo runs it needs."""
    keys = _demo_keys(thumb)
    spec, frame = _thumbnail_spec(thumb, keys) if keys else (None, None)
    if spec is None:
        st.caption(f"(Thumbnail from the demo cache: needs run(s) {', '.join(thumb.runs)}; "
                   "build them with `python -m training precompute`.)")
        return
    show_chart(spec, frame, key=f"thumb-{key}", export=False)
