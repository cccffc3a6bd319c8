"""Batch-normalization lesson: pure functions from run tables to tidy frames.

Inputs are the store's tables (scalars, activations, histograms, units, ics, smoothness)
keyed by a variant label ("no BN", "BN", ...); outputs are long frames for Altair. No
streamlit, no disk. `bn_mode_comparison` takes a built model and a batch (tensors in,
frame out), so the page owns the checkpoint loading.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

CHANCE_ACCURACY = 0.1   # 10 classes
TRAINS_ABOVE = 0.5      # final test accuracy that counts as "trains" in the lr sweep


def _stack(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """{variant: frame} -> one frame with a `variant` column (empty frames skipped)."""
    parts = [f.assign(variant=v) for v, f in frames.items() if f is not None and not f.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def accuracy_curves(scalars: dict[str, pd.DataFrame], split: str = "test", metric: str = "accuracy") -> pd.DataFrame:
    """Figure 1 (a): the metric at probe steps, averaged over members -> variant, step, value."""
    frame = _stack(scalars)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "step", "value"])
    keep = (frame["kind"] == "probe") & (frame["split"] == split) & (frame["metric"] == metric)
    return frame[keep].groupby(["variant", "step"], as_index=False)["value"].mean()


def unit_percentiles(units: dict[str, pd.DataFrame], layer: str, unit: int) -> pd.DataFrame:
    """Figure 1 (b, c): 15/50/85th percentiles of one unit's input over steps, per variant."""
    frame = _stack(units)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "step", "q15", "q50", "q85"])
    keep = (frame["layer"] == layer) & (frame["unit"] == unit)
    return frame[keep][["variant", "step", "q15", "q50", "q85"]].sort_values(["variant", "step"]).reset_index(drop=True)


def layer_bands(activations: dict[str, pd.DataFrame], site: str = "pre") -> pd.DataFrame:
    """Per layer: the whole layer's 15/50/85th percentiles over steps (member 0)."""
    frame = _stack(activations)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "layer", "step", "q15", "q50", "q85"])
    keep = (frame["site"] == site) & (frame["member"] == 0)
    cols = ["variant", "layer", "step", "q15", "q50", "q85", "mean", "std"]
    return frame[keep][cols].sort_values(["variant", "layer", "step"]).reset_index(drop=True)


def layer_drift(activations: dict[str, pd.DataFrame], site: str = "pre") -> pd.DataFrame:
    """Change of a layer's pre-activation mean and std between successive probes.

    The mean's change is also given in units of the layer's current std, the scale
    that matters to the next nonlinearity. -> variant, layer, step, measure, value.
    """
    bands = layer_bands(activations, site)
    if bands.empty:
        return pd.DataFrame(columns=["variant", "layer", "step", "measure", "value"])
    grouped = bands.groupby(["variant", "layer"], sort=False)
    bands = bands.assign(
        mean_change=grouped["mean"].diff().abs(),
        std_change=grouped["std"].diff().abs(),
    )
    bands["mean_change_in_std"] = bands["mean_change"] / bands["std"].where(bands["std"] > 0)
    long = bands.melt(id_vars=["variant", "layer", "step"],
                      value_vars=["mean_change", "std_change", "mean_change_in_std"], var_name="measure")
    return long.dropna(subset=["value"]).reset_index(drop=True)


def median_drift(units: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """How far each tracked unit's median input wanders, in units of its spread.

    spread = (q85 - q15) / 2, about one std for a bell-shaped input, averaged over the
    run. net = |q50(end) - q50(start)| / spread; path = sum of |successive changes| / spread.
    -> variant, layer, unit, net, path (one row per tracked unit).
    """
    frame = _stack(units)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "layer", "unit", "net", "path"])
    rows = []
    for (variant, layer, unit), g in frame.sort_values("step").groupby(["variant", "layer", "unit"]):
        spread = ((g["q85"] - g["q15"]) / 2).mean()
        median = g["q50"].to_numpy()
        scale = spread if spread > 0 else np.nan
        rows.append({"variant": variant, "layer": layer, "unit": unit,
                     "net": abs(median[-1] - median[0]) / scale, "path": np.abs(np.diff(median)).sum() / scale})
    return pd.DataFrame(rows)


