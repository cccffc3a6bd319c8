"""Altair chart builders for the activations lesson (pure: DataFrame in, chart out)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette
from analysis.activations import METRICS, VERSION_LABELS


def derivative_chart(curves: pd.DataFrame) -> alt.FacetChart:
    """f(x) and f'(x) side by side, one line per activation. curves: [activation, x, curve, value]."""
    names = list(dict.fromkeys(curves["activation"]))
    color = alt.Color("activation:N", sort=names, scale=alt.Scale(domain=names,
                      range=palette.colors_for(n.split()[0] for n in names)))
    base = alt.Chart(curves).mark_line(strokeWidth=2, clip=True).encode(
        x=alt.X("x:Q"), y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[-1.5, 3])), color=color,
        tooltip=["activation:N", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("value:Q", format=".4f")])
    return base.properties(width=280, height=240).facet(column=alt.Column("curve:N", title=None, sort=["f(x)", "f'(x)"]))


def grad_norm_chart(norms: pd.DataFrame) -> alt.Chart:
    """Weight-gradient norm per layer (input layer on the left), one line per net, log y.
    norms: [net, layer, depth, grad_norm]."""
    return alt.Chart(norms).mark_line(point=True).encode(
        x=alt.X("depth:O", title="layer (1 = next to the input; the last is the output layer)"),
        y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="||dL/dW|| (log)"),
        color=alt.Color("net:N", title="net"),
        tooltip=["net:N", "layer:N", alt.Tooltip("grad_norm:Q", format=".3g")],
    ).properties(height=300, title="Gradient norms through the depth, early in training")


def unit_state_chart(states: pd.DataFrame) -> alt.Chart:
    """Fraction of post-activations exactly zero (ReLU) or pre-activations saturated (sigmoid,
    tanh) per hidden layer at the end of training. states: [net, layer, measure, fraction]."""
    return alt.Chart(states).mark_bar().encode(
        x=alt.X("layer:N", title="hidden layer"), xOffset="net:N",
        y=alt.Y("fraction:Q", scale=alt.Scale(domain=[0, 1]), title="fraction of the probe batch"),
        color=alt.Color("net:N", title="net"),
        tooltip=["net:N", "layer:N", "measure:N", alt.Tooltip("fraction:Q", format=".2f")],
    ).properties(height=300, title="Dead (zero) or saturated units after training")


def slope_chart(slopes: pd.DataFrame, initial: float) -> alt.LayerChart:
    """Each hidden layer's learned pReLU slope (bars), the initial slope as a dotted reference.
    slopes: [layer, depth, member, slope] (member 0 drawn)."""
    shown = slopes[slopes["member"] == 0]
    bars = alt.Chart(shown).mark_bar(color=palette.COLORS["prelu"]).encode(
        x=alt.X("layer:N", sort=list(shown["layer"]), title="hidden layer (hidden1 next to the input)",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("slope:Q", title="learned negative slope a"),
        tooltip=["layer:N", alt.Tooltip("slope:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"slope": [initial], "what": [f"initial a = {initial:g}"]})).mark_rule(
        color=palette.REFERENCE, strokeDash=palette.DOTTED, strokeWidth=3).encode(
        y="slope:Q", tooltip=["what:N", "slope:Q"])
    return (bars + rule).properties(width=420, height=240, title="pReLU: the slope each layer learned")


VERSIONS = tuple(VERSION_LABELS.values())


def versions_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """The textbook MLP written twice, per epoch: training loss (dashed) and test accuracy (solid),
    one colour per version; the from-scratch line is drawn wide underneath so that the other,
    which lies on it, stays visible. frame: [epoch, version, split, metric, panel, value]."""
    base = alt.Chart().mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=palette.whole_axis(), title="epoch"),
        y=alt.Y("value:Q", scale=alt.Scale(zero=False), title=None),
        color=palette.color("version", VERSIONS, title="version", symbolType="stroke"),
        strokeDash=palette.split_dash("split"),
        tooltip=["version:N", "panel:N", "epoch:Q", alt.Tooltip("value:Q", format=".6f")])
    under, over = (base.transform_filter(alt.datum.version == v) for v in VERSIONS)
    layered = alt.layer(under.mark_line(point=True, strokeWidth=7, opacity=0.45), over.mark_line(point=True, strokeWidth=2),
                        data=frame)
    return layered.properties(width=300, height=240).facet(
        column=alt.Column("panel:N", title=None, sort=[panel for _, panel in METRICS.values()]),
    ).resolve_scale(y="independent")
