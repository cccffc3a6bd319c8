"""Altair chart builders for the bias-variance lesson (pure: DataFrame in, chart out)."""
from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

# One colour per concept, reused on every bias-variance chart so a reader learns it once.
PALETTE = {
    "bias^2": "#4c78a8",
    "variance": "#f58518",
    "noise": "#9d9d9d",
    "test error": "#222222",
    "train": "#54a24b",
    "test": "#e45756",
    "learned": "#4c78a8",
    "true": "#9d9d9d",
}
COMPONENT_ORDER = ["bias^2", "variance", "noise"]


def _scale(domain: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(domain), range=[PALETTE[d] for d in domain])


def _x(field: str, log_x: bool, title: str | None = None) -> alt.X:
    return alt.X(f"{field}:Q", title=title or field,
                 scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False))


def stacked_decomposition_chart(df: pd.DataFrame, knob: str, test_error: pd.DataFrame | None = None,
                                log_x: bool = False) -> alt.LayerChart:
    """Stacked area of bias^2 / variance / noise vs the knob, measured test error on top.

    df: long frame [knob, component, value]; test_error: optional [knob, value] (a
    "metric" column, if present, is kept in the tooltip). Clicking a legend entry
    highlights that component.
    """
    present = [c for c in COMPONENT_ORDER if c in set(df["component"])]
    pick = alt.selection_point(fields=["component"], bind="legend")
    area = alt.Chart(df).mark_area(opacity=0.85, interpolate="monotone").encode(
        x=_x(knob, log_x),
        y=alt.Y("value:Q", stack="zero", title="squared error"),
        color=alt.Color("component:N", scale=_scale(present), sort=present, title="component"),
        order=alt.Order("component_rank:Q"),
        opacity=alt.condition(pick, alt.value(0.85), alt.value(0.15)),
        tooltip=[alt.Tooltip(f"{knob}:Q"), "component:N", alt.Tooltip("value:Q", format=".4g")],
    ).transform_calculate(
        component_rank=f"indexof({present!r}, datum.component)"
    ).add_params(pick)
    layers = [area]
    if test_error is not None and len(test_error):
        tips = [alt.Tooltip(f"{knob}:Q"), alt.Tooltip("value:Q", format=".4g", title="test error")]
        if "metric" in test_error.columns:
            tips.append("metric:N")
        line = alt.Chart(test_error).mark_line(point=True, color=PALETTE["test error"]).encode(
            x=_x(knob, log_x), y="value:Q", tooltip=tips)
        layers.append(line)
    return alt.layer(*layers).properties(title=alt.TitleParams(
        "Bias-variance decomposition",
        subtitle="Bias^2 should fall and variance rise as capacity grows; "
                 "the black line (measured test error) should sit on top of the stack."))


def train_test_curve_chart(df: pd.DataFrame, x: str, log_x: bool = False,
                           log_y: bool = True) -> alt.Chart:
    """Train and test loss vs a knob or epoch; df: long frame [x, split, value]."""
    splits = [s for s in PALETTE if s in set(df["split"])] or sorted(set(df["split"]))
    color_scale = (_scale(splits) if all(s in PALETTE for s in splits)
                   else alt.Scale(domain=splits))
    return alt.Chart(df).mark_line(point=True).encode(
        x=_x(x, log_x),
        y=alt.Y("value:Q", title="loss", scale=alt.Scale(type="log") if log_y else alt.Scale()),
        color=alt.Color("split:N", scale=color_scale, title="split"),
        tooltip=[alt.Tooltip(f"{x}:Q"), "split:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title=alt.TitleParams(
        "Training vs test loss",
        subtitle="A widening gap between the test and training curves is overfitting; "
                 "both curves high is underfitting."))


def weights_vs_truth_chart(learned, true) -> alt.Chart:
    """Grouped bars of learned vs true weights per index (shorter vector padded with 0)."""
    w_hat = np.asarray(learned, dtype=float).ravel()
    w_true = np.asarray(true, dtype=float).ravel()
    n = max(len(w_hat), len(w_true))
    pad = lambda w: np.pad(w, (0, n - len(w)))  # noqa: E731  (a missing weight = feature unused = 0)
    df = pd.DataFrame({
        "index": np.tile(np.arange(n), 2),
        "source": ["learned"] * n + ["true"] * n,
        "weight": np.concatenate([pad(w_hat), pad(w_true)]),
    })
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("index:O", title="weight index (feature x^i / i!)"),
        xOffset="source:N",
        y=alt.Y("weight:Q", title="weight"),
        color=alt.Color("source:N", scale=_scale(["learned", "true"]), title=None),
        tooltip=["index:O", "source:N", alt.Tooltip("weight:Q", format=".4g")],
    ).properties(title=alt.TitleParams(
        "Learned vs true weights",
        subtitle="A good fit puts each blue bar on its grey twin; "
                 "weights on features the truth lacks should be near 0."))
