"""Altair charts for the batch-normalization lesson; each takes a frame from
analysis.covariate_shift and returns a chart. LOOK_FOR holds the one sentence that tells
the reader what each chart shows."""
from __future__ import annotations

import altair as alt
import pandas as pd

VARIANT_ORDER = ["no BN", "BN", "noisy BN"]
LOOK_FOR = {
    "accuracy": "The BN net leaves chance level within a few hundred steps; the no-BN net sits on a plateau first.",
    "layer_bands": "Without BN every layer's band widens several-fold and the deepest layer's median moves most; "
                   "with BN the medians stay near 0 and the bands widen far less.",
    "ridgeline": "Read down the rows, one per probe step: does the histogram slide or spread as training goes on?",
    "drift": "Lower is steadier: the change of a layer's mean and std between probes is far smaller with BN.",
    "ics_l2": "BN does not make ||G - G'|| smaller: the 'internal covariate shift' Santurkar et al. measure is as "
              "large or larger with BN.",
    "ics_relative": "Relative to the gradient's own size, the shift is of the same order with and without BN.",
    "ics_cos": "A cosine near 1 means the earlier layers' update barely changed this layer's gradient; BN does not "
               "raise it.",
    "noisy": "Noisy BN's curve tracks BN's although its layers' inputs move more from step to step than without "
             "BN: stable input distributions are not what makes BN train fast.",
    "lr_sweep": "Read across: the learning rates where the BN line stays high and the no-BN one falls to chance "
                "(or diverges) are the rates only BN can use.",
    "placement": "BN before or after the sigmoid both train faster than no BN; the gap between them is small.",
}


def _variant_color(frame: pd.DataFrame) -> alt.Color:
    present = [v for v in VARIANT_ORDER if v in set(frame.get("variant", []))]
    extra = sorted(set(frame.get("variant", [])) - set(present))
    return alt.Color("variant:N", sort=present + extra, title=None)


def accuracy_chart(frame: pd.DataFrame, title: str = "test accuracy") -> alt.Chart:
    """Figure 1 (a): variant, step, value."""
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("value:Q", title=title),
        color=_variant_color(frame),
        tooltip=["variant", "step", alt.Tooltip("value:Q", format=".3f")],
    ).properties(height=260)


def unit_bands_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Figure 1 (b, c): the 15-85 band and the median, one panel per variant, shared axes."""
    base = alt.Chart().encode(x=alt.X("step:Q", title="training step"))
    band = base.mark_area(opacity=0.3).encode(y=alt.Y("q15:Q", title="input to the sigmoid"), y2="q85:Q")
    edges = base.transform_fold(["q15", "q50", "q85"], as_=["percentile", "value"]).mark_line().encode(
        y="value:Q", strokeDash=alt.StrokeDash("percentile:N", sort=["q85", "q50", "q15"], title="percentile"),
        tooltip=["variant", "step", "percentile:N", alt.Tooltip("value:Q", format=".3f")])
    return alt.layer(band, edges, data=frame).properties(width=300, height=240).facet(
        column=alt.Column("variant:N", sort=VARIANT_ORDER, title=None))


def layer_bands_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Small multiples: one panel per (variant, layer) with the layer's 15/50/85 band."""
    base = alt.Chart().encode(x=alt.X("step:Q", title="step"))
    band = base.mark_area(opacity=0.3).encode(y=alt.Y("q15:Q", title="pre-activation"), y2="q85:Q")
    median = base.mark_line().encode(y="q50:Q", tooltip=["variant", "layer", "step", "q15", "q50", "q85"])
    return alt.layer(band, median, data=frame).properties(width=200, height=150).facet(
        row=alt.Row("variant:N", sort=VARIANT_ORDER, title=None), column=alt.Column("layer:N", title=None))


def ridgeline_chart(frame: pd.DataFrame, overlap: float = 1.8) -> alt.FacetChart:
    """Histogram ridgeline: one row per probe step, one column per variant."""
    step_height = 28
    return alt.Chart(frame).mark_area(interpolate="monotone", fillOpacity=0.6, stroke="white", strokeWidth=0.5).encode(
        x=alt.X("x:Q", title="pre-activation"),
        y=alt.Y("density:Q", axis=None, scale=alt.Scale(range=[step_height, -step_height * overlap])),
        color=_variant_color(frame),
    ).properties(width=280, height=step_height).facet(
        row=alt.Row("step:O", title="step", header=alt.Header(labelAngle=0, labelAlign="left")),
        column=alt.Column("variant:N", sort=VARIANT_ORDER, title=None),
        spacing={"row": 0, "column": 20}).properties(bounds="flush")


