"""The data-filled caption sentences (analysis/findings.py) say what their frames show, on
frames built so the answer is known."""
from __future__ import annotations

import pandas as pd

from analysis import findings


def comps(bias, variance, knob="degree"):
    rows = [{knob: k, "component": "bias^2", "value": b} for k, b in enumerate(bias, 1)]
    rows += [{knob: k, "component": "variance", "value": v} for k, v in enumerate(variance, 1)]
    return pd.DataFrame(rows)


def test_capacity_story_finds_zero_bias_its_return_and_the_variance_extremes():
    total = pd.DataFrame({"degree": [1, 2, 3, 4, 5], "value": [9.0, 3.0, 0.02, 0.5, 40.0]})
    text = findings.capacity_story(comps([9.0, 3.0, 0.0, 0.0, 30.0], [0.5, 0.3, 0.01, 0.4, 9.0]), total)
    assert "falls from 9 at degree 1 to about 0 at degree 3" in text
    assert "climbs again from degree 5" in text
    assert "smallest at degree 3 (0.01)" in text and "largest at degree 5 (9)" in text
    assert "lowest at degree 3 (0.02)" in text
    steady = findings.capacity_story(comps([9.0, 3.0, 0.0, 0.0, 0.0], [0.5, 0.3, 0.01, 0.4, 9.0]), total)
    assert "climbs again" not in steady
    never = findings.capacity_story(comps([9.0, 5.0, 4.0, 4.5, 6.0], [0.1] * 5), total)
    assert "never reaches zero" in never and "smallest 4 at degree 3" in never


def test_u_shape_needs_an_inner_minimum():
    curve = lambda test: pd.DataFrame({"degree": range(1, 6), "split": "test", "value": test})
    assert "falls to 0.1 at degree 3" in findings.u_shape(curve([1.0, 0.5, 0.1, 0.4, 2.0]), "degree")
    assert "no U" in findings.u_shape(curve([1.0, 0.5, 0.3, 0.2, 0.1]), "degree")


def test_mc_story_reads_the_mean_and_every_seed():
    curve = pd.DataFrame({"k": [1, 1, 5, 5, 50, 50], "repeat": [0, 1] * 3,
                          "accuracy": [0.80, 0.82, 0.86, 0.84, 0.86, 0.855]})
    text = findings.mc_story(curve, 0.85)
    assert "the mean of 2 mask seeds reaches it from k = 5" in text and "every seed does from k = 50" in text
    assert "stays below it" in findings.mc_story(curve, 0.9)


def test_sparsity_story_says_sparser_only_when_both_measures_agree():
    frame = lambda mean, zero: pd.DataFrame({"layer": ["hidden1"], "mean_activation": [mean], "frac_zero": [zero]})
    assert "sparser with dropout in every layer" in findings.sparsity_story(frame(0.5, 0.9), frame(1.3, 0.5))
    assert "not sparser with dropout" in findings.sparsity_story(frame(0.14, 0.78), frame(0.13, 0.81))


def test_rate_story_flat_range_fall_off_and_gap_trend():
    rows = [(p, "test", t) for p, t in [(0.0, 0.82), (0.3, 0.81), (0.6, 0.80), (0.9, 0.2)]]
    rows += [(p, "gap", g) for p, g in [(0.0, 0.2), (0.3, 0.1), (0.6, 0.05), (0.9, 0.01)]]
    text = findings.rate_story(pd.DataFrame(rows, columns=["rate", "split", "value"]))
    assert "for p from 0 to 0.6" in text and "drops to 0.20 at p = 0.9" in text and "shrinks steadily" in text


def test_learning_window_and_smoothness_story():
    accuracy = pd.DataFrame({"variant": ["BN"] * 3 + ["no BN"] * 3, "step": [0, 10, 20] * 2,
                             "value": [0.1, 0.8, 0.9, 0.1, 0.1, 0.6]})
    assert findings.learning_from(accuracy) == 20 and findings.learning_from(accuracy, 0.95) is None
    smooth = pd.DataFrame({"variant": ["BN"] * 3 + ["no BN"] * 3, "step": [0, 10, 20] * 2,
                           "loss_range": [1.0, 0.2, 0.2, 0.0, 0.0, 0.8]})
    text = findings.smoothness_story(smooth, accuracy)
    assert "from step 20" in text and "BN 0.2, no BN 0.8" in text


def test_percentile_modes_and_fit_stories():
    bands = pd.DataFrame({"variant": ["no BN", "no BN"], "step": [0, 10], "q15": [0.0, -3.0], "q50": [0.5, -2.0],
                          "q85": [1.0, -1.0]})
    assert "moves 2.50 times its final 15-85 half-width, the 15-85 band goes from 1.00 to 2.00" in \
        findings.percentile_story(bands)
    modes = pd.DataFrame({"mode": ["eval (running stats)", "train (batch stats)", "train (batch stats)"],
                          "batch_size": [500, 8, 500], "accuracy": [0.8, 0.6, 0.79]})
    assert "eval mode scores 0.800; train mode scores 0.790 on batches of 500 and 0.600 on batches of 8" in \
        findings.modes_story(modes)
    assert "2.0 times the training error" in findings.fit_story({"train_loss": 0.01, "test_loss": 0.02})
    assert findings.fit_story({}) == ""


def test_choice_story_names_the_setting_its_validation_score_and_the_test_score_once():
    from analysis.tuning import choose

    runs = pd.DataFrame({"lr": [0.1, 0.01], "beta1": [0.9, 0.8], "val_accuracy": [0.5, 0.8],
                         "test_accuracy": [0.9, 0.7]})
    text = findings.choice_story(choose(runs, ("lr", "beta1")), "grid")
    assert text == ("Chosen on validation accuracy of the grid: learning rate 0.01, beta1 0.8 (0.800, best of 2 runs). "
                    "Its test accuracy, read once after the choice: 0.700.")
    shape = pd.DataFrame({"width": [64, 256], "layers": [2, 1], "val_accuracy": [0.7, 0.6], "test_accuracy": [0.1, 0.9]})
    assert "2 hidden layers of 64 units (0.700" in findings.choice_story(choose(shape, ("width", "layers")))
