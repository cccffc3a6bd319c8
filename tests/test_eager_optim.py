"""The lab's optimizers are torch.optim's, minus the compiler import: the same steps, the same
state and checkpoint format, step by step against torch.optim itself (that a job never loads
torch._dynamo is tests/test_job_imports.py's)."""
from __future__ import annotations

import copy

import pytest
import torch

from training.eager_optim import EagerAdam, EagerSGD

KINDS = {"sgd": (EagerSGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
         "adam": (EagerAdam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-7})}


def twin_nets(seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    twin = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    twin.load_state_dict(net.state_dict())
    return net, twin


def groups(net, weight_decay: float = 0.05):
    """As the trainer builds them: weights decayed, biases not."""
    params = dict(net.named_parameters())
    return [{"params": [p for n, p in params.items() if n.endswith("weight")], "weight_decay": weight_decay},
            {"params": [p for n, p in params.items() if n.endswith("bias")], "weight_decay": 0.0}]


def train(net, optimizer, steps: int, seed: int = 1) -> list[float]:
    gen, losses = torch.Generator().manual_seed(seed), []
    for _ in range(steps):
        x, y = torch.randn(16, 5, generator=gen), torch.randn(16, 3, generator=gen)
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("kind", KINDS)
def test_steps_and_state_equal_torch_optim(kind):
    eager_class, torch_class, options = KINDS[kind]
    net, twin = twin_nets()
    ours, theirs = eager_class(groups(net), **options), torch_class(groups(twin), **options)
    assert train(net, ours, 25) == train(twin, theirs, 25)
    for mine, reference in zip(net.parameters(), twin.parameters()):
        assert torch.equal(mine, reference)
    assert str(ours.state_dict()) == str(theirs.state_dict())


@pytest.mark.parametrize("kind", KINDS)
def test_a_checkpoint_moves_both_ways_between_ours_and_torch_optim(kind):
    """A run resumed from an older checkpoint (torch.optim's state) continues exactly as torch would."""
    eager_class, torch_class, options = KINDS[kind]
    net, twin = twin_nets()
    first = torch_class(groups(net), **options)
    train(net, first, 10)
    twin.load_state_dict(net.state_dict())
    resumed, reference = eager_class(groups(twin), **options), torch_class(groups(net), **options)
    saved = first.state_dict()   # torch keeps the saved tensors: each loads its own copy, as from a file
    resumed.load_state_dict(copy.deepcopy(saved))
    reference.load_state_dict(copy.deepcopy(saved))
    assert train(twin, resumed, 10, seed=2) == train(net, reference, 10, seed=2)
    back = torch_class(groups(twin), **options)
    back.load_state_dict(resumed.state_dict())
    assert str(back.state_dict()) == str(resumed.state_dict())


def test_the_step_sees_no_grad_and_runs_the_closure_with_grad():
    net, _ = twin_nets()
    optimizer = EagerSGD(net.parameters(), lr=0.1)
    x = torch.randn(4, 5)

    def closure():
        assert torch.is_grad_enabled()
        optimizer.zero_grad()
        loss = net(x).square().mean()
        loss.backward()
        return loss

    before = [p.detach().clone() for p in net.parameters()]
    assert isinstance(optimizer.step(closure), torch.Tensor)
    assert all(not torch.equal(b, p) for b, p in zip(before, net.parameters()))

