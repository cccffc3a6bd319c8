"""Activation functions and what they do to gradients (d2l 4.1; REFERENCES 4, "Activations").

The curves come from the lab's own activation modules (nets.models.make_activation, the
layers every MLP here is built of) and their derivatives from autograd through those
modules: no formula is typed a second time. The deep-net summaries read what the probes
logged: per-layer weight-gradient norms ('weights' table) and the fraction of zero and
saturated post-activations ('activations' table). Pure: tensors and frames in, frames out.
"""
from __future__ import annotations

import re

import pandas as pd
import torch

from nets.models import make_activation

NAMES = ("relu", "prelu", "sigmoid", "tanh")


def activation(name: str, prelu_slope: float = 0.25) -> torch.nn.Module:
    """The module a hidden layer of the lab's MLP uses (one member); pReLU with the given slope."""
    module = make_activation(name, members=1).double()
    if name == "prelu":
        with torch.no_grad():
            module.weight.fill_(prelu_slope)
    return module


def value_and_derivative(name: str, x: torch.Tensor, prelu_slope: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """x [n] -> (f(x) [n], f'(x) [n]) by autograd through the lab's module (f acts elementwise)."""
    x = x.detach().double().clone().requires_grad_(True)
    module = activation(name, prelu_slope)
    y = module(x[None, None, :])[0, 0]            # the modules take [K, B, units]
    (grad,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), grad


def curves(names=NAMES, lo: float = -6.0, hi: float = 6.0, n: int = 241, prelu_slope: float = 0.25) -> pd.DataFrame:
    """Long frame [activation, x, curve ('f(x)' or "f'(x)"), value] for the chart."""
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    rows = []
    for name in names:
        label = name
        y, grad = value_and_derivative(name, x, prelu_slope)
        rows.append(pd.DataFrame({"activation": label, "x": x.numpy(), "curve": "f(x)", "value": y.numpy()}))
        rows.append(pd.DataFrame({"activation": label, "x": x.numpy(), "curve": "f'(x)", "value": grad.numpy()}))
    return pd.concat(rows, ignore_index=True)


def derivative_story(frame: pd.DataFrame) -> str:
    """Each derivative's largest value and where, and what it is at |x| = 5: measured on the curves."""
    d = frame[frame["curve"] == "f'(x)"]
    parts = []
    for name, part in d.groupby("activation", sort=False):
        peak = part.loc[part["value"].idxmax()]
        tail = part.loc[(part["x"] - 5).abs().idxmin(), "value"]
        values = sorted(set(part["value"].round(6)))
        if len(values) <= 2:
            parts.append(f"{name}' takes only the values {' and '.join(f'{v:.3g}' for v in values)}")
        else:
            at = 0.0 if abs(peak["x"]) < 1e-9 else float(peak["x"])
            parts.append(f"{name}' peaks at {peak['value']:.3g} (at x = {at:g}) and is {tail:.2g} at x = 5")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------- inside trained deep nets

def grad_norms(weights: pd.DataFrame, step: int | None = None) -> pd.DataFrame:
    """[layer, grad_norm, depth] of the weight matrices at one probe step (default: the first after step 0)."""
    w = weights[(weights["param"] == "weight") & weights["grad_norm"].notna()]
    step = int(w["step"].min()) if step is None else step
    at = w[w["step"] == step].groupby("layer", sort=False)["grad_norm"].mean().reset_index()
    at["depth"] = range(1, len(at) + 1)
    at["step"] = step
    return at


def unit_states(activations: pd.DataFrame) -> pd.DataFrame:
    """[layer, step, zero, saturated]: per hidden layer and probe step, the fraction of the probe
    batch's post-activations that are exactly 0 and of pre-activations in the saturated range."""
    post = activations[activations["site"] == "post"]
    frame = post.groupby(["layer", "step"], sort=False).agg(zero=("frac_zero", "mean"),
                                                            saturated=("frac_saturated", "mean")).reset_index()
    return frame


def final_states(activations: pd.DataFrame) -> pd.DataFrame:
    """unit_states at the last probe step: [layer, zero, saturated]."""
    states = unit_states(activations)
    return states[states["step"] == states["step"].max()].drop(columns="step").reset_index(drop=True)


# ---------------------------------------------------------------- pReLU's learned slope

PRELU_INITIAL = 0.25   # BatchedPReLU's (and torch.nn.PReLU's) starting slope
_SLOPE_KEY = re.compile(r"^hidden\.(?P<layer>[^.]+)\.act\.weight$")


def prelu_slopes(state: dict[str, torch.Tensor]) -> pd.DataFrame:
    """[layer, depth, member, slope]: each hidden layer's learned negative slope, from a checkpoint's
    model state (BatchedPReLU keeps one per member, [K, 1, 1], under 'hidden.<layer>.act.weight'),
    layers in the network's order (depth 1 = next to the input)."""
    rows = []
    layers = [m["layer"] for key in state if (m := _SLOPE_KEY.match(key))]
    for depth, layer in enumerate(layers, start=1):
        for member, slope in enumerate(state[f"hidden.{layer}.act.weight"].reshape(-1).tolist()):
            rows.append({"layer": layer, "depth": depth, "member": member, "slope": float(slope)})
    return pd.DataFrame(rows, columns=["layer", "depth", "member", "slope"])


def slope_story(slopes: pd.DataFrame, initial: float = PRELU_INITIAL) -> str:
    """Where the slopes went from their start, per layer and on the whole: read from the frame."""
    per_layer = slopes.groupby("layer", sort=False)["slope"].mean()
    moved = per_layer - initial
    if (moved < 0).all():
        direction = f"every layer's slope fell below its initial {initial:g}"
    elif (moved > 0).all():
        direction = f"every layer's slope rose above its initial {initial:g}"
    else:
        direction = (f"{int((moved < 0).sum())} of {len(moved)} layers' slopes fell below their initial {initial:g}, "
                     f"{int((moved > 0).sum())} rose above it")
    values = ", ".join(f"{layer} {value:.3f}" for layer, value in per_layer.items())
    return (f"Learned: {values}; {direction} (range {per_layer.min():.3f} to {per_layer.max():.3f}, "
            f"mean {per_layer.mean():.3f}).")


# ---------------------------------------------------------------- the textbook MLP, written twice

VERSION_LABELS = {"scratch": "from scratch", "concise": "nn.Sequential"}
METRICS = {"loss": ("train", "training loss (mean over the epoch)"), "test_accuracy": ("test", "test accuracy")}


def version_curves(table: pd.DataFrame) -> pd.DataFrame:
    """The stored scratch_vs_concise rows [epoch, version, loss, test_accuracy, test_images] as a long frame
    [epoch, version, split, metric, panel, value] for the chart (versions and panels labelled)."""
    long = table.melt(id_vars=["epoch", "version"], value_vars=list(METRICS), var_name="metric")
    long["version"] = long["version"].map(VERSION_LABELS)
    long["split"] = long["metric"].map(lambda m: METRICS[m][0])
    long["panel"] = long["metric"].map(lambda m: METRICS[m][1])
    return long[["epoch", "version", "split", "metric", "panel", "value"]].sort_values(["metric", "version", "epoch"],
                                                                                        ignore_index=True)


def version_gaps(table: pd.DataFrame) -> dict[str, float]:
    """{metric: the largest |scratch - concise| over the epochs} from the stored rows."""
    wide = table.pivot(index="epoch", columns="version", values=list(METRICS))
    return {metric: float((wide[metric]["scratch"] - wide[metric]["concise"]).abs().max()) for metric in METRICS}


def version_story(table: pd.DataFrame) -> str:
    """The caption: how far apart the two listings ever are, and where each ends."""
    gaps, last = version_gaps(table), table[table["epoch"] == table["epoch"].max()].set_index("version")
    n_test = int(table["test_images"].iloc[0])
    images = round(gaps["test_accuracy"] * n_test)
    end = {v: last.loc[v] for v in VERSION_LABELS}
    return (f"Over {int(table['epoch'].max())} epochs the two lines differ by at most {gaps['loss']:.1e} in training "
            f"loss and {gaps['test_accuracy']:.1e} in test accuracy ({images} of {n_test:,} test images); after the "
            f"last epoch, from scratch vs nn.Sequential: training loss {end['scratch']['loss']:.4f} vs "
            f"{end['concise']['loss']:.4f}, test accuracy {end['scratch']['test_accuracy']:.4f} vs "
            f"{end['concise']['test_accuracy']:.4f}.")
