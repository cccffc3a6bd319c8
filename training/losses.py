"""Per-member losses and scores: every function maps [K, B, ...] outputs to [K] values.

Summing the per-member means gives each member exactly the gradient it would get alone,
which is what lets K members train as one batched model.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def member_loss(outputs: torch.Tensor, targets: torch.Tensor, loss: str, task: str) -> torch.Tensor:
    """outputs [K, B, C]; targets [K, B] class ids or [K, B, 1] values -> mean loss per member [K]."""
    if task == "classification":
        if loss == "cross-entropy":
            per_example = F.cross_entropy(outputs.flatten(0, 1), targets.flatten(), reduction="none")
            return per_example.view(targets.shape).mean(1)
        # Yang et al.: squared (or absolute) error between the softmax and the one-hot label,
        # summed over the classes, or averaged over them ("mse-class-mean", torch's MSELoss).
        probs = outputs.softmax(-1)
        onehot = F.one_hot(targets, outputs.shape[-1]).to(probs.dtype)
        diff = probs - onehot
        if loss == "mse-class-mean":
            return diff.pow(2).mean(-1).mean(1)
        per_example = diff.pow(2).sum(-1) if loss == "mse" else diff.abs().sum(-1)
        return per_example.mean(1)
    diff = outputs - targets
    if loss == "mae":
        return diff.abs().flatten(1).mean(1)
    if loss == "cross-entropy":
        raise ValueError("cross-entropy needs a classification dataset; use loss 'mse' or 'mae' for regression")
    return diff.pow(2).flatten(1).mean(1)    # "mse" and "mse-class-mean" alike: the mean over every output


def member_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return (outputs.argmax(-1) == targets).float().mean(1)


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, loss: str, task: str, chunk: int = 8192) -> dict[str, torch.Tensor]:
    """Eval-mode loss (and accuracy) per member [K].

    x is [n, d] with targets y [n(, 1)] shared by all members, or [K, n, d] with y [K, n(, 1)].
    """
    if x.dim() == 2:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    members, n = model.members, x.shape[1]
    was_training = model.training
    model.eval()
    totals: dict[str, torch.Tensor] = {}
    for start in range(0, n, chunk):
        xb = x[:, start:start + chunk].expand(members, -1, -1)
        yb = y[:, start:start + chunk]
        yb = yb.expand(members, *yb.shape[1:])
        out = model(xb)
        scores = {"loss": member_loss(out, yb, loss, task)}
        if task == "classification":
            scores["accuracy"] = member_accuracy(out, yb)
        for key, value in scores.items():
            totals[key] = totals.get(key, 0) + value * (xb.shape[1] / n)
    model.train(was_training)
    return totals
