"""Sentences that state what measured data shows, for captions that must stay true.

Each function takes the frame a chart draws and returns the sentence its caption reads, so
the caption cannot claim more than the data: "bias^2 falls" only where it does, the degree
of the lowest test error as measured. Pure: frames in, text out.
"""
from __future__ import annotations

import pandas as pd

from analysis import palette

NEAR_ZERO = 1e-3   # a bias^2 estimate below this (squared output units) is zero within sampling error


def _series(comps: pd.DataFrame, knob: str, component: str) -> pd.Series:
    part = comps[comps["component"] == component]
    return part.set_index(knob)["value"].sort_index()


def capacity_story(comps: pd.DataFrame, total: pd.DataFrame, knob: str = "degree") -> str:
    """What the bias^2/variance decomposition over a capacity knob shows: where bias^2 reaches
    zero (and whether it climbs again), where variance is smallest and largest, and where the
    measured test error is lowest."""
    bias, variance = _series(comps, knob, "bias^2"), _series(comps, knob, "variance")
    test = total.set_index(knob)["value"].sort_index()
    parts = []
    zero = bias[bias <= NEAR_ZERO]
    if zero.empty:
        parts.append(f"bias^2 never reaches zero here (smallest {bias.min():.3g} at {knob} {bias.idxmin()})")
    else:
        first_zero = zero.index[0]
        parts.append(f"bias^2 falls from {bias.iloc[0]:.3g} at {knob} {bias.index[0]} to about 0 at {knob} {first_zero}")
        later = bias[(bias.index > first_zero) & (bias > max(10 * NEAR_ZERO, 0.1 * float(variance.loc[first_zero:].min())))]
        if not later.empty:
            parts.append(f"then climbs again from {knob} {later.index[0]} (up to {later.max():.3g}): fits that "
                         f"unstable miss the truth even on average")
    parts.append(f"variance is smallest at {knob} {variance.idxmin()} ({variance.min():.3g}) and largest at "
                 f"{knob} {variance.idxmax()} ({variance.max():.3g})")
    story = "; ".join(parts)
    return f"Here {story}. The measured test error is lowest at {knob} {test.idxmin()} ({test.min():.3g})."


def u_shape(curve: pd.DataFrame, knob: str) -> str:
    """Train/test curves over a capacity knob: is the test error U-shaped, and where is its bottom?"""
    test = curve[curve["split"] == "test"].set_index(knob)["value"].sort_index()
    best = test.idxmin()
    if best in (test.index[0], test.index[-1]):
        return (f"Here the test error has no U: it is lowest at the {'smallest' if best == test.index[0] else 'largest'} "
                f"{knob} ({best}, {test.min():.3g}).")
    return (f"Here the test error falls to {test.min():.3g} at {knob} {best}, then climbs to {test.iloc[-1]:.3g} at "
            f"{knob} {test.index[-1]}: the U of too little, then too much, capacity.")


# ---------------------------------------------------------------- dropout

def mc_story(curve: pd.DataFrame, reference: float) -> str:
    """Monte-Carlo averaging over several mask seeds (k, repeat, accuracy) against the
    weight-scaled network: from which k the mean reaches it, and from which k every seed does."""
    by_k = curve.groupby("k")["accuracy"]
    mean, lowest, seeds = by_k.mean(), by_k.min(), int(curve.groupby("k")["repeat"].nunique().min())
    on_average = mean[mean >= reference]
    every_seed = lowest[lowest >= reference]
    first = f"the mean of {seeds} mask seeds reaches it from k = {on_average.index[0]}" if not on_average.empty \
        else "the mean over the mask seeds stays below it"
    second = f"every seed does from k = {every_seed.index[0]}" if not every_seed.empty else "not every seed does"
    return f"Against the weight-scaled network ({reference:.4f}): {first}, {second}."


def sparsity_story(with_dropout: pd.DataFrame, without: pd.DataFrame) -> str:
    """Per-layer mean activation and fraction of zeros (layer, mean_activation, frac_zero), with vs without."""
    rows = with_dropout.merge(without, on="layer", suffixes=("_with", "_without"))
    sparser = (rows["mean_activation_with"] < rows["mean_activation_without"]) & \
              (rows["frac_zero_with"] > rows["frac_zero_without"])
    verdict = ("sparser with dropout in every layer" if sparser.all() else
               "not sparser with dropout in every layer" if sparser.any() else "not sparser with dropout")
    detail = "; ".join(f"{r.layer}: mean activation {r.mean_activation_with:.2f} with vs {r.mean_activation_without:.2f} "
                       f"without, zero {r.frac_zero_with:.0%} vs {r.frac_zero_without:.0%} of the time"
                       for r in rows.itertuples())
    return f"Here the hidden units are {verdict} ({detail})."


