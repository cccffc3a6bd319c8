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
