"""Probes: what the trainer measures inside the network, without touching model code.

Activations are captured with forward hooks on each hidden block's activation module
(its input is the pre-activation site, its output the post-activation site) during a
forward pass on a fixed probe batch. Weight statistics read the parameters directly.
Every function returns plain row dicts for the run store's tables.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from nets.models import MLP, measuring_mode

# 2..98 for the lab's bands, 7/16/31/50/69/84/93 as in TensorBoard's distribution view.
PERCENTILES = (2, 7, 15, 16, 31, 50, 69, 84, 85, 93, 98)
UNIT_PERCENTILES = (15, 50, 85)  # Ioffe & Szegedy, Figure 1 (b, c)
# Saturated = the activation's derivative is below 5% of its peak (sigmoid' < 0.0125, tanh' < 0.05).
SATURATION_THRESHOLD = {"sigmoid": 4.37, "tanh": 2.19}


@contextlib.contextmanager
def capture_activations(model: MLP):
    """Yield a dict filled during the next forward: (layer, site) -> tensor [K, B, units]."""
    captured: dict[tuple[str, str], torch.Tensor] = {}
    handles = []
    for name, block in model.hidden.items():
        def hook(module, inputs, output, name=name):
            captured[(name, "pre")] = inputs[0].detach()
            captured[(name, "post")] = output.detach()
        handles.append(block.act.register_forward_hook(hook))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def probe_mode(model: MLP):
    """Dropout off, BN on batch statistics of the probe batch, running stats untouched.

    The probe must observe the network as training shapes it without changing it.
    """
    with measuring_mode(model, batch_stats=True), torch.no_grad():
        yield


def _quantiles(values: torch.Tensor, percents: tuple[int, ...]) -> torch.Tensor:
    q = torch.tensor([p / 100 for p in percents], device=values.device, dtype=values.dtype)
    return torch.quantile(values, q, dim=-1)


def _sorted_numpy(values: torch.Tensor) -> np.ndarray:
    """Flattened float32 values in ascending order. numpy's vectorised sort is ~10-20x faster
    than torch's on CPU for the 10^5 values of a probe, and one sort serves every statistic."""
    return np.sort(values.detach().float().cpu().numpy().ravel())


def _percentiles_of_sorted(ordered: np.ndarray, percents: tuple[int, ...]) -> list[float]:
    """Linear interpolation between order statistics (torch.quantile's and numpy's default)."""
    position = np.array(percents, dtype=np.float64) / 100 * (ordered.size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, ordered.size - 1)
    low, high = ordered[below].astype(np.float64), ordered[above].astype(np.float64)
    return (low + (high - low) * (position - below)).tolist()


def distribution_row(values: torch.Tensor, activation: str) -> dict:
    """Summary of one flattened activation tensor; `values` are pre-activations for saturation."""
    return _distribution_of_sorted(_sorted_numpy(values))


def _distribution_of_sorted(ordered: np.ndarray) -> dict:
    n = ordered.size
    row = {
        "mean": float(ordered.mean(dtype=np.float64)),
        "std": float(ordered.std(dtype=np.float64, ddof=1)) if n > 1 else 0.0,
        "min": float(ordered[0]), "max": float(ordered[-1]),
        "frac_zero": float(np.count_nonzero(ordered == 0) / n),
    }
    row.update({f"q{p}": q for p, q in zip(PERCENTILES, _percentiles_of_sorted(ordered, PERCENTILES))})
    return row


def saturation(pre: torch.Tensor, activation: str) -> float:
    threshold = SATURATION_THRESHOLD.get(activation)
    return 0.0 if threshold is None else (pre.abs() > threshold).float().mean().item()


def histogram_rows(values: torch.Tensor, bins: int) -> list[dict]:
    """`bins` equal bins over [min, max], counted like torch.histc (the last bin holds max)."""
    return _histogram_of_sorted(_sorted_numpy(values), bins)


