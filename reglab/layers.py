"""Which modules of a user's model the probes watch, and what each one is.

By default every Linear, Conv, BatchNorm, activation and Dropout module (the kinds the
lab's own MLP is made of); the user may instead name modules (dotted names from
`model.named_modules()`) or pass the module objects. A module whose forward never gives a
tensor, or that has no forward of its own, is refused with a message saying why.
"""
from __future__ import annotations

from typing import Iterable

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.dropout import _DropoutNd

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
               nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.Softplus, nn.Softsign,
               nn.Tanhshrink, nn.LogSigmoid, nn.Threshold)   # nn.ReLU6 is a Hardtanh
WATCHED = (nn.Linear, _ConvNd, _BatchNorm, _DropoutNd, *ACTIVATIONS)
UNSUPPORTED = (
    ((nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict),
     "it has no forward of its own, so no hook on it ever runs; name the modules inside it"),
    ((nn.RNNBase,), "its forward returns a tuple (output, hidden state), not one tensor"),
    ((nn.MultiheadAttention,), "its forward returns a tuple (output, attention weights), not one tensor"),
)
ROOT_NAME = "model"   # the layer name used when the model itself is watched


class ReglabError(ValueError):
    """A request reglab cannot honour (a bad argument, a model it cannot watch); the message says why."""


def saturation_kind(module: nn.Module) -> str:
    """The name training.probes uses for saturation thresholds ('' = the module never saturates)."""
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Tanh):
        return "tanh"
    return ""


def channels_last(module: nn.Module) -> bool:
    """Whether a >2-dim tensor at this module has its units last (Linear on [B, T, F]) or at
    dim 1 (torch's [N, C, ...] layout of convs, BN and the activations between them)."""
    return isinstance(module, nn.Linear)


def _unsupported_reason(module: nn.Module) -> str | None:
    for types, reason in UNSUPPORTED:
        if isinstance(module, types):
            return reason
    return None


def _describe(model: nn.Module) -> str:
    names = [n for n, _ in model.named_modules() if n]
    if not names:
        return "it has no submodules at all"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"its modules are: {shown}"


def default_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every Linear/Conv/BatchNorm/activation/Dropout module, by dotted name, in model order."""
    chosen = {(name or ROOT_NAME): m for name, m in model.named_modules() if isinstance(m, WATCHED)}
    if not chosen:
        raise ReglabError(
            f"watch(): found no layer to probe in {type(model).__name__}: it has no Linear, Conv, BatchNorm, "
            f"activation or Dropout module ({_describe(model)}). Calls such as F.relu(x) or x @ w in forward() "
            f"have no module to hook: make them modules (self.act = nn.ReLU()), or name the modules to watch "
            f"with layers=[...]")
    return chosen


def select_layers(model: nn.Module, layers: Iterable[str | nn.Module] | None = None) -> dict[str, nn.Module]:
    """{layer name: module} to watch; raises ReglabError naming an unknown or unsupported layer."""
    if not isinstance(model, nn.Module):
        raise ReglabError(f"watch(): expected a torch.nn.Module, got {type(model).__name__}")
    if layers is None:
        return default_layers(model)
    if isinstance(layers, (str, nn.Module)):
        layers = [layers]
    by_name = dict(model.named_modules())
    name_of = {id(m): n for n, m in by_name.items()}
    chosen: dict[str, nn.Module] = {}
    for layer in layers:
        if isinstance(layer, nn.Module):
            if id(layer) not in name_of:
                raise ReglabError(f"watch(): layers holds a {type(layer).__name__} that is not part of the model")
            name = name_of[id(layer)]
        elif isinstance(layer, str) and layer in by_name:
            name = layer
        else:
            raise ReglabError(f"watch(): {type(model).__name__} has no module named {layer!r}; {_describe(model)}")
        module = by_name[name]
        reason = _unsupported_reason(module)
        if reason:
            raise ReglabError(f"watch(): cannot probe {name or ROOT_NAME!r} ({type(module).__name__}): {reason}")
        chosen[name or ROOT_NAME] = module
    if not chosen:
        raise ReglabError("watch(): layers=[] names no layer; name at least one, or pass layers=None for the default")
    return chosen
