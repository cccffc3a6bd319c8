"""Altair charts for dropout's sparsity (Srivastava et al. 2014, Figs. 7-8): pure, frames in,
charts out. The model colours are the palette's no dropout / dropout."""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette

MODELS = ["no dropout", "dropout"]
KIND_TITLES = {"unit_mean": "a unit's mean activation", "activation": "activation (all units, all images)"}
LOG_FLOOR = 1e-5


def _color() -> alt.Color:
    return palette.color("model", MODELS, title="model")


def histogram_chart(hist: pd.DataFrame, means: pd.DataFrame, kind: str, log_y: bool = False) -> alt.FacetChart:
    """One Fig. 8 panel per model: hist [model, kind, lo, hi, count]; means [model, mean_activation]
    drawn as a rule (the number the paper quotes). The last bar also counts larger values."""
    data = hist[hist["kind"] == kind].copy()
    data["share"] = data["count"] / data.groupby("model")["count"].transform("sum").clip(lower=1)
    floor = LOG_FLOOR if log_y else 0.0           # bars rise from here; a log axis has no 0
    if log_y:
        data = data[data["share"] > 0]
    y = alt.Y("share:Q", title="share" + (" (log)" if log_y else ""),
              scale=alt.Scale(type="log", domain=[floor, 1]) if log_y else alt.Undefined)
    bars = alt.Chart().mark_bar(binSpacing=0).encode(
        x=alt.X("lo:Q", title=KIND_TITLES[kind]), x2="hi:Q", y=y, y2=alt.datum(floor), color=_color(),
        tooltip=["model:N", alt.Tooltip("lo:Q", format=".2f"), alt.Tooltip("hi:Q", format=".2f"),
                 "count:Q", alt.Tooltip("share:Q", format=".3f")])
    layers = [bars]
    if kind == "unit_mean":
        layers.append(alt.Chart().mark_rule(color=palette.BLACK, strokeDash=palette.DOTTED).encode(
            x="mean_activation:Q", tooltip=[alt.Tooltip("mean_activation:Q", format=".3f", title="mean")]))
        data = data.merge(means[["model", "mean_activation"]], on="model", how="left")
    return alt.layer(*layers, data=data).properties(width=280, height=200).facet(
        column=alt.Column("model:N", sort=MODELS, title=None))


def filters_chart(filters: pd.DataFrame, size: int = 420) -> alt.HConcatChart:
    """The learned features as mosaic images side by side: filters [model, layer, url]."""
    panels = []
    for model in [m for m in MODELS if m in set(filters["model"])]:
        row = filters[filters["model"] == model].iloc[:1].assign(x=0.5, y=0.5)
        panels.append(alt.Chart(row, title=model).mark_image(width=size, height=size).encode(
            x=alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, 1])), url="url:N",
        ).properties(width=size, height=size))
    return alt.hconcat(*panels)


def mean_over_training_chart(frame: pd.DataFrame) -> alt.Chart:
    """The probes' mean hidden activation over training steps: frame [model, step, mean]."""
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title="training step"), y=alt.Y("mean:Q", title="mean hidden activation"),
        color=_color(), tooltip=["model:N", "step:Q", alt.Tooltip("mean:Q", format=".3f")],
    ).properties(width=520, height=220)
