"""Altair chart builders for the bias-variance lesson (pure: DataFrame in, chart out)."""
from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from analysis import palette

COMPONENT_ORDER = ["bias^2", "variance", "noise"]
MEASURED = "measured test error"
SWEEP_PICK = "sweep_pick"


def _scale(domain: Sequence[str]) -> alt.Scale:
    return palette.color_scale(domain)


def _whole(values) -> bool:
    values = pd.Series(values, dtype=float).dropna()
    return bool(len(values)) and bool((values == values.round()).all())


def _x(field: str, log_x: bool, title: str | None = None, values=None) -> alt.X:
    """The knob axis; ticks at whole numbers where every value is one (degrees, epochs)."""
    axis = palette.whole_axis() if values is not None and _whole(values) else alt.Axis(format=",.4~r")
    return alt.X(f"{field}:Q", title=title or field, axis=axis,
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
        x=_x(knob, log_x, values=df[knob]),
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
        line = alt.Chart(test_error).mark_line(point=alt.OverlayMarkDef(color=palette.COLORS[MEASURED]), color=palette.COLORS[MEASURED], clip=True).encode(
            x=_x(knob, log_x, values=df[knob]), y=alt.Y("value:Q", scale=y_scale), tooltip=tips)
        layers.append(line)
    return alt.layer(*layers).properties(title=alt.TitleParams(
        "Bias-variance decomposition",
        subtitle="Bias^2 should fall and variance rise as capacity grows; "
                 "the black line (measured test error) should sit on top of the stack."))


def train_test_curve_chart(df: pd.DataFrame, x: str, log_x: bool = False,
                           log_y: bool = True) -> alt.LayerChart:
    """Train (dashed) and test (solid) loss vs a knob or epoch; df: long frame [x, split, value].
    Train is drawn over test: where the curves meet, the solid line shows through the dashes."""
    splits = [s for s in palette.SPLITS if s in set(df["split"])] + sorted(set(df["split"]) - set(palette.SPLITS))
    lines = alt.Chart(df).mark_line(point=palette.sparse(df, ["split"])).encode(
        x=_x(x, log_x, values=df[x]),
        y=alt.Y("value:Q", title="loss", scale=alt.Scale(type="log") if log_y else alt.Scale(),
                axis=palette.log_axis(df["value"]) if log_y else alt.Axis()),
        color=palette.color("split", splits, title="split", symbolType="stroke"),
        strokeDash=palette.split_dash(domain=splits),
        tooltip=[alt.Tooltip(f"{x}:Q"), "split:N", alt.Tooltip("value:Q", format=".4g")],
    )
    return alt.layer(lines.transform_filter("datum.split != 'train'"),
                     lines.transform_filter("datum.split == 'train'")).properties(title=alt.TitleParams(
        "Training vs test loss",
        subtitle="A widening gap between the test and training curves is overfitting; "
                 "both curves high is underfitting."))


def mine_points(df: pd.DataFrame, x: str, log_x: bool = False) -> alt.Chart:
    """A student's runs on a train/test chart: one filled diamond per split at the run's knob
    value, coloured as the split; df: [x, split, value, run] (the run's label in the tooltip)."""
    splits = [s for s in palette.SPLITS if s in set(df["split"])]
    return alt.Chart(df).mark_point(shape="diamond", size=160, filled=True, opacity=1).encode(
        x=_x(x, log_x, values=df[x]), y=alt.Y("value:Q"),
        color=palette.color("split", splits, title="split", symbolType="stroke"),
        tooltip=["run:N", alt.Tooltip(f"{x}:Q"), "split:N", alt.Tooltip("value:Q", format=".4g")])


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
        x=alt.X("index:O", title="weight index (feature x^i / i!)", axis=alt.Axis(labelAngle=0)),
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
        parts = pd.concat([parts, test_error.assign(curve=MEASURED)[[knob, "curve", "value"]]])
    curves = [c for c in [*COMPONENT_ORDER, MEASURED] if c in set(parts["curve"])]
    # An unbiased bias^2 estimate can be <= 0 (bias within sampling error of 0): it has no
    # place on a log axis, so the line breaks there instead of bridging the gap.
    parts = parts.sort_values(["curve", knob])
    parts = parts.assign(segment=parts.groupby("curve")["value"].transform(lambda v: (v <= 0).cumsum()))
    shown = parts[parts["value"] > 0]
    return alt.Chart(shown).mark_line(point=True).encode(
        x=_x(knob, log_x, values=shown[knob]),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="squared error (log)",
                axis=palette.log_axis(shown["value"])),
        color=palette.color("curve", curves, symbolType="stroke"),
        detail="segment:N",
        tooltip=[alt.Tooltip(f"{knob}:Q"), "curve:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title="The components on a log scale")


def polynomial_fit_chart(curves: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    """Fitted curve(s) over the true cubic (grey, dotted: a reference), with the training and
    test points.

    curves: [x, curve, y] (curve = "true" or a fit's label); points: [x, y, split]."""
    labels = list(dict.fromkeys(curves["curve"]))
    colors = [palette.COLORS["true"] if c == "true" else palette.COLORS["learned"] for c in labels]
    dashes = [palette.DOTTED if c == "true" else palette.SOLID for c in labels]
    encode = dict(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y", scale=alt.Scale(domain=_y_window(points))),
        color=alt.Color("curve:N", scale=alt.Scale(domain=labels, range=colors), title=None,
                        legend=palette.stroke_legend()),
        strokeDash=alt.StrokeDash("curve:N", scale=alt.Scale(domain=labels, range=dashes), title=None,
                                  legend=palette.stroke_legend()))
    # the true curve is drawn over the fits: where a good fit covers it, its dots still show
    fits = alt.Chart(curves[curves["curve"] != "true"]).mark_line(clip=True, strokeWidth=2.5).encode(**encode)
    truth = alt.Chart(curves[curves["curve"] == "true"]).mark_line(clip=True, strokeWidth=2.5).encode(**encode)
    lines = alt.layer(fits, truth)
    dots = alt.Chart(points).mark_circle(size=36, opacity=0.8, clip=True).encode(
        x="x:Q", y=alt.Y("y:Q", scale=alt.Scale(domain=_y_window(points))),
        color=palette.color("split", ["train", "test"], title="points"),
        tooltip=["split:N", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")])
    return alt.layer(lines, dots).resolve_scale(color="independent", strokeDash="independent").properties(
        title=alt.TitleParams(
            "Fitted curve vs the true cubic",
            subtitle="Underfitting misses the shape everywhere; overfitting bends through the training points "
                     "and swings away between and beyond them."))


def _y_window(points: pd.DataFrame) -> list[float]:
    lo, hi = float(points["y"].min()), float(points["y"].max())
    pad = 0.25 * (hi - lo or 1.0)
    return [lo - pad, hi + pad]


def _decades(values, constant: float, thirds: bool = False) -> list[float]:
    """0 and the signed powers of ten from `constant` out to the values on each side: the ticks
    of a symlog axis (with `thirds`, 3 x each power on the positive side too)."""
    values = [float(v) for v in values if np.isfinite(v)]

    def powers(top: float) -> list[float]:
        count = int(np.ceil(np.log10(top / constant))) + 1 if top > constant else 1
        return [float(f"{constant * 10 ** k:.12g}") for k in range(count)]
    above = powers(max([v for v in values if v > 0], default=constant))
    if thirds:
        above = sorted(above + [float(f"{3 * p:.12g}") for p in above[:-1]])
    below = [-p for p in reversed(powers(-min(values)))] if values and min(values) < 0 else []
    return below + [0.0] + above


def lambda_chart(df: pd.DataFrame, y: str, title: str, log_y: bool = True) -> alt.Chart:
    """A quantity vs weight decay lambda on a symlog x axis (lambda = 0 stays on the chart).

    df: [lambda, series, value, lo, hi] (lo/hi: the spread over members, drawn as a band).
    Train is dashed and test solid; ticks at 0 and every power of ten."""
    ticks = [t for t in _decades(df["lambda"], 0.001) if t >= 0]
    x = alt.X("lambda:Q", scale=alt.Scale(type="symlog", constant=0.001), title="weight decay lambda (symlog)",
              axis=alt.Axis(values=ticks, format=",.4~r"))
    y_scale = alt.Scale(type="log") if log_y else alt.Scale()
    y_axis = palette.log_axis(pd.concat([df["lo"], df["hi"], df["value"]])) if log_y else alt.Axis()
    series = [s for s in palette.SPLITS if s in set(df["series"])] + sorted(set(df["series"]) - set(palette.SPLITS))
    color = palette.color("series", series, symbolType="stroke")
    band = alt.Chart(df).mark_area(opacity=0.2).encode(
        x=x, y=alt.Y("lo:Q", scale=y_scale), y2="hi:Q", color=palette.color("series", series, show_legend=False))
    line = alt.Chart(df).mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", scale=y_scale, title=y, axis=y_axis), color=color,
        strokeDash=palette.split_dash("series", series, title=None),
        tooltip=["lambda:Q", "series:N", alt.Tooltip("value:Q", format=".4g")])
    return alt.layer(line, band).properties(title=title)   # the line first: the legend draws its strokes


def published_norms_chart(df: pd.DataFrame) -> alt.FacetChart:
    """Measured ||w|| at lambda 0 and 3 next to the textbook's; df: [lambda, source, norm].
    Horizontal bars, so every source's name is printed in full, with the value at the bar's end."""
    sources = list(dict.fromkeys(df["source"]))
    base = alt.Chart().encode(
        y=alt.Y("source:N", title=None, sort=sources, axis=alt.Axis(labelLimit=0)),
        x=alt.X("norm:Q", title="||w||_2"),
        tooltip=["lambda:N", "source:N", alt.Tooltip("norm:Q", format=".3f")])
    bars = base.mark_bar().encode(color=palette.color("source", sources, show_legend=False))
    values = base.mark_text(align="left", dx=4).encode(text=alt.Text("norm:Q", format=".3g"))
    return alt.layer(bars, values, data=df).properties(width=420, height=alt.Step(26)).facet(
        row=alt.Row("lambda:N", title=None, header=alt.Header(labelExpr="'lambda = ' + datum.value", labelAngle=0,
                                                                labelAlign="left", labelAnchor="start")),
    ).properties(title="||w|| after training vs the published numbers")


def _width_x(values=None) -> alt.X:
    """Hidden width on a log2 axis; a narrow panel (`values` given) ticks every power of 4."""
    axis = alt.Axis(format=",d")
    if values is not None and len(values):
        lo, hi = float(np.min(values)), float(np.max(values))
        axis = alt.Axis(format=",d", values=[4 ** k for k in range(0, 12) if lo <= 4 ** k <= hi])
    return alt.X("width:Q", scale=alt.Scale(type="log", base=2), title="hidden units (log2)", axis=axis)


def width_chart(df: pd.DataFrame, y_title: str, title: str) -> alt.TopLevelMixin:
    """A quantity vs hidden width (log2 axis); df: [width, series, variant, value].

    The colour is the sweep (label noise, dropout, weight decay overlays). Train and test
    errors share one panel, train dashed and test solid; other series (bias^2, variance)
    get a panel each, with its own y scale."""
    variants = list(dict.fromkeys(df["variant"]))
    color = palette.color("variant", variants, title="sweep", symbolType="stroke")
    tips = ["width:Q", "series:N", "variant:N", alt.Tooltip("value:Q", format=".4g")]
    series = list(dict.fromkeys(df["series"]))
    pick, opacity = palette.legend_pick("variant", SWEEP_PICK), palette.picked_opacity(SWEEP_PICK)
    if set(series) <= {"train error", "test error"}:
        order = [s for s in ("train error", "test error") if s in series]
        return alt.Chart(df).mark_line(point=True).encode(
            x=_width_x(), y=alt.Y("value:Q", title=y_title), color=color, opacity=opacity,
            strokeDash=palette.split_dash("series", order, title="split"), tooltip=tips,
        ).add_params(pick).properties(title=title)
    return alt.Chart(df).mark_line(point=True).encode(
        x=_width_x(df["width"]), y=alt.Y("value:Q", title=y_title), color=color, opacity=opacity, tooltip=tips,
    ).add_params(pick).properties(width=340, height=240).facet(
        column=alt.Column("series:N", sort=series, title=None),
    ).resolve_scale(y="independent").properties(title=title)


def threshold_rule(width: float) -> alt.Chart:
    """The interpolation threshold (width = training examples per model) as a dotted rule."""
    return alt.Chart(pd.DataFrame({"width": [width]})).mark_rule(
        strokeDash=palette.DOTTED, color=palette.REFERENCE, strokeWidth=1.5).encode(
        x="width:Q", tooltip=[alt.Tooltip("width:Q", title="interpolation threshold")])


def rf_decomposition_chart(df: pd.DataFrame, threshold: float, title: str) -> alt.HConcatChart:
    """Random features: bias^2 and variance vs width, one panel each, with the interpolation
    threshold as a dotted rule. df: [width, series (bias^2 | variance), variant, value].

    Yang et al.'s bias^2 = risk - variance is unbiased but noisy: where the variance estimate
    is huge (at the threshold) the difference can fall below 0. So the bias^2 panel has a
    symmetric-log axis (0 and negative estimates stay on the chart, with a zero line);
    the variance, always > 0, has a log axis."""
    variants = list(dict.fromkeys(df["variant"]))
    color = palette.color("variant", variants, title="sweep", symbolType="stroke")
    tips = ["width:Q", "variant:N", alt.Tooltip("value:Q", format=".4g")]
    rule = alt.Chart(pd.DataFrame({"width": [threshold]})).mark_rule(
        color=palette.REFERENCE, strokeDash=palette.DOTTED, strokeWidth=1.5).encode(
        x="width:Q", tooltip=[alt.Tooltip("width:Q", title="interpolation threshold")])
    bias = df[df["series"] == "bias^2"]
    ticks = _decades(bias["value"], 0.1, thirds=True)
    opacity = palette.picked_opacity(SWEEP_PICK)
    bias_line = alt.Chart(bias).mark_line(point=True).add_params(palette.legend_pick("variant", SWEEP_PICK)).encode(
        x=_width_x(df["width"]), color=color, tooltip=tips, opacity=opacity,
        y=alt.Y("value:Q", title="bias^2 (symmetric log)",
                scale=alt.Scale(type="symlog", constant=0.1, domain=[ticks[0], ticks[-1]], nice=False),
                axis=alt.Axis(values=ticks, format=",.4~r", labelOverlap=False)))
    zero = alt.Chart(pd.DataFrame({"value": [0.0]})).mark_rule(color=palette.REFERENCE).encode(y="value:Q")
    variance = df[df["series"] == "variance"]
    variance_line = alt.Chart(variance).mark_line(point=True).encode(
        x=_width_x(df["width"]), color=color, tooltip=tips, opacity=opacity,
        y=alt.Y("value:Q", title="variance (log)", scale=alt.Scale(type="log"),
                axis=palette.log_axis(variance["value"])))
    panel = dict(width=340, height=300)
    return alt.hconcat(alt.layer(zero, bias_line, rule).properties(**panel),
                       alt.layer(variance_line, rule).properties(**panel)).properties(title=alt.TitleParams(
        title, subtitle=["bias^2 = risk - variance: where the variance estimate is huge (at the threshold) it can "
                         "exceed the risk,", "and the estimate falls below 0. That is the estimate's sampling error, "
                         "not a negative bias^2."]))