def median_drift_summary(units: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """median_drift's median over the tracked units -> variant, layer, net, path."""
    drift = median_drift(units)
    if drift.empty:
        return pd.DataFrame(columns=["variant", "layer", "net", "path"])
    return drift.groupby(["variant", "layer"], as_index=False)[["net", "path"]].median()


def ridgeline_frame(histograms: dict[str, pd.DataFrame], layer: str, site: str = "pre", n_steps: int = 8) -> pd.DataFrame:
    """Histograms at ~n_steps evenly spaced probes, each scaled to peak 1 -> variant, step, x, density."""
    frame = _stack(histograms)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "step", "x", "density"])
    frame = frame[(frame["layer"] == layer) & (frame["site"] == site)]
    parts = []
    for variant, g in frame.groupby("variant"):
        steps = np.sort(g["step"].unique())
        picked = steps[np.unique(np.linspace(0, len(steps) - 1, min(n_steps, len(steps))).round().astype(int))]
        sub = g[g["step"].isin(picked)].copy()
        width = (sub["hi"] - sub["lo"]).where(lambda w: w > 0, 1.0)
        sub["density"] = sub["count"] / width
        sub["density"] /= sub.groupby("step")["density"].transform("max").replace(0, 1)
        sub["x"] = (sub["lo"] + sub["hi"]) / 2
        parts.append(sub[["variant", "step", "x", "density"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["variant", "step", "x", "density"])


def ics_summary(ics: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Santurkar et al. ICS per layer and step (mean over members), with ||G-G'|| / ||G||."""
    frame = _stack(ics)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "layer", "step", "ics_l2", "ics_cos", "grad_norm", "ics_relative"])
    frame = frame.groupby(["variant", "layer", "step"], as_index=False)[["ics_l2", "ics_cos", "grad_norm"]].mean()
    frame["ics_relative"] = frame["ics_l2"] / frame["grad_norm"].where(frame["grad_norm"] > 0)
    return frame


def ics_table(ics: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per variant and layer: medians over the run."""
    summary = ics_summary(ics)
    cols = ["ics_l2", "ics_cos", "ics_relative"]
    return summary.groupby(["variant", "layer"], as_index=False)[cols].median()


def smoothness_summary(smoothness: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per variant and step, over the step sizes eta probed along -gradient:

    loss_range = max - min of {L(w), L(w - eta g)}; grad_change = max ||g(w) - g(w - eta g)||
    (gradient predictiveness: small = the gradient stays predictive); beta = max of
    grad change / distance moved (effective beta-smoothness). Means over members.
    """
    frame = _stack(smoothness)
    cols = ["variant", "step", "loss_range", "grad_change", "beta"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    frame = frame.assign(ratio=frame["grad_diff"] / frame["distance"].where(frame["distance"] > 0))
    per_member = frame.groupby(["variant", "step", "member"]).agg(
        lo=("loss", "min"), hi=("loss", "max"), base=("base_loss", "first"),
        grad_change=("grad_diff", "max"), beta=("ratio", "max")).reset_index()
    per_member["loss_range"] = per_member[["hi", "base"]].max(axis=1) - per_member[["lo", "base"]].min(axis=1)
    return per_member.groupby(["variant", "step"], as_index=False)[["loss_range", "grad_change", "beta"]].mean()[cols]


def smoothness_table(summary: pd.DataFrame, from_step: int = 0) -> pd.DataFrame:
    """Median and max of each smoothness measure per variant over steps >= from_step
    (compare once both nets are learning: a net stuck on a plateau is trivially flat)."""
    later = summary[summary["step"] >= from_step]
    table = later.groupby("variant")[["loss_range", "grad_change", "beta"]].agg(["median", "max"])
    table.columns = [f"{measure} {stat}" for measure, stat in table.columns]
    return table.reset_index()


def sweep_outcomes(runs: pd.DataFrame, metric: str = "test_accuracy", stuck_above: float | None = None) -> pd.DataFrame:
    """Runs of a sweep (one row each: the varied fields, state, final dict, diverged_step)
    -> the same plus `score` (the final metric) and `outcome`: trains / stuck / diverged /
    unfinished. An accuracy below TRAINS_ABOVE, or a loss above `stuck_above`, is stuck."""
    frame = runs.copy()
    frame["score"] = [f.get(metric, np.nan) if isinstance(f, dict) else np.nan for f in frame["final"]]
    frame["outcome"] = [_outcome(state, score, metric, stuck_above)
                        for state, score in zip(frame["state"], frame["score"])]
    return frame


def _outcome(state: str, score: float, metric: str, stuck_above: float | None) -> str:
    if state == "diverged":
        return "diverged"
    if state != "finished" or not np.isfinite(score):
        return "unfinished"
    if metric.endswith("accuracy"):
        return "trains" if score >= TRAINS_ABOVE else "stuck"
    return "stuck" if stuck_above is not None and score > stuck_above else "trains"


def lr_only_bn_trains(outcomes: pd.DataFrame, lr: str = "lr", bn: str = "batchnorm") -> list[float]:
    """Learning rates where the BN run trains and the no-BN run does not."""
    wide = outcomes.pivot_table(index=lr, columns=bn, values="outcome", aggfunc="first")
    if "none" not in wide or "before" not in wide:
        return []
    return sorted(float(v) for v in wide.index[(wide["before"] == "trains") & (wide["none"] != "trains")])


def usable_lr_range(outcomes: pd.DataFrame, lr: str = "lr", bn: str = "batchnorm") -> pd.DataFrame:
    """Per BN setting: the smallest and largest lr that train, and how many do."""
    ok = outcomes[outcomes["outcome"] == "trains"]
    return ok.groupby(bn, as_index=False).agg(lowest=(lr, "min"), highest=(lr, "max"), count=(lr, "size"))


@torch.no_grad()
def bn_mode_comparison(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                       batch_sizes: tuple[int, ...] = (8, 60, 500)) -> pd.DataFrame:
    """Accuracy of the same examples with BN on batch statistics (train mode, for several
    batch sizes) vs running statistics (eval mode). Dropout is off in both; the running
    statistics are restored after the train-mode passes. -> mode, batch_size, accuracy.
    """
    from nets.models import measuring_mode

    rows = []
    for mode, size in [("eval (running stats)", len(x))] + [("train (batch stats)", b) for b in batch_sizes]:
        with measuring_mode(model, batch_stats=mode.startswith("train")):
            size = min(size, len(x))
            n = (len(x) // size) * size
            out = torch.cat([model(x[i:i + size]) for i in range(0, n, size)], dim=1)  # [K, n, C]
            rows.append({"mode": mode, "batch_size": size, "accuracy": (out.argmax(-1) == y[:n]).float().mean().item()})
    return pd.DataFrame(rows)
