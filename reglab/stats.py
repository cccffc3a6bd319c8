"""Rows for the lab's tables from a user's model, through training.probes' statistics.

The `activations`, `histograms` and `units` tables come from training.probes.activation_rows
(the lab's own function) on each layer's captured [1, rows, units] tensors, so a user's
run is summarised exactly as a lab run is. The `weights` table has the lab's columns for
every parameter of a watched module: Frobenius norm, spectral norm (of the weight viewed as
[out, in * kernel]), gradient norm, and ||W - W_before|| / ||W_before|| for the update that
led to this step.
"""
from __future__ import annotations

import torch
from torch import nn

from reglab.layers import saturation_kind
from training import probes

QUANTILE_LIMIT = 2 ** 24            # torch.quantile's largest input
SPECTRAL_MAX_DIM = 4096             # a Gram matrix larger than this is skipped (spectral_norm None)

Params = dict[tuple[str, str], torch.Tensor]


def activation_tables(pairs: dict[str, dict], layers: dict[str, nn.Module], step: int, epoch: int, bins: int,
                      tracked_units: int) -> dict[str, list[dict]]:
    """The lab's activation, histogram and unit rows for each layer's (pre, post) pair."""
    tables: dict[str, list[dict]] = {"activations": [], "histograms": [], "units": []}
    for name, captured in pairs.items():
        rows, width = captured[(name, "pre")].shape[1:]
        tracked = tracked_units if rows * min(width, tracked_units) <= QUANTILE_LIMIT else 0
        for table, new in probes.activation_rows(captured, step, epoch, saturation_kind(layers[name]), bins,
                                                 tracked).items():
            tables[table] += new
    return {table: rows for table, rows in tables.items() if rows}


def watched_parameters(layers: dict[str, nn.Module]) -> dict[tuple[str, str], nn.Parameter]:
    """(layer, param name) -> parameter, for the parameters each watched module owns itself."""
    return {(name, pname): p for name, module in layers.items() for pname, p in module.named_parameters(recurse=False)}


def snapshot(params: dict[tuple[str, str], nn.Parameter]) -> Params:
    return {key: p.detach().clone() for key, p in params.items()}


def _spectral(w: torch.Tensor) -> torch.Tensor | None:
    if w.dim() < 2 or min(w.shape[0], w[0].numel()) > SPECTRAL_MAX_DIM:
        return None
    return probes.spectral_norms(w.reshape(1, w.shape[0], -1))[0]


def weight_rows(params: dict[tuple[str, str], nn.Parameter], step: int, before: Params | None) -> list[dict]:
    """One row per parameter, in the lab's `weights` columns (member 0)."""
    rows = []
    for (layer, pname), p in params.items():
        w = p.detach()
        parts = {"norm": w.norm(), "spectral_norm": _spectral(w) if pname == "weight" else None,
                 "grad_norm": None if p.grad is None else p.grad.detach().norm(), "update_ratio": None}
        if before is not None and (layer, pname) in before:
            old = before[(layer, pname)]
            parts["update_ratio"] = (w - old).norm() / old.norm().clamp_min(1e-12)
        present = {k: v for k, v in parts.items() if v is not None}
        dtype = torch.float32 if w.device.type == "mps" else torch.float64
        values = torch.stack([v.to(dtype) for v in present.values()]).tolist()   # one device sync per parameter
        rows.append({"step": step, "member": 0, "layer": layer, "param": pname,
                     **{k: None for k in parts}, **dict(zip(present, values))})
    return rows
