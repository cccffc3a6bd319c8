"""The three reproduced effects, pinned on the committed demo cache: what the pages, the
walkthrough steps and the README claim must hold in the runs they show."""
from __future__ import annotations

from pathlib import Path

import pytest

from analysis import covariate_shift as cs
from analysis import double_descent as ddx
from analysis import smoothness as sm
from ui import effect_charts as ec
from ui.lesson_runs import labelled

DEMO = [Path(__file__).resolve().parent.parent / "cache" / "demo"]


@pytest.fixture(scope="module")
def sweeps() -> dict[str, dict]:
    _, summaries, _ = ec.sweep_errors(DEMO)
    return summaries


def test_noisy_labels_give_a_test_error_peak_at_the_interpolation_threshold(sweeps):
    noisy = sweeps["20% label noise"]
    assert noisy["threshold"] is not None, "no width fits the noisy training set"
    assert noisy["is_peak"] and noisy["clear"] and noisy["height"] > 0.01, noisy     # > 2 standard errors
    assert noisy["at_threshold"], noisy                    # within a factor of 2 of where train error first hits ~0
    assert noisy["peak_width"] > noisy["dip_width"] and noisy["after_width"] > noisy["peak_width"]


def test_clean_labels_fit_at_a_smaller_width_with_a_lower_peak(sweeps):
    clean, noisy = sweeps["clean labels"], sweeps["20% label noise"]
    assert clean["threshold"] is not None and clean["threshold"] < noisy["threshold"]
    assert clean["height"] < noisy["height"]


def test_the_epoch_wise_view_falls_then_rises_near_the_threshold():
    curves = ec.dd_epochs(DEMO).data
    test = curves[curves["split"] == "test"].sort_values("epoch")
    assert test["error"].iloc[-1] > test["error"].min() + 0.02
    assert test["epoch"].iloc[test["error"].argmin()] < test["epoch"].max() / 4


def test_dropout_lowers_the_autoencoders_mean_activation():
    table = ec.ae_summary(DEMO).set_index("model")
    assert table.loc["dropout", "mean_activation"] < 0.6 * table.loc["no dropout", "mean_activation"], table
    assert table.loc["dropout", "frac_zero"] > table.loc["no dropout", "frac_zero"]
    assert ec.ae_filters("encoder", DEMO).data["units"].tolist() == [256, 256]


def test_bn_gives_the_smaller_loss_range_where_both_nets_learn():
    smooth, scalars = labelled(ec.LANDSCAPE, "smoothness", DEMO), labelled(ec.LANDSCAPE, "scalars", DEMO)
    window = sm.learning_window(scalars)
    assert window is not None and window[1] - window[0] > 1000, window
    ratios = sm.smoothness_ratios(smooth, window).set_index("measure")
    assert ratios.loc["loss_range", "median_ratio"] > 2, ratios
    assert ratios.loc["grad_change", "median_ratio"] > 2, ratios


def test_the_deep_linear_net_with_bn_has_more_ics_and_trains_better():
    ics = ec.dln_ics(DEMO).data.groupby("variant")["ics_relative"].median()
    assert ics["BN"] > 10 * ics["no BN"], ics
    loss = cs.accuracy_curves(labelled(ec.DLN, "scalars", DEMO), split="train", metric="loss")
    last = loss.sort_values("step").groupby("variant")["value"].last()
    assert last["BN"] < 0.6 * last["no BN"], last


def test_summary_numbers_the_readme_quotes_are_computable(sweeps):
    for summary in sweeps.values():
        assert set(summary) >= {"threshold", "peak_width", "peak", "dip", "after", "height", "at_threshold", "clear"}
    assert ddx.ZERO_TRAIN_ERROR == 0.01
