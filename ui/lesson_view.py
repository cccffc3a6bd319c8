"""Show a lesson chart (ui/lesson_charts.py) on a page or in a walkthrough step: the same
builder on the same runs, so a page section and a lesson step can never drift apart.

Built charts are kept (as Vega-Lite specs) until a run they could read changes: the key
holds each lesson cache's stamp (ui.data.cache_stamp: a run landed, left or logged) and
each of the user's chosen runs' (state, rows logged). A rerun that changes nothing, the
common case (a knob elsewhere on the page, a reload), then draws without rebuilding."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

import streamlit as st

from ui import charts, code, data, lesson_charts, messages, sources


def rendered(chart_id: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> lesson_charts.Shown | lesson_charts.Missing:
    """lesson_charts.render's result with the chart as its spec, rebuilt only when its runs change."""
    stamps = tuple((str(d), data.cache_stamp(d)) for d in dirs)
    chosen = tuple((str(m), data.fingerprint(m)) for m in mine if Path(m).is_dir())
    return _rendered(chart_id, stamps, chosen)


@st.cache_resource(show_spinner=False, max_entries=512)
def _rendered(chart_id: str, stamps: tuple, chosen: tuple) -> lesson_charts.Shown | lesson_charts.Missing:
    result = lesson_charts.render(chart_id, [Path(d) for d, _ in stamps], [Path(m) for m, _ in chosen])
    if isinstance(result, lesson_charts.Shown):   # one shared object: callers only read it
        result = replace(result, chart=charts.vega_lite_spec(result.chart))
    return result


def show_lesson_chart(chart_id: str, key: str, dirs: Sequence[Path] | None = None) -> lesson_charts.Shown | None:
    """Draw the chart with its caption and "show the code", or say which runs it needs."""
    result = rendered(chart_id, sources.lesson_dirs() if dirs is None else dirs, sources.chosen_runs())
    if isinstance(result, lesson_charts.Missing):
        messages.missing_runs(result.what, result.command)
        return None
    charts.show_chart(result.chart, result.data, key=f"{key}-{chart_id}", caption=result.caption or None)
    code.show_code(*lesson_charts.CHARTS[chart_id].code, key=chart_id)
    return result
