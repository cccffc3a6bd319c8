"""The lesson chart registry: chart id (as written in a lesson file) -> a function of the
selected cache dirs returning `Shown(chart, data, caption)` or `Missing(what, command)`.

Runs are found by their spec name (a preset's or sweep's name), so tests and teachers can
build cheaper runs under the same names. A missing or unreadable run gives `Missing`,
never an exception, so every step of every lesson renders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import altair as alt
import pandas as pd

from analysis import bias_variance_charts as bvc
from analysis import compare, lesson_charts as lc, run_charts
from cache import store
from training.datasets import POLY_TRUE_WEIGHTS
from ui import data


@dataclass(frozen=True)
class Shown:
    chart: alt.TopLevelMixin
    data: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Missing:
    what: str          # the presets/sweeps to build
    command: str       # the exact CLI command(s) that build them


@dataclass(frozen=True)
class LessonChart:
    build: Callable[[Sequence[Path]], Shown | Missing]
    code: tuple[Callable, ...] = field(default=())   # analysis functions behind the chart ("show the code")


class _Absent(Exception):
    """Raised inside a builder when a named run is missing; render() turns it into Missing."""

    def __init__(self, names: Sequence[str], sweep: bool = False, postprocess: str | None = None):
        self.names, self.sweep, self.postprocess = list(names), sweep, postprocess


def _command(name: str, sweep: bool) -> str:
    return f"python -m training sweep --sweep {name}" if sweep else f"python -m training run --preset {name}"


def _runs(names: Sequence[str], dirs: Sequence[Path]) -> dict[str, Path]:
    """{preset name: its run folder} (finished preferred), or _Absent naming every missing one."""
    folders = {name: data.latest_run(name, dirs) for name in names}
    absent = [name for name, folder in folders.items() if folder is None]
    if absent:
        raise _Absent(absent)
    return folders


def _tables(names: Sequence[str], table: str, dirs: Sequence[Path]) -> dict[str, pd.DataFrame]:
    """One table per named run; a run that has not logged it yet counts as missing."""
    tables = {name: data.load_table(folder, table) for name, folder in _runs(names, dirs).items()}
    empty = [name for name, frame in tables.items() if frame.empty]
    if empty:
        raise _Absent(empty)
    return tables


def _sweep(name: str, fields: dict[str, str], dirs: Sequence[Path],
           states: Sequence[str] = ("finished",)) -> pd.DataFrame:
    """One row per run of the sweep in the given states: the requested spec fields (column ->
    dotted field), the final metrics from status.json, and the state; or _Absent."""
    runs = data.runs_named(name, dirs)
    if runs.empty or not (runs["state"] == "finished").any():
        raise _Absent([name], sweep=True)
    runs = runs[runs["state"].isin(states)]
    rows = [{**{column: data.spec_value(run.spec, dotted) for column, dotted in fields.items()},
             **(run.status.get("final") or {}), "state": run.state} for run in runs.itertuples()]
    return pd.DataFrame(rows).sort_values(list(fields), kind="stable").reset_index(drop=True)


def render(chart_id: str, dirs: Sequence[Path]) -> Shown | Missing:
    """Build a registered chart; missing runs become a Missing message, unreadable ones too."""
    try:
        return CHARTS[chart_id].build(list(dirs))
    except _Absent as absent:
        if absent.postprocess:
            return Missing(f"the stored sub-network tables of {', '.join(absent.names)}", absent.postprocess)
        commands = "\n".join(_command(name, absent.sweep) for name in absent.names)
        kind = "sweep" if absent.sweep else "preset"
        return Missing(f"{kind} {', '.join(absent.names)}", commands)
    except store.StoreError as err:
        return Missing(f"a readable run for this chart ({err})", "python -m training list")


# ---------------------------------------------------------------- under/overfitting, weight decay

def loss_curves(name: str, dirs: Sequence[Path]) -> Shown:
    frame = lc.epoch_losses(_tables([name], "scalars", dirs)[name])
    chart = bvc.train_test_curve_chart(frame, "epoch").properties(title=f"Train and test loss: {name}")
    return Shown(chart, frame, "Log scale: a gap between the curves is overfitting; both high is underfitting.")


def poly_weights(name: str, dirs: Sequence[Path]) -> Shown:
    folder = _runs([name], dirs)[name]
    checkpoint = store.load_checkpoint(folder, "final")
    if checkpoint is None:
        raise _Absent([name])
    learned = checkpoint["model"]["output.weight"].reshape(-1).tolist()   # [K=1, 1, degree+1] -> [degree+1]
    chart = bvc.weights_vs_truth_chart(learned, POLY_TRUE_WEIGHTS)
    frame = pd.DataFrame({"index": range(len(learned)), "learned": learned,
                          "true": [*POLY_TRUE_WEIGHTS, *[0.0] * max(0, len(learned) - 4)][:len(learned)]})
    return Shown(chart, frame, "Each blue bar should sit on its grey twin; weights the truth lacks should be near 0.")


POLY_PRESETS = {1: "polynomial-degree1", 3: "polynomial-degree3", 19: "polynomial-degree19"}
WD_PRESETS = {0.0: "weight-decay-0", 3.0: "weight-decay-3"}
WD_PUBLISHED = {"weight-decay-0": 13.52, "weight-decay-3": 0.350}   # D2L v0.17, ||w||_2 after training


def final_by_knob(presets: dict[float, str], knob: str, log_x: bool, dirs: Sequence[Path]) -> Shown:
    folders = _runs(list(presets.values()), dirs)
    finals = {value: store.read_status(folders[name]).get("final") or {} for value, name in presets.items()}
    if not all(finals.values()):
        raise _Absent([name for value, name in presets.items() if not finals[value]])
    frame = lc.final_losses(finals, knob)
    chart = bvc.train_test_curve_chart(frame, knob, log_x=log_x).properties(title=f"Final loss vs {knob}")
    return Shown(chart, frame, f"Read across: which {knob} keeps the test loss lowest, not the training loss?")


def weight_norms(dirs: Sequence[Path]) -> Shown:
    frame = lc.weight_norm_over_training(_tables(list(WD_PUBLISHED), "weights", dirs))
    chart = lc.norm_vs_target_chart(frame, WD_PUBLISHED)
    return Shown(chart, frame, "Solid: the norm this lab measured; dashed: the textbook's number for the same lambda.")


# ---------------------------------------------------------------- dropout

DROPOUT_PAIR = ("d2l-no-dropout", "d2l-dropout")


def dropout_curves(metric: str, dirs: Sequence[Path]) -> Shown:
    frame = compare.curves(_tables(DROPOUT_PAIR, "scalars", dirs), align="epoch")
    chart = run_charts.curve_chart(frame, metric, align="epoch")
    return Shown(chart, frame[frame["metric"] == metric], "Dashed: training set, solid: test set, one colour per run.")


def dropout_gap(dirs: Sequence[Path]) -> Shown:
    frame = compare.generalization_gap(compare.curves(_tables(DROPOUT_PAIR, "scalars", dirs), align="epoch"))
    return Shown(run_charts.gap_chart(frame, align="epoch"), frame, "Above zero: better on the training set than on the test set.")


def dropout_sparsity(dirs: Sequence[Path]) -> Shown:
    frame = lc.activation_sparsity(_tables(DROPOUT_PAIR, "activations", dirs))
    return Shown(lc.sparsity_chart(frame), frame, "Srivastava et al. (Fig. 8): with dropout the hidden units are sparser.")


def _subnet_tables(dirs: Sequence[Path]) -> tuple[dict[str, pd.DataFrame], float]:
    """The dropout run's stored sub-network tables and its weight-scaled accuracy."""
    folder = _runs(["d2l-dropout"], dirs)["d2l-dropout"]
    tables = {name: data.load_table(folder, name) for name in ("subnet_samples", "subnet_reference", "mc_average")}
    if any(frame.empty for frame in tables.values()):
        raise _Absent(["d2l-dropout"], postprocess=f"python -m training subnetworks {folder.name}")
    reference = tables["subnet_reference"]["accuracy"].iloc[0]
    return tables, float(reference)


