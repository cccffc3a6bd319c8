"""The Runs page's comparison: several runs aligned on steps or epochs.

load (ui.data, cached per run state and row count) -> analysis.compare (pure frames) ->
analysis.run_charts (Altair) -> ui.charts.show_chart (with CSV/PNG/SVG export).
Only the open tab is computed, and each view's Vega-Lite spec is cached under the runs'
fingerprints, so a rerun of a finished comparison does no Altair work at all.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import compare, run_charts
from cache import store
from training.presets import PRESETS
from ui.charts import show_chart, vega_lite_spec
from ui.code import show_code
from ui.data import fingerprint, load_table
from ui.lesson_runs import differences
from ui.messages import diverged_run, unreadable_run
from ui.sources import is_user_run
from ui.url_state import bound

MAX_COMPARED = 8
CURVES, GAP, WEIGHTS, BANDS, HISTOGRAMS = ("Loss & accuracy", "Generalization gap", "Weight norms",
                                           "Activation distributions", "Histograms")
CAPTIONS = {
    CURVES: "Solid: test, dashed: train. Click a run in the legend to highlight it.",
    GAP: "How much better each run does on its training data than on test data; a gap that keeps "
         "growing is overfitting.",
    WEIGHTS: "Weight decay keeps these small; without it they grow as the model fits the training set.",
    BANDS: "Shaded bands hold the middle 86%, 68% and 38% of each layer's activations, the line is the "
           "median: watch for layers whose distribution drifts or collapses.",
    HISTOGRAMS: "One histogram per probe step, earliest at the top: the shape moving, not just its quantiles.",
}
CODE = {CURVES: (compare.curves,), GAP: (compare.curves, compare.generalization_gap),
        WEIGHTS: (compare.weight_norms,), BANDS: (compare.activation_bands,),
        HISTOGRAMS: (compare.histogram_ridges,)}
EMPTY = {CURVES: "train/test metrics", GAP: "both train and test metrics", WEIGHTS: "weight norms",
         BANDS: "activation quantiles", HISTOGRAMS: "activation histograms"}


def run_label(run) -> str:
    return f"{run.spec.name or '(custom)'} · {run.run_id}"


def _default_pick(runs: pd.DataFrame, shown_ids: list[str]) -> list[str]:
    """Up to three finished runs from the table as filtered (any state if none finished),
    all on the first one's dataset: curves of different problems do not share axes."""
    shown = runs[runs["run_id"].isin(shown_ids)] if shown_ids else runs
    if shown.empty:
        return []
    newest = _newest_mine(shown)
    if newest is not None:   # a class's new run, next to its preset's demo run
        demo = runs[(runs["folder"].map(lambda f: not is_user_run(f))) & (runs["state"] == "finished")
                    & (runs["spec"].map(lambda spec: spec.name == newest.spec.name))]
        return [run_label(newest)] + [run_label(run) for run in demo.head(1).itertuples(index=False)]
    finished = shown[shown["state"] == "finished"]
    pool = finished if not finished.empty else shown
    pool = pool.assign(_name=pool["spec"].map(lambda spec: spec.name)).sort_values(["_name", "run_id"])  # table order
    dataset = pool.iloc[0]["spec"].data.name
    same = pool[pool["spec"].map(lambda spec: spec.data.name == dataset)]
    return [run_label(run) for run in same.head(3).itertuples(index=False)]


def _newest_mine(runs: pd.DataFrame):
    """The most recently created of your runs of a lesson preset, or None."""
    mine = [run for run in runs.itertuples(index=False)
            if is_user_run(run.folder) and not run.spec.is_custom and run.spec.name in PRESETS]
    return max(mine, key=lambda run: run.status.get("created") or 0.0) if mine else None


def legend_label(run) -> str:
    """A compared run's legend entry: yours say what differs from their preset."""
    if not is_user_run(run.folder) or run.spec.is_custom or run.spec.name not in PRESETS:
        return run_label(run)
    return f"{run_label(run)} · yours: {differences(run.folder)}"


