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
import pytest

from analysis import bias_variance_runs as bvr
from training import presets
from ui import data, lesson_charts
from ui.lesson_runs import finished

REPO = Path(__file__).resolve().parent.parent
DEMO = [REPO / "cache" / "demo"]
LESSONS = REPO / "walkthroughs" / "lessons"
README = REPO / "README.md"


def text_of(path: Path) -> str:
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


def claim(path: Path, sentence: str, holds: bool, measured: str) -> None:
    """The sentence is still in the file, and the data supports it."""
    assert re.sub(r"\s+", " ", sentence) in text_of(path), f"{path.name}: the sentence {sentence!r} is gone; " \
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
