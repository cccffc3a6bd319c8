"""Every chart in the app goes through `show_chart`: the chart, a caption, and an export
expander with the chart's data as CSV and the chart itself as PNG or SVG.

The export files are made only when a button is clicked (deferred downloads), so a page
does not pay for PNG rendering it never uses.
"""
from __future__ import annotations

import importlib
import json
import re
from functools import partial

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.runtime.caching.cache_errors import UnhashableParamError


def vega_lite_spec(chart: alt.TopLevelMixin | dict) -> dict:
    """The chart's Vega-Lite spec with its data inline. Altair's schema validation is
    skipped here (it costs more than building the chart; the builders' tests validate),
    and there is no row cap (probe tables can exceed Altair's 5000)."""
    if isinstance(chart, dict):
        return chart
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict(validate=False)


def cached_spec(builder, *args, **kwargs) -> dict:
    """`builder(*args, **kwargs)`'s Vega-Lite spec, cached on the builder and its inputs.

    Building an Altair chart and serialising it costs tens of milliseconds each; a page
    rerun (a widget click) with unchanged data reuses the spec. Inputs Streamlit cannot
    hash fall back to building the chart directly."""
    try:  # functions are not hashable for st.cache_data: pass the builder by name
        return _cached_spec(builder.__module__, builder.__qualname__, args, kwargs)
    except UnhashableParamError:
        return vega_lite_spec(builder(*args, **kwargs))


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_spec(module: str, name: str, args: tuple, kwargs: dict) -> dict:
    builder = getattr(importlib.import_module(module), name)
    return vega_lite_spec(builder(*args, **kwargs))


def chart_json(chart: alt.TopLevelMixin | dict) -> str:
    return json.dumps(vega_lite_spec(chart))


def chart_png(chart: alt.TopLevelMixin | dict, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart_json(chart), scale=scale)


def chart_svg(chart: alt.TopLevelMixin | dict) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart_json(chart))


def data_csv(data: pd.DataFrame) -> str:
    return _csv_safe(data).to_csv(index=False)


def _csv_safe(data: pd.DataFrame) -> pd.DataFrame:
    """Lists/tuples/objects in cells become plain strings so the CSV is one value per cell."""
    return data.apply(lambda col: col.map(str) if col.dtype == object else col)


def _file_stem(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", key).strip("-") or "chart"


def show_chart(chart: alt.TopLevelMixin | dict, data: pd.DataFrame, key: str, caption: str | None = None,
               export: bool = True) -> None:
    """Show `chart` (an Altair chart, or its Vega-Lite spec as a dict), then an Export
    expander: `data` as CSV, the chart as PNG and SVG.

    `key` must be unique on the page; it also names the downloaded files."""
    spec = vega_lite_spec(chart)
    composed = any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat"))
    # a single view fills its column; composed charts keep their cell sizes
    st.vega_lite_chart(spec=spec, key=f"chart-{key}", width="content" if composed else "stretch")
    if caption:
        st.caption(caption)
    if export:
        _export_buttons(spec, data, key)


def _export_buttons(spec: dict, data: pd.DataFrame, key: str) -> None:
    stem = _file_stem(key)
    with st.expander("Export", icon=":material/download:"):
        left, middle, right = st.columns(3)
        left.download_button("Data (CSV)", partial(data_csv, data), file_name=f"{stem}.csv", mime="text/csv",
                             key=f"csv-{key}", on_click="ignore", icon=":material/table:")
        middle.download_button("Chart (PNG)", partial(chart_png, spec), file_name=f"{stem}.png",
                               mime="image/png", key=f"png-{key}", on_click="ignore", icon=":material/image:")
        right.download_button("Chart (SVG)", partial(chart_svg, spec), file_name=f"{stem}.svg",
                              mime="image/svg+xml", key=f"svg-{key}", on_click="ignore", icon=":material/draw:")
