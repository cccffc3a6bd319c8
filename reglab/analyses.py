"""The lab's dropout and BatchNorm lessons on any model (a trained model in, a tidy frame out).

Sub-networks: torch's nn.Dropout is inverted dropout, like the lab's layer, so a
sub-network is the model in eval mode with one fixed keep mask per Dropout module, kept
units scaled by 1/(1-p), shared by every example (Srivastava et al.'s thinned network);
the masks go in through forward hooks. nn.Dropout drops single features, so its mask
covers every non-batch position; Dropout1d/2d/3d drop whole channels, so theirs is one
entry per channel. The eval-mode model (dropout off) is the weight-scaled network.

Scores: accuracy when y holds class labels (integers) and the model gives [B, C] logits,
else the mean squared error. Every function leaves the model's modes, buffers and the
global RNG as it found them.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

from reglab.capture import kept_state
from reglab.layers import ReglabError

EVAL = "eval mode"
CHANNEL_DROPOUTS = (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
NOT_MASKS = (nn.AlphaDropout, nn.FeatureAlphaDropout)   # they set dropped units to a negative value, not zero


def dropout_layers(model: nn.Module) -> dict[str, _DropoutNd]:
    layers = {name: m for name, m in model.named_modules() if isinstance(m, _DropoutNd)}
    odd = [f"{name} ({type(m).__name__})" for name, m in layers.items() if isinstance(m, NOT_MASKS)]
    if odd:
        raise ReglabError(f"sub-networks need keep/drop masks; {', '.join(odd)} is not one (alpha dropout replaces "
                          f"dropped units with a negative constant and rescales everything)")
    if not layers:
        raise ReglabError(f"{type(model).__name__} has no nn.Dropout module, so it has no dropout sub-networks "
                          f"(functional F.dropout calls cannot be hooked)")
    return layers


def _metric(y: torch.Tensor) -> str:
    return "accuracy" if not torch.is_floating_point(y) else "mse"


def _score(output: torch.Tensor, y: torch.Tensor) -> float:
    if _metric(y) == "accuracy":
        if output.dim() != 2:
            raise ReglabError(f"integer labels y need [B, classes] outputs, got an output of shape {tuple(output.shape)}")
        return (output.argmax(-1) == y).float().mean().item()
    return (output.float() - y.reshape(output.shape).float()).pow(2).mean().item()


def _outputs(model: nn.Module, x: torch.Tensor, batch_size: int | None) -> torch.Tensor:
    size = batch_size or len(x)
    parts = [model(x[i:i + size]) for i in range(0, len(x), size)]
    if not all(isinstance(p, torch.Tensor) for p in parts):
        raise ReglabError(f"the model's forward must return one tensor, got {type(parts[0]).__name__}")
    return torch.cat(parts)


class _Masks:
    """Forward hooks that apply one sampled sub-network: a keep mask per Dropout call site,
    drawn on first use (the shapes are only known then) and reused for every batch."""

    def __init__(self, model: nn.Module, layers: dict[str, _DropoutNd], generator: torch.Generator):
        self.layers, self.generator = layers, generator
        self.masks: dict[tuple[str, int], torch.Tensor] = {}
        self._calls: dict[str, int] = {}
        self._handles = [model.register_forward_pre_hook(lambda *_: self._calls.clear())]
        self._handles += [m.register_forward_hook(self._hook(name)) for name, m in layers.items()]

    def _hook(self, name: str):
        def hook(module, args, output):
            call = self._calls.get(name, 0)
            self._calls[name] = call + 1
            key = (name, call)
            if key not in self.masks:
                shape = (output.shape[1],) + (1,) * (output.dim() - 2) if isinstance(module, CHANNEL_DROPOUTS) \
                    else tuple(output.shape[1:])
                keep = torch.rand(shape, generator=self.generator) > module.p       # the lab's rule: keep if U > p
                scale = 0.0 if module.p >= 1 else 1.0 / (1.0 - module.p)
                self.masks[key] = (keep.to(output.dtype) * scale).to(output.device)
            return output * self.masks[key]
        return hook

    def kept(self) -> dict[str, float]:
        """Fraction of units kept per Dropout module (over its call sites)."""
        out: dict[str, list[float]] = {}
        for (name, _call), mask in self.masks.items():
            out.setdefault(name, []).append((mask != 0).float().mean().item())
        return {f"kept_{name}": sum(v) / len(v) for name, v in out.items()}

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _subnetwork_outputs(model, x, layers, generator, batch_size) -> tuple[torch.Tensor, dict[str, float]]:
    masks = _Masks(model, layers, generator)
    try:
        return _outputs(model, x, batch_size), masks.kept()
    finally:
        masks.remove()


def sample_subnetworks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n: int = 100, *, seed: int = 0,
                       batch_size: int | None = None) -> pd.DataFrame:
    """Score n sampled dropout sub-networks and the eval-mode network on (x, y).

    -> one row per network: network ("sub-network" or "eval mode"), sample, accuracy (or
    mse), and kept_<layer>: the fraction of units each Dropout module kept."""
    layers = dropout_layers(model)
    metric, generator, rows = _metric(y), torch.Generator().manual_seed(seed), []
    with kept_state(model):
        model.eval()
        rows.append({"network": EVAL, "sample": None, metric: _score(_outputs(model, x, batch_size), y)})
        for sample in range(n):
            out, kept = _subnetwork_outputs(model, x, layers, generator, batch_size)
            rows.append({"network": "sub-network", "sample": sample, metric: _score(out, y), **kept})
    return pd.DataFrame(rows).astype({"sample": "Int64"})


def mc_average(model: nn.Module, x: torch.Tensor, y: torch.Tensor, ks: Iterable[int] = (1, 2, 5, 10, 20, 50), *,
               repeats: int = 3, seed: int = 0, batch_size: int | None = None) -> pd.DataFrame:
    """Monte-Carlo model averaging: the score of the mean prediction (softmax for class
    labels, the output otherwise) of k sampled sub-networks, for each k, per repeat; the
    running sum over max(ks) sub-networks serves every k.

    -> network ("MC average" or "eval mode"), k, repeat, accuracy (or mse)."""
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ReglabError(f"mc_average(): ks must be whole numbers >= 1, got {ks}")
    layers = dropout_layers(model)
    metric, generator = _metric(y), torch.Generator().manual_seed(seed)
    rows = []
    with kept_state(model):
        model.eval()
        rows.append({"network": EVAL, "k": None, "repeat": None, metric: _score(_outputs(model, x, batch_size), y)})
        for repeat in range(repeats):
            total = None
            for k in range(1, ks[-1] + 1):
                out = _subnetwork_outputs(model, x, layers, generator, batch_size)[0]
                pred = out.softmax(-1) if metric == "accuracy" else out
                total = pred if total is None else total + pred
                if k in ks:
                    rows.append({"network": "MC average", "k": k, "repeat": repeat, metric: _score(total / k, y)})
    return pd.DataFrame(rows).astype({"k": "Int64", "repeat": "Int64"})


def bn_train_vs_eval(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     batch_sizes: Iterable[int] = (8, 64, 512)) -> pd.DataFrame:
    """The same examples with BatchNorm on each batch's own statistics (train mode, for
    several batch sizes) vs the running averages (eval mode); everything else in eval mode
    (dropout off), and the running statistics restored afterwards.

    -> mode ("eval (running stats)" or "train (batch stats)"), batch_size, accuracy (or mse):
    the columns of the lab's own comparison (analysis.covariate_shift.bn_mode_comparison)."""
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    if not bns:
        raise ReglabError(f"{type(model).__name__} has no BatchNorm module, so train- and eval-mode BN are the same")
    sizes = [min(int(b), len(x)) for b in batch_sizes]
    if any(b < 2 for b in sizes):
        raise ReglabError(f"bn_train_vs_eval(): batch statistics need batches of 2 or more, got {list(batch_sizes)}")
    metric, rows = _metric(y), []
    with kept_state(model):
        model.eval()
        rows.append({"mode": "eval (running stats)", "batch_size": len(x), metric: _score(model(x), y)})
        for size in sizes:
            for bn in bns:
                bn.train()
            n = (len(x) // size) * size   # whole batches only: a small last batch has other statistics
            out = _outputs(model, x[:n], size)
            rows.append({"mode": "train (batch stats)", "batch_size": size, metric: _score(out, y[:n])})
    return pd.DataFrame(rows)
