"""Random features + minimum-norm least squares (optim "lstsq" on a one-hidden-layer mlp):
the closed-form fit against torch.linalg.pinv, interpolation past the threshold, and the
double-descent peak at width = n on a small real Fashion-MNIST problem."""
from __future__ import annotations

import pytest
import torch

from cache import store
from tests.conftest import build_run, tiny
from training.closed_form import random_features
from training.datasets import load_dataset
from nets.models import build_model
from postprocess.predictions import store_predictions
from training.presets import get_sweep
from runspec import SpecError, build_spec
from training.trainer import member_indices, member_seeds

PER_MEMBER = 100                      # the interpolation threshold: width = 100 features
WIDTHS = (25, 100, 400)               # the threshold and its neighbours a factor of 4 away


def rf_spec(width: int):
    spec = get_sweep("width-sweep-rf-noisy").specs()[0][1]
    return tiny(spec, model__widths=[width], data__n_train=5 * PER_MEMBER, data__n_test=1000)


@pytest.fixture(scope="module")
def rf_runs(tmp_path_factory) -> dict:
    cache = tmp_path_factory.mktemp("rf")
    return {w: build_run(rf_spec(w), cache) for w in WIDTHS}


def _features_and_fit(folder):
    """Each member's H [K, m, width], one-hot Y [K, m, C] and fitted output weight [K, C, width]."""
    spec = store.read_spec(folder)
    data = load_dataset(spec.data)
    model = build_model(spec.model, data.in_features, data.out_features, member_seeds(spec))
    model.load_state_dict(store.load_checkpoint(folder, "final")["model"])
    idx = member_indices(spec, len(data.y_train))
    H = random_features(model, data.x_train[idx]).double()
    Y = torch.nn.functional.one_hot(data.y_train[idx], data.out_features).double()
    return H, Y, model.output.weight.double()


def test_output_layer_is_the_pinv_solution_and_interpolates_past_the_threshold(rf_runs):
    for width, folder in rf_runs.items():
        H, Y, W = _features_and_fit(folder)
        oracle = torch.stack([torch.linalg.pinv(H[k]) @ Y[k] for k in range(H.shape[0])])  # [K, width, C]
        assert torch.allclose(W.transpose(1, 2), oracle, atol=1e-4 * oracle.abs().max().item())
        outputs = H @ W.transpose(1, 2)                                     # [K, m, C]
        train_mse = ((outputs - Y) ** 2).sum(-1).mean().item()
        if width > PER_MEMBER:
            assert train_mse < 1e-6, (width, train_mse)
        elif width == PER_MEMBER:
            # square H is nearly singular: its smallest singular values fall under the rank cutoff,
            # so the fit is close to, not exactly, interpolating; every training label is still hit
            assert train_mse < 0.05 and torch.equal(outputs.argmax(-1), Y.argmax(-1)), train_mse
        else:
            assert train_mse > 0.1, (width, train_mse)


def test_hidden_layer_keeps_its_init_and_tables_are_logged(rf_runs):
    folder = rf_runs[25]
    spec = store.read_spec(folder)
    data = load_dataset(spec.data)
    fresh = build_model(spec.model, data.in_features, data.out_features, member_seeds(spec))
    trained = store.load_checkpoint(folder, "final")["model"]
    assert torch.equal(trained["hidden.hidden1.linear.weight"], fresh.hidden["hidden1"].linear.weight)
    final = store.read_table(folder, "scalars").query("kind == 'final'")
    got = set(zip(final["member"], final["split"], final["metric"]))
    assert got == {(k, s, m) for k in range(5) for s in ("train", "test") for m in ("loss", "accuracy")}


def test_test_error_peaks_at_the_interpolation_threshold(rf_runs):
    errors = {w: store_predictions(folder)["scores"]["test_error"] for w, folder in rf_runs.items()}
    raw_risk = {w: store.read_table(folder, "bias_variance").query("estimator == 'yang-mse-raw' and quantity == 'risk'")
                ["value"].item() for w, folder in rf_runs.items()}
    assert errors[100] > errors[25] + 0.05 and errors[100] > errors[400] + 0.05, errors
    assert raw_risk[100] > 3 * max(raw_risk[25], raw_risk[400]), raw_risk


def test_lstsq_accepts_one_plain_hidden_layer_only():
    base = {"data": {"name": "fashion-mnist"}, "model": {"kind": "mlp", "widths": [8]},
            "optim": {"name": "lstsq"}, "loss": "mse"}
    assert build_spec(base).optim.name == "lstsq"
    for bad in ({"model": {"kind": "mlp", "widths": [8, 8]}}, {"model": {"kind": "mlp", "widths": [8], "dropout": 0.5}},
                {"model": {"kind": "mlp", "widths": [8], "batchnorm": "after"}}, {"loss": "cross-entropy"}):
        with pytest.raises((SpecError, ValueError), match="random features"):
            build_spec({**base, **bad})