def removal_story(frame: pd.DataFrame, fraction: float = 0.5) -> str:
    """Accuracy with a share of hidden units removed (model, fraction, accuracy), at one fraction."""
    at = frame[frame["fraction"].round(6) == round(fraction, 6)].groupby("model")["accuracy"].mean()
    ranked = at.sort_values(ascending=False)
    return (f"With {fraction:.0%} of the hidden units removed: " +
            ", ".join(f"{model} {acc:.3f}" for model, acc in ranked.items()) + ".")


def rate_story(summary: pd.DataFrame, tolerance: float = 0.02) -> str:
    """The rate sweep (rate, split in train/test/gap, value): the range of rates whose test accuracy
    stays within `tolerance` of the best, and where it falls off."""
    test = summary[summary["split"] == "test"].set_index("rate")["value"].sort_index()
    gap = summary[summary["split"] == "gap"].set_index("rate")["value"].sort_index()
    flat = test[test >= test.max() - tolerance]
    falls = test[test < test.max() - tolerance]
    tail = f"; it drops to {falls.iloc[-1]:.2f} at p = {falls.index[-1]:g}" if not falls.empty else ""
    trend = "shrinks steadily" if gap.is_monotonic_decreasing else "does not shrink steadily"
    return (f"Here test accuracy stays within {tolerance} of its best ({test.max():.3f}) for p from "
            f"{flat.index.min():g} to {flat.index.max():g}{tail}; the train-test gap {trend} as p grows "
            f"({gap.iloc[0]:.3f} at p = {gap.index[0]:g}, {gap.iloc[-1]:.3f} at p = {gap.index[-1]:g}).")


# ---------------------------------------------------------------- batch normalization

def learning_from(accuracy: pd.DataFrame, threshold: float = 0.5) -> int | None:
    """The first probe step at which every variant's test accuracy (variant, step, value) is at
    least `threshold`: from there on all the nets compared are learning."""
    wide = accuracy.pivot_table(index="step", columns="variant", values="value").sort_index()
    above = wide[(wide >= threshold).all(axis=1)]
    return None if above.empty else int(above.index[0])


def smoothness_story(smooth: pd.DataFrame, accuracy: pd.DataFrame, threshold: float = 0.5) -> str:
    """Median loss range along the gradient (variant, step, loss_range, ...) per variant, over the
    whole run and over the window where every net is learning, so the window is stated."""
    whole = smooth.groupby("variant")["loss_range"].median()
    start = learning_from(accuracy[accuracy["variant"].isin(whole.index)], threshold)
    text = "Median loss range along the gradient over the whole run: " + \
           ", ".join(f"{v} {m:.3g}" for v, m in whole.items())
    if start is None:
        return text + f". Not every net reaches test accuracy {threshold} here, so no window where both learn."
    window = smooth[smooth["step"] >= start].groupby("variant")["loss_range"].median()
    return (text + f"; from step {start}, where every net's test accuracy has passed {threshold} (before that a "
            f"plateaued net's landscape is trivially flat): " + ", ".join(f"{v} {m:.3g}" for v, m in window.items())
            + ".")


def percentile_story(bands: pd.DataFrame) -> str:
    """One unit's input percentiles over training (variant, step, q15, q50, q85): how far the
    median moves, in units of the starting half-spread, and how the band's width changes."""
    parts = []
    for variant, frame in bands.sort_values("step").groupby("variant"):
        first, last = frame.iloc[0], frame.iloc[-1]
        width0, width1 = first["q85"] - first["q15"], last["q85"] - last["q15"]
        spread = max(width1 / 2, 1e-12)
        parts.append(f"{variant}: the median moves {abs(last['q50'] - first['q50']) / spread:.2f} times its final "
                     f"15-85 half-width, "
                     f"the 15-85 band goes from {width0:.2f} to {width1:.2f} wide")
    return "Here " + "; ".join(parts) + "."


def modes_story(modes: pd.DataFrame) -> str:
    """BN in eval mode (running statistics) vs train mode (batch statistics) at several batch
    sizes (mode, batch_size, accuracy): do they agree on the largest batch, and what does the
    smallest cost?"""
    eval_acc = float(modes[modes["mode"].str.startswith("eval")]["accuracy"].iloc[0])
    train = modes[modes["mode"].str.startswith("train")].sort_values("batch_size")
    small, large = train.iloc[0], train.iloc[-1]
    return (f"Here eval mode scores {eval_acc:.3f}; train mode scores {large['accuracy']:.3f} on batches of "
            f"{int(large['batch_size'])} and {small['accuracy']:.3f} on batches of {int(small['batch_size'])}, "
            f"whose statistics are the noisiest.")