def dropout_subnets(dirs: Sequence[Path]) -> Shown:
    tables, reference = _subnet_tables(dirs)
    samples = tables["subnet_samples"]
    return Shown(lc.subnet_histogram_chart(samples, reference), samples,
                 "Each bar counts sampled sub-networks; the black line is the full network.")


def dropout_mc(dirs: Sequence[Path]) -> Shown:
    tables, reference = _subnet_tables(dirs)
    summary = lc.mc_summary(tables["mc_average"])
    return Shown(lc.mc_curve_chart(summary, reference), summary,
                 "Srivastava et al.: around k = 50 the average matches the weight-scaled network.")


def dropout_rate_sweep(dirs: Sequence[Path]) -> Shown:
    table = _sweep("dropout-rate-sweep", {"dropout": "model.dropout"}, dirs)
    table["p"] = table["dropout"].map(lambda p: p[0] if isinstance(p, (list, tuple)) else p)
    frame = table.melt(id_vars=["p", "state"], value_vars=["train_accuracy", "test_accuracy"],
                       var_name="split", value_name="accuracy")
    frame["split"] = frame["split"].str.removesuffix("_accuracy")
    chart = lc.sweep_line_chart(frame, "p", "accuracy", "split", False, "Final accuracy vs dropout rate",
                                "The gap closes as p grows; very high p underfits.")
    return Shown(chart, frame, "Srivastava et al.: test error is flat for drop rates 0.2-0.6.")


