"""Altair charts for the batch-normalization lesson; each takes a frame from
analysis.covariate_shift and returns a chart. LOOK_FOR holds the one sentence that tells
the reader what each chart shows."""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette

VARIANT_ORDER = ["no BN", "BN", "noisy BN"]
PLACEMENT = {"none": "no BN", "before": "BN before", "after": "BN after"}   # model.batchnorm -> legend
PICK = "variant_pick"
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
    """Colour by variant in the palette's colours (no BN vermillion, BN bluish green, ...);
    a legend of line strokes."""
    present = [v for v in VARIANT_ORDER if v in set(frame.get("variant", []))]
    extra = sorted(set(frame.get("variant", [])) - set(present))
    return palette.color("variant", present + extra, symbolType="stroke")


def _pick() -> alt.Parameter:
    """Click a variant in the legend to bring its lines forward (lines that overlap stay findable)."""
    return palette.legend_pick("variant", PICK)


def _opacity(on: float = 1.0) -> alt.OpacityValue:
    return palette.picked_opacity(PICK, on)


def _step(title: str = "training step") -> alt.X:
    return alt.X("step:Q", title=title, axis=palette.whole_axis())


def _placement(frame: pd.DataFrame) -> pd.DataFrame:
    """The placement sweep's raw model.batchnorm values ("none", "before", "after") as legend labels."""
    return frame.assign(variant=frame["variant"].map(lambda v: PLACEMENT.get(v, v))) if "variant" in frame else frame


def accuracy_chart(frame: pd.DataFrame, title: str = "test accuracy") -> alt.Chart:
    """Figure 1 (a): variant, step, value."""
    frame = _placement(frame)
    return alt.Chart(frame).mark_line().encode(
        x=_step(),
        y=alt.Y("value:Q", title=title),
        color=_variant_color(frame),
        opacity=_opacity(),
        tooltip=["variant", "step", alt.Tooltip("value:Q", format=".3f")],
    ).add_params(_pick()).properties(height=260)


def unit_bands_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Figure 1 (b, c): the 15-85 band and the median, one panel per variant, shared axes.
    The median is the thick line, the 15th and 85th percentiles the thin ones."""
    color = _variant_color(frame).legend(None)
    base = alt.Chart().encode(x=_step(), color=color)
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("q15:Q", title="input to the sigmoid"), y2="q85:Q")
    tips = ["variant", "step", alt.Tooltip("value:Q", format=".3f")]
    edges = base.transform_fold(["q15", "q85"], as_=["percentile", "value"]).mark_line(strokeWidth=1).encode(
        y="value:Q", detail="percentile:N", tooltip=["percentile:N", *tips])
    median = base.mark_line(strokeWidth=2.5).encode(y=alt.Y("q50:Q"), tooltip=["variant", "step",
                                                                             alt.Tooltip("q50:Q", format=".3f")])
    return alt.layer(band, edges, median, data=frame).properties(width=300, height=240).facet(
        column=alt.Column("variant:N", sort=VARIANT_ORDER, title=None),
    ).properties(title=alt.TitleParams("One unit's input over training", subtitle="Thick line: the median; band "
                                                    "and thin lines: the 15th to 85th percentile."))


def layer_bands_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Small multiples: one panel per (variant, layer) with the layer's 15/50/85 band."""
    base = alt.Chart().encode(x=_step("step"), color=_variant_color(frame).legend(None))
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("q15:Q", title="pre-activation"), y2="q85:Q")
    median = base.mark_line().encode(y="q50:Q", tooltip=["variant", "layer", "step", "q15", "q50", "q85"])
    return alt.layer(band, median, data=frame).properties(width=200, height=150).facet(
        row=alt.Row("variant:N", sort=VARIANT_ORDER, title=None), column=alt.Column("layer:N", title=None))


