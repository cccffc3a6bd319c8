"""Altair builders for comparing runs (pure: frames from analysis.compare in, charts out).

Every chart colours by run (the palette's RUNS, in the legend's order), dashes train and
leaves test solid, carries tooltips, and binds a selection to the legend: clicking a run in
the legend highlights it and fades the others. Channels are given as
objects (alt.X(...), alt.Tooltip(...)) rather than shorthand strings or condition dicts:
Altair parses those against its JSON schema, which costs ~40 ms per channel.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette

METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy"}
X_TITLES = {"step": "Step", "epoch": "Epoch"}
PICK = "run_pick"


def _run_legend() -> alt.Parameter:
    return alt.selection_point(fields=["run"], bind="legend", name=PICK)


def _run_color(frame: pd.DataFrame, facets: bool = True) -> alt.Color:
    """Colour by run. Faceted charts put the legend below (their cells have a fixed size);
    single charts keep it on the right, because Streamlit fits a single chart's total height
    (legend included) into `height`, and a legend below would squash the plot."""
    runs = list(dict.fromkeys(frame["run"])) if "run" in frame else []
    if facets:
        return palette.run_color("run", runs, orient="bottom", columns=2, symbolType="stroke", symbolStrokeWidth=3, symbolSize=400)
    return palette.run_color("run", runs, symbolType="stroke", symbolStrokeWidth=3, symbolSize=400)


def _x(align: str) -> alt.X:
    """Step or epoch, ticks at whole numbers."""
    return alt.X("x:Q", title=X_TITLES[align], axis=palette.whole_axis())


def _opacity(on: float, off: float = 0.12) -> alt.OpacityValue:
    """Full opacity for the runs picked in the legend (all when none is picked)."""
    return alt.OpacityValue(off, condition={"param": PICK, "value": on, "empty": True})


def _fill_opacity(on: float, off: float = 0.03) -> alt.FillOpacityValue:
    return alt.FillOpacityValue(off, condition={"param": PICK, "value": on, "empty": True})


def _tips(*fields: tuple[str, str] | tuple[str, str, str]) -> list[alt.Tooltip]:
    """(field, type[, format]) -> tooltips."""
    return [alt.Tooltip(f[0], type=f[1], **({"format": f[2]} if len(f) > 2 else {})) for f in fields]


def _splits(data: pd.DataFrame) -> list[str]:
    """Train and test always (the key reads the same on every chart), val where a run has it."""
    present = set(data["split"]) if "split" in data else set()
    return [s for s in ("train", "val", "test") if s in palette.SPLITS or s in present]


def curve_chart(curves: pd.DataFrame, metric: str, align: str = "step", height: int = 260) -> alt.Chart:
    """Train (dashed), validation (dotted, where held out) and test (solid) `metric` against
    step or epoch, one colour per run."""
    data = curves[curves["metric"] == metric]
    point = alt.OverlayMarkDef(size=18) if palette.sparse(data, ["run", "split"]) else False
    return alt.Chart(data).mark_line(point=point).encode(
        x=_x(align),
        y=alt.Y("value:Q", title=METRIC_TITLES.get(metric, metric), scale=alt.Scale(zero=False)),
        color=_run_color(data, facets=False),
        strokeDash=palette.split_dash(domain=_splits(data), title="Split"),
        detail=alt.Detail("split:N"),
        opacity=_opacity(1.0),
        tooltip=_tips(("run", "nominal"), ("split", "nominal"), ("step", "quantitative"),
                      ("epoch", "quantitative"), ("value", "quantitative", ".4f")),
    ).add_params(_run_legend()).properties(height=height, title=f"{METRIC_TITLES.get(metric, metric)}: train vs test")


def gap_chart(gap: pd.DataFrame, align: str = "step", height: int = 240) -> alt.Chart:
    """Generalization gap per metric (side by side, own y scales), zero line for reference."""
    lines = alt.Chart().mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=_x(align),
        y=alt.Y("gap:Q", title="Gap"),
        color=_run_color(gap),
        opacity=_opacity(1.0),
        tooltip=_tips(("run", "nominal"), ("metric", "nominal"), ("x", "quantitative"),
                      ("gap", "quantitative", ".4f")),
    ).add_params(_run_legend())
    zero = alt.Chart().mark_rule(color=palette.REFERENCE, strokeDash=palette.DOTTED).encode(y=alt.Y(datum=0))
    header = alt.Header(labelExpr="datum.value == 'loss' ? 'test - train loss' : 'train - test accuracy'",
                        labelFontSize=12)
    return alt.layer(lines, zero, data=gap).properties(height=height, width=380).facet(
        column=alt.Column("metric:N", title=None, header=header),
    ).resolve_scale(y="independent")


def weight_norm_chart(norms: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Frobenius norm of each layer's weights over training, faceted by layer (shared y)."""
    return alt.Chart(norms).mark_line(point=alt.OverlayMarkDef(size=14)).encode(
        x=alt.X("step:Q", title="Step", axis=palette.whole_axis()),
        y=alt.Y("norm:Q", title="‖W‖ (Frobenius)"),
        color=_run_color(norms),
        opacity=_opacity(1.0),
        tooltip=_tips(("run", "nominal"), ("layer", "nominal"), ("step", "quantitative"),
                      ("norm", "quantitative", ".3f"), ("spectral_norm", "quantitative", ".3f")),
    ).add_params(_run_legend()).properties(height=height, width=260).facet(
        facet=alt.Facet("layer:N", title=None), columns=4)