def drift_chart(frame: pd.DataFrame, measure: str = "mean_change_in_std") -> alt.FacetChart:
    """Per layer: a drift measure between successive probes, BN vs no BN (log y)."""
    data = frame[(frame["measure"] == measure) & (frame["value"] > 0)]
    return alt.Chart(data).mark_line(opacity=0.8).encode(
        x=alt.X("step:Q"),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title=measure.replace("_", " ")),
        color=_variant_color(data),
        tooltip=["variant", "layer", "step", alt.Tooltip("value:Q", format=".2e")],
    ).properties(width=200, height=170).facet(column=alt.Column("layer:N", title=None))


def ics_chart(frame: pd.DataFrame, measure: str = "ics_l2") -> alt.FacetChart:
    """ICS per layer over steps: ||G - G'|| (log y) or cos(G, G')."""
    log = measure in ("ics_l2", "ics_relative")
    data = frame[frame[measure] > 0] if log else frame
    titles = {"ics_l2": "||G - G'||", "ics_cos": "cos(G, G')", "ics_relative": "||G - G'|| / ||G||"}
    return alt.Chart(data).mark_line(opacity=0.8).encode(
        x=alt.X("step:Q"),
        y=alt.Y(f"{measure}:Q", title=titles[measure], scale=alt.Scale(type="log" if log else "linear")),
        color=_variant_color(data),
        tooltip=["variant", "layer", "step", alt.Tooltip(f"{measure}:Q", format=".3g")],
    ).properties(width=200, height=170).facet(column=alt.Column("layer:N", title=None))


def smoothness_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Loss range, gradient change and effective beta over steps (log y), per variant."""
    long = frame.melt(id_vars=["variant", "step"], value_vars=["loss_range", "grad_change", "beta"], var_name="measure")
    long = long[long["value"] > 0]
    return alt.Chart(long).mark_line(opacity=0.8).encode(
        x=alt.X("step:Q"),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title=None),
        color=_variant_color(long),
        tooltip=["variant", "measure", "step", alt.Tooltip("value:Q", format=".3g")],
    ).properties(width=220, height=180).facet(
        column=alt.Column("measure:N", sort=["loss_range", "grad_change", "beta"], title=None)
    ).resolve_scale(y="independent")


def lr_sweep_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Final test accuracy vs lr (log x) by BN setting; diverged runs drawn at 0 as crosses."""
    data = frame.assign(shown=frame["score"].fillna(0.0).where(frame["outcome"] != "diverged", 0.0))
    base = alt.Chart(data).encode(
        x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate"),
        y=alt.Y("shown:Q", title="final test accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("batchnorm:N", title="BN"),
    )
    line = base.mark_line()
    points = base.mark_point(filled=True, size=70).encode(
        shape=alt.Shape("outcome:N", scale=alt.Scale(domain=["trains", "stuck", "diverged", "unfinished"],
                                                      range=["circle", "square", "cross", "triangle"])),
        tooltip=["lr", "batchnorm", "outcome", alt.Tooltip("score:Q", format=".3f"), "diverged_step"])
    chance = alt.Chart(pd.DataFrame({"y": [0.1]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    return alt.layer(line, points, chance).properties(height=280)


def loss_curves_chart(frame: pd.DataFrame, title: str = "test loss", log: bool = True,
                      diverged: pd.DataFrame | None = None) -> alt.LayerChart:
    """variant, step, value curves (e.g. the Concrete sweep's test MAE); runs in `diverged`
    (variant, step) get a cross at the step where their loss became NaN/inf."""
    data = frame[frame["value"] > 0] if log else frame
    color = alt.Color("variant:N", title=None, legend=alt.Legend(labelLimit=320))
    lines = alt.Chart(data).mark_line().encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("value:Q", title=title, scale=alt.Scale(type="log" if log else "linear")),
        color=color,
        tooltip=["variant", "step", alt.Tooltip("value:Q", format=".3g")],
    )
    layers = [lines]
    if diverged is not None and not diverged.empty:
        top = float(data["value"].max()) if not data.empty else 1.0
        marks = diverged.assign(value=top)
        layers.append(alt.Chart(marks).mark_point(shape="cross", size=160, filled=True).encode(
            x="step:Q", y="value:Q", color=color, tooltip=["variant", alt.Tooltip("step:Q", title="diverged at step")]))
    return alt.layer(*layers).properties(height=280)


def modes_chart(frame: pd.DataFrame) -> alt.Chart:
    """Accuracy in eval mode vs train mode at several batch sizes."""
    data = frame.assign(label=[f"{m}, batch {b}" for m, b in zip(frame["mode"], frame["batch_size"])])
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("label:N", title=None, sort=None),
        color=alt.Color("mode:N", title=None),
        tooltip=["mode", "batch_size", alt.Tooltip("accuracy:Q", format=".4f")],
    ).properties(height=160)
