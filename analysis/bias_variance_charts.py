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
                                log_x: bool = False, y_max: float | None = None) -> alt.LayerChart:
    """Stacked area of bias^2 / variance / noise vs the knob, measured test error on top.

    df: long frame [knob, component, value]; test_error: optional [knob, value] (a
    "metric" column, if present, is kept in the tooltip). Clicking a legend entry
    highlights that component. y_max cuts the y axis (values above it run off the top),
    for sweeps whose variance explodes by orders of magnitude.
    """
    y_scale = alt.Scale(domain=[0, y_max]) if y_max else alt.Scale()
    present = [c for c in COMPONENT_ORDER if c in set(df["component"])]
    pick = alt.selection_point(fields=["component"], bind="legend")
    df = df.assign(value=df["value"].clip(lower=0))   # a stack cannot hold an estimate below 0
    area = alt.Chart(df).mark_area(opacity=0.85, clip=True).encode(
        x=_x(knob, log_x),
        y=alt.Y("value:Q", stack="zero", title="squared error", scale=y_scale),
        color=alt.Color("component:N", scale=_scale(present), sort=present, title="component"),
        order=alt.Order("component_rank:Q"),
        opacity=alt.condition(pick, alt.value(0.85), alt.value(0.15)),
        tooltip=[alt.Tooltip(f"{knob}:Q"), "component:N", alt.Tooltip("value:Q", format=".4g")],
    ).transform_calculate(
        # Stacked from the bottom: noise (a floor), variance, bias^2. When the y axis is cut,
        # what shows at the top is the component that dominates there.
        component_rank=f"indexof({present[::-1]!r}, datum.component)"
    ).add_params(pick)
    layers = [area]
    if test_error is not None and len(test_error):
        tips = [alt.Tooltip(f"{knob}:Q"), alt.Tooltip("value:Q", format=".4g", title="test error")]
        if "metric" in test_error.columns:
            tips.append("metric:N")
        line = alt.Chart(test_error).mark_line(point=True, color=PALETTE["test error"], clip=True).encode(
            x=_x(knob, log_x), y=alt.Y("value:Q", scale=y_scale), tooltip=tips)
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


# ---------------------------------------------------------------- charts of real runs (the page)

def components_log_chart(df: pd.DataFrame, knob: str, test_error: pd.DataFrame | None = None,
                         log_x: bool = False) -> alt.Chart:
    """bias^2, variance, noise (and the measured test error) as lines on a log y axis:
    the same numbers as the stack, readable when they span orders of magnitude."""
    parts = df.rename(columns={"component": "curve"})
    if test_error is not None and len(test_error):
        parts = pd.concat([parts, test_error.assign(curve="test error")[[knob, "curve", "value"]]])
    curves = [c for c in [*COMPONENT_ORDER, "test error"] if c in set(parts["curve"])]
    # An unbiased bias^2 estimate can be <= 0 (bias within sampling error of 0): it has no
    # place on a log axis, so the line breaks there instead of bridging the gap.
    parts = parts.sort_values(["curve", knob])
    parts = parts.assign(segment=parts.groupby("curve")["value"].transform(lambda v: (v <= 0).cumsum()))
    return alt.Chart(parts[parts["value"] > 0]).mark_line(point=True).encode(
        x=_x(knob, log_x),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="squared error (log)"),
        color=alt.Color("curve:N", scale=_scale(curves), sort=curves, title=None),
        detail="segment:N",
        tooltip=[alt.Tooltip(f"{knob}:Q"), "curve:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title="The components on a log scale")


def polynomial_fit_chart(curves: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    """Fitted curve(s) over the true cubic, with the training and test points.

    curves: [x, curve, y] (curve = "true" or a fit's label); points: [x, y, split]."""
    labels = list(dict.fromkeys(curves["curve"]))
    colors = [PALETTE["true"] if c == "true" else PALETTE["learned"] for c in labels]
    lines = alt.Chart(curves).mark_line(clip=True).encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y", scale=alt.Scale(domain=_y_window(points))),
        color=alt.Color("curve:N", scale=alt.Scale(domain=labels, range=colors), title=None),
        strokeDash=alt.condition(alt.datum.curve == "true", alt.value([4, 3]), alt.value([1, 0])))
    dots = alt.Chart(points).mark_circle(size=28, opacity=0.7, clip=True).encode(
        x="x:Q", y=alt.Y("y:Q", scale=alt.Scale(domain=_y_window(points))),
        color=alt.Color("split:N", scale=_scale(["train", "test"]), title="points"),
        tooltip=["split:N", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")])
    return alt.layer(lines, dots).resolve_scale(color="independent").properties(title=alt.TitleParams(
        "Fitted curve vs the true cubic",
        subtitle="Underfitting misses the shape everywhere; overfitting bends through the training points "
                 "and swings away between and beyond them."))


def _y_window(points: pd.DataFrame) -> list[float]:
    lo, hi = float(points["y"].min()), float(points["y"].max())
    pad = 0.25 * (hi - lo or 1.0)
    return [lo - pad, hi + pad]


def lambda_chart(df: pd.DataFrame, y: str, title: str, log_y: bool = True) -> alt.Chart:
    """A quantity vs weight decay lambda on a symlog x axis (lambda = 0 stays on the chart).

    df: [lambda, series, value, lo, hi] (lo/hi: the spread over members, drawn as a band)."""
    x = alt.X("lambda:Q", scale=alt.Scale(type="symlog", constant=0.001), title="weight decay lambda (symlog)")
    y_scale = alt.Scale(type="log") if log_y else alt.Scale()
    color = alt.Color("series:N", title=None)
    band = alt.Chart(df).mark_area(opacity=0.2).encode(x=x, y=alt.Y("lo:Q", scale=y_scale), y2="hi:Q", color=color)
    line = alt.Chart(df).mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", scale=y_scale, title=y), color=color,
        tooltip=["lambda:Q", "series:N", alt.Tooltip("value:Q", format=".4g")])
    return alt.layer(band, line).properties(title=title)


def published_norms_chart(df: pd.DataFrame) -> alt.Chart:
    """Measured ||w|| at lambda 0 and 3 next to the textbook's; df: [lambda, source, norm]."""
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("source:N", title=None, sort=None), y=alt.Y("norm:Q", title="||w||_2"),
        color=alt.Color("source:N", title=None, sort=None),
        column=alt.Column("lambda:N", title="lambda"),
        tooltip=["lambda:N", "source:N", alt.Tooltip("norm:Q", format=".3f")],
    ).properties(width=160, title="||w|| after training vs the published numbers")


def width_chart(df: pd.DataFrame, y_title: str, title: str) -> alt.Chart:
    """A quantity vs hidden width (log2 axis); df: [width, series, variant, value].

    series picks the colour (e.g. train/test, bias^2/variance), variant the dash (label
    noise, dropout, weight decay overlays)."""
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("width:Q", scale=alt.Scale(type="log", base=2), title="hidden units (log2)"),
        y=alt.Y("value:Q", title=y_title),
        color=alt.Color("series:N", title=None),
        strokeDash=alt.StrokeDash("variant:N", title="sweep"),
        tooltip=["width:Q", "series:N", "variant:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title=title)
