"""Every sentence that states a fact about the data, pinned to the committed demo cache.

A lesson file, a page or the README may say "both curves flatten near 0.01" only while the
demo runs show it. Each test names the file and the sentence; when the data or the text
changes so that the claim no longer holds, it fails with that sentence. (Captions filled
from the data at render time are checked in tests/test_findings.py.)
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from analysis import bias_variance_runs as bvr
from training import presets
from ui import data, keras_charts, lesson_charts
from ui.lesson_runs import finished

REPO = Path(__file__).resolve().parent.parent
DEMO = [REPO / "cache" / "demo"]
LESSONS = REPO / "walkthroughs" / "lessons"
README = REPO / "README.md"
CS_CHARTS = REPO / "analysis" / "covariate_shift_charts.py"   # its LOOK_FOR captions


def text_of(path: Path) -> str:
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


def text_in(path: Path) -> str:
    """A lesson file's or the README's text; for a Python module, its caption strings (joined)."""
    if path.suffix == ".py":   # a module's string literals (implicit concatenations come joined)
        import ast

        strings = [node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        return re.sub(r"\s+", " ", " ".join(strings))
    return text_of(path)


def claim(path: Path, sentence: str, holds: bool, measured) -> None:
    """The sentence is still in the file, and the data supports it."""
    assert re.sub(r"\s+", " ", sentence) in text_in(path), f"{path.name}: the sentence {sentence!r} is gone; " \
                                                           f"update its claim test"
    assert holds, f"{path.name}: {sentence!r} does not hold for the demo cache ({measured})"


def shown(chart_id: str) -> pd.DataFrame:
    result = lesson_charts.render(chart_id, DEMO)
    assert isinstance(result, lesson_charts.Shown), (chart_id, result)
    return result.data


def final_losses(chart_id: str) -> dict[str, float]:
    frame = shown(chart_id)
    last = frame[frame["epoch"] == frame["epoch"].max()]
    return dict(zip(last["split"], last["value"]))


# ---------------------------------------------------------------- lesson 01: under- and overfitting

L01 = LESSONS / "01-under-overfitting.md"


def test_l01_the_cubic_reaches_the_noise_floor():
    final = final_losses("poly-loss-degree3")
    claim(L01, "Both curves fall together and flatten near 0.01 = 0.1², the noise variance",
          all(0.007 <= v <= 0.014 for v in final.values()), f"final losses {final}")


def test_l01_sgd_recovers_the_true_weights():
    frame = shown("poly-weights-degree3")
    error = (frame["learned"] - frame["true"]).abs().max()
    claim(L01, "Within a few hundredths to a few tenths on each weight", error < 0.5, f"largest error {error:.3f}")


def test_l01_the_line_underfits():
    final = final_losses("poly-loss-degree1")
    claim(L01, "both losses level off far above 0.01", min(final.values()) > 0.1, f"final losses {final}")
    claim(L01, "The test loss can end well above the training loss too", final["test"] > 2 * final["train"],
          f"final losses {final}")


def test_l01_twenty_features_overfit_mildly():
    cubic, wide = final_losses("poly-loss-degree3"), final_losses("poly-loss-degree19")
    claim(L01, "its test loss ends above the cubic's and further above its own training loss",
          wide["test"] > cubic["test"] and wide["test"] - wide["train"] > cubic["test"] - cubic["train"],
          f"degree 3 {cubic}, degree 19 {wide}")


def test_l01_ranking_of_the_three_fits():
    frame = shown("poly-final-by-degree")
    test = frame[frame["split"] == "test"].set_index("degree")["value"]
    claim(L01, "The cubic wins, the 20-feature model comes second and the line is far behind",
          test[3] < test[19] < test[1] and test[1] > 10 * test[19], f"test losses {test.to_dict()}")


@functools.lru_cache(maxsize=1)
def degree_sweep_summary() -> pd.DataFrame:
    listing = finished(presets.bias_variance.POLY_DEGREE_SWEEP.name, DEMO)
    knobs = {"degree": "data.degree", "n_train": "data.n_train", "noise": "data.noise_std", "members": "ensemble"}
    points = [({k: data.spec_value(spec, f) for k, f in knobs.items()}, data.load_table(folder, "bias_variance"))
              for spec, folder in zip(listing["spec"], listing["folder"])]
    summary = bvr.sweep_summary(points)
    return summary.assign(per_member=summary["n_train"] // summary["members"])


def components(summary: pd.DataFrame, per: int, noise: float, component: str) -> pd.Series:
    part = summary[(summary["per_member"] == per) & (summary["noise"] == noise)]
    comps = bvr.components_frame(part, "degree", "classical")
    return comps[comps["component"] == component].set_index("degree")["value"].sort_index()


def test_l01_bias_falls_and_variance_rises_in_the_degree_sweep():
    summary = degree_sweep_summary()
    members = set(summary["members"])
    claim(L01, "100 least-squares fits per degree, each on its own 100 points", members == {100}
          and 100 in set(summary["per_member"]), f"members {members}, points per set {set(summary['per_member'])}")
    bias, variance = components(summary, 100, 0.1, "bias^2"), components(summary, 100, 0.1, "variance")
    peak = variance.idxmax()
    rising = variance.loc[3:peak]
    claim(L01, "show bias² falling to about zero by degree 3 and variance rising from there",
          bias[1] > bias[2] > bias[3] and bias[3] <= 1e-3 and rising.is_monotonic_increasing,
          f"bias^2 {bias.loc[:4].to_dict()}, variance from degree 3 {rising.round(4).to_dict()}")


def test_l01_smaller_training_sets_make_the_variance_take_off_sooner():
    summary = degree_sweep_summary()
    take_off = {per: int(components(summary, per, 0.1, "variance").gt(1.0).idxmax()) for per in (100, 30)}
    claim(L01, "shrink the training sets to 30 points and watch the variance take off at a lower degree",
          take_off[30] < take_off[100], f"first degree with variance > 1: {take_off}")


# ---------------------------------------------------------------- lesson 02: weight decay

L02 = LESSONS / "02-weight-decay.md"


def test_l02_no_penalty_memorises():
    final, first = final_losses("wd-loss-0"), shown("wd-loss-0").query("epoch == 1").set_index("split")["value"]
    claim(L02, "the training loss falls towards zero", final["train"] < 1e-6, f"final {final}")
    claim(L02, "so the test loss stays large", final["test"] > 0.5 * first["test"], f"first {first.to_dict()}, "
                                                                                    f"final {final}")


def test_l02_the_penalty_trades_training_loss_for_test_loss():
    none, decay = final_losses("wd-loss-0"), final_losses("wd-loss-3")
    claim(L02, "The training loss ends higher, but the test loss ends much lower",
          decay["train"] > none["train"] and decay["test"] < none["test"] / 100, f"lambda 0 {none}, lambda 3 {decay}")


def test_l02_weight_norms():
    norms = shown("wd-norm")
    start = norms[norms["step"] == 0].set_index("run")["norm"]
    end = norms.sort_values("step").groupby("run")["norm"].last()
    none, decay = presets.core.WEIGHT_DECAY_0.name, presets.core.WEIGHT_DECAY_3.name
    claim(L02, "The weights start at ||w|| of about 14 (the square root of 200)",
          all(abs(v - 200 ** 0.5) < 1.5 for v in start), f"start {start.to_dict()}")
    claim(L02, "Without decay they stay large; with lambda = 3 they shrink by more than ten times",
          end[none] > 0.9 * start[none] and end[decay] < end[none] / 10, f"end {end.to_dict()}")
    claim(L02, "so most of the random initial norm survives", end[none] > 0.9 * start[none], f"end {end.to_dict()}")


def test_l02_the_lambda_sweep():
    loss = shown("wd-lambda-loss")
    test = loss[loss["series"] == "test"].set_index("lambda")["value"]
    train = loss[loss["series"] == "train"].set_index("lambda")["value"]
    sweep = presets.bias_variance.WEIGHT_DECAY_SWEEP
    members = {spec.ensemble for _, spec in sweep.specs()}
    claim(L02, "Ten values of lambda from 0 to 10 (0, 0.001, 0.003, ..., 3, 10), each trained from 5 random starts",
          len(test) == 10 and test.index.min() == 0 and test.index.max() == 10 and members == {5},
          f"lambdas {list(test.index)}, members {members}")
    claim(L02, "It barely moves for small lambda, then falls by orders of magnitude",
          (test.loc[:0.01] / test[0.0]).between(0.95, 1.0).all() and test[3.0] < test[0.0] / 100, f"{test.to_dict()}")
    claim(L02, "while the training loss rises only a little", train[3.0] < 0.01, f"train at lambda 3 {train[3.0]:.3g}")
    steps = sweep.specs()[0][1].epochs * -(-sweep.specs()[0][1].data.n_train // sweep.specs()[0][1].batch_size)
    claim(L02, "so over 400 steps a small lambda barely touches", steps == 400, f"{steps} steps")
    claim(L02, "where the test loss is still falling", test[10.0] < test[3.0], f"{test.to_dict()}")


# ---------------------------------------------------------------- lesson 03: dropout

L03 = LESSONS / "03-dropout.md"


def finals_by_model(chart_id: str) -> pd.DataFrame:
    frame = shown(chart_id)
    last = frame[frame["epoch"] == frame["epoch"].max()]
    return last.pivot_table(index="model", columns="split", values="value")


def test_l03_training_losses_end_about_the_same():
    loss = finals_by_model("dropout-loss")
    claim(L03, "the two training losses end within a few hundredths of each other (the dropout run even slightly "
               "lower)", abs(loss.loc["dropout", "train"] - loss.loc["no dropout", "train"]) < 0.05
          and loss.loc["dropout", "train"] < loss.loc["no dropout", "train"], f"{loss.round(4).to_dict()}")


def test_l03_test_accuracy_and_the_small_gap():
    acc = finals_by_model("dropout-accuracy")
    claim(L03, "About 0.85 to 0.86", acc["test"].between(0.845, 0.865).all(), f"{acc.round(4).to_dict()}")
    claim(L03, "so the two runs end close together", abs(acc["test"].diff().iloc[-1]) < 0.01, f"{acc.to_dict()}")
    gap = (acc["train"] - acc["test"]).round(3)
    claim(L03, "Here it is only a little smaller with dropout (about 0.017 against 0.021 in accuracy after 10 "
               "epochs)", gap["dropout"] == 0.017 and gap["no dropout"] == 0.021, f"gaps {gap.to_dict()}")


def dropout_table(table: str, name: str = "d2l-dropout") -> pd.DataFrame:
    from ui.lesson_runs import stored

    return stored(name, table, DEMO)


def test_l03_most_sub_networks_score_below_the_full_network():
    samples, reference = dropout_table("subnet_samples"), float(dropout_table("subnet_reference")["accuracy"].iloc[0])
    below = (samples["accuracy"] < reference).mean()
    claim(L03, "Most are somewhat worse than the full network; a few match or beat it",
          0.5 < below < 1.0 and len(samples) == 200, f"{below:.0%} of {len(samples)} below {reference}")


def test_l03_monte_carlo_averaging_meets_weight_scaling():
    curve, reference = dropout_table("mc_average"), float(dropout_table("subnet_reference")["accuracy"].iloc[0])
    by_k = curve.groupby("k")["accuracy"]
    mean_k = by_k.mean()[lambda m: m >= reference].index[0]
    every_k = by_k.min()[lambda m: m >= reference].index[0]
    claim(L03, "their mean reaches the weight-scaled network at about k = 5, and from about k = 50 every seed does",
          mean_k == 5 and every_k == 50 and curve["repeat"].nunique() == 5, f"mean from {mean_k}, all from {every_k}")
    claim(L03, "A handful on average, a few dozen to be sure of it", mean_k <= 10 and 20 <= every_k <= 100,
          f"mean from {mean_k}, all from {every_k}")


def test_l03_this_classifier_is_not_sparser_with_dropout():
    rows = dropout_table("sparsity").merge(dropout_table("sparsity", "d2l-no-dropout"), on="layer",
                                           suffixes=("_with", "_without"))
    zero_gap = (rows["frac_zero_with"] - rows["frac_zero_without"]).abs().max()
    claim(L03, "its units are zero about as often with dropout as without (within a few percentage points in each "
               "layer) and their mean activation is, if anything, a little higher",
          zero_gap < 0.05 and (rows["mean_activation_with"] >= rows["mean_activation_without"]).all(),
          rows.round(3).to_dict("records"))


def test_l03_the_rate_sweep_is_flat_then_falls():
    summary = shown("dropout-rate-sweep")
    test = summary[summary["split"] == "test"].set_index("rate")["value"]
    gap = summary[summary["split"] == "gap"].set_index("rate")["value"]
    spec = presets.dropout.DROPOUT_RATE_SWEEP.specs()[0][1]
    claim(L03, "Raise p from 0 to 0.9 in both hidden layers (2,000 training images, 100 epochs)",
          spec.data.n_train == 2000 and spec.epochs == 100 and test.index.min() == 0 and test.index.max() == 0.9,
          f"{spec.data.n_train} images, {spec.epochs} epochs")
    claim(L03, "It stays roughly flat over a middle range, then falls at very high p",
          test.loc[0.2:0.6].max() - test.loc[0.2:0.6].min() < 0.02 and test[0.9] < test.max() - 0.3, test.to_dict())
    claim(L03, "The train-test gap shrinks as p grows", gap.is_monotonic_decreasing, gap.to_dict())


# ---------------------------------------------------------------- lesson 06: the Keras lesson on the real Concrete data

L06 = LESSONS / "06-keras-concrete.md"


def test_l06_no_bn_diverges_and_the_course_layout_lands_near_the_published_mae():
    outcomes = keras_charts.keras_outcomes(DEMO).set_index("layout")
    plain, course = outcomes.loc["no BN"], outcomes.loc["BN before every Dense (course)"]
    claim(L06, "the net without BN leaves the chart within its first steps",
          plain["state"] == "diverged" and plain["diverged at step"] <= 20, plain.to_dict())
    claim(L06, "The course says the same of its run: without BN, training usually fails", plain["state"] == "diverged",
          plain.to_dict())
    claim(L06, "Within about one MPa of the course's number",
          course["state"] == "finished" and abs(course["final test MAE"] - keras_charts.KERAS_PUBLISHED_MAE) < 1.0,
          course.to_dict())
    claim(L06, "its test MAE ends within about one MPa of the course's 4.1",
          abs(course["final test MAE"] - 4.1) < 1.0 and keras_charts.KERAS_PUBLISHED_MAE == 4.1, course.to_dict())


# ---------------------------------------------------------------- lesson 04 and the Covariate Shift page's captions

L04 = LESSONS / "04-batchnorm.md"
FIG1 = {"no BN": presets.covariate_shift.BN_FIG1_NOBN.name, "BN": presets.covariate_shift.BN_FIG1_BN.name}


def fig1_tables(table: str, noisy: bool = False) -> dict[str, pd.DataFrame]:
    from ui.lesson_runs import labelled

    pair = {**FIG1, "noisy BN": presets.covariate_shift.BN_NOISY.name} if noisy else FIG1
    return labelled(pair, table, DEMO)


def test_l04_percentiles_move_more_without_bn():
    bands = shown("bn-fig1-percentiles").sort_values("step").groupby("variant")
    moved = (bands["q50"].last() - bands["q50"].first()).abs()
    claim(L04, "In which run will the three lines move more? ### Predict - [x] Without BN",
          moved["no BN"] > 5 * moved["BN"], f"median moved {moved.to_dict()}")


def test_l04_bn_trains_faster_and_the_plain_net_plateaus():
    wide = shown("bn-fig1-accuracy").pivot_table(index="step", columns="variant", values="value")
    at = wide[wide.index <= 300].iloc[-1]
    claim(L04, "- [x] The one with BN", at["BN"] > 0.5 > at["no BN"], f"test accuracy at step {at.name}: {at.to_dict()}")
    claim(CS_CHARTS, "The BN net leaves chance level within a few hundred steps; the no-BN net sits on a plateau first.",
          at["BN"] > 0.5 and at["no BN"] < 0.2, at.to_dict())


def test_l04_ics_is_not_smaller_with_bn():
    from analysis import covariate_shift as cs

    ics = cs.ics_summary(fig1_tables("ics")).groupby(["layer", "variant"])[["ics_l2", "ics_relative", "ics_cos"]].median()
    l2, rel, cos = (ics[m].unstack() for m in ("ics_l2", "ics_relative", "ics_cos"))
    claim(L04, "- [x] No: similar, or even larger with BN", (l2["BN"] >= 0.9 * l2["no BN"]).all(), l2.to_dict())
    claim(CS_CHARTS, "the 'internal covariate shift' Santurkar et al. measure is as large or larger with BN",
          (l2["BN"] >= 0.9 * l2["no BN"]).all(), l2.to_dict())
    claim(CS_CHARTS, "Relative to the gradient's own size, the shift is of the same order with and without BN.",
          (rel["BN"] / rel["no BN"]).between(0.5, 2.0).all(), rel.to_dict())
    claim(CS_CHARTS, "BN does not raise it", (cos["BN"] <= cos["no BN"] + 0.01).all(), cos.to_dict())


def test_l04_smoothness_differs_only_once_both_nets_learn():
    from analysis import findings

    smooth, accuracy = shown("bn-smoothness"), shown("bn-fig1-accuracy")
    whole = smooth.groupby("variant")["loss_range"].median()
    start = findings.learning_from(accuracy)
    window = smooth[smooth["step"] >= start].groupby("variant")["loss_range"].median()
    claim(L04, "over the whole run the two median loss ranges are equal", abs(whole["BN"] - whole["no BN"]) < 0.01,
          whole.to_dict())
    claim(L04, "BN's median loss range is less than half of the plain net's", window["BN"] < 0.5 * window["no BN"],
          f"from step {start}: {window.to_dict()}")
    claim(L04, "sits on a plateau for its first few hundred steps", 200 <= start <= 1000, f"both learn from {start}")


def test_l04_noisy_bn_trains_like_bn_although_its_inputs_move_more():
    from analysis import covariate_shift as cs

    final = shown("bn-noisy-accuracy").sort_values("step").groupby("variant")["value"].last()
    claim(L04, "- [x] It trains almost as well as plain BN", abs(final["noisy BN"] - final["BN"]) < 0.02, final.to_dict())
    claim(L04, "far better than networks without BN", final["noisy BN"] > final["no BN"] + 0.05, final.to_dict())
    drift = cs.median_drift_summary(fig1_tables("units", noisy=True)).pivot_table(index="layer", columns="variant",
                                                                                  values="path")
    claim(CS_CHARTS, "although its layers' inputs move more from step to step than without BN",
          (drift["noisy BN"] > drift["no BN"]).all(), drift.to_dict())


def test_covariate_shift_page_drift_captions():
    from analysis import covariate_shift as cs

    bands = cs.layer_bands(fig1_tables("activations")).sort_values("step").groupby(["variant", "layer"])
    width = (bands["q85"].last() - bands["q15"].last()) / (bands["q85"].first() - bands["q15"].first())
    moved = (bands["q50"].last() - bands["q50"].first()).abs()
    claim(CS_CHARTS, "Without BN every layer's band widens several-fold and the deepest layer's median moves most; "
                     "with BN the medians stay near 0 and the bands widen far less.",
          (width["no BN"] > 2).all() and moved["no BN"].idxmax() == "hidden3" and (moved["BN"] < 0.3).all()
          and width["BN"].max() < width["no BN"].min(), f"width x {width.round(2).to_dict()}, moved {moved.round(2).to_dict()}")
    drift = cs.layer_drift(fig1_tables("activations")).groupby(["measure", "variant"])["value"].median().unstack()
    claim(CS_CHARTS, "the change of a layer's mean and std between probes is far smaller with BN",
          (drift["BN"] < drift["no BN"] / 5).all(), drift.to_dict())


def test_covariate_shift_page_placement_caption():
    from ui.lesson_runs import sweep

    runs = sweep(presets.covariate_shift.BN_PLACEMENT.name, {"batchnorm": "model.batchnorm"}, DEMO)
    acc = runs.set_index("batchnorm")["test_accuracy"]
    claim(CS_CHARTS, "BN before or after the sigmoid both train faster than no BN; the gap between them is small.",
          min(acc["before"], acc["after"]) > acc["none"] + 0.2 and abs(acc["before"] - acc["after"]) < 0.05,
          acc.to_dict())


# lesson 05 (tuning): tests/test_claims_tuning.py


# ---------------------------------------------------------------- the README's table of measured figures

def fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def test_readme_textbook_rows():
    acc = finals_by_model("dropout-accuracy")["test"]
    claim(README, f"test accuracy {fmt(acc['dropout'], 3)} ({fmt(acc['no dropout'], 3)} without dropout)", True, acc)
    w3 = shown("poly-weights-degree3")["learned"]
    claim(README, "[" + ", ".join(fmt(v, 3) for v in w3) + "] (least squares", True, list(w3))
    w1, w19 = shown("poly-weights-degree1")["learned"], shown("poly-weights-degree19")["learned"]
    claim(README, "[" + ", ".join(fmt(v, 3) for v in w1) + "] / [" + ", ".join(fmt(v, 2) for v in w19[:6]) + ", ...]",
          True, (list(w1), list(w19[:6])))
    norms = shown("wd-norm").sort_values("step").groupby("run")["norm"].last()
    claim(README, f"{fmt(norms['weight-decay-0'], 2)} vs {fmt(norms['weight-decay-3'], 3)} (sweep mean of 5", True, norms)


def test_readme_degree_sweep_row():
    summary = degree_sweep_summary()
    bias, variance = components(summary, 100, 0.1, "bias^2"), components(summary, 100, 0.1, "variance")
    climbs = bias[bias.index > 3][lambda b: b > 0.01].index.min()
    claim(README, f"bias^2 {bias[1]:.2f} (deg 1) -> ~0 (deg 3-10), then climbing again from degree 11",
          (bias.loc[3:10] <= 0.01).all() and climbs == 11, bias.round(4).to_dict())
    claim(README, f"variance {variance[3]:.1e} (deg 3) -> {variance[9]:.1f} (deg 9) -> {variance[13]:.1e} (deg 13)"
          .replace("e-04", "e-4").replace("e+04", "e4"), True, variance.to_dict())


def test_readme_random_features_row():
    from ui.lesson_runs import sweep

    errors = {}
    for name in (presets.bias_variance.WIDTH_SWEEP_RF.name, presets.bias_variance.WIDTH_SWEEP_RF_NOISY.name):
        table = sweep(name, {"widths": "model.widths"}, DEMO)
        errors[name] = dict(zip(table["widths"].map(lambda w: w[0]), (1 - table["test_accuracy"]).round(3)))
    clean, noisy = errors.values()
    claim(README, f"test error peaks at width 500 = n: {clean[500]} vs {clean[125]} (width 125) and {clean[2000]} "
                  f"(width 2000); with 20% label noise {noisy[500]} vs {noisy[125]} and {noisy[2000]}",
          max(clean, key=clean.get) == 500 and max(noisy, key=noisy.get) == 500, errors)


def test_readme_batchnorm_rows():
    from analysis import covariate_shift as cs
    from analysis import findings
    from ui.lesson_runs import sweep

    drift = cs.median_drift_summary(fig1_tables("units")).set_index(["variant", "layer"])["net"]
    claim(README, f"{drift['no BN', 'hidden3']:.2f} without BN vs {drift['BN', 'hidden3']:.2f} with BN", True, drift)
    runs = sweep(presets.covariate_shift.BN_LR_SWEEP.name, {"lr": "optim.lr", "batchnorm": "model.batchnorm"}, DEMO,
                 states=("finished", "diverged"))
    outcomes = cs.sweep_outcomes(runs)
    usable = cs.usable_lr_range(outcomes).set_index("batchnorm")
    only_bn = cs.lr_only_bn_trains(outcomes)
    claim(README, f"usable lr: BN {usable.loc['before', 'lowest']:g}-{usable.loc['before', 'highest']:g} "
                  f"({usable.loc['before', 'count']} rates), no BN {usable.loc['none', 'lowest']:g}-"
                  f"{usable.loc['none', 'highest']:g} ({usable.loc['none', 'count']} rates); BN trains, no BN does not "
                  f"at lr 0.01 (too slow without BN), 1 and 3", only_bn == [0.01, 1.0, 3.0], only_bn)
    ics = cs.ics_summary(fig1_tables("ics")).groupby(["variant", "layer"])["ics_l2"].median()
    claim(README, "with BN " + " / ".join(f"{v:.2f}" for v in ics["BN"]) + ", without "
          + " / ".join(f"{v:.2f}" for v in ics["no BN"]), True, ics)
    smooth, accuracy = shown("bn-smoothness"), shown("bn-fig1-accuracy")
    start = findings.learning_from(accuracy)
    window = smooth[smooth["step"] >= start].groupby("variant")["loss_range"].median()
    whole = smooth.groupby("variant")["loss_range"].median()
    claim(README, f"from step {start}, where both nets pass 50% test accuracy: {window['BN']:.2f} with BN vs "
                  f"{window['no BN']:.2f} without; over the whole run {whole['BN']:.2f} vs {whole['no BN']:.2f}",
          True, (window, whole))


def test_readme_keras_and_dropout_rows():
    outcomes = keras_charts.keras_outcomes(DEMO).set_index("layout")
    plain, course = outcomes.loc["no BN"], outcomes.loc["BN before every Dense (course)"]
    claim(README, f"no BN on raw features: diverged at step {plain['diverged at step']}; BN before every Dense (the "
                  f"course's layout): test MAE {course['final test MAE']:.2f} (best {course['best test MAE']:.2f})",
          plain["state"] == "diverged", outcomes)
    curve, reference = dropout_table("mc_average"), float(dropout_table("subnet_reference")["accuracy"].iloc[0])
    from analysis import dropout as dp

    k_std = dp.mc_within_one_std(curve, reference)
    claim(README, f"within one std of the weight-scaled net ({reference:.3f}) from k = {k_std}; the mean meets it at "
                  f"k = 5, every seed from k = 50", True, k_std)
    removal = shown("dropout-removal")
    at_half = removal[removal["fraction"] == 0.5].groupby("model")["accuracy"].mean()
    claim(README, f"{at_half['dropout']:.3f} with dropout vs {at_half['no dropout']:.3f} without", True, at_half)
    summary = shown("dropout-rate-sweep")
    test = summary[summary["split"] == "test"].set_index("rate")["value"]
    gap = summary[summary["split"] == "gap"].set_index("rate")["value"]
    claim(README, f"test accuracy 0.80-0.82 for p = 0-0.6, {test[0.8]:.2f} at 0.8, {test[0.9]:.2f} at 0.9; train-test "
                  f"gap {gap[0.0]:.2f} at p = 0, {gap[0.6]:.2f} at 0.6",
          test.loc[0:0.6].between(0.795, 0.825).all(), test.to_dict())
    sparsity = dropout_table("sparsity").merge(dropout_table("sparsity", "d2l-no-dropout"), on="layer",
                                               suffixes=("_with", "_without"))
    # "not sparser with dropout": each layer's mean activation is no lower with dropout
    claim(README, "not sparser with dropout (" + "/".join(f"{v:.2f}" for v in sparsity["mean_activation_with"])
          + " vs " + "/".join(f"{v:.2f}" for v in sparsity["mean_activation_without"]) + ")",
          (sparsity["mean_activation_with"] >= sparsity["mean_activation_without"]).all(), sparsity)


# ---------------------------------------------------------------- page texts and the demo cache itself

DROPOUT_PAGE, BN_PAGE = REPO / "views" / "dropout.py", REPO / "views" / "covariate_shift.py"


def test_the_no_dropout_sweep_run_memorises_its_training_set():
    summary = shown("dropout-rate-sweep")
    train = summary[(summary["split"] == "train")].set_index("rate")["value"]
    claim(DROPOUT_PAGE, "so that the net without dropout memorises its training set", train[0.0] >= 0.999, train[0.0])


def test_the_figure_1_runs_are_about_1700_steps():
    from ui.lesson_runs import run_folders

    steps = {name: store_status(folder).get("total_steps") for name, folder in run_folders(list(FIG1.values()), DEMO).items()}
    claim(BN_PAGE, "~1.7k steps instead of 50k", all(1600 <= s <= 1800 for s in steps.values()), steps)
    claim(L04, "the lab trains 5 epochs of 20,000 images (about 1,700 steps)",
          all(1600 <= s <= 1800 for s in steps.values()), steps)


def store_status(folder: Path) -> dict:
    from cache import store

    return store.read_status(folder)


def test_readme_demo_cache_size():
    folders = [p for p in DEMO[0].iterdir() if p.is_dir()]
    megabytes = sum(f.stat().st_size for f in DEMO[0].rglob("*") if f.is_file()) / 1e6
    claim(README, f"{len(folders)} runs, {megabytes:.0f} MB on disk", True, (len(folders), megabytes))


def test_l06_input_bn_alone_trains_but_ends_worse():
    outcomes = keras_charts.keras_outcomes(DEMO).set_index("layout")
    alone, course = outcomes.loc["input BN only"], outcomes.loc["BN before every Dense (course)"]
    inside = outcomes.loc[["BN before every Dense (course)", "input BN + BN before each ReLU"], "final test MAE"]
    dropout = outcomes.loc["BN + dropout 0.3 (course)", "final test MAE"]
    claim(L06, "- [x] It trains, but ends with a clearly higher test MAE",
          alone["state"] == "finished" and alone["final test MAE"] > course["final test MAE"] + 1, outcomes)
    claim(L06, "But it ends about two MPa worse than the layouts with BN inside the net too",
          1.5 <= alone["final test MAE"] - inside.max() <= 2.5, outcomes["final test MAE"].to_dict())
    claim(L06, "the course's dropout + BN model lands between them", inside.max() < dropout < alone["final test MAE"],
          outcomes["final test MAE"].to_dict())