def ridgeline_chart(frame: pd.DataFrame, overlap: float = 1.8) -> alt.FacetChart:
    """Histogram ridgeline: one ridge per probe step, top to bottom, one column per variant.

    The ridges are drawn in one view per variant, each raised to its row's baseline, not as a
    facet cell per step: a browser builds 2 views instead of 16 (the cells were 0.3 s of the
    Per-layer drift section's first paint on 2 cores). A ridge rises `overlap` rows above its
    baseline; the y axis names each baseline's step."""
    steps = sorted(frame["step"].unique()) if not frame.empty else []
    row = {step: len(steps) - 1 - i for i, step in enumerate(steps)}    # the first step on top
    ridges = frame.assign(base=frame["step"].map(row).astype(float))
    ridges = ridges.assign(top=ridges["base"] + ridges["density"] * overlap)
    names = "{" + ", ".join(f"'{row[step]}': '{step:g}'" for step in steps) + "}"
    step_height = 28
    return alt.Chart(ridges).mark_area(interpolate="monotone", fillOpacity=0.6, stroke=palette.WHITE,
                                       strokeWidth=0.5).encode(
        x=alt.X("x:Q", title="pre-activation", axis=alt.Axis(tickCount=6)),
        y=alt.Y("top:Q", title="step", scale=alt.Scale(domain=[0, max(len(steps) - 1, 0) + overlap], nice=False),
                axis=alt.Axis(values=list(row.values()), labelExpr=f"{names}[datum.value]", grid=False)),
        y2="base:Q",
        detail="step:O",
        color=_variant_color(frame).legend(None),   # the column headers name the variants
        tooltip=["variant", "step", alt.Tooltip("x:Q", format=".3g"), alt.Tooltip("density:Q", format=".2f")],
    ).properties(width=280, height=step_height * (len(steps) + overlap)).facet(
        column=alt.Column("variant:N", sort=VARIANT_ORDER, title=None), spacing=20)


def drift_chart(frame: pd.DataFrame, measure: str = "mean_change_in_std") -> alt.FacetChart:
    """Per layer: a drift measure between successive probes, BN vs no BN (log y)."""
    data = frame[(frame["measure"] == measure) & (frame["value"] > 0)]
    return alt.Chart(data).mark_line().encode(
        x=_step("step"),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title=palette.label(measure),
                axis=palette.log_axis(data["value"])),
        color=_variant_color(data), opacity=_opacity(0.8),
        tooltip=["variant", "layer", "step", alt.Tooltip("value:Q", format=".2e")],
    ).add_params(_pick()).properties(width=200, height=170).facet(column=alt.Column("layer:N", title=None))


def ics_chart(frame: pd.DataFrame, measure: str = "ics_l2") -> alt.FacetChart:
    """ICS per layer over steps: ||G - G'|| (log y) or cos(G, G')."""
    log = measure in ("ics_l2", "ics_relative")
    data = frame[frame[measure] > 0] if log else frame
    return alt.Chart(data).mark_line().encode(
        x=_step("step"),
        y=alt.Y(f"{measure}:Q", title=palette.label(measure), scale=alt.Scale(type="log" if log else "linear"),
                axis=palette.log_axis(data[measure]) if log else alt.Axis()),
        color=_variant_color(data), opacity=_opacity(0.8),
        tooltip=["variant", "layer", "step", alt.Tooltip(f"{measure}:Q", format=".3g")],
    ).add_params(_pick()).properties(width=200, height=170).facet(column=alt.Column("layer:N", title=None))