def _histogram_of_sorted(ordered: np.ndarray, bins: int) -> list[dict]:
    lo, hi = float(ordered[0]), float(ordered[-1])
    if hi <= lo:
        hi = lo + 1e-6
    width = (hi - lo) / bins
    inner_edges = lo + width * np.arange(1, bins)
    below = np.searchsorted(ordered, inner_edges, side="left")  # values under each inner edge
    counts = np.diff(np.concatenate(([0], below, [ordered.size])))
    return [{"bin": i, "lo": lo + i * width, "hi": lo + (i + 1) * width, "count": int(c)} for i, c in enumerate(counts)]


def activation_rows(captured: dict, step: int, epoch: int, activation: str, bins: int,
                    tracked_units: int) -> dict[str, list[dict]]:
    """Rows for the `activations`, `histograms` and `units` tables.

    Distribution summaries are kept for every member; histograms and tracked units for
    member 0 only (they are for pictures, and an ensemble's members look alike).
    """
    tables: dict[str, list[dict]] = {"activations": [], "histograms": [], "units": []}
    for (layer, site), tensor in captured.items():
        pre = captured[(layer, "pre")]
        first = None   # member 0's sorted values: its summary and its histogram share one sort
        for k in range(tensor.shape[0]):
            key = {"step": step, "epoch": epoch, "member": k, "layer": layer, "site": site}
            ordered = _sorted_numpy(tensor[k])
            first = ordered if k == 0 else first
            row = {**key, **_distribution_of_sorted(ordered)}
            row["frac_saturated"] = saturation(pre[k], activation)
            tables["activations"].append(row)
        key = {"step": step, "member": 0, "layer": layer, "site": site}
        tables["histograms"] += [{**key, **h} for h in _histogram_of_sorted(first, bins)]
        if site == "pre" and tracked_units:
            units = tensor[0, :, :tracked_units].T  # [units, B]
            qs = _quantiles(units, UNIT_PERCENTILES)  # [3, units]
            for u in range(units.shape[0]):
                tables["units"].append({**key, "unit": u, **{f"q{p}": qs[i, u].item()
                                                            for i, p in enumerate(UNIT_PERCENTILES)}})
    return tables


def snapshot_weights(model: MLP) -> dict[str, torch.Tensor]:
    return {name: layer.weight.detach().clone() for name, layer in model.linear_layers().items()}


def spectral_norms(w: torch.Tensor) -> torch.Tensor:
    """Largest singular value per member of w [K, out, in] -> [K]: the square root of the top
    eigenvalue of the smaller Gram matrix, in float64 (as exact here as an SVD, ~2x cheaper)."""
    d = w.double()
    gram = d @ d.transpose(1, 2) if d.shape[1] <= d.shape[2] else d.transpose(1, 2) @ d  # [K, m, m]
    return torch.linalg.eigvalsh(gram)[:, -1].clamp_min(0).sqrt()


def weight_rows(model: MLP, step: int, before: dict[str, torch.Tensor] | None) -> list[dict]:
    """Per member and linear layer: Frobenius and spectral norm, gradient norm, and
    ||W_after - W_before|| / ||W_before|| for the update that led to this step."""
    rows = []
    for name, layer in model.linear_layers().items():
        w = layer.weight.detach()  # [K, out, in]
        norms = w.flatten(1).norm(dim=1)
        spectral = spectral_norms(w)
        grads = layer.weight.grad.flatten(1).norm(dim=1) if layer.weight.grad is not None else None
        ratios = None
        if before is not None and name in before:
            ratios = (w - before[name]).flatten(1).norm(dim=1) / before[name].flatten(1).norm(dim=1).clamp_min(1e-12)
        for k in range(w.shape[0]):
            rows.append({
                "step": step, "member": k, "layer": name, "param": "weight",
                "norm": norms[k].item(), "spectral_norm": spectral[k].item(),
                "grad_norm": None if grads is None else grads[k].item(),
                "update_ratio": None if ratios is None else ratios[k].item(),
            })
            if layer.bias is not None:
                rows.append({"step": step, "member": k, "layer": name, "param": "bias",
                             "norm": layer.bias[k].detach().norm().item(), "spectral_norm": None,
                             "grad_norm": None if layer.bias.grad is None else layer.bias.grad[k].norm().item(),
                             "update_ratio": None})
    return rows
