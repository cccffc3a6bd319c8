"""Altair charts for double descent (pure: frames in, charts out)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette

SPLITS = list(palette.SPLITS)


def _split_color() -> alt.Color:
    return palette.color("split", SPLITS, title="split", symbolType="stroke")


def width_chart(errors: pd.DataFrame) -> alt.FacetChart:
    """Train and test error vs width (log), one panel per label set, the interpolation
    threshold as a dashed rule. errors: [labels, width, split, error, threshold]."""
    x = alt.X("width:Q", scale=alt.Scale(type="log", base=2), title="hidden units (log scale)")
    lines = alt.Chart().mark_line(point=True).encode(
        x=x, y=alt.Y("error:Q", title="error (1 - accuracy)"), color=_split_color(),
        strokeDash=palette.split_dash(legend=False),
        tooltip=["labels:N", "width:Q", "split:N", alt.Tooltip("error:Q", format=".3f")])
    rule = alt.Chart().mark_rule(strokeDash=palette.DOTTED, color=palette.REFERENCE).encode(
        x="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title="train error first ~0 at width")])
    return alt.layer(lines, rule, data=errors).properties(width=300, height=240).facet(
        column=alt.Column("labels:N", title=None))


def epoch_chart(curves: pd.DataFrame, title: str) -> alt.Chart:
    """Nakkiran's epoch-wise view: train and test error vs epoch (log). curves: [epoch, split, error]."""
    return alt.Chart(curves, title=title).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("epoch:Q", scale=alt.Scale(type="log", nice=False), title="epoch (log scale)"),
        y=alt.Y("error:Q", title="error (1 - accuracy)"), color=_split_color(),
        strokeDash=palette.split_dash(legend=False), tooltip=["epoch:Q", "split:N", alt.Tooltip("error:Q", format=".3f")],
    ).properties(width=520, height=240)
