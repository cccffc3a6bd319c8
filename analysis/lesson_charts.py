"""Tidy frames and Altair charts for the classroom lessons (pure: DataFrames in, charts out).

The lessons reuse the pages' chart builders where they exist; these are the views only a
lesson needs: several named runs side by side, a published target drawn next to the
measurement, and the summaries of a sweep (grid or random search).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette


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


def latest_losses(final: dict, scalars: pd.DataFrame) -> dict[str, float]:
    """{"train_loss": ..., "test_loss": ...}: a finished run's final losses (status.json's
    `final`), else the last epoch logged so far in its scalars (member 0); {} before any epoch."""
    if final and any(f"{split}_loss" in final for split in ("train", "test")):
        return {k: final[k] for k in ("train_loss", "test_loss") if k in final}
    if scalars.empty:
        return {}
    losses = epoch_losses(scalars)
    last = losses[losses["epoch"] == losses["epoch"].max()]
    return {f"{row.split}_loss": float(row.value) for row in last.itertuples()}


def final_errors(scalars: pd.DataFrame) -> pd.DataFrame:
    """Train and test error (1 - accuracy) at the end of a run, the mean over its members:
    columns series ("train error" | "test error"), value; empty before the run has ended."""
    keep = (scalars["kind"] == "final") & (scalars["metric"] == "accuracy") & scalars["split"].isin(["train", "test"])
    final = scalars[keep] if not scalars.empty else scalars
    if final.empty:
        return pd.DataFrame(columns=["series", "value"])
    errors = (1.0 - final.groupby("split")["value"].mean()).rename("value").reset_index()
    return errors.assign(series=errors["split"] + " error")[["series", "value"]]


def weight_norm_over_training(weights: dict[str, pd.DataFrame], layer: str = "output") -> pd.DataFrame:
    """||W||_2 of one layer per probe step: columns run, step, norm (member 0)."""
    frames = []
    for run, table in weights.items():
        rows = table[(table["layer"] == layer) & (table["param"] == "weight") & (table["member"] == 0)]
        frames.append(rows[["step", "norm"]].assign(run=run))
    return pd.concat(frames, ignore_index=True)[["run", "step", "norm"]]


def norm_vs_target_chart(norms: pd.DataFrame, targets: dict[str, float]) -> alt.LayerChart:
    """Measured ||w|| over training per run (log y), with the published final norms as dotted rules."""
    runs = list(dict.fromkeys([*norms["run"], *targets]))
    color = palette.run_color("run", runs, title="run", symbolType="stroke")
    lines = alt.Chart(norms).mark_line(point=True).encode(
        x=alt.X("step:Q", title="step", axis=palette.whole_axis()),
        y=alt.Y("norm:Q", title="||w||_2", scale=alt.Scale(type="log"),
                axis=palette.log_axis([*norms["norm"], *targets.values()])),
        color=color,
        tooltip=["run:N", "step:Q", alt.Tooltip("norm:Q", format=".4g")])
    target_frame = pd.DataFrame({"run": list(targets), "norm": list(targets.values())})
    rules = alt.Chart(target_frame).mark_rule(strokeDash=palette.DOTTED, strokeWidth=2).encode(
        y="norm:Q", color=color, tooltip=["run:N", alt.Tooltip("norm:Q", title="published", format=".4g")])
    return alt.layer(lines, rules).properties(title=alt.TitleParams(
        "Weight norm during training", subtitle="Dotted: the textbook's published final norm for the same lambda."))


def member_spread(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, min and max of `value` over ensemble members per group: columns by..., value, lo, hi."""
    grouped = frame.groupby(by)["value"]
    return pd.concat([grouped.mean().rename("value"), grouped.min().rename("lo"), grouped.max().rename("hi")],
                     axis=1).reset_index()


def _tips(frame: pd.DataFrame, *fields: str) -> list[alt.Tooltip]:
    """Tooltips for the knobs and scores a tuning frame has (the test score only on the chosen run)."""
    scores = [c for c in ("val_accuracy", "test_accuracy") if c in frame]
    return [*(alt.Tooltip(f"{f}:Q", format=".3g") for f in fields), *(alt.Tooltip(f"{c}:Q", title=palette.label(c),
            format=".4f") for c in scores)]