def smoothness_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Loss range, gradient change and effective beta over steps (log y), per variant."""
    long = frame.melt(id_vars=["variant", "step"], value_vars=["loss_range", "grad_change", "beta"], var_name="measure")
    long = long[long["value"] > 0]
    measures = [palette.label(m) for m in ("loss_range", "grad_change", "beta")]
    long = long.assign(measure=long["measure"].map(palette.label))
    return alt.Chart(long).mark_line().encode(
        x=_step("step"),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title=None, axis=alt.Axis(format=",.4~r")),
        color=_variant_color(long), opacity=_opacity(0.8),
        tooltip=["variant", "measure", "step", alt.Tooltip("value:Q", format=".3g")],
    ).add_params(_pick()).properties(width=220, height=180).facet(
        column=alt.Column("measure:N", sort=measures, title=None, header=alt.Header(labelLimit=0))
    ).resolve_scale(y="independent")


def lr_sweep_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Final test accuracy vs lr (log x) by BN setting; diverged runs drawn at 0 as crosses."""
    data = frame.assign(shown=frame["score"].fillna(0.0).where(frame["outcome"] != "diverged", 0.0),
                        variant=frame["batchnorm"].map(lambda v: PLACEMENT.get(v, v)))
    base = alt.Chart(data).encode(
        x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate", axis=alt.Axis(format=",.4~r")),
        y=alt.Y("shown:Q", title="final test accuracy", scale=alt.Scale(domain=[0, 1])),
        color=_variant_color(data),
    )
    line = base.mark_line()
    points = base.mark_point(filled=True, size=70).encode(
        shape=alt.Shape("outcome:N", scale=alt.Scale(domain=["trains", "stuck", "diverged", "unfinished"],
                                                      range=["circle", "square", "cross", "triangle"])),
        tooltip=["lr", "variant", "outcome", alt.Tooltip("score:Q", format=".3f"), "diverged_step"])
    chance = alt.Chart(pd.DataFrame({"y": [0.1]})).mark_rule(strokeDash=palette.DOTTED, color=palette.REFERENCE).encode(
        y="y:Q", tooltip=[alt.Tooltip("y:Q", title="chance level")])
    return alt.layer(line, points, chance).properties(height=280)


def loss_curves_chart(frame: pd.DataFrame, title: str = "test loss", log: bool = True,
                      diverged: pd.DataFrame | None = None) -> alt.LayerChart:
    """variant, step, value curves (e.g. the Concrete sweep's test MAE); runs in `diverged`
    (variant, step) get a cross at the step where their loss became NaN/inf."""
    data = frame[frame["value"] > 0] if log else frame
    color = _variant_color(pd.concat([data, diverged]) if diverged is not None else data)
    lines = alt.Chart(data).mark_line().encode(
        x=_step(),
        y=alt.Y("value:Q", title=title, scale=alt.Scale(type="log" if log else "linear"),
                axis=palette.log_axis(data["value"]) if log else alt.Axis()),
        color=color, opacity=_opacity(),
        tooltip=["variant", "step", alt.Tooltip("value:Q", format=".3g")],
    ).add_params(_pick())
    layers = [lines]
    if diverged is not None and not diverged.empty:
        top = float(data["value"].max()) if not data.empty else 1.0
        marks = diverged.assign(value=top)
        layers.append(alt.Chart(marks).mark_point(shape="cross", size=160, filled=True).encode(
            x="step:Q", y="value:Q", color=color, tooltip=["variant", alt.Tooltip("step:Q", title="diverged at step")]))
    return alt.layer(*layers).properties(height=280)


MODES = {"eval": "eval mode", "train": "train mode"}   # the frame's mode text starts with one of these


def modes_chart(frame: pd.DataFrame) -> alt.Chart:
    """Accuracy in eval mode vs train mode at several batch sizes: one bar per row, each
    row's label printed in full, the accuracy at the bar's end."""
    kind = frame["mode"].map(lambda m: next((v for k, v in MODES.items() if m.startswith(k)), m))
    label = [f"{m}, all {b} at once" if k == "eval mode" else f"{m}, batches of {b}"
             for m, k, b in zip(frame["mode"], kind, frame["batch_size"])]
    data = frame.assign(kind=kind, label=label)
    base = alt.Chart(data).encode(
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="test accuracy",
                axis=alt.Axis(values=[0, 0.2, 0.4, 0.6, 0.8, 1.0], format=".1f")),
        y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=0)),
        tooltip=["mode", "batch_size", alt.Tooltip("accuracy:Q", format=".4f")])
    bars = base.mark_bar().encode(color=palette.color("kind", list(MODES.values()), title="BN mode"))
    values = base.mark_text(align="left", dx=4).encode(text=alt.Text("accuracy:Q", format=".3f"))
    return alt.layer(bars, values).properties(height=alt.Step(30))