def _tables(keys: tuple, table: str) -> dict[str, pd.DataFrame]:
    return {label: load_table(Path(folder), table) for label, folder, _state, _rows in keys}


def view_charts(view: str, keys: tuple, align: str, site: str) -> list[tuple[str, object, pd.DataFrame]]:
    """(key, chart, data) for one tab; keys = ((label, folder, state, rows), ...)."""
    if view in (CURVES, GAP):
        curves = compare.curves(_tables(keys, "scalars"), align)
        if view == GAP:
            gap = compare.generalization_gap(curves)
            return [("gap", run_charts.gap_chart(gap, align), gap)] if not gap.empty else []
        return [(metric, run_charts.curve_chart(curves, metric, align), curves[curves["metric"] == metric])
                for metric in ("loss", "accuracy") if (curves["metric"] == metric).any()]
    if view == WEIGHTS:
        norms = compare.weight_norms(_tables(keys, "weights"))
        return [("weights", run_charts.weight_norm_chart(norms), norms)] if not norms.empty else []
    if view == BANDS:
        bands = compare.activation_bands(_tables(keys, "activations"), site)
        return [(f"bands-{site}", run_charts.activation_band_chart(bands), bands)] if not bands.empty else []
    ridges = compare.histogram_ridges(_tables(keys, "histograms"), site)
    return [(f"ridges-{site}", run_charts.ridgeline_chart(ridges), ridges)] if not ridges.empty else []


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_view(view: str, keys: tuple, align: str, site: str) -> list[tuple[str, dict, pd.DataFrame]]:
    return [(key, vega_lite_spec(chart), data) for key, chart, data in view_charts(view, keys, align, site)]


def _run_keys(picked: list) -> tuple:
    """(label, folder, state, rows) per readable run: the cache key of every view."""
    keys = []
    for run in picked:
        try:
            keys.append((legend_label(run), str(run.folder), *fingerprint(run.folder)))
        except store.StoreError as err:
            unreadable_run(err)
    return tuple(keys)


def _show_view(view: str, keys: tuple, align: str, site: str) -> None:
    charts = _cached_view(view, keys, align, site)
    if not charts:
        st.info(f"None of the picked runs logged {EMPTY[view]} yet (probes off in their spec, a regression "
                "task without accuracy, or not started).", icon=":material/info:")
        return
    columns = st.columns(len(charts)) if view == CURVES else [st.container()]
    for column, (key, spec, data) in zip(columns, charts):
        with column:
            show_chart(spec, data, key=f"compare-{key}", caption=CAPTIONS[view])
    show_code(*CODE[view])


def render_compare(runs: pd.DataFrame, shown_ids: list[str]) -> None:
    by_label = {run_label(run): run for run in runs.itertuples(index=False)}
    labels = st.multiselect("Runs to compare", list(by_label), default=_default_pick(runs, shown_ids),
                            max_selections=MAX_COMPARED, **bound("compare_runs"))
    if not labels:
        st.info("Pick one or more runs to compare.", icon=":material/info:")
        return
    picked = [by_label[label] for label in labels]
    for run in picked:
        if run.state == "diverged":
            diverged_run(run_label(run), run.status)
    align_col, site_col = st.columns(2)
    align = align_col.radio("Align on", ("step", "epoch"), horizontal=True, **bound("compare_align"),
                            help="epoch: one point per pass over the data (runs with other batch sizes line up)")
    site = site_col.radio("Activations", ("pre", "post"), horizontal=True, **bound("compare_site"),
                          format_func=lambda s: f"{s}-activation", help="before or after the nonlinearity")
    keys = _run_keys(picked)
    if not keys:
        return
    views = (CURVES, GAP, WEIGHTS, BANDS, HISTOGRAMS)
    for view, tab in zip(views, st.tabs(views, **bound("compare_view"), on_change="rerun")):
        if tab.open:   # lazy: only the open tab is computed
            with tab:
                _show_view(view, keys, align, site)
