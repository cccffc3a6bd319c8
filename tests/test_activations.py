"""Activations: the lab's layers and their derivatives against torch.autograd on torch's own
functions (the oracle), the textbook's peaks, and the deep-net summaries on a logged run."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from analysis import activations as act

X = torch.linspace(-7, 7, 1401, dtype=torch.float64)
REFERENCE = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
             "prelu": lambda x: F.prelu(x, torch.tensor([0.25], dtype=torch.float64))}


def _oracle(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    y = fn(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), grad


@pytest.mark.parametrize("name", act.NAMES)
def test_values_and_derivatives_match_torch_autograd(name):
    points = X[X.abs() > 1e-9]     # ReLU and pReLU have no derivative at 0; checked below
    y, grad = act.value_and_derivative(name, points)
    y_ref, grad_ref = _oracle(REFERENCE[name], points)
    assert torch.allclose(y, y_ref, atol=1e-12) and torch.allclose(grad, grad_ref, atol=1e-12)


def test_the_textbook_derivatives_and_their_peaks():
    _, sig = act.value_and_derivative("sigmoid", X)
    _, tanh = act.value_and_derivative("tanh", X)
    s, t = torch.sigmoid(X), torch.tanh(X)
    assert torch.allclose(sig, s * (1 - s)) and torch.allclose(tanh, 1 - t ** 2)
    assert sig.max().item() == pytest.approx(0.25) and X[sig.argmax()].abs() < 1e-9
    assert tanh.max().item() == pytest.approx(1.0) and X[tanh.argmax()].abs() < 1e-9
    _, relu = act.value_and_derivative("relu", X)
    assert set(relu.tolist()) == {0.0, 1.0}
    assert act.value_and_derivative("relu", torch.zeros(1))[1].item() == 0.0     # the textbook's convention at 0
    _, prelu = act.value_and_derivative("prelu", X, prelu_slope=0.1)
    assert set(prelu.round(decimals=9).tolist()) == {0.1, 1.0}


def test_the_caption_reads_the_curves():
    story = act.derivative_story(act.curves())
    assert "sigmoid' peaks at 0.25 (at x = 0)" in story and "tanh' peaks at 1 (at x = 0)" in story
    assert "relu' takes only the values 0 and 1" in story


def test_deep_net_summaries():
    weights = pd.DataFrame({"step": [0, 5, 5, 5, 5], "member": 0, "layer": ["hidden1", "hidden1", "hidden2",
                            "output", "output"], "param": ["weight"] * 4 + ["bias"],
                            "grad_norm": [None, 0.1, 0.5, 2.0, 9.0]})
    norms = act.grad_norms(weights)
    assert norms["layer"].tolist() == ["hidden1", "hidden2", "output"] and norms["grad_norm"].tolist() == [0.1, 0.5, 2.0]
    acts = pd.DataFrame({"step": [1, 1, 2, 2, 2], "layer": ["h1", "h1", "h1", "h1", "h2"],
                         "site": ["pre", "post", "pre", "post", "post"], "frac_zero": [0, 0.2, 0, 0.6, 0.8],
                         "frac_saturated": [0.1, 0.1, 0.3, 0.3, 0.0]})
    final = act.final_states(acts)
    assert final.to_dict("records") == [{"layer": "h1", "zero": 0.6, "saturated": 0.3},
                                        {"layer": "h2", "zero": 0.8, "saturated": 0.0}]


# ---------------------------------------------------------------- pReLU's learned slope

def test_the_slopes_read_from_a_checkpoint_are_the_models_prelu_weights(tmp_path):
    """A tiny deep pReLU run (2 members, 3 layers): the frame equals each loaded layer's weights."""
    from cache import store
    from tests.conftest import build_run, tiny
    from training.presets import activations as presets

    spec = tiny(presets.DEEP_PRELU.spec, model__widths=[8, 8, 8], data__n_train=240, data__n_test=120, epochs=2,
                probe_every=4, ensemble=2)
    folder = build_run(spec, tmp_path)
    slopes = act.prelu_slopes(store.load_checkpoint(folder, "final")["model"])
    model = store.load_model(folder, "final")
    expected = [{"layer": name, "depth": depth, "member": k, "slope": float(block.act.weight.detach()[k, 0, 0])}
                for depth, (name, block) in enumerate(model.hidden.items(), start=1) for k in range(2)]
    assert slopes.to_dict("records") == expected
    assert (slopes["slope"] != act.PRELU_INITIAL).all()          # trained: every slope moved


@pytest.mark.parametrize("slope", [0.0, 0.1, 0.3137, 1.0, 1.7])
def test_prelu_at_a_learned_slope_matches_torch_autograd(slope):
    points = X[X.abs() > 1e-9]
    y, grad = act.value_and_derivative("prelu", points, prelu_slope=slope)
    y_ref, grad_ref = _oracle(lambda x: F.prelu(x, torch.tensor([slope], dtype=torch.float64)), points)
    assert torch.allclose(y, y_ref, atol=1e-12) and torch.allclose(grad, grad_ref, atol=1e-12)
    frame = act.curves(prelu_slope=slope)
    left = frame[(frame["activation"] == "prelu") & (frame["curve"] == "f'(x)") & (frame["x"] < 0)]
    assert left["value"].to_numpy() == pytest.approx(slope)


def test_the_slope_caption_reads_the_frame():
    slopes = pd.DataFrame({"layer": ["h1", "h2"], "depth": [1, 2], "member": 0, "slope": [0.3, 0.2]})
    story = act.slope_story(slopes)
    assert "h1 0.300, h2 0.200" in story and "1 of 2 layers' slopes fell below their initial 0.25" in story
    assert "every layer's slope rose" in act.slope_story(slopes.assign(slope=[0.3, 0.4]))


def test_the_two_textbook_listings_summarised():
    table = pd.DataFrame({"epoch": [1, 1, 2, 2], "version": ["scratch", "concise"] * 2,
                          "loss": [1.0, 1.0 + 2e-6, 0.5, 0.5], "test_accuracy": [0.7, 0.7, 0.8, 0.8001],
                          "test_images": 10_000})
    assert act.version_gaps(table) == pytest.approx({"loss": 2e-6, "test_accuracy": 1e-4})
    curves = act.version_curves(table)
    assert set(curves["version"]) == {"from scratch", "nn.Sequential"} and set(curves["split"]) == {"train", "test"}
    assert "(1 of 10,000 test images)" in act.version_story(table)
