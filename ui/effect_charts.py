"""Lesson chart builders for three reproduced effects: double descent in SGD-trained nets
(Nakkiran et al.), dropout's sparse features (Srivastava et al., Figs. 7-8) and BN's
smoother landscape (Santurkar et al., Fig. 4 and their deep linear network).

Each builder takes the selected cache dirs and returns Shown(chart, data, caption); every
number in a caption is read from the runs at render time. ui/lesson_charts.py registers them.
They take the user's chosen runs (`mine`) as every lesson chart does, but draw the lesson's
own runs only: each compares a fixed pair or sweep whose captions read both sides.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

import pandas as pd

from analysis import covariate_shift as cs
from analysis import double_descent as ddx
from analysis import double_descent_charts as ddc
from analysis import smoothness as sm
from analysis import smoothness_charts as smc
from analysis import sparsity
from analysis import sparsity_charts as spc
from training.presets import double_descent as dd, landscape, sparsity as sp
from cache import store
from ui import data
from ui.lesson_runs import Absent, Shown, labelled, run_folders

DD_GROUPS = {"noisy": dd.DD_NOISY, "clean": dd.DD_CLEAN}   # presets, one job per group of widths
AUTOENCODERS = {"no dropout": sp.AE_NO_DROPOUT.name, "dropout": sp.AE_DROPOUT.name}
LANDSCAPE = {"no BN": landscape.LANDSCAPE_NOBN.name, "BN": landscape.LANDSCAPE_BN.name}
DLN = {"no BN": landscape.DLN_NOBN.name, "BN": landscape.DLN_BN.name}
FASHION_MNIST_TEST = 10_000   # images in the test set: what n_test = None scores on
PUBLISHED_MEAN_ACTIVATION = {"no dropout": 2.0, "dropout": 0.7}   # Srivastava et al. Fig. 8, MNIST, read off the plot


# ---------------------------------------------------------------- double descent

def _labels(noise: float) -> str:
    return f"{noise:.0%} label noise" if noise else "clean labels"


def _member_errors(spec, scalars: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """One run's scalars split by member: [(member's width, its rows)]."""
    widths = spec.model.member_widths or (spec.model.widths[0],) * spec.ensemble
    return [(w, scalars[scalars["member"] == k]) for k, w in enumerate(widths)]


def sweep_errors(dirs: Sequence[Path]) -> tuple[pd.DataFrame, dict[str, dict], dict[str, pd.DataFrame]]:
    """Both interpolation sweeps: errors [labels, width, split, error, threshold], the
    analysis summary per label set, and where each width's rows are: [width, folder, member]."""
    frames, summaries, where = [], {}, {}
    for group in DD_GROUPS.values():
        folders = run_folders([p.name for p in group], dirs)
        runs, places = [], []
        for preset in group:
            spec = store.read_spec(folders[preset.name])
            scalars = data.load_table(folders[preset.name], "scalars")
            if scalars.empty:
                raise Absent([preset.name])
            runs += _member_errors(spec, scalars)
            places += [{"width": w, "folder": folders[preset.name], "member": k}
                       for k, (w, _) in enumerate(_member_errors(spec, scalars))]
        label = _labels(spec.data.label_noise)
        errors = ddx.width_errors(runs)
        summaries[label] = ddx.summary(errors, n_test=min(spec.data.n_test or FASHION_MNIST_TEST, spec.probes.eval_max))
        frames.append(errors.assign(labels=label, threshold=summaries[label]["threshold"]))
        where[label] = pd.DataFrame(places)
    return pd.concat(frames, ignore_index=True), summaries, where


def _peak_sentence(label: str, s: dict) -> str:
    threshold = "no width fits the training set" if s["threshold"] is None else (
        f"train error first reaches {ddx.ZERO_TRAIN_ERROR:g} at width {s['threshold']:g}")
    if not s["is_peak"]:
        return f"{label}: {threshold}; the test error has no peak (it does not rise above both sides)."
    where = (f"within {ddx.SAME_PLACE:g}x of the threshold" if s["at_threshold"] else "away from the threshold")
    size = ("" if s.get("clear", True) else
            f"; a bump of {s['height']:.3f}, inside twice the {s['standard_error']:.3f} sampling error of the test set")
    return (f"{label}: the test error peaks at width {s['peak_width']:g} ({s['peak']:.3f}, {where}; {threshold}), "
            f"above {s['dip']:.3f} at width {s['dip_width']:g} and {s['after']:.3f} at width {s['after_width']:g}{size}.")


