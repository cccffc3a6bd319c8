"""The Runs page's sweep view: pick any sweep (runs sharing a spec name whose specs differ),
see each varied field against a final metric; a validation score, where the runs have one,
is the default metric and marks the run it chooses (analysis/sweep_view.py)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import findings, palette
from analysis import sweep_view as sv
from ui.charts import cached_spec, show_chart
from ui.url_state import bound

METRIC_KEY = "sweep_metric"


def sweeps_in(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """spec name -> its finished runs, for names with at least two runs whose specs differ."""
    finished = runs[runs["state"] == "finished"]
    found = {}
    for name, part in finished.groupby(finished["spec"].map(lambda s: s.name or ""), sort=True):
        if name and len(part) > 1 and sv.varied_fields(list(part["spec"])):
            found[name] = part
    return found


def _new_sweep() -> None:
    """Another sweep has other metrics: start from its default (a validation score first)."""
    st.session_state.pop(METRIC_KEY, None)


def render_sweep_view(runs: pd.DataFrame) -> None:
    sweeps = sweeps_in(runs)
    if not sweeps:
        st.caption("No sweep here yet: a sweep is two or more finished runs of one name whose specs differ.")
        return
    pick, choose = st.columns(2)
    name = pick.selectbox("Sweep", list(sweeps), **bound("sweep_view"), on_change=_new_sweep)
    part = sweeps[name]
    frame, fields = sv.sweep_table(list(part["spec"]), [s.get("final") for s in part["status"]])
    options = sv.metrics(frame, fields)
    if not options:
        st.info(f"The runs of {name} have no final scores yet.", icon=":material/info:")
        return
    metric = choose.selectbox("Metric", options, format_func=palette.label, **bound(METRIC_KEY))
    frame = sv.chosen(frame.dropna(subset=[metric]), fields, metric)
    title = f"{name}: {len(frame)} runs, {' x '.join(palette.label(f) for f in fields)}"
    show_chart(cached_spec(sv.sweep_chart, frame, fields, metric, title), frame, f"sweep-{name}",
               caption=findings.sweep_choice_story(frame, fields, metric))