def _chosen_ring(base: alt.Chart, mark: str = "point") -> alt.Chart:
    """An outline around the run chosen on the validation split (a frame's `chosen` row)."""
    chosen = base.transform_filter("datum.chosen")
    if mark == "rect":
        return chosen.mark_rect(filled=False, stroke=palette.BLACK, strokeWidth=3)
    return chosen.mark_point(shape="circle", size=420, filled=False, color=palette.BLACK, strokeWidth=2)


def grid_heatmap(frame: pd.DataFrame, metric: str = "val_accuracy", x: str = "lr", y: str = "beta1",
                 title: str = "Grid search") -> alt.LayerChart:
    """A grid over two knobs: one cell per run, coloured and labelled by its final `metric`,
    the chosen run (a `chosen` column) outlined."""
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:O", title=palette.label(x), axis=alt.Axis(labelAngle=0)),
                                   y=alt.Y(f"{y}:O", title=palette.label(y)))
    cells = base.mark_rect().encode(color=alt.Color(f"{metric}:Q", title=palette.label(metric),
                                                    scale=alt.Scale(scheme="viridis")),
                                    tooltip=_tips(frame, x, y))
    # viridis runs from dark to bright yellow: dark text on the brighter half, white on the rest
    middle = (frame[metric].min() + frame[metric].max()) / 2 if len(frame) else 0
    labels = base.mark_text(fontSize=14).encode(
        text=alt.Text(f"{metric}:Q", format=".3f"),
        color=alt.condition(f"datum['{metric}'] > {float(middle)!r}", alt.value(palette.TEXT), alt.value(palette.TEXT_ON_DARK)))
    layers = [cells, labels, *([_chosen_ring(base, "rect")] if "chosen" in frame else [])]
    return alt.layer(*layers).properties(width=320, height=240, title=alt.TitleParams(
        f"{title}: final {palette.label(metric)}",
        subtitle="Each cell is one full training run; outlined: the run this score chooses."))


def search_scatter(frame: pd.DataFrame, metric: str = "val_accuracy") -> alt.LayerChart:
    """Grid and random search points in the (lr, beta1) plane, coloured by the final metric,
    each search's chosen run ringed."""
    base = alt.Chart(frame).encode(
        x=alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log"), axis=alt.Axis(format=",.4~r")),
        y=alt.Y("beta1:Q", title=palette.label("beta1"), scale=alt.Scale(zero=False)))
    points = base.mark_point(filled=True, size=120).encode(
        color=alt.Color(f"{metric}:Q", title=palette.label(metric), scale=alt.Scale(scheme="viridis")),
        shape=alt.Shape("search:N", title="search"),
        tooltip=[alt.Tooltip("search:N"), *_tips(frame, "lr", "beta1")])
    layers = [points, *([_chosen_ring(base)] if "chosen" in frame else [])]
    return alt.layer(*layers).properties(width=420, height=280, title=alt.TitleParams(
        "Where each search looked", subtitle="A grid tries 3 learning rates; 9 random points try 9. Ringed: each "
                                             "search's choice."))


def lr_projection_chart(frame: pd.DataFrame, metric: str = "val_accuracy") -> alt.LayerChart:
    """The same runs seen along the learning-rate axis only: the grid stacks 3 beta1 values on
    each of 3 rates, random search spreads its runs over 9 rates."""
    base = alt.Chart(frame).encode(
        x=alt.X("lr:Q", title="learning rate", scale=alt.Scale(type="log"), axis=alt.Axis(format=",.4~r")),
        y=alt.Y(f"{metric}:Q", title=palette.label(metric), scale=alt.Scale(zero=False)))
    points = base.mark_point(filled=True, size=90, opacity=0.8).encode(
        color=palette.color("search", ["grid", "random"], title="search"), shape=alt.Shape("search:N", title="search"),
        tooltip=[alt.Tooltip("search:N"), *_tips(frame, "lr", "beta1")])
    layers = [points, *([_chosen_ring(base)] if "chosen" in frame else [])]
    return alt.layer(*layers).properties(width=420, height=260,
                                         title=f"Final {palette.label(metric)} vs learning rate, both searches")
