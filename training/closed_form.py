"""Closed-form training of linear models (optim.name = "lstsq").

SGD on the polynomial problem crawls for high degrees (features x^i/i! span many orders
of magnitude, so the Hessian is badly conditioned) and never reaches the least-squares
fit inside a sane epoch budget; the classic bias-variance U-curve is a statement about
that fit. This solves it exactly, in float64, per member.

The trainer minimises mean_i (x_i w + b - y_i)^2 + (lambda/2)||w||^2 (mse without the
1/2, weight decay lambda as in torch's SGD). Setting its gradient to zero gives
(X^T X + (n lambda / 2) D) w = X^T y, with D the identity on the decayed parameters
(the bias only if optim.decay_bias). lambda = 0 uses the minimum-norm lstsq solution,
which stays defined when there are more features than examples.
"""
from __future__ import annotations

import torch

from training.models import MLP
from training.spec import OptimSpec


def solve_member(x: torch.Tensor, y: torch.Tensor, weight_decay: float, has_bias: bool,
                 decay_bias: bool) -> torch.Tensor:
    """x [n, d], y [n, 1] -> parameters [d (+1 for the bias, last)] in float64."""
    design = x.double()
    if has_bias:
        design = torch.cat([design, torch.ones(len(design), 1, dtype=torch.float64)], dim=1)
    target = y.double().reshape(-1, 1)
    if weight_decay == 0:
        return torch.linalg.lstsq(design, target, driver="gelsd").solution.ravel()
    penalty = torch.ones(design.shape[1], dtype=torch.float64)
    if has_bias and not decay_bias:
        penalty[-1] = 0.0
    lam = len(design) * weight_decay / 2
    gram = design.T @ design + lam * torch.diag(penalty)
    return torch.linalg.solve(gram, design.T @ target).ravel()


@torch.no_grad()
def solve_linear_members(model: MLP, x: torch.Tensor, y: torch.Tensor, optim: OptimSpec) -> None:
    """Set each member's output layer to its own closed-form fit.

    x [K, m, d], y [K, m, 1]: member k's training examples (its row of the trainer's indices).
    """
    if model.hidden:
        raise ValueError("the closed-form solver fits linear models only (no hidden layers)")
    layer = model.output                                     # weight [K, 1, d], bias [K, 1, 1]
    has_bias = layer.bias is not None
    for k in range(model.members):
        params = solve_member(x[k].cpu(), y[k].cpu(), optim.weight_decay, has_bias, optim.decay_bias)
        d = layer.weight.shape[2]
        layer.weight[k, 0].copy_(params[:d].to(layer.weight.dtype))
        if has_bias:
            layer.bias[k, 0, 0] = params[d].to(layer.bias.dtype)
