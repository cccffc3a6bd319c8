"""SGD (with momentum) and Adam, the update rules of torch.optim written out.

Why not torch.optim: its first step (and its constructor) imports TorchDynamo, the compiler
stack, which the lab never uses: about 1.5 s of a quiet 2-core machine and 4-5 s of a busy
one, in every job. These classes do the same arithmetic, op for op, as torch.optim's
single-tensor code path (what torch runs on the CPU), so a run trains to the same bits
(tests/test_optimizers.py compares them with torch.optim), and they read and write
torch.optim's state_dict format, so checkpoints written before still resume.

Weight decay is L2 added to the gradient (torch's `weight_decay`, not AdamW's decoupled one);
no dampening, no Nesterov, no amsgrad: the specs do not offer them.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch

Groups = Iterable[dict]


class Optimizer:
    """param_groups (a list of dicts with "params" and the hyperparameters) and per-parameter state."""

    defaults: dict

    def __init__(self, groups: Groups, **defaults) -> None:
        self.defaults = defaults
        self.param_groups = [{**defaults, **group, "params": list(group["params"])} for group in groups]
        self.state: dict[torch.Tensor, dict] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.detach_().zero_()

    def state_dict(self) -> dict:
        """torch.optim's layout: state by parameter index (counted across the groups in order)."""
        index, groups, state = 0, [], {}
        for group in self.param_groups:
            ids = list(range(index, index + len(group["params"])))
            for i, param in zip(ids, group["params"]):
                if param in self.state:
                    state[i] = dict(self.state[param])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
            index += len(ids)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, saved: dict) -> None:
        """Accepts this class's state_dict and torch.optim's (a checkpoint written by either)."""
        if len(saved["param_groups"]) != len(self.param_groups):
            raise ValueError("the saved optimizer has a different number of parameter groups")
        for group, old in zip(self.param_groups, saved["param_groups"]):
            if len(old["params"]) != len(group["params"]):
                raise ValueError("a saved parameter group has a different size")
            group.update({k: v for k, v in old.items() if k in self.defaults})
            for i, param in zip(old["params"], group["params"]):
                if i in saved["state"]:
                    self.state[param] = {k: _cast(k, v, param) for k, v in saved["state"][i].items()}

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, param.grad, group)

    def _update(self, param: torch.Tensor, grad: torch.Tensor, group: dict) -> None:
        raise NotImplementedError


def _cast(key: str, value, param: torch.Tensor):
    """As torch.optim loads state: tensors to the parameter's device, floating ones (but the step
    counter) to its dtype."""
    if not isinstance(value, torch.Tensor):
        return value
    if key == "step":
        return value
    return value.to(device=param.device, dtype=param.dtype if value.is_floating_point() else value.dtype)


class SGD(Optimizer):
    def __init__(self, groups: Groups, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def _update(self, param: torch.Tensor, grad: torch.Tensor, group: dict) -> None:
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        if group["momentum"] != 0:
            state = self.state.setdefault(param, {})
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = buf = grad.detach().clone()
            else:
                buf.mul_(group["momentum"]).add_(grad)
            grad = buf
        param.add_(grad, alpha=-group["lr"])


class Adam(Optimizer):
    def __init__(self, groups: Groups, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(groups, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)

    def _update(self, param: torch.Tensor, grad: torch.Tensor, group: dict) -> None:
        state = self.state.setdefault(param, {})
        if not state:
            state["step"] = torch.tensor(0.0)   # float32 on the CPU, as torch.optim keeps it
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = state["step"].item()
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = group["lr"] / bias_correction1
        denom = (exp_avg_sq.sqrt() / bias_correction2 ** 0.5).add_(group["eps"])
        param.addcdiv_(exp_avg, denom, value=-step_size)
