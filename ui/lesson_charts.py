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
from analysis import bias_variance_runs as bvr
from analysis import covariate_shift as cs
from analysis import covariate_shift_charts as csc
from analysis import dropout as dp
from analysis import dropout_charts as dc
from analysis import findings
from analysis import lesson_charts as lc
from cache import store
from training import presets
from training.datasets import POLY_TRUE_WEIGHTS
from ui import data
from ui.lesson_runs import (Absent, Missing, Shown, command, finished, labelled, run_folders, run_tables, stored, sweep,
                            yours_label)


@dataclass(frozen=True)
class LessonChart:
    build: Callable[[Sequence[Path], Sequence[Path]], Shown]   # (lesson caches, the user's chosen runs)
    code: tuple[Callable, ...] = field(default=())   # analysis functions behind the chart ("show the code")


def render(chart_id: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown | Missing:
    """Build a registered chart from the lesson caches `dirs`, drawing the user's chosen runs
    `mine` next to the demo runs where the chart compares runs; missing runs become a
    Missing message, unreadable ones too."""
    try:
        return CHARTS[chart_id].build(list(dirs), tuple(mine))
    except Absent as absent:
        if absent.postprocess:
            return Missing(f"{', '.join(absent.names)} with its stored analysis tables", absent.postprocess)
        commands = "\n".join(command(name, absent.sweep) for name in absent.names)
        kind = "sweep" if absent.sweep else "preset"
        return Missing(f"{kind} {', '.join(absent.names)}", commands)
    except store.StoreError as err:
        return Missing(f"a readable run for this chart ({err})", "python -m training list")


# ---------------------------------------------------------------- under/overfitting, weight decay

def loss_curves(name: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = lc.epoch_losses(run_tables([name], "scalars", dirs)[name])
    chart = bvc.train_test_curve_chart(frame, "epoch").properties(title=f"Train and test loss: {name}")
    return Shown(chart, frame, "Log scale: a gap between the curves is overfitting; both high is underfitting.")


def poly_weights(name: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    folder = run_folders([name], dirs)[name]
    checkpoint = store.load_checkpoint(folder, "final")
    if checkpoint is None:
        raise Absent([name])
    learned = checkpoint["model"]["output.weight"].reshape(-1).tolist()   # [K=1, 1, degree+1] -> [degree+1]
    chart = bvc.weights_vs_truth_chart(learned, POLY_TRUE_WEIGHTS)
    frame = pd.DataFrame({"index": range(len(learned)), "learned": learned,
                          "true": [*POLY_TRUE_WEIGHTS, *[0.0] * max(0, len(learned) - 4)][:len(learned)]})
    return Shown(chart, frame, "Each learned weight should sit on its true twin; weights the truth lacks should be "
                               "near 0.")


POLY_PRESETS = {1: presets.core.POLYNOMIAL_DEGREE1.name, 3: presets.core.POLYNOMIAL_DEGREE3.name, 19: presets.core.POLYNOMIAL_DEGREE19.name}
WD_PRESETS = {0.0: presets.core.WEIGHT_DECAY_0.name, 3.0: presets.core.WEIGHT_DECAY_3.name}
WD_PUBLISHED = {presets.core.WEIGHT_DECAY_0.name: 13.52, presets.core.WEIGHT_DECAY_3.name: 0.350}   # D2L v0.17, ||w||_2 after training


def final_by_knob(presets: dict[float, str], knob: str, log_x: bool, field: str, dirs: Sequence[Path],
                  mine: Sequence[Path] = ()) -> Shown:
    folders = run_folders(list(presets.values()), dirs)
    finals = {value: store.read_status(folders[name]).get("final") or {} for value, name in presets.items()}
    if not all(finals.values()):
        raise Absent([name for value, name in presets.items() if not finals[value]])
    frame = lc.final_losses(finals, knob)
    chart = bvc.train_test_curve_chart(frame, knob, log_x=log_x)
    yours = _mine_losses(presets, knob, field, mine)
    if not yours.empty:   # the student's runs: where their knob puts them, at their latest losses while they train
        chart = alt.layer(chart, bvc.mine_points(yours, knob, log_x=log_x))
        frame = pd.concat([frame, yours], ignore_index=True)
    return Shown(chart.properties(title=f"Final loss vs {knob}"), frame,
                 f"Read across: which {knob} keeps the test loss lowest, not the training loss?")


def _mine_losses(presets: dict[float, str], knob: str, field: str, mine: Sequence[Path]) -> pd.DataFrame:
    """[knob, split, value, run] of the chosen runs of these presets: the final losses of a finished
    run, the last epoch's of one still training."""
    frames = []
    for folder in mine:
        if data.spec_name(folder) not in presets.values():
            continue
        status, spec = store.read_status(folder), store.read_spec(folder)
        losses = lc.latest_losses(status.get("final") or {}, data.load_table(folder, "scalars"))
        if losses:
            frames.append(lc.final_losses({data.spec_value(spec, field): losses}, knob).assign(run=yours_label(folder)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[knob, "split", "value", "run"])


def weight_norms(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = lc.weight_norm_over_training(labelled({name: name for name in WD_PUBLISHED}, "weights", dirs, mine))
    chart = lc.norm_vs_target_chart(frame, WD_PUBLISHED)
    return Shown(chart, frame, "Solid: the norm this lab measured; dotted: the textbook's number for the same lambda.")


def poly_decomposition(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    """The Bias-Variance page's capacity sweep at the textbook's setting (100 points per training
    set, noise 0.1): bias^2 + variance + noise vs degree, with the measured test error on top."""
    name = presets.bias_variance.POLY_DEGREE_SWEEP.name
    listing = finished(name, dirs)
    knobs = {"degree": "data.degree", "n_train": "data.n_train", "noise": "data.noise_std", "members": "ensemble"}
    points = [({k: data.spec_value(spec, field) for k, field in knobs.items()}, data.load_table(folder, "bias_variance"))
              for spec, folder in zip(listing["spec"], listing["folder"])]
    summary = bvr.sweep_summary(points)
    if summary.empty:
        raise Absent([name], sweep=True, postprocess=f"python -m training sweep --sweep {name}\n"
                                                      f"python -m training predictions --name {name}")
    summary = summary.assign(per_member=summary["n_train"] // summary["members"])
    part = summary[(summary["per_member"] == summary["per_member"].max()) & (summary["noise"] == summary["noise"].min())]
    comps = bvr.components_frame(part, "degree", "classical")
    total = bvr.total_frame(part, "degree", "classical", "measured_test_mse")
    cap = 1.5 * float(total[total["degree"] <= 3]["value"].max())   # beyond this the variance runs off the chart
    chart = bvc.stacked_decomposition_chart(comps, "degree", total, y_max=cap)
    return Shown(chart, comps, f"{findings.capacity_story(comps, total)} The black line is the measured test error; "
                               f"the stack is bias^2 + variance + noise, estimated from the 100 fits per degree.")


def wd_lambda_sweep(quantity: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    """The Bias-Variance page's lambda sweep: final train/test loss, or ||w||, vs lambda (members' spread)."""
    name = presets.bias_variance.WEIGHT_DECAY_SWEEP.name
    listing = finished(name, dirs)
    frames = []
    for spec, folder in zip(listing["spec"], listing["folder"]):
        lam = spec.optim.weight_decay
        if quantity == "loss":
            frames.append(bvr.final_scores(data.load_table(folder, "scalars")).rename(columns={"split": "series"}))
        else:
            norms = bvr.final_weight_norms(data.load_table(folder, "weights"))
            frames.append(norms.rename(columns={"norm": "value"}).assign(series="||w||"))
        frames[-1] = frames[-1].assign(**{"lambda": lam})
    frame = lc.member_spread(pd.concat(frames, ignore_index=True), ["lambda", "series"])
    title = "Final train and test loss vs lambda" if quantity == "loss" else "Weight norm vs lambda"
    chart = bvc.lambda_chart(frame, "mse" if quantity == "loss" else "||w||_2", title)
    members = int(listing["spec"].iloc[0].ensemble)
    return Shown(chart, frame, f"Band: the spread over the {members} members, which differ only in their random "
                               f"start.")


# ---------------------------------------------------------------- dropout (the Dropout page's analysis)

DROPOUT_PAIR = {"no dropout": presets.core.D2L_NO_DROPOUT.name, "dropout": presets.core.D2L_DROPOUT.name}
SUBNET_TABLES = ("subnet_samples", "subnet_reference", "mc_average", "unit_removal", "sparsity_hist")


def dropout_curves(metric: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    curves = dp.epoch_curves(labelled(DROPOUT_PAIR, "scalars", dirs, mine))
    curves = curves[curves["metric"] == metric]
    return Shown(dc.epoch_curves_chart(curves), curves, "Dashed: the training set, solid: the test set (dropout off).")


def dropout_gap(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    curves = dp.epoch_curves(labelled(DROPOUT_PAIR, "scalars", dirs, mine))
    return Shown(dc.gap_chart(curves), curves[curves["metric"] == "accuracy"],
                 "Above zero: better on the training images than on new ones.")


def dropout_subnets(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    samples = stored(presets.core.D2L_DROPOUT.name, "subnet_samples", dirs)
    reference = float(stored(presets.core.D2L_DROPOUT.name, "subnet_reference", dirs)["accuracy"].iloc[0])
    above = int((samples["accuracy"] > reference).sum())
    return Shown(dc.subnet_histogram_chart(samples, reference), samples,
                 f"Each bar counts sampled sub-networks; the black line is the full network, weights scaled "
                 f"({reference:.4f}). Here {len(samples) - above} of {len(samples)} sub-networks score below it"
                 + (f" and {above} above it (best {samples['accuracy'].max():.4f})." if above else "."))


def dropout_mc(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    curve = stored(presets.core.D2L_DROPOUT.name, "mc_average", dirs)
    reference = float(stored(presets.core.D2L_DROPOUT.name, "subnet_reference", dirs)["accuracy"].iloc[0])
    return Shown(dc.mc_chart(curve, reference), curve,
                 f"{findings.mc_story(curve, reference)} Band: one standard deviation over the mask seeds. "
                 f"Published (Srivastava et al., Fig. 11, MNIST): the average matches weight scaling around k = 50.")


def dropout_removal(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = pd.concat([stored(name, "unit_removal", dirs).assign(model=label)
                       for label, name in DROPOUT_PAIR.items()], ignore_index=True)
    return Shown(dc.unit_removal_chart(frame), frame, f"{findings.removal_story(frame)} The flatter the curve, the "
                                                      f"less the units depend on each other.")


def dropout_sparsity(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = pd.concat([stored(name, "sparsity_hist", dirs).assign(model=label)
                       for label, name in DROPOUT_PAIR.items()], ignore_index=True)
    story = findings.sparsity_story(stored(DROPOUT_PAIR["dropout"], "sparsity", dirs),
                                    stored(DROPOUT_PAIR["no dropout"], "sparsity", dirs))
    return Shown(dc.sparsity_chart(frame), frame, f"{story} Published (Srivastava et al., Fig. 8, a 256-unit "
                                                  f"autoencoder): mean activation about 0.7 with dropout vs 2.0 without.")


def dropout_rate_sweep(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    table = sweep(presets.dropout.DROPOUT_RATE_SWEEP.name, {"dropout": "model.dropout", "widths": "model.widths"}, dirs)
    finals = [(rates if isinstance(rates, tuple) else (rates,) * len(widths), final)
              for rates, widths, final in zip(table["dropout"], table["widths"], table["final"])]
    summary = dp.sweep_summary(finals)
    return Shown(dc.rate_sweep_chart(summary), summary,
                 f"{findings.rate_story(summary)} Published (Srivastava et al.): test error flat for drop rates "
                 f"0.2-0.6, underfitting at very high rates.")


# ---------------------------------------------------------------- batch normalization (the Covariate Shift page's analysis)

FIG1 = {"no BN": presets.covariate_shift.BN_FIG1_NOBN.name, "BN": presets.covariate_shift.BN_FIG1_BN.name}
FIG1_NOISY = {**FIG1, "noisy BN": presets.covariate_shift.BN_NOISY.name}


def bn_accuracy(pair: dict[str, str], look_for: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = cs.accuracy_curves(labelled(pair, "scalars", dirs, mine))
    return Shown(csc.accuracy_chart(frame), frame, csc.LOOK_FOR[look_for])


def bn_percentiles(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    units = labelled(FIG1, "units", dirs)
    layer = max(units["BN"]["layer"].unique())              # the last hidden layer (hidden1..hidden9)
    unit = int(units["BN"].loc[units["BN"]["layer"] == layer, "unit"].min())
    frame = cs.unit_percentiles(units, layer, unit)
    return Shown(csc.unit_bands_chart(frame), frame, f"Unit {unit} of {layer}. {findings.percentile_story(frame)}")


def bn_ics(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = cs.ics_summary(labelled(FIG1, "ics", dirs))
    return Shown(csc.ics_chart(frame), frame, csc.LOOK_FOR["ics_l2"])


def bn_smoothness(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = cs.smoothness_summary(labelled(FIG1, "smoothness", dirs))
    accuracy = cs.accuracy_curves(labelled(FIG1, "scalars", dirs))
    return Shown(csc.smoothness_chart(frame), frame, findings.smoothness_story(frame, accuracy))


def bn_lr_sweep(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    table = sweep(presets.covariate_shift.BN_LR_SWEEP.name, {"lr": "optim.lr", "batchnorm": "model.batchnorm"}, dirs,
                  states=("finished", "diverged"))
    outcomes = cs.sweep_outcomes(table)
    shown = outcomes.drop(columns=["final"])
    return Shown(csc.lr_sweep_chart(shown), shown, csc.LOOK_FOR["lr_sweep"])


CHARTS: dict[str, LessonChart] = {
    **{f"poly-loss-degree{d}": LessonChart(partial(loss_curves, name), (lc.epoch_losses, bvc.train_test_curve_chart))
       for d, name in POLY_PRESETS.items()},
    **{f"poly-weights-degree{d}": LessonChart(partial(poly_weights, name), (bvc.weights_vs_truth_chart,))
       for d, name in POLY_PRESETS.items()},
    "poly-final-by-degree": LessonChart(partial(final_by_knob, POLY_PRESETS, "degree", False, "data.degree"),
                                        (lc.final_losses, lc.latest_losses)),
    "poly-decomposition": LessonChart(poly_decomposition, (bvr.components_frame, bvc.stacked_decomposition_chart)),
    "wd-loss-0": LessonChart(partial(loss_curves, presets.core.WEIGHT_DECAY_0.name), (lc.epoch_losses,)),
    "wd-loss-3": LessonChart(partial(loss_curves, presets.core.WEIGHT_DECAY_3.name), (lc.epoch_losses,)),
    "wd-final-by-lambda": LessonChart(partial(final_by_knob, WD_PRESETS, "lambda", False, "optim.weight_decay"),
                                      (lc.final_losses, lc.latest_losses)),
    "wd-lambda-loss": LessonChart(partial(wd_lambda_sweep, "loss"), (bvr.final_scores, lc.member_spread, bvc.lambda_chart)),
    "wd-lambda-norm": LessonChart(partial(wd_lambda_sweep, "norm"), (bvr.final_weight_norms, lc.member_spread)),
    "wd-norm": LessonChart(weight_norms, (lc.weight_norm_over_training, lc.norm_vs_target_chart)),
    "dropout-loss": LessonChart(partial(dropout_curves, "loss"), (dp.epoch_curves, dc.epoch_curves_chart)),
    "dropout-accuracy": LessonChart(partial(dropout_curves, "accuracy"), (dp.epoch_curves, dc.epoch_curves_chart)),
    "dropout-gap": LessonChart(dropout_gap, (dp.epoch_curves, dc.gap_chart)),
    "dropout-subnets": LessonChart(dropout_subnets, (dp.subnet_accuracies, dc.subnet_histogram_chart)),
    "dropout-mc": LessonChart(dropout_mc, (dp.mc_curve, dc.mc_chart)),
    "dropout-removal": LessonChart(dropout_removal, (dp.unit_removal, dc.unit_removal_chart)),
    "dropout-sparsity": LessonChart(dropout_sparsity, (dp.sparsity_histograms, dc.sparsity_chart)),
    presets.dropout.DROPOUT_RATE_SWEEP.name: LessonChart(dropout_rate_sweep, (dp.sweep_summary, dc.rate_sweep_chart)),
    "bn-fig1-accuracy": LessonChart(partial(bn_accuracy, FIG1, "accuracy"), (cs.accuracy_curves, csc.accuracy_chart)),
    "bn-fig1-percentiles": LessonChart(bn_percentiles, (cs.unit_percentiles, csc.unit_bands_chart)),
    "bn-ics": LessonChart(bn_ics, (cs.ics_summary, csc.ics_chart)),
    "bn-smoothness": LessonChart(bn_smoothness, (cs.smoothness_summary, csc.smoothness_chart)),
    "bn-noisy-accuracy": LessonChart(partial(bn_accuracy, FIG1_NOISY, "noisy"), (cs.accuracy_curves,)),
    presets.covariate_shift.BN_LR_SWEEP.name: LessonChart(bn_lr_sweep, (cs.sweep_outcomes, csc.lr_sweep_chart)),
}
CHART_IDS = tuple(CHARTS)


# ---------------------------------------------------------------- the Keras lesson on the real Concrete data,
# model selection (closed form, no runs), activations and their gradients, the textbook MLP
# (builders in ui/keras_charts.py, ui/selection_charts.py, ui/activation_charts.py)

from ui import activation_charts as acts  # noqa: E402  (kept with its block, after the registry above)
from ui import keras_charts, selection_charts  # noqa: E402

for block in (keras_charts, selection_charts, acts):
    CHARTS.update({chart_id: LessonChart(build, code) for chart_id, (build, code) in block.CHARTS.items()})
CHART_IDS = tuple(CHARTS)


# ---------------------------------------------------------------- hyperparameter tuning, chosen on the
# validation split (builders in ui/tuning_charts.py)

from ui import tuning_charts  # noqa: E402  (kept with its block, after the registry above)

CHARTS.update({chart_id: LessonChart(build, code) for chart_id, (build, code) in tuning_charts.CHARTS.items()})
CHART_IDS = tuple(CHARTS)
NO_RUNS = ("selection-degree", "selection-lambda", "activation-derivatives")   # drawn without runs (pReLU then at its initial slope)


# ---------------------------------------------------------------- reproduced effects: double descent, dropout's
# sparse features, BN's smoother landscape (builders in ui/effect_charts.py)

from ui import effect_charts as ec  # noqa: E402  (kept with its block, after the registry above)

CHARTS.update({chart_id: LessonChart(build, code) for chart_id, (build, code) in ec.CHARTS.items()})
CHART_IDS = tuple(CHARTS)


# ---------------------------------------------------------------- width: the random-features sweeps, with the
# student's own widths (a closed-form fit: the try-it knob trains one in seconds)

RF_SWEEPS = {"clean labels": presets.bias_variance.WIDTH_SWEEP_RF.name,
             "20% label noise": presets.bias_variance.WIDTH_SWEEP_RF_NOISY.name}


def rf_width_errors(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    """Train and test error vs width of both random-features sweeps (the mean over the members'
    logged final scores), the student's runs of either sweep as their own colour."""
    frames, per_member = [], None
    for label, name in RF_SWEEPS.items():
        listing = finished(name, dirs)
        for spec, folder in zip(listing["spec"], listing["folder"]):
            per_member = spec.data.n_train // spec.ensemble
            frames.append(lc.final_errors(data.load_table(folder, "scalars")).assign(width=spec.model.widths[0],
                                                                                     variant=label))
    for folder in mine:
        if data.spec_name(folder) in RF_SWEEPS.values():
            errors = lc.final_errors(data.load_table(folder, "scalars"))
            if not errors.empty:
                frames.append(errors.assign(width=store.read_spec(folder).model.widths[0], variant=yours_label(folder)))
    frame = pd.concat(frames, ignore_index=True)
    chart = bvc.width_chart(frame, "error (1 - accuracy)", "Random features: train and test error vs width")
    noisy = frame[(frame["variant"] == "20% label noise") & (frame["series"] == "test error")]
    peak = noisy.loc[noisy["value"].idxmax()]
    return Shown(alt.layer(chart, bvc.threshold_rule(per_member)), frame,
                 f"The dotted rule: width = {per_member} = training images per model. With 20% label noise the "
                 f"test error is highest at width {peak['width']:g} ({peak['value']:.3f}).")


CHARTS["rf-width-errors"] = LessonChart(rf_width_errors, (lc.final_errors, bvc.width_chart))
CHART_IDS = tuple(CHARTS)
