"""Tidy frames and Altair charts for the classroom lessons (pure: DataFrames in, charts out).

The lessons reuse the pages' chart builders where they exist; these are the views only a
lesson needs: several named runs side by side, a published target drawn next to the
measurement, and the summaries of a sweep (grid or random search).
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

PERCENTILES = ("q15", "q50", "q85")


def epoch_losses(scalars: pd.DataFrame) -> pd.DataFrame:
    """Train/test loss at each epoch end of member 0: columns epoch, split, value."""
    keep = (scalars["kind"] == "epoch") & (scalars["metric"] == "loss") & scalars["split"].isin(["train", "test"])
    frame = scalars[keep & (scalars["member"] == 0)]
    return frame[["epoch", "split", "value"]].reset_index(drop=True)


def final_losses(finals: dict[float, dict], knob: str) -> pd.DataFrame:
    """{knob value: status['final']} -> long frame [knob, split, value] of train/test loss."""
    rows = [{knob: value, "split": split, "value": final[f"{split}_loss"]}
            for value, final in finals.items() for split in ("train", "test") if f"{split}_loss" in final]
    return pd.DataFrame(rows, columns=[knob, "split", "value"])


def weight_norm_over_training(weights: dict[str, pd.DataFrame], layer: str = "output") -> pd.DataFrame:
    """||W||_2 of one layer per probe step: columns run, step, norm (member 0)."""
    frames = []
    for run, table in weights.items():
        rows = table[(table["layer"] == layer) & (table["param"] == "weight") & (table["member"] == 0)]
        frames.append(rows[["step", "norm"]].assign(run=run))
    return pd.concat(frames, ignore_index=True)[["run", "step", "norm"]]


def norm_vs_target_chart(norms: pd.DataFrame, targets: dict[str, float]) -> alt.LayerChart:
    """Measured ||w|| over training per run (log y), with the published final norms as dashed rules."""
    lines = alt.Chart(norms).mark_line(point=True).encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y("norm:Q", title="||w||_2", scale=alt.Scale(type="log")),
        color=alt.Color("run:N", title="run"),
        tooltip=["run:N", "step:Q", alt.Tooltip("norm:Q", format=".4g")])
    target_frame = pd.DataFrame({"run": list(targets), "norm": list(targets.values())})
    rules = alt.Chart(target_frame).mark_rule(strokeDash=[6, 4]).encode(
        y="norm:Q", color="run:N", tooltip=["run:N", alt.Tooltip("norm:Q", title="published", format=".4g")])
    return alt.layer(lines, rules).properties(title=alt.TitleParams(
        "Weight norm during training", subtitle="Dashed: the textbook's published final norm for the same lambda."))


def activation_sparsity(activations: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Mean post-activation and fraction of zeros per hidden layer over training: run, step, layer, measure, value."""
    frames = []
    for run, table in activations.items():
        rows = table[(table["site"] == "post") & (table["member"] == 0) & table["layer"].str.startswith("hidden")]
        long = rows.melt(id_vars=["step", "layer"], value_vars=["mean", "frac_zero"], var_name="measure")
        frames.append(long.assign(run=run))
    frame = pd.concat(frames, ignore_index=True)
    frame["measure"] = frame["measure"].map({"mean": "mean activation", "frac_zero": "fraction of zeros"})
    return frame[["run", "step", "layer", "measure", "value"]]


def runs_over_steps_chart(frame: pd.DataFrame, y: str, y_title: str, facet: str | None = None,
                          log_y: bool = False, title: str = "") -> alt.Chart:
    """Lines of `y` over step, one colour per run, optionally faceted in columns by `facet`."""
    chart = alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title="step"),
        y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(type="log") if log_y else alt.Scale(zero=False)),
        color=alt.Color("run:N", title="run"),
        tooltip=["run:N", "step:Q", alt.Tooltip(f"{y}:Q", format=".4g")] + ([f"{facet}:N"] if facet else []),
    ).properties(width=300, height=220)
    if facet:
        return chart.facet(column=alt.Column(f"{facet}:N", title=None), title=title).resolve_scale(y="independent")
    return chart.properties(title=title)


