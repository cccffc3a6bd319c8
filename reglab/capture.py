"""Forward hooks that copy what goes into and comes out of each watched module.

Sites follow the lab's naming: "pre" is a module's input, "post" its output (for an
activation module: the pre- and post-activation). Each tensor is copied to the CPU in
float32 when the hook runs, since later in-place operations (ReLU(inplace=True),
`out += identity`) would change it, and reshaped to the lab's [K=1, rows, units] layout:
units are the features of a [B, F] tensor or the channels (dim 1) of an [N, C, ...] one,
rows are everything else. A site with more than `max_values` values keeps a random subset
of its rows, drawn from a generator of its own (the user's RNG streams are never touched).
Hooks never raise: a problem is noted and reported by the recorder.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

from reglab.layers import channels_last


def as_units(t: torch.Tensor, units_last: bool) -> torch.Tensor:
    """[B, F] -> [1, B, F]; [N, C, *S] -> [1, N*prod(S), C] (or [..., F] -> [1, rows, F]); [B] -> [1, B, 1]."""
    t = t.detach()
    if t.dim() == 0:
        return t.reshape(1, 1, 1)
    if t.dim() == 1:
        return t.reshape(1, -1, 1)
    if t.dim() > 2 and not units_last:
        t = t.movedim(1, -1)
    return t.reshape(1, -1, t.shape[-1])


def subsample_rows(units: torch.Tensor, max_values: int | None, seed: int) -> torch.Tensor:
    """At most max_values values: a random subset of the rows of [1, rows, U] (all of them when small)."""
    rows, width = units.shape[1], units.shape[2]
    if max_values is None or rows * width <= max_values:
        return units
    keep = max(2, math.ceil(max_values / width))
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(rows, generator=generator)[:keep].sort().values.to(units.device)
    return units.index_select(1, index)


def to_cpu(t: torch.Tensor) -> torch.Tensor:
    return t.to(device="cpu", dtype=torch.float32, copy=True)


class Capture:
    """Hooks on the watched modules while armed: the first input and output of each module.

    With `training_only`, only a forward pass with gradients on and the model in train mode
    is recorded (the user's training step, not an evaluation pass in between)."""

    def __init__(self, root: nn.Module, layers: dict[str, nn.Module], max_values: int | None, training_only: bool):
        self.root, self.layers, self.max_values, self.training_only = root, layers, max_values, training_only
        self.tensors: dict[tuple[str, str], torch.Tensor] = {}
        self.problems: dict[str, str] = {}     # layer -> why it recorded nothing
        self._handles: list = []
        self._seed = 0

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    def arm(self, seed: int) -> None:
        self.disarm()
        self.tensors, self.problems, self._seed = {}, {}, seed
        for i, (name, module) in enumerate(self.layers.items()):
            self._handles.append(module.register_forward_pre_hook(self._pre_hook(name, i)))
            self._handles.append(module.register_forward_hook(self._post_hook(name, i)))

    def disarm(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _wanted(self, key: tuple[str, str]) -> bool:
        if key in self.tensors:
            return False   # a module called twice in one forward: its first call counts
        return not self.training_only or (torch.is_grad_enabled() and self.root.training)

    def _keep(self, name: str, site: str, index: int, value: Any) -> None:
        try:
            if not isinstance(value, torch.Tensor):
                self.problems[name] = f"its {'input' if site == 'pre' else 'output'} is a {type(value).__name__}, " \
                                      f"not a tensor"
                return
            units = as_units(value, channels_last(self.layers[name]))
            seed = self._seed * 1_000_003 + 2 * index + (site == "post")
            self.tensors[(name, site)] = to_cpu(subsample_rows(units, self.max_values, seed))
        except Exception as err:  # noqa: BLE001 - a hook must never break the user's forward pass
            self.problems[name] = f"{type(err).__name__}: {err}"

    def _pre_hook(self, name: str, index: int) -> Callable:
        def hook(module, args):
            if self._wanted((name, "pre")):
                self._keep(name, "pre", index, args[0] if args else None)
        return hook

    def _post_hook(self, name: str, index: int) -> Callable:
        def hook(module, args, output):
            if self._wanted((name, "post")):
                self._keep(name, "post", index, output)
        return hook

    def pairs(self) -> dict[str, dict[tuple[str, str], torch.Tensor]]:
        """{layer: {(layer, "pre"): t, (layer, "post"): t}} for each layer with both sites recorded."""
        out = {}
        for name in self.layers:
            pre, post = self.tensors.get((name, "pre")), self.tensors.get((name, "post"))
            if pre is not None and post is not None:
                out[name] = {(name, "pre"): pre, (name, "post"): post}
        return out


@contextlib.contextmanager
def kept_state(model: nn.Module):
    """Restore every module's mode, the BN buffers and the RNG states afterwards; no autograd inside."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.clone()) for m in model.modules() if isinstance(m, _BatchNorm)
               for b in m.buffers(recurse=False)]
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            yield
    finally:
        for buffer, saved in buffers:
            buffer.copy_(saved)
        for m, training in modes:
            m.training = training


@contextlib.contextmanager
def probe_mode(model: nn.Module):
    """The lab's probe conditions for any model: train mode with dropout off, BN on the probe
    batch's statistics, and afterwards every module's mode, BN's running buffers and the RNG
    states as they were, so a probe changes nothing about the user's training."""
    with kept_state(model):
        model.train()
        for m in model.modules():
            if isinstance(m, _DropoutNd):
                m.eval()
        yield


def run_forward(model: nn.Module, inputs: Any) -> None:
    """model(x), model(*args) or model(**kwargs), as `probe_input` is given."""
    if isinstance(inputs, dict):
        model(**inputs)
    elif isinstance(inputs, (tuple, list)):
        model(*inputs)
    else:
        model(inputs)