def activation_band_chart(bands: pd.DataFrame, height: int = 200) -> alt.Chart:
    """Quantile bands 7-93, 16-84, 31-69 and the median of each layer's activations over
    training, faceted by layer with shared scales (TensorBoard's distribution view)."""
    base = alt.Chart().encode(x=alt.X("step:Q", title="Step", axis=palette.whole_axis()), color=_run_color(bands))
    layers = [
        base.mark_area().encode(
            y=alt.Y(f"{lo}:Q", title="Activation"), y2=alt.Y2(hi), fillOpacity=_fill_opacity(weight),
            tooltip=_tips(("run", "nominal"), ("layer", "nominal"), ("step", "quantitative"),
                          (lo, "quantitative", ".3f"), (hi, "quantitative", ".3f")))
        for (lo, hi), weight in zip((("q7", "q93"), ("q16", "q84"), ("q31", "q69")), (0.15, 0.2, 0.3))
    ]
    median = base.mark_line().encode(
        y=alt.Y("q50:Q"), opacity=_opacity(1.0, 0.1),
        tooltip=_tips(("run", "nominal"), ("layer", "nominal"), ("step", "quantitative"),
                      ("q50", "quantitative", ".3f")))
    return alt.layer(*layers, median.add_params(_run_legend()), data=bands).properties(
        height=height, width=260).facet(facet=alt.Facet("layer:N", title=None), columns=4)


def ridgeline_chart(ridges: pd.DataFrame, height: int = 320) -> alt.Chart:
    """Stacked histograms: one ridge per probe step (earliest at the top), faceted by layer."""
    steps = sorted(ridges["step"].unique().tolist())
    return alt.Chart(ridges).mark_area(interpolate="monotone", strokeWidth=0.6, stroke=palette.WHITE).encode(
        x=alt.X("center:Q", title="Activation"),
        y=alt.Y("top:Q", title="Step", scale=alt.Scale(reverse=True, zero=False), axis=alt.Axis(values=steps, format=",d")),
        y2=alt.Y2("base"),
        color=_run_color(ridges),
        detail=alt.Detail("step:O"),
        order=alt.Order("step:Q"),
        fillOpacity=_fill_opacity(0.7, 0.05),
        tooltip=_tips(("run", "nominal"), ("layer", "nominal"), ("step", "quantitative"),
                      ("center", "quantitative", ".3f"), ("density", "quantitative", ".3f")),
    ).add_params(_run_legend()).properties(height=height, width=260).facet(
        facet=alt.Facet("layer:N", title=None), columns=4)


def thumbnail_chart(frame: pd.DataFrame, y_title: str, log_y: bool = False) -> alt.Chart:
    """A small chart for the Home page: `value` against `x`, one line per `series` (a split,
    dashed train and solid test, or a concept such as BN / no BN, in the palette's colours).
    log_y suits losses, which fall by orders of magnitude."""
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    series = list(dict.fromkeys(frame["series"]))
    axis = palette.log_axis(frame["value"]) if log_y else alt.Axis()
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("x:Q", title="step", axis=palette.whole_axis(tickCount=4)),
        y=alt.Y("value:Q", title=f"{y_title} (log)" if log_y else y_title, scale=scale, axis=axis),
        color=palette.color("series", series, symbolType="stroke"),
        strokeDash=alt.StrokeDash("series:N", title=None, scale=palette.dash_scale(series), legend=palette.stroke_legend()),
        tooltip=_tips(("series", "nominal"), ("x", "quantitative"), ("value", "quantitative", ".3f")),
    ).properties(height=150)