# ---------------------------------------------------------------- batch normalization

FIG1_PAIR = ("bn-fig1-nobn", "bn-fig1-bn")


def bn_accuracy(names: Sequence[str], dirs: Sequence[Path]) -> Shown:
    frame = compare.curves(_tables(names, "scalars", dirs), align="step")
    frame = frame[(frame["split"] == "test") & (frame["metric"] == "accuracy")]
    chart = run_charts.curve_chart(frame, "accuracy").properties(title="Test accuracy over training")
    return Shown(chart, frame, "BN paper Fig. 1(a): the BN net should get there in fewer steps.")


def bn_percentiles(dirs: Sequence[Path]) -> Shown:
    frame = lc.unit_percentiles(_tables(FIG1_PAIR, "units", dirs))
    return Shown(lc.percentile_chart(frame), frame, "Without BN the three lines drift; with BN they stay put.")


def bn_ics(dirs: Sequence[Path]) -> Shown:
    tables = _tables(FIG1_PAIR, "ics", dirs)
    frame = pd.concat([t[t["member"] == 0].assign(run=run) for run, t in tables.items()], ignore_index=True)
    frame = frame[frame["ics_l2"] > 0][["run", "step", "layer", "ics_l2", "ics_cos"]]
    chart = lc.runs_over_steps_chart(frame, "ics_l2", "||G - G'||", facet="layer", log_y=True,
                                     title="Internal covariate shift per layer (Santurkar et al.)")
    return Shown(chart, frame, "If BN reduced internal covariate shift, the BN line would sit lower. Does it?")


def bn_smoothness(dirs: Sequence[Path]) -> Shown:
    frame = lc.smoothness_summary(_tables(FIG1_PAIR, "smoothness", dirs))
    chart = lc.runs_over_steps_chart(frame, "value", "value (log)", facet="measure", log_y=True,
                                     title="The loss landscape along the gradient (Santurkar et al., Fig. 4)")
    return Shown(chart, frame, "Lower is smoother: the gradient tells more about where a step will land.")


def _lr_outcomes(table: pd.DataFrame) -> pd.DataFrame:
    """lr, batchnorm, test accuracy, outcome; a diverged run is drawn at 0 with its own mark."""
    frame = table[["lr", "batchnorm", "state"]].assign(
        test_accuracy=table["test_accuracy"] if "test_accuracy" in table else float("nan"))
    frame["test_accuracy"] = frame["test_accuracy"].where(frame["state"] == "finished", 0.0)
    return frame


def bn_lr_sweep(dirs: Sequence[Path]) -> Shown:
    fields = {"lr": "optim.lr", "batchnorm": "model.batchnorm"}
    frame = _lr_outcomes(_sweep("bn-lr-sweep", fields, dirs, states=("finished", "diverged")))
    chart = lc.lr_range_chart(frame)
    return Shown(chart, frame, "Crosses at 0: runs whose loss became NaN (diverged).")


