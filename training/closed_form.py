"""Closed-form training of linear models and random features (optim.name = "lstsq").

SGD on the polynomial problem crawls for high degrees (features x^i/i! span many orders
of magnitude, so the Hessian is badly conditioned) and never reaches the least-squares
fit inside a sane epoch budget; the classic bias-variance U-curve is a statement about
that fit. This solves it exactly, in float64, per member.

The trainer minimises mean_i (x_i w + b - y_i)^2 + (lambda/2)||w||^2 (mse without the
1/2, weight decay lambda as in torch's SGD). Setting its gradient to zero gives
(X^T X + (n lambda / 2) D) w = X^T y, with D the identity on the decayed parameters
(the bias only if optim.decay_bias). lambda = 0 uses the minimum-norm lstsq solution,
which stays defined when there are more features than examples.

Random features (Belkin et al. 2019, Nakkiran 2019): an mlp with one hidden layer, no BN
and no dropout. The hidden layer keeps its random initialisation; only the output layer
is fitted, by the same solve on the features H = act(x W1^T + b1) [m, width] of each
member's own training data, with one-hot targets [m, C] for a classification dataset
(so the fit is least squares on the raw outputs; accuracy is their argmax). With
lambda = 0 and width >= m the minimum-norm solution interpolates the training set, and
its norm (hence the test error) blows up where width ~ m: the double-descent peak. The
solve runs in float64 with gelsd (SVD-based, rank cutoff), which stays sane there.
Note the trainer's logged "loss" for classification + mse is the lab's softmax-vs-one-hot
squared error (training/losses.py), the metric of the SGD width sweeps; the raw-output
MSE that this fit minimises is stored by the predictions postprocess (yang-mse-raw).
"""
from __future__ import annotations

import torch

from nets.models import MLP
from runspec import OptimSpec


def solve_member(x: torch.Tensor, y: torch.Tensor, weight_decay: float, has_bias: bool,
                 decay_bias: bool) -> torch.Tensor:
    """x [n, d], y [n, C] (or [n]) -> parameters [d (+1 for the bias, last), C] in float64."""
    design = x.double()
    if has_bias:
        design = torch.cat([design, torch.ones(len(design), 1, dtype=torch.float64)], dim=1)
    target = y.double().reshape(len(design), -1)
    if weight_decay == 0:
        return torch.linalg.lstsq(design, target, driver="gelsd").solution
    penalty = torch.ones(design.shape[1], dtype=torch.float64)
    if has_bias and not decay_bias:
        penalty[-1] = 0.0
    lam = len(design) * weight_decay / 2
    gram = design.T @ design + lam * torch.diag(penalty)
    return torch.linalg.solve(gram, design.T @ target)


def regression_targets(y: torch.Tensor, outputs: int) -> torch.Tensor:
    """Targets for the output layer's solve: class ids [m] -> one-hot [m, C]; values [m, 1] as they are."""
    if y.dtype in (torch.int64, torch.int32) and y.dim() == 1:
        return torch.nn.functional.one_hot(y, outputs).double()
    return y.double().reshape(len(y), -1)


@torch.no_grad()
def random_features(model: MLP, x: torch.Tensor) -> torch.Tensor:
    """x [K, m, d] -> the hidden layer's outputs H [K, m, width] at its (initial) weights."""
    (block,) = model.hidden.values()
    was_training = block.training
    block.eval()
    features = block(x)
    block.train(was_training)
    return features


@torch.no_grad()
def solve_linear_members(model: MLP, x: torch.Tensor, y: torch.Tensor, optim: OptimSpec) -> None:
    """Set each member's output layer to its own closed-form fit on its inputs (a linear
    model) or on its random features (one hidden layer, left at its init).

    x [K, m, d]; y [K, m, 1] values or [K, m] class ids: member k's training examples.
    """
    if len(model.hidden) > 1:
        raise ValueError("the closed-form solver fits linear models or one hidden layer of random features")
    design = random_features(model, x) if model.hidden else x      # [K, m, p]
    layer = model.output                                           # weight [K, C, p], bias [K, 1, C]
    has_bias = layer.bias is not None
    outputs, p = layer.weight.shape[1], layer.weight.shape[2]
    for k in range(model.members):
        target = regression_targets(y[k].cpu(), outputs)           # [m, C]
        params = solve_member(design[k].cpu(), target, optim.weight_decay, has_bias, optim.decay_bias)
        layer.weight[k].copy_(params[:p].T.to(layer.weight.dtype))  # [C, p]
        if has_bias:
            layer.bias[k, 0].copy_(params[p].to(layer.bias.dtype))
