"""The textbook's MLP written twice (d2l 4.2 and 4.3): from scratch (explicit parameters,
ReLU by hand, SGD by hand) and the concise nn.Sequential version, started from the same
N(0, 0.01^2) weights and fed the same batches, so a test can show they agree step for step.

Shapes: x [B, 784] (flattened images), W1 [784, 256], W2 [256, 10], logits [B, 10].
"""
from __future__ import annotations

import torch
from torch import nn

Params = list[torch.Tensor]   # [W1, b1, W2, b2]


def init_params(inputs: int = 784, hidden: int = 256, outputs: int = 10, std: float = 0.01, seed: int = 0,
                dtype: torch.dtype = torch.float32) -> Params:
    """d2l's init: weights ~ N(0, std^2), biases 0."""
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.randn(inputs, hidden, generator=gen, dtype=dtype) * std
    w2 = torch.randn(hidden, outputs, generator=gen, dtype=dtype) * std
    return [p.requires_grad_(True) for p in (w1, torch.zeros(hidden, dtype=dtype), w2, torch.zeros(outputs, dtype=dtype))]


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.max(x, torch.zeros_like(x))


def scratch_net(params: Params, x: torch.Tensor) -> torch.Tensor:
    w1, b1, w2, b2 = params
    return relu(x @ w1 + b1) @ w2 + b2


def concise_net(params: Params) -> nn.Sequential:
    """nn.Sequential(Flatten, Linear, ReLU, Linear) holding copies of the same parameters."""
    w1, b1, w2, b2 = (p.detach() for p in params)
    net = nn.Sequential(nn.Flatten(), nn.Linear(w1.shape[0], w1.shape[1]), nn.ReLU(),
                        nn.Linear(w2.shape[0], w2.shape[1])).to(w1.dtype)
    with torch.no_grad():
        net[1].weight.copy_(w1.T), net[1].bias.copy_(b1), net[3].weight.copy_(w2.T), net[3].bias.copy_(b2)
    return net


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(1) == y).float().mean())


def train_both(x: torch.Tensor, y: torch.Tensor, epochs: int = 10, batch_size: int = 256, lr: float = 0.1,
               seed: int = 0, hidden: int = 256, outputs: int = 10, std: float = 0.01,
               test: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[list[dict], Params, nn.Sequential]:
    """Train both versions on identical shuffled batches; rows [epoch, version, loss] (mean
    training loss over the epoch's batches, as d2l reports it), plus test_accuracy after each
    epoch when `test` = (x_test [N, 784], y_test [N]) is given, and the two trained models."""
    params = init_params(x.shape[1], hidden, outputs, std=std, seed=seed, dtype=x.dtype)
    net = concise_net(params)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    gen, rows = torch.Generator().manual_seed(seed), []
    for epoch in range(1, epochs + 1):
        totals = {"scratch": 0.0, "concise": 0.0}
        batches = torch.randperm(len(x), generator=gen).split(batch_size)
        for idx in batches:
            loss = loss_fn(scratch_net(params, x[idx]), y[idx])
            loss.backward()
            with torch.no_grad():
                for p in params:                     # SGD by hand
                    p -= lr * p.grad
                    p.grad.zero_()
            totals["scratch"] += loss.item()
            opt.zero_grad()
            concise = loss_fn(net(x[idx]), y[idx])
            concise.backward()
            opt.step()
            totals["concise"] += concise.item()
        scores = _test_scores(params, net, test)
        rows += [{"epoch": epoch, "version": v, "loss": t / len(batches), **scores.get(v, {})} for v, t in totals.items()]
    return rows, params, net


@torch.no_grad()
def _test_scores(params: Params, net: nn.Sequential, test) -> dict[str, dict]:
    if test is None:
        return {}
    x, y = test
    return {"scratch": {"test_accuracy": accuracy(scratch_net(params, x), y)},
            "concise": {"test_accuracy": accuracy(net(x), y)}}


def largest_difference(params: Params, net: nn.Sequential) -> float:
    """Max |scratch - concise| over all parameters."""
    pairs = [(params[0], net[1].weight.T), (params[1], net[1].bias), (params[2], net[3].weight.T), (params[3], net[3].bias)]
    return max(float((a.detach() - b.detach()).abs().max()) for a, b in pairs)