# ---------------------------------------------------------------- hyperparameter tuning

def _search(name: str, label: str, dirs: Sequence[Path]) -> pd.DataFrame:
    table = _sweep(name, {"lr": "optim.lr", "betas": "optim.betas"}, dirs)
    return pd.DataFrame({"search": label, "lr": table["lr"], "beta1": table["betas"].map(lambda betas: betas[0]),
                         "test_accuracy": table["test_accuracy"]})


def tuning_grid(dirs: Sequence[Path]) -> Shown:
    frame = _search("tuning-grid", "grid", dirs)
    return Shown(lc.grid_heatmap(frame), frame, "Brighter is better; look along the rows and the columns.")


def tuning_searches(chart: Callable[[pd.DataFrame], alt.TopLevelMixin], dirs: Sequence[Path]) -> Shown:
    frame = pd.concat([_search("tuning-grid", "grid", dirs), _search("tuning-random", "random", dirs)],
                      ignore_index=True)
    return Shown(chart(frame), frame, "Same budget, 9 runs each: count the distinct learning rates each tried.")


CHARTS: dict[str, LessonChart] = {
    **{f"poly-loss-degree{d}": LessonChart(partial(loss_curves, name), (lc.epoch_losses, bvc.train_test_curve_chart))
       for d, name in POLY_PRESETS.items()},
    **{f"poly-weights-degree{d}": LessonChart(partial(poly_weights, name), (bvc.weights_vs_truth_chart,))
       for d, name in POLY_PRESETS.items()},
    "poly-final-by-degree": LessonChart(partial(final_by_knob, POLY_PRESETS, "degree", False), (lc.final_losses,)),
    "wd-loss-0": LessonChart(partial(loss_curves, "weight-decay-0"), (lc.epoch_losses,)),
    "wd-loss-3": LessonChart(partial(loss_curves, "weight-decay-3"), (lc.epoch_losses,)),
    "wd-final-by-lambda": LessonChart(partial(final_by_knob, WD_PRESETS, "lambda", False), (lc.final_losses,)),
    "wd-norm": LessonChart(weight_norms, (lc.weight_norm_over_training, lc.norm_vs_target_chart)),
    "dropout-loss": LessonChart(partial(dropout_curves, "loss"), (compare.curves, run_charts.curve_chart)),
    "dropout-accuracy": LessonChart(partial(dropout_curves, "accuracy"), (compare.curves, run_charts.curve_chart)),
    "dropout-gap": LessonChart(dropout_gap, (compare.generalization_gap, run_charts.gap_chart)),
    "dropout-sparsity": LessonChart(dropout_sparsity, (lc.activation_sparsity,)),
    "dropout-subnets": LessonChart(dropout_subnets, (lc.subnet_histogram_chart,)),
    "dropout-mc": LessonChart(dropout_mc, (lc.mc_summary, lc.mc_curve_chart)),
    "dropout-rate-sweep": LessonChart(dropout_rate_sweep, (lc.sweep_line_chart,)),
    "bn-fig1-accuracy": LessonChart(partial(bn_accuracy, FIG1_PAIR), (compare.curves,)),
    "bn-fig1-percentiles": LessonChart(bn_percentiles, (lc.unit_percentiles, lc.percentile_chart)),
    "bn-ics": LessonChart(bn_ics, (lc.runs_over_steps_chart,)),
    "bn-smoothness": LessonChart(bn_smoothness, (lc.smoothness_summary,)),
    "bn-noisy-accuracy": LessonChart(partial(bn_accuracy, (*FIG1_PAIR, "bn-noisy")), (compare.curves,)),
    "bn-lr-sweep": LessonChart(bn_lr_sweep, (lc.lr_range_chart,)),
    "tuning-grid": LessonChart(tuning_grid, (lc.grid_heatmap,)),
    "tuning-search-plane": LessonChart(partial(tuning_searches, lc.search_scatter), (lc.search_scatter,)),
    "tuning-lr-projection": LessonChart(partial(tuning_searches, lc.lr_projection_chart), (lc.lr_projection_chart,)),
}
CHART_IDS = tuple(CHARTS)
