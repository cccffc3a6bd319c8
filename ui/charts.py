"""Every chart in the app goes through `show_chart`: the chart, a caption, and an export
expander with the chart's data as CSV and the chart itself as PNG or SVG.

The export buttons are drawn only once the expander is opened, and the files are made only
when a button is clicked (deferred downloads), so a page pays neither for buttons nor for PNG
rendering it never uses. Screen and export draw the same spec under the palette's config
(analysis/palette.py), not Streamlit's chart theme, so a PNG looks like the screen; the
presenter view scales the chart text with the page text.
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

from analysis import palette

PRESENTER_SCALE = 1.6   # the presenter view's text is 1.6rem (views/walkthroughs.py)
EXPORT_WIDTH = 720      # a single view fills its column on screen; a file needs a width


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


def styled_spec(spec: dict, scale: float = 1.0) -> dict:
    """The spec under the palette's config (a chart's own config settings win). With scale > 1
    the text grows by `scale` and fixed-size cells (facets, concatenations) by half as much,
    so that composed charts still fit the presenter view's column."""
    base, own = palette.config(scale), spec.get("config", {})
    merged = {**base, **{k: {**base[k], **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
                         for k, v in own.items()}}
    body = _grown({k: v for k, v in spec.items() if k != "config"}, 1 + (scale - 1) / 2) if scale != 1 else spec
    # padding: room for the outermost tick labels (an object: Streamlit adds to its sides)
    return {"padding": {"top": 8, "bottom": 8, "left": 8, "right": 8}, **body, "config": merged}


def _grown(node, factor: float):
    """A copy of a spec (without config) whose numeric widths, heights and steps are `factor` times larger."""
    if isinstance(node, list):
        return [_grown(item, factor) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("width", "height") and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = round(value * factor)
        elif key in ("width", "height") and isinstance(value, dict) and "step" in value:
            out[key] = {**value, "step": round(value["step"] * factor)}
        elif key in ("data", "datasets"):
            out[key] = value     # rows are not sizes
        else:
            out[key] = _grown(value, factor)
    return out


def chart_scale() -> float:
    """Text scale for the charts on screen: larger in the presenter view (?presenter=1)."""
    return PRESENTER_SCALE if st.query_params.get("presenter") == "1" else 1.0


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
    spec = styled_spec(vega_lite_spec(chart), chart_scale())
    composed = any(k in spec for k in ("facet", "hconcat", "vconcat", "concat", "repeat"))
    # a single view fills its column; composed charts keep their cell sizes
    st.vega_lite_chart(spec=spec, key=f"chart-{key}", width="content" if composed else "stretch", theme=None)
    if caption:
        st.caption(caption)
    if export:
        _export_buttons(spec if composed or "width" in spec else {**spec, "width": EXPORT_WIDTH}, data, key)


def _export_buttons(spec: dict, data: pd.DataFrame, key: str) -> None:
    """The buttons are drawn only once the reader opens the expander: three download buttons in
    columns under every chart were most of what the browser drew before a page's first chart
    (Bias-Variance, first chart painted about 1.7 s -> 1.2 s after navigation on 2 cores)."""
    stem = _file_stem(key)
    with st.expander("Export", icon=":material/download:", key=f"export-{key}", on_change="rerun") as box:
        if not box.open:
            return
        left, middle, right = st.columns(3)
        left.download_button("Data (CSV)", partial(data_csv, data), file_name=f"{stem}.csv", mime="text/csv",
                             key=f"csv-{key}", on_click="ignore", icon=":material/table:")
        middle.download_button("Chart (PNG)", partial(chart_png, spec), file_name=f"{stem}.png",
                               mime="image/png", key=f"png-{key}", on_click="ignore", icon=":material/image:")
        right.download_button("Chart (SVG)", partial(chart_svg, spec), file_name=f"{stem}.svg",
                              mime="image/svg+xml", key=f"svg-{key}", on_click="ignore", icon=":material/draw:")
