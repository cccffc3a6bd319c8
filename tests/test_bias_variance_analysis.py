"""Bias-variance estimators against oracles: closed-form OLS, Monte Carlo, hand arithmetic."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from analysis.bias_variance import (
    TRUE_POLY_WEIGHTS, decomposition_table, ols_closed_form_bias_variance, polynomial_features,
    regression_decomposition, ridge_fit, error_table, true_polynomial, weight_norm,
    yang_ce_decomposition, yang_mse_decomposition)
from analysis.bias_variance_charts import (
    stacked_decomposition_chart, train_test_curve_chart, weights_vs_truth_chart)

SIGMA2 = 0.25


def _ols_monte_carlo(X, Xt, f_train, k, rng):
    """Fit OLS on k noise draws of a FIXED design X [n, p]; predictions [k, m] at Xt."""
    Y = f_train[:, None] + rng.normal(0, math.sqrt(SIGMA2), (X.shape[0], k))  # [n, k]
    betas = np.linalg.lstsq(X, Y, rcond=None)[0]                             # [p, k]
    return (Xt @ betas).T


@pytest.fixture
def design():
    rng = np.random.default_rng(0)
    x, xt = rng.uniform(-1, 1, 25), rng.uniform(-1, 1, 400)
    lin = lambda v: np.stack([np.ones_like(v), v], axis=1)  # noqa: E731  [n, 2]
    return rng, x, xt, lin


def test_ols_monte_carlo_matches_closed_form_correct_model(design):
    rng, x, xt, lin = design
    X, Xt, beta = lin(x), lin(xt), np.array([0.5, -2.0])
    preds = _ols_monte_carlo(X, Xt, X @ beta, 2000, rng)
    mc = regression_decomposition(preds, Xt @ beta, SIGMA2)
    exact = ols_closed_form_bias_variance(X, Xt, beta, SIGMA2)
    assert exact["bias2"] == pytest.approx(0.0, abs=1e-20)
    assert mc["variance"] == pytest.approx(exact["variance"], rel=0.05)
    # The plug-in bias^2 is only the noise of the mean of 2000 fits: ~ variance / K.
    assert mc["bias2"] < 5 * exact["variance"] / 2000


def test_ols_monte_carlo_matches_closed_form_underfitting(design):
    rng, x, xt, lin = design
    truth = lambda v: 1.0 + v + 3.0 * v**2  # noqa: E731  quadratic truth, linear fit
    X, Xt = lin(x), lin(xt)
    preds = _ols_monte_carlo(X, Xt, truth(x), 2000, rng)
    noisy = truth(xt) + rng.normal(0, math.sqrt(SIGMA2), preds.shape)  # fresh target per fit
    mc = regression_decomposition(preds, truth(xt), SIGMA2, y_test=noisy)
    exact = ols_closed_form_bias_variance(X, Xt, None, SIGMA2, f_train=truth(x), f_test=truth(xt))
    assert exact["bias2"] > 0.3                                   # the line misses the curve
    assert mc["bias2"] == pytest.approx(exact["bias2"], rel=0.03)
    assert mc["variance"] == pytest.approx(exact["variance"], rel=0.05)
    assert mc["expected_test_mse"] == pytest.approx(mc["measured_test_mse"], rel=0.02)
    assert mc["measured_test_mse"] == pytest.approx(exact["expected_test_mse"], rel=0.02)


def test_ols_rank_deficient_raises():
    with pytest.raises(ValueError, match="n_train=2, p=3"):
        ols_closed_form_bias_variance(np.ones((2, 3)), np.ones((4, 3)), np.zeros(3), 1.0)


def test_regression_decomposition_needs_two_members():
    with pytest.raises(ValueError, match=r"variance needs at least 2 members \(K >= 2\)"):
        regression_decomposition(np.zeros((1, 5)), np.zeros(5), 0.1)


def _poly_decomposition(degree, rng, x_test, k=200, n=30):
    preds = np.empty((k, x_test.size))
    for i in range(k):  # K resampled training sets, D2L 2.1 noise sd 0.1
        x = rng.normal(0, 1, n)
        y = true_polynomial(x) + rng.normal(0, 0.1, n)
        w = np.linalg.lstsq(polynomial_features(x, degree), y, rcond=None)[0]
        preds[i] = polynomial_features(x_test, degree) @ w
    return regression_decomposition(preds, true_polynomial(x_test), 0.01)


def test_polynomial_bias_falls_and_variance_rises_with_degree():
    rng = np.random.default_rng(1)
    x_test = np.linspace(-1.5, 1.5, 50)
    res = {d: _poly_decomposition(d, rng, x_test) for d in (1, 3, 12)}
    assert res[3]["bias2"] < 0.01 * res[1]["bias2"]
    assert res[12]["variance"] > 2 * res[3]["variance"]
    # The cubic is correctly specified: its bias^2 is at the level of variance / K.
    assert res[3]["bias2"] < 0.05 * res[3]["variance"]


def test_polynomial_oracle_numpy_and_torch():
    x = np.array([0.0, 1.0, -2.0])
    feats = polynomial_features(x, 3)
    assert feats.shape == (3, 4) and feats.dtype == np.float64
    np.testing.assert_allclose(feats[2], [1, -2, 4 / 2, -8 / 6])
    np.testing.assert_allclose(feats @ np.array(TRUE_POLY_WEIGHTS), true_polynomial(x))
    xt = torch.tensor(x, dtype=torch.float32)
    ft = polynomial_features(xt, 3)
    assert isinstance(ft, torch.Tensor) and ft.dtype == torch.float32 and ft.shape == (3, 4)
    np.testing.assert_allclose(ft.numpy(), feats, rtol=1e-6)
    assert true_polynomial(1.0) == pytest.approx(5 + 1.2 - 1.7 + 5.6 / 6)


# Tiny Yang example: N=2 models, 2 test points, 3 classes.
#   x1 (label 0): f1 = [.8, .1, .1],   f2 = [.2, .4, .4]
#   x2 (label 1): f1 = [.9, .05, .05], f2 = [.1, .45, .45]
PROBS = np.array([[[0.8, 0.1, 0.1], [0.9, 0.05, 0.05]],
                  [[0.2, 0.4, 0.4], [0.1, 0.45, 0.45]]])
LABELS = np.array([0, 1])
ONEHOT = np.eye(3)[LABELS]


def test_yang_mse_by_hand():
    # x1: ||f1||^2 = .66, ||f2||^2 = .36 -> mean .51; mean f = [.5,.25,.25], ||.||^2 = .375
    #     spread .51 - .375 = .135, times N/(N-1) = 2 -> .27
    # x2: ||f1||^2 = .815, ||f2||^2 = .415 -> mean .615; mean f again [.5,.25,.25] -> .375
    #     spread .24, times 2 -> .48.           variance = (.27 + .48) / 2 = .375
    # risk: x1 ||f1-y||^2 = .06, ||f2-y||^2 = .96 -> .51; x2 1.715, .515 -> 1.115
    #       risk = (.51 + 1.115) / 2 = .8125;   bias2 = .8125 - .375 = .4375
    out = yang_mse_decomposition(PROBS, ONEHOT)
    assert out["variance"] == pytest.approx(0.375)
    assert out["risk"] == pytest.approx(0.8125)
    assert out["bias2"] == pytest.approx(0.4375)
    # Same bias2 as ||mean f - y||^2 (.375, .875 -> .625) minus variance / N (.1875).
    assert out["bias2"] == pytest.approx(0.625 - 0.375 / 2)


def test_yang_mse_uses_unbiased_factor_for_n3():
    probs = np.random.default_rng(2).dirichlet(np.ones(4), size=(3, 5))  # [3, 5, 4]
    onehot = np.eye(4)[[0, 1, 2, 3, 0]]
    out = yang_mse_decomposition(probs, onehot)
    biased = np.mean(probs.var(axis=0, ddof=0).sum(-1))
    assert out["variance"] == pytest.approx(biased * 3 / 2)
    assert out["variance"] == pytest.approx(np.mean(probs.var(axis=0, ddof=1).sum(-1)))


def test_yang_ce_by_hand():
    # Geometric means: x1 sqrt(.8*.2)=.4, sqrt(.1*.4)=.2, .2 -> Z=.8 -> f_bar=[.5,.25,.25]
    #                  x2 sqrt(.9*.1)=.3, sqrt(.05*.45)=.15, .15 -> Z=.6 -> same f_bar
    # bias2 = mean(-log .5, -log .25); variance = mean_x (-log Z) = mean(-log .8, -log .6)
    # KL(f_bar||f1) at x1 = .5 log(.5/.8) + .5 log(.25/.1) = -log .8 (and so does f2's)
    # risk = mean(-log sqrt(.8*.2), -log sqrt(.05*.45)) = mean(-log .4, -log .15)
    out = yang_ce_decomposition(PROBS, LABELS)
    kl_x1 = 0.5 * math.log(0.5 / 0.8) + 0.5 * math.log(0.25 / 0.1)
    assert kl_x1 == pytest.approx(-math.log(0.8))
    assert out["bias2"] == pytest.approx((-math.log(0.5) - math.log(0.25)) / 2)
    assert out["variance"] == pytest.approx((-math.log(0.8) - math.log(0.6)) / 2)
    assert out["risk"] == pytest.approx((-math.log(0.4) - math.log(0.15)) / 2)


def test_yang_ce_identity_is_exact():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(10, 0.3), size=(5, 64))  # [5, 64, 10], some tiny probs
    probs[0, 0, 3] = 0.0                                   # exercises the clip
    out = yang_ce_decomposition(torch.tensor(probs), rng.integers(0, 10, 64))
    assert out["risk"] == pytest.approx(out["bias2"] + out["variance"], rel=1e-12, abs=1e-12)
    assert out["variance"] >= 0


@pytest.mark.parametrize("fn,args", [(yang_mse_decomposition, (PROBS[:1], ONEHOT)),
                                     (yang_ce_decomposition, (PROBS[:1], LABELS))])
def test_yang_single_model_raises(fn, args):
    with pytest.raises(ValueError, match=r"at least 2 members \(K >= 2\)"):
        fn(*args)


def test_ridge_matches_normal_equations_and_shrinks():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(20, 200)), rng.normal(size=20)
    w0, w3 = ridge_fit(X, y, 0.0), ridge_fit(X, y, 3.0)
    np.testing.assert_allclose(X @ w0, y, atol=1e-8)          # p > n: interpolates
    np.testing.assert_allclose((X.T @ X + 3 * np.eye(200)) @ w3, X.T @ y, atol=1e-8)
    assert weight_norm(w3) < weight_norm(w0)
    assert weight_norm(torch.ones(2, 2)) == pytest.approx(2.0)


def _results():
    return {d: {"bias2": 1.0 / d, "variance": 0.1 * d, "noise": 0.01,
                "expected_test_mse": 1.0 / d + 0.1 * d + 0.01, "measured_test_mse": 1.0 / d + 0.1 * d}
            for d in (1, 2, 4)}


def test_decomposition_tables_are_tidy():
    comp = decomposition_table(_results(), "degree")
    assert list(comp.columns) == ["degree", "component", "value"] and len(comp) == 9
    assert set(comp["component"]) == {"bias^2", "variance", "noise"}
    err = error_table(_results(), "degree")
    assert set(err["metric"]) == {"measured_test_mse", "expected_test_mse"}
    yang = decomposition_table({8: {"bias2": 0.2, "variance": 0.1, "risk": 0.3}}, "width")
    assert set(yang["component"]) == {"bias^2", "variance"}


def test_charts_render_to_dict():
    comp = decomposition_table(_results(), "degree")
    err = error_table(_results(), "degree").query("metric == 'measured_test_mse'")
    spec = stacked_decomposition_chart(comp, "degree", err, log_x=True).to_dict()
    text = str(spec)
    assert "layer" in spec and "Bias-variance" in text and "legend" in text
    assert spec["layer"][0]["encoding"]["color"]["field"] == "component"
    assert spec["layer"][1]["mark"]["type"] == "line"
    curve = pd.DataFrame({"epoch": [1, 2, 1, 2], "split": ["train", "train", "test", "test"],
                          "value": [1.0, 0.5, 1.2, 0.9]})
    spec = train_test_curve_chart(curve, "epoch", log_x=False, log_y=True).to_dict()
    encoding = spec.get("encoding") or spec["layer"][0]["encoding"]   # lines, then the legend's pick layer
    assert encoding["y"]["scale"]["type"] == "log" and "subtitle" in spec["title"]
    spec = weights_vs_truth_chart([5.0, 1.2], TRUE_POLY_WEIGHTS).to_dict()
    assert spec["encoding"]["xOffset"]["field"] == "source"
    assert len(spec["datasets"][next(iter(spec["datasets"]))]) == 8
