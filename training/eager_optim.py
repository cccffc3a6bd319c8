"""torch.optim's SGD and Adam, without loading torch.compile's machinery.

torch.optim wraps an optimizer's add_param_group, zero_grad, state_dict, load_state_dict and
step so that torch.compile (dynamo) leaves them alone, and that wrapper imports torch._dynamo
on first use: 1.1-1.7 s of CPU on 2 cores, a third of a short job's fixed cost (a try-it
variant's wait), for a compiler the lab never runs. These subclasses call the same torch methods
from beneath that wrapper (`inspect.unwrap`), under no_grad as torch's step does, so the
arithmetic, the state and the checkpoint format stay torch's own (tests/test_eager_optim.py
checks them against torch.optim step by step).
"""
from __future__ import annotations

import inspect
from typing import Callable

import torch
from torch.optim import Adam, Optimizer, SGD


def _beneath(method):
    """The torch method under its dynamo guard (and under the step profiler's wrapper)."""
    return inspect.unwrap(method)


# unwrapped once, not on every step
_ADD_PARAM_GROUP, _ZERO_GRAD, _STATE_DICT, _LOAD_STATE_DICT = (
    _beneath(getattr(Optimizer, name)) for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"))


class _Eager:
    """Optimizer methods that skip the dynamo guard; mixed in before a torch optimizer."""

    torch_step: Callable   # the torch optimizer's own step, unwrapped (a method: called on self)

    def add_param_group(self, param_group: dict) -> None:
        _ADD_PARAM_GROUP(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _ZERO_GRAD(self, set_to_none)

    def state_dict(self) -> dict:
        return _STATE_DICT(self)

    def load_state_dict(self, state_dict: dict) -> None:
        _LOAD_STATE_DICT(self, state_dict)

    def step(self, closure=None):
        with torch.no_grad():   # what torch's guard does for a non-differentiable optimizer
            return self.torch_step(closure)


class EagerSGD(_Eager, SGD):
    """torch.optim.SGD, eager only."""
    torch_step = _beneath(SGD.step)


class EagerAdam(_Eager, Adam):
    """torch.optim.Adam, eager only."""
    torch_step = _beneath(Adam.step)
