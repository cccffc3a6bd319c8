"""Decompositions of real (tiny) ensemble runs against oracles: numpy least squares, the
members' squared distance to the truth (= bias^2 + variance), the measured test MSE, and
Yang's terms recomputed with torch's own losses."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from analysis import bias_variance as bv
from analysis import bias_variance_runs as bvr
from cache import store
from tests.conftest import build_run, tiny
from training.datasets import load_dataset
from postprocess.predictions import member_predictions, postprocess, store_predictions
from training.presets import get_preset, get_sweep
from runspec import SpecError
from training.trainer import member_indices


def degree_spec(degree: int, members: int = 24, per_member: int = 20, noise: float = 0.1):
    """The poly-degree-sweep spec at one degree, with a small ensemble."""
    base = get_sweep("poly-degree-sweep").specs()[0][1]
    return base.with_overrides({"data.degree": degree, "ensemble": members, "data.noise_std": noise,
                                "data.n_train": members * per_member, "data.n_test": 400})


def test_closed_form_members_equal_numpy_least_squares(cache_dir):
    spec = degree_spec(5, members=3)
    folder = build_run(spec, cache_dir)
    pred = member_predictions(folder)
    data = load_dataset(spec.data)
    idx = member_indices(spec, len(data.y_train))
    for k in range(3):
        X = data.x_train[idx[k]].double().numpy()
        w = np.linalg.lstsq(X, data.y_train[idx[k], 0].double().numpy(), rcond=None)[0]
        np.testing.assert_allclose(pred["weights"][k], w, rtol=1e-4, atol=1e-5)


def test_closed_form_ridge_matches_the_sgd_objective(cache_dir):
    # The trainer minimises mean (xw - y)^2 + (lambda/2)||w||^2: ridge with lam = n * lambda / 2.
    spec = degree_spec(6, members=2).with_overrides({"optim.weight_decay": 0.5})
    pred = member_predictions(build_run(spec, cache_dir))
    data = load_dataset(spec.data)
    idx = member_indices(spec, len(data.y_train))[1]
    expected = bv.ridge_fit(data.x_train[idx].double().numpy(), data.y_train[idx, 0].double().numpy(),
                            len(idx) * 0.5 / 2)
    np.testing.assert_allclose(pred["weights"][1], expected, rtol=1e-4, atol=1e-6)


def test_lstsq_needs_a_linear_model_under_mse():
    with pytest.raises(SpecError, match="lstsq"):
        get_preset("d2l-mlp").spec.with_overrides({"optim.name": "lstsq"})


@pytest.mark.parametrize("degree", [1, 3])
def test_decomposition_adds_up_to_the_measured_test_mse(cache_dir, degree):
    result = store_predictions(build_run(degree_spec(degree, members=40, noise=0.5), cache_dir))
    res = result["classical"]
    pred = member_predictions(store.find_run([cache_dir], degree_spec(degree, members=40, noise=0.5).run_id))
    # Sampling error of the measured MSE: test points are the independent unit.
    per_point = ((pred["test"] - pred["y_test"]) ** 2).mean(0)              # [n_test]
    se = per_point.std(ddof=1) / np.sqrt(per_point.size)
    assert res["noise"] == pytest.approx(0.25)
    assert abs(res["measured_test_mse"] - res["expected_test_mse"]) < 3 * se
    # bias^2 + variance, from the ensemble mean and spread, is exactly the members' mean squared
    # distance to the noise-free truth, computed here straight from their predictions.
    to_truth = float(((pred["test"].astype(np.float64) - pred["y_test_clean"]) ** 2).mean())
    assert res["bias2"] + res["variance"] == pytest.approx(to_truth, rel=1e-6)      # float32 predictions
    assert res["expected_test_mse"] == pytest.approx(to_truth + 0.25, rel=1e-6)


def test_degree_sweep_bias_falls_and_variance_rises(cache_dir):
    results = {d: store_predictions(build_run(degree_spec(d), cache_dir))["classical"] for d in (1, 3, 10)}
    assert results[3]["bias2"] < 0.05 * results[1]["bias2"]
    assert results[10]["variance"] > 3 * results[3]["variance"]
    # The stored table is what the page reads back.
    folder = build_run(degree_spec(3), cache_dir)
    stored = bvr.summary_dict(store.read_table(folder, "bias_variance"))
    assert stored["classical"]["bias2"] == pytest.approx(results[3]["bias2"])
    stored_w = store.read_table(folder, "learned_weights")
    assert list(stored_w["feature"]) == [0, 1, 2, 3] and set(stored_w["member"]) == {0}
    np.testing.assert_allclose(stored_w["value"], member_predictions(folder)["weights"][0])


def test_width_run_yang_decomposition_and_errors(cache_dir):
    spec = tiny(get_sweep("width-sweep-noisy").specs()[2][1], epochs=2, data__n_train=5 * 60, data__n_test=150,
                probes__eval_max=10_000)
    folder = build_run(spec, cache_dir)
    result = store_predictions(folder)
    probs = torch.tensor(member_predictions(folder)["test"], dtype=torch.float64)     # [K, n, C]
    labels = torch.tensor(member_predictions(folder)["y_test"])
    k, n, c = probs.shape
    onehot = F.one_hot(labels, c).double().expand_as(probs)
    # Yang's MSE terms through torch: risk = mean ||f_k - y||^2, variance = unbiased spread,
    # bias^2 = ||f_bar - y||^2 - variance / K (the unbiased plug-in, another route than risk - variance).
    mse = result["yang-mse"]
    assert mse["risk"] == pytest.approx(F.mse_loss(probs, onehot, reduction="sum").item() / (k * n), rel=1e-9)
    assert mse["variance"] == pytest.approx(probs.var(0, unbiased=True).sum(-1).mean().item(), rel=1e-9)
    bias2 = F.mse_loss(probs.mean(0), onehot[0], reduction="sum").item() / n - mse["variance"] / k
    assert mse["bias2"] == pytest.approx(bias2, rel=1e-9, abs=1e-12)
    # Cross-entropy: f_bar, the normalised geometric mean, is the softmax of the mean log-probability;
    # risk is torch's NLL of the members, bias^2 that of f_bar, variance torch's KL(f_bar || f_k).
    log_p = probs.clamp_min(1e-12).log()
    log_fbar = torch.log_softmax(log_p.mean(0), -1)                                   # [n, C]
    ce = result["yang-ce"]
    assert ce["risk"] == pytest.approx(F.nll_loss(log_p.reshape(k * n, c), labels.repeat(k)).item(), rel=1e-9)
    assert ce["bias2"] == pytest.approx(F.nll_loss(log_fbar, labels).item(), rel=1e-9)
    kl = F.kl_div(log_p, log_fbar.expand_as(log_p), log_target=True, reduction="sum").item() / (k * n)
    assert ce["variance"] == pytest.approx(kl, rel=1e-6) and ce["variance"] > 0
    assert ce["bias2"] + ce["variance"] == pytest.approx(ce["risk"], rel=1e-9)   # Yang's exact identity
    final = store.read_status(folder)["final"]
    # Same members, same test images: the stored error is the trainer's final test error.
    assert result["scores"]["test_error"] == pytest.approx(1 - final["test_accuracy"], abs=1e-6)
    # The decomposition sums the squared error over the classes (Yang et al.'s compute_bias_variance);
    # the sweep trains on their MSELoss, the mean over the classes: C times smaller.
    per_class = c if spec.loss == "mse-class-mean" else 1
    assert result["scores"]["test_loss"] == pytest.approx(final["test_loss"] * per_class, rel=1e-4)
    assert postprocess(folder) is True


def test_single_member_runs_store_scores_only(cache_dir):
    spec = tiny(get_preset("polynomial-degree3").spec, epochs=2)
    result = store_predictions(build_run(spec, cache_dir))
    assert set(result) == {"scores"} and result["scores"]["members"] == 1


def test_the_registry_gives_other_lessons_runs_no_decomposition(cache_dir):
    """Which runs get decomposed is the lesson registry's call: a d2l-mlp run gets no decomposition
    (its lesson stores the two textbook listings instead), a polynomial preset run its predictions'
    tables; an unfinished run is refused by the hook."""
    import lessons

    mlp = tiny(get_preset("d2l-mlp").spec, epochs=1, data__n_train=64, data__n_test=32, model__widths=[4])
    folder = build_run(mlp, cache_dir)
    assert set(lessons.postprocess_run(folder, mlp)) == {"scratch_vs_concise"}
    assert store.read_table(folder, "bias_variance").empty
    poly = tiny(get_preset("polynomial-degree3").spec, epochs=2, ensemble=3, data__n_train=30)
    assert lessons.postprocess_run(build_run(poly, cache_dir), poly) is True
    queued = store.create_run_folder(cache_dir, tiny(poly, epochs=3))
    assert postprocess(queued) is False


def test_peak_vs_neighbours():
    frame = pd.DataFrame({"width": [2, 4, 8, 16, 32, 64], "value": [0.5, 0.3, 0.45, 0.6, 0.2, 0.1]})
    peak = bvr.peak_vs_neighbours(frame, "width")
    assert peak["width"] == 16 and peak["left"] == 0.3 and peak["right"] == 0.1 and peak["is_peak"]
    frame["value"] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    assert not bvr.peak_vs_neighbours(frame, "width")["is_peak"]
    with pytest.raises(ValueError, match="neighbours"):
        bvr.peak_vs_neighbours(frame.head(2), "width")


def test_closed_form_degree_sweep_needs_two_sets_and_shows_the_trend():
    x_test = np.random.default_rng(1).normal(0, 1, 200)
    with pytest.raises(ValueError, match="K >= 2"):
        bvr.closed_form_degree_sweep([1], 30, 0.1, 1, x_test)
    res = bvr.closed_form_degree_sweep([1, 3, 10], 30, 0.1, 60, x_test)
    assert res[3]["bias2"] < 0.01 * res[1]["bias2"] and res[10]["variance"] > 3 * res[3]["variance"]


def test_underdetermined_fit_interpolates():
    rng = np.random.default_rng(2)
    x, y = bvr.draw_polynomial_data(5, 0.1, rng)
    fit = bvr.closed_form_polynomial_fit(x, y, 8, x, y)
    assert fit["underdetermined"] and fit["train_mse"] < 1e-12


def test_page_tables_member_spread_and_peak_table():
    import pandas as pd

    from analysis import bias_variance_runs as bvr
    from analysis.lesson_charts import member_spread

    frame = pd.DataFrame({"lambda": [0.0, 0.0, 3.0, 3.0], "series": "test", "value": [1.0, 3.0, 0.5, 0.7]})
    spread = member_spread(frame, ["lambda", "series"]).set_index("lambda")
    assert spread.loc[0.0, "value"] == 2.0 and spread.loc[0.0, "lo"] == 1.0 and spread.loc[0.0, "hi"] == 3.0
    widths = [4, 16, 64, 256, 1024]
    errors = pd.DataFrame({"width": widths, "variant": "noisy", "series": "test error",
                           "value": [0.5, 0.4, 0.9, 0.3, 0.2]})
    peak = bvr.peak_table(errors).iloc[0]
    assert peak["peak width"] == 64 and peak["error at width/4"] == 0.4 and peak["error at 4 x width"] == 0.3
    assert bool(peak["a peak"])