def fit_story(final: dict, noise_variance: float = 0.01) -> str:
    """A regression run's final train/test MSE (status.json's `final`) against the noise floor."""
    if "train_loss" not in final or "test_loss" not in final:
        return ""
    train, test = final["train_loss"], final["test_loss"]
    relation = ("about equal" if 0.8 <= test / max(train, 1e-12) <= 1.25 else
                f"the test error {test / max(train, 1e-12):.1f} times the training error" if test > train
                else "the test error below the training error")
    return (f"This run ends at train MSE {train:.3g} and test MSE {test:.3g} ({relation}; the noise floor is "
            f"{noise_variance:g}).")


# ---------------------------------------------------------------- width sweeps and double descent

def threshold_story(errors: pd.DataFrame, knob: str = "width", fitted: float = 0.01) -> str:
    """Train/test error vs width per variant (variant, width, series in train error/test error,
    value): where the training error first reaches ~0 and where the test error peaks."""
    parts = []
    for variant, frame in errors.groupby("variant", sort=False):
        train = frame[frame["series"] == "train error"].set_index(knob)["value"].sort_index()
        test = frame[frame["series"] == "test error"].set_index(knob)["value"].sort_index()
        zero = train[train <= fitted]
        reach = (f"training error first reaches {fitted:g} at {knob} {zero.index[0]:g}" if not zero.empty else
                 f"training error never gets below {train.min():.3f} (at {knob} {train.idxmin():g})")
        parts.append(f"{variant}: {reach}; test error peaks at {knob} {test.idxmax():g} ({test.max():.3f})")
    return "Here " + "; ".join(parts) + "."


def variance_story(comps: pd.DataFrame, knob: str = "width") -> str:
    """Yang et al.'s bias^2 and variance vs width (variant, width, series, value): where the
    variance peaks, and whether the bias^2 estimate dips below zero there."""
    parts = []
    for variant, frame in comps.groupby("variant", sort=False):
        variance = frame[frame["series"] == "variance"].set_index(knob)["value"]
        bias = frame[frame["series"] == "bias^2"].set_index(knob)["value"]
        at = variance.idxmax()
        dip = (f", where the bias^2 estimate (risk minus variance) is {bias[at]:.3g}: below zero, sampling error "
               f"of two huge numbers" if at in bias.index and bias[at] < 0 else "")
        parts.append(f"{variant}: variance peaks at {knob} {at:g} ({variance.max():.3g}){dip}")
    return "Here " + "; ".join(parts) + "."


# ---------------------------------------------------------------- tuning

def _setting(setting: dict) -> str:
    """{'lr': 0.001, 'beta1': 0.9} -> "learning rate 0.001, beta1 0.9"; widths and layers read as a net."""
    if set(setting) == {"width", "layers"}:
        layers = int(setting["layers"])
        return f"{layers} hidden layer{'s' if layers > 1 else ''} of {int(setting['width'])} units"
    names = {"lr": "learning rate"}
    return ", ".join(f"{names.get(knob, knob)} {value:g}" for knob, value in setting.items())


def choice_story(choice, what: str = "") -> str:
    """The caption of a tuning chart: the setting chosen on the validation split, its validation
    score, and the chosen run's test score, read once after the choice."""
    score = choice.score.removeprefix("val_")
    where = f" of the {what}" if what else ""
    return (f"Chosen on validation {score}{where}: {_setting(choice.setting)} ({choice.val_score:.3f}, best of "
            f"{choice.n_runs} runs). Its test {score}, read once after the choice: {choice.test_score:.3f}.")


def sweep_choice_story(frame, fields, metric: str) -> str:
    """The sweep view's caption: the run a validation score chooses and its test score read
    once; for any other metric, its range over the runs and a note that choosing on it (a
    test score above all) would make that score optimistic."""
    name = metric.removeprefix("val_").removeprefix("test_")
    if "chosen" in frame and frame["chosen"].any():
        row = frame[frame["chosen"]].iloc[0]
        test = f"test_{name}"
        told = f" Its test {name}, read once after the choice: {row[test]:.3f}." if test in frame and row[test] == row[test] else ""
        setting = ", ".join(f"{palette.label(f)} {_shown(row[f])}" for f in fields)
        return (f"Chosen on validation {name}: {setting} ({row[metric]:.3f}, best of "
                f"{len(frame)} runs).{told}")
    low, high = frame[metric].min(), frame[metric].max()
    warn = (" Choosing a setting by a test score makes that score optimistic: choose on a validation score "
            "(runs with data.validation_fraction > 0)." if metric.startswith("test_") else "")
    return f"{len(frame)} runs, {palette.label(metric)} from {low:.3f} to {high:.3f}.{warn}"


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