def dd_widths(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    errors, summaries, _ = sweep_errors(dirs)
    caption = " ".join(_peak_sentence(label, s) for label, s in summaries.items())
    return Shown(ddc.width_chart(errors), errors, caption + " Dashed: where train error first reaches ~0.")


def dd_epochs(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    """Nakkiran's epoch-wise view, for the noisy sweep's width nearest its threshold."""
    _, summaries, where = sweep_errors(dirs)
    label = _labels(dd.DD_LABEL_NOISE)
    places = where[label]
    width = ddx.near_threshold(list(places["width"]), summaries[label]["threshold"]) or float(places["width"].max())
    place = places[places["width"] == width].iloc[0]
    scalars = data.load_table(place["folder"], "scalars")
    curves = ddx.epoch_errors(scalars[scalars["member"] == place["member"]])
    test = curves[curves["split"] == "test"].reset_index(drop=True)
    best = test.loc[test["error"].idxmin()]
    caption = (f"Width {width:g}, {label}: the test error falls to {best['error']:.3f} at epoch {best['epoch']:g}, "
               f"then rises to {test['error'].iloc[-1]:.3f} by epoch {test['epoch'].iloc[-1]:g} while the net "
               "memorises the wrong labels (train error, green, going to 0).")
    return Shown(ddc.epoch_chart(curves, f"Epoch-wise: width {width:g}, {label}"), curves, caption)


# ---------------------------------------------------------------- dropout: sparsity of an autoencoder

def _ae_table(table: str, dirs: Sequence[Path]) -> pd.DataFrame:
    folders = run_folders(list(AUTOENCODERS.values()), dirs)
    frames = {label: data.load_table(folders[name], table) for label, name in AUTOENCODERS.items()}
    empty = [AUTOENCODERS[label] for label, frame in frames.items() if frame.empty]
    if empty:
        raise Absent(empty, postprocess="\n".join(f"python -m training sparsity {folders[n].name}" for n in empty))
    return pd.concat([frame.assign(model=label) for label, frame in frames.items()], ignore_index=True)


def _mean_activation_sentence(means: pd.DataFrame) -> str:
    by = dict(zip(means["model"], means["mean_activation"]))
    return (f"Mean activation {by['no dropout']:.2f} without dropout, {by['dropout']:.2f} with "
            f"(published, Srivastava et al. Fig. 8 on MNIST: about {PUBLISHED_MEAN_ACTIVATION['no dropout']:.1f} "
            f"and {PUBLISHED_MEAN_ACTIVATION['dropout']:.1f}).")


def ae_histogram(kind: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    hist, means = _ae_table("ae_histograms", dirs), _ae_table("ae_sparsity", dirs)
    zeros = dict(zip(means["model"], means["frac_zero"]))
    extra = "" if kind == "unit_mean" else (f" Exact zeros: {zeros['no dropout']:.0%} of the activations without "
                                            f"dropout, {zeros['dropout']:.0%} with.")
    return Shown(spc.histogram_chart(hist, means, kind, log_y=kind == "activation"), hist[hist["kind"] == kind],
                 _mean_activation_sentence(means) + extra)


def ae_filters(layer: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    filters = _ae_table("ae_filters", dirs)
    filters = filters[filters["layer"] == layer].rename(columns={"png": "url"})
    units = int(filters["units"].iloc[0])
    what = "input weights (encoder rows)" if layer == "encoder" else "output weights (decoder columns)"
    return Shown(spc.filters_chart(filters), filters[["model", "layer", "units"]],
                 f"The {units} hidden units' {what} as 28x28 images, each scaled to its own range (grey = 0).")


def ae_summary(dirs: Sequence[Path]) -> pd.DataFrame:
    """The page's table: the stored sparsity numbers per model, with the paper's mean activation."""
    table = _ae_table("ae_sparsity", dirs)
    table["published mean activation (MNIST)"] = table["model"].map(PUBLISHED_MEAN_ACTIVATION)
    return table[["model", "mean_activation", "published mean activation (MNIST)", "median_unit_mean", "frac_zero",
                  "frac_dead_units", "reconstruction_mse"]]


def ae_training(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frames = labelled(AUTOENCODERS, "activations", dirs)
    frame = sparsity.mean_activation_over_training(frames)
    last = frame.sort_values("step").groupby("model").last()
    return Shown(spc.mean_over_training_chart(frame), frame,
                 f"At the last probe: {last.loc['no dropout', 'mean']:.2f} without dropout, "
                 f"{last.loc['dropout', 'mean']:.2f} with (hidden ReLU outputs on a fixed test batch, dropout off).")


# ---------------------------------------------------------------- BN: the landscape as bands, the deep linear network

def landscape_bands(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    smooth, scalars = labelled(LANDSCAPE, "smoothness", dirs), labelled(LANDSCAPE, "scalars", dirs)
    window = sm.learning_window(scalars)
    bands = sm.smoothness_bands(smooth)
    if window is None:
        return Shown(smc.bands_chart(bands, None), bands, "The two nets never both leave chance: no window to compare.")
    ratios = sm.smoothness_ratios(smooth, window).set_index("measure")
    caption = (f"Grey: steps {window[0]}-{window[1]}, where both nets score above {sm.LEARNING_ABOVE:g} test accuracy. "
               f"There, no BN / BN at the same step (median over {int(ratios.loc['loss_range', 'steps'])} probes): "
               f"loss range {ratios.loc['loss_range', 'median_ratio']:.1f}x, gradient change "
               f"{ratios.loc['grad_change', 'median_ratio']:.1f}x, effective beta {ratios.loc['beta', 'median_ratio']:.1f}x. "
               "Published (Santurkar et al., VGG on CIFAR-10): much smaller with BN, ~100x early in training.")
    return Shown(smc.bands_chart(bands, window), ratios.reset_index(), caption)


def dln_loss(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = cs.accuracy_curves(labelled(DLN, "scalars", dirs), split="train", metric="loss")
    last = frame.sort_values("step").groupby("variant")["value"].last()
    return Shown(smc.dln_loss_chart(frame), frame,
                 f"After {int(frame['step'].max())} full-batch steps the training loss is {last['BN']:.3f} with BN "
                 f"and {last['no BN']:.3f} without.")


def dln_ics(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    summary = cs.ics_summary(labelled(DLN, "ics", dirs))
    frame = summary.groupby(["variant", "step"], as_index=False)["ics_relative"].median()
    median = frame.groupby("variant")["ics_relative"].median()
    return Shown(smc.dln_ics_chart(frame), frame,
                 f"Median over steps and layers: {median['BN']:.3g} with BN, {median['no BN']:.3g} without "
                 f"({median['BN'] / median['no BN']:.0f}x): BN raises this internal covariate shift, and still trains better.")


# chart id -> (builder, the analysis functions behind it); ui/lesson_charts.py registers them
CHARTS = {
    "dd-widths": (dd_widths, (sweep_errors, ddx.width_errors, ddx.summary, ddc.width_chart)),
    "dd-epochs": (dd_epochs, (ddx.epoch_errors, ddx.near_threshold, ddc.epoch_chart)),
    "ae-unit-means": (partial(ae_histogram, "unit_mean"), (sparsity.activation_histograms, spc.histogram_chart)),
    "ae-activations": (partial(ae_histogram, "activation"), (sparsity.histogram_rows,)),
    "ae-filters": (partial(ae_filters, "encoder"), (sparsity.filter_mosaic, spc.filters_chart)),
    "ae-decoder-filters": (partial(ae_filters, "decoder"), (sparsity.filter_mosaic,)),
    "ae-mean-over-training": (ae_training, (sparsity.mean_activation_over_training,)),
    "bn-landscape-bands": (landscape_bands, (sm.smoothness_bands, sm.learning_window, sm.smoothness_ratios,
                                             smc.bands_chart)),
    "bn-dln-loss": (dln_loss, (cs.accuracy_curves, smc.dln_loss_chart)),
    "bn-dln-ics": (dln_ics, (cs.ics_summary, smc.dln_ics_chart)),
}