def unit_percentiles(units: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """BN paper Fig. 1(b, c): the 15/50/85th percentiles of one tracked unit's input in the last
    hidden layer (the first tracked unit), per run: columns run, step, layer, unit, percentile, value."""
    frames = []
    for run, table in units.items():
        last_layer = max(table["layer"].unique(), key=lambda name: int(name.removeprefix("hidden") or 0))
        rows = table[(table["layer"] == last_layer) & (table["member"] == 0)]
        rows = rows[rows["unit"] == rows["unit"].min()]
        long = rows.melt(id_vars=["step", "layer", "unit"], value_vars=list(PERCENTILES), var_name="percentile")
        frames.append(long.assign(run=run))
    frame = pd.concat(frames, ignore_index=True)
    frame["percentile"] = frame["percentile"].str.removeprefix("q") + "th"
    return frame[["run", "step", "layer", "unit", "percentile", "value"]]


def percentile_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """One panel per run, shared y: without BN the bands drift, with BN they stay put."""
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("value:Q", title="input to the sigmoid"),
        color=alt.Color("percentile:N", sort=["15th", "50th", "85th"], title="percentile"),
        tooltip=["run:N", "step:Q", "percentile:N", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=320, height=220).facet(column=alt.Column("run:N", title=None), title=alt.TitleParams(
        "One sigmoid's input over training (BN paper, Fig. 1 b, c)",
        subtitle="Shared y axis: compare how far the three lines move in each panel."))


def smoothness_summary(smoothness: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Santurkar et al. Fig. 4, per probe step over the step sizes tried: the loss range,
    gradient predictiveness (max ||g - g'||) and effective beta-smoothness (max ||g - g'|| /
    distance). Columns run, step, measure, value."""
    frames = []
    for run, table in smoothness.items():
        rows = table[table["member"] == 0].assign(ratio=lambda t: t["grad_diff"] / t["distance"].where(t["distance"] > 0))
        per_step = rows.groupby("step").agg(loss_hi=("loss", "max"), loss_lo=("loss", "min"),
                                            grad_diff=("grad_diff", "max"), beta=("ratio", "max")).reset_index()
        per_step["loss range"] = per_step["loss_hi"] - per_step["loss_lo"]
        per_step = per_step.rename(columns={"grad_diff": "gradient predictiveness", "beta": "beta-smoothness"})
        long = per_step.melt(id_vars=["step"], value_vars=["loss range", "gradient predictiveness", "beta-smoothness"],
                             var_name="measure")
        frames.append(long.assign(run=run))
    frame = pd.concat(frames, ignore_index=True)
    return frame[np.isfinite(frame["value"]) & (frame["value"] > 0)][["run", "step", "measure", "value"]]


def sweep_line_chart(frame: pd.DataFrame, x: str, y: str, color: str | None, log_x: bool, title: str,
                     subtitle: str) -> alt.Chart:
    """Final metric vs a swept field, one line per value of `color`."""
    encoding = dict(
        x=alt.X(f"{x}:Q", title=x, scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False)),
        y=alt.Y(f"{y}:Q", title=y.replace("_", " ")),
        tooltip=[alt.Tooltip(f"{x}:Q"), alt.Tooltip(f"{y}:Q", format=".4f"), "state:N"])
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color)
    return alt.Chart(frame).mark_line(point=True).encode(**encoding).properties(
        title=alt.TitleParams(title, subtitle=subtitle))


def grid_heatmap(frame: pd.DataFrame, metric: str = "test_accuracy") -> alt.LayerChart:
    """Grid search: one cell per (lr, beta1), coloured and labelled by the final metric."""
    base = alt.Chart(frame).encode(x=alt.X("lr:O", title="learning rate"), y=alt.Y("beta1:O", title="beta1"))
    cells = base.mark_rect().encode(color=alt.Color(f"{metric}:Q", title=metric.replace("_", " "),
                                                    scale=alt.Scale(scheme="viridis")),
                                    tooltip=["lr:Q", "beta1:Q", alt.Tooltip(f"{metric}:Q", format=".4f")])
    labels = base.mark_text(color="white", fontSize=14).encode(text=alt.Text(f"{metric}:Q", format=".3f"))
    return alt.layer(cells, labels).properties(width=320, height=240, title=alt.TitleParams(
        "Grid search: final test accuracy", subtitle="Each cell is one full training run."))


def search_scatter(frame: pd.DataFrame, metric: str = "test_accuracy") -> alt.Chart:
    """Grid and random search points in the (lr, beta1) plane, coloured by the final metric."""
    return alt.Chart(frame).mark_point(filled=True, size=120).encode(
        x=alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log")),
        y=alt.Y("beta1:Q", title="beta1", scale=alt.Scale(zero=False)),
        color=alt.Color(f"{metric}:Q", title=metric.replace("_", " "), scale=alt.Scale(scheme="viridis")),
        shape=alt.Shape("search:N", title="search"),
        tooltip=["search:N", alt.Tooltip("lr:Q", format=".3g"), "beta1:Q", alt.Tooltip(f"{metric}:Q", format=".4f")],
    ).properties(width=420, height=280, title=alt.TitleParams(
        "Where each search looked", subtitle="A grid tries 3 learning rates; 9 random points try 9."))


def lr_projection_chart(frame: pd.DataFrame, metric: str = "test_accuracy") -> alt.Chart:
    """The same runs seen along the learning-rate axis only: the grid stacks 3 beta1 values on
    each of 3 rates, random search spreads its runs over 9 rates."""
    return alt.Chart(frame).mark_point(filled=True, size=90, opacity=0.8).encode(
        x=alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log")),
        y=alt.Y(f"{metric}:Q", title=metric.replace("_", " "), scale=alt.Scale(zero=False)),
        color=alt.Color("search:N", title="search"), shape="search:N",
        tooltip=["search:N", alt.Tooltip("lr:Q", format=".3g"), "beta1:Q", alt.Tooltip(f"{metric}:Q", format=".4f")],
    ).properties(width=420, height=260, title="Final test accuracy vs learning rate, both searches")


def lr_range_chart(frame: pd.DataFrame) -> alt.Chart:
    """Final test accuracy vs learning rate (log), one line per BN setting; diverged runs as crosses at 0."""
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log")),
        y=alt.Y("test_accuracy:Q", title="final test accuracy"),
        color=alt.Color("batchnorm:N", title="batchnorm"),
        shape=alt.Shape("state:N", title="run", scale=alt.Scale(domain=["finished", "diverged"],
                                                                 range=["circle", "cross"])),
        tooltip=["batchnorm:N", alt.Tooltip("lr:Q", format=".3g"), "state:N",
                 alt.Tooltip("test_accuracy:Q", format=".4f")],
    ).properties(width=420, height=260, title=alt.TitleParams(
        "Which learning rates train?", subtitle="The usable range is where the curve stays high."))


def sparsity_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Mean activation and fraction of zeros over training, one colour per run, dash per layer."""
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title="step"), y=alt.Y("value:Q", title=None),
        color=alt.Color("run:N", title="run"), strokeDash=alt.StrokeDash("layer:N", title="layer"),
        tooltip=["run:N", "layer:N", "step:Q", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=300, height=220).facet(column=alt.Column("measure:N", title=None)).resolve_scale(y="independent")


def subnet_histogram_chart(samples: pd.DataFrame, reference: float) -> alt.LayerChart:
    """Test accuracies of sampled sub-networks (histogram) and the weight-scaled full network (rule)."""
    bars = alt.Chart(samples).mark_bar(opacity=0.8).encode(
        x=alt.X("accuracy:Q", bin=alt.Bin(maxbins=30), title="test accuracy of one sampled sub-network"),
        y=alt.Y("count():Q", title="sub-networks"), tooltip=[alt.Tooltip("count():Q", title="sub-networks")])
    rule = alt.Chart(pd.DataFrame({"accuracy": [reference], "network": ["full network, weights scaled"]})).mark_rule(
        color="black", strokeWidth=2).encode(x="accuracy:Q", tooltip=["network:N", alt.Tooltip("accuracy:Q", format=".4f")])
    return alt.layer(bars, rule).properties(title=alt.TitleParams(
        "Sampled sub-networks vs the full network", subtitle="Black line: the network used at test time."))


def mc_summary(curve: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over repeats of the MC-average accuracy per k: columns k, mean, lo, hi."""
    stats = curve.groupby("k")["accuracy"].agg(["mean", "std"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats.assign(lo=stats["mean"] - stats["std"], hi=stats["mean"] + stats["std"])[["k", "mean", "lo", "hi"]]


def mc_curve_chart(summary: pd.DataFrame, reference: float) -> alt.LayerChart:
    """Monte-Carlo averaging of k sub-networks (mean, band = 1 std) against the weight-scaling line."""
    base = alt.Chart(summary).encode(x=alt.X("k:Q", title="sub-networks averaged (k)", scale=alt.Scale(type="log")))
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("lo:Q", title="test accuracy", scale=alt.Scale(zero=False)),
                                               y2="hi:Q")
    line = base.mark_line(point=True).encode(y="mean:Q", tooltip=["k:Q", alt.Tooltip("mean:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"accuracy": [reference]})).mark_rule(color="black", strokeDash=[6, 4]).encode(
        y="accuracy:Q")
    return alt.layer(band, line, rule).properties(title=alt.TitleParams(
        "Monte-Carlo model averaging (Srivastava et al., Fig. 11)",
        subtitle="Dashed: the weight-scaled full network; band: one std over repeats."))
