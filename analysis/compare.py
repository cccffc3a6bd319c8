"""Tidy frames for comparing runs, aligned on steps or epochs (pure: frames in, frames out).

Every function takes `{run label: table}` as read from the store and returns one long
frame with a `run` column, so an Altair chart can colour by run and facet by layer.
Ensemble runs (K members) are averaged over `member`: a comparison shows one curve per run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

BANDS = (("q7", "q93"), ("q16", "q84"), ("q31", "q69"))   # TensorBoard's distribution view
BAND_COLUMNS = ["q7", "q16", "q31", "q50", "q69", "q84", "q93"]
CURVE_SPLITS = ("train", "val", "test")   # "val": runs with data.validation_fraction


def _stack(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frames = [t.assign(run=label) for label, t in tables.items() if t is not None and not t.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _finite(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Drop NaN/inf values (a diverged run's last probes): the curve stops where it blew up."""
    values = pd.to_numeric(frame[column], errors="coerce")
    return frame[np.isfinite(values)]


def curves(scalars: dict[str, pd.DataFrame], align: str = "step") -> pd.DataFrame:
    """Train/test loss and accuracy per run: columns run, x, step, epoch, split, metric, value.

    align="step" uses every probe (and epoch end); align="epoch" keeps the epoch-end rows,
    so runs with different batch sizes line up on passes over the data."""
    data = _stack(scalars)
    if data.empty:
        return pd.DataFrame(columns=["run", "x", "step", "epoch", "split", "metric", "value"])
    kinds = ("epoch",) if align == "epoch" else ("probe", "epoch")
    data = data[data["kind"].isin(kinds) & data["split"].isin(CURVE_SPLITS)]
    keys = ["run", "step", "epoch", "split", "metric"]
    data = data.groupby(keys, as_index=False)["value"].mean()        # average ensemble members
    data = data.drop_duplicates(["run", "step", "split", "metric"], keep="last")  # probe == epoch end
    data["x"] = data[align]
    return _finite(data, "value")[["run", "x", "step", "epoch", "split", "metric", "value"]].reset_index(drop=True)


def generalization_gap(curve_frame: pd.DataFrame) -> pd.DataFrame:
    """test loss - train loss and train accuracy - test accuracy: columns run, x, metric, gap.

    Both are positive when the model does better on the data it was trained on."""
    if curve_frame.empty:
        return pd.DataFrame(columns=["run", "x", "metric", "gap"])
    wide = curve_frame.pivot_table(index=["run", "x", "metric"], columns="split", values="value").reset_index()
    if not {"train", "test"} <= set(wide.columns):
        return pd.DataFrame(columns=["run", "x", "metric", "gap"])
    sign = np.where(wide["metric"] == "loss", 1.0, -1.0)
    wide["gap"] = sign * (wide["test"] - wide["train"])
    return wide.dropna(subset=["gap"])[["run", "x", "metric", "gap"]].reset_index(drop=True)


def weight_norms(weights: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Frobenius and spectral norm of each layer's weight matrix: run, step, layer, norm, spectral_norm."""
    data = _stack(weights)
    if data.empty:
        return pd.DataFrame(columns=["run", "step", "layer", "norm", "spectral_norm"])
    data = data[data["param"] == "weight"]
    data = data.groupby(["run", "step", "layer"], as_index=False)[["norm", "spectral_norm"]].mean()
    return _finite(data, "norm").reset_index(drop=True)


def activation_bands(activations: dict[str, pd.DataFrame], site: str = "post") -> pd.DataFrame:
    """Per run, layer and probe step the 7/16/31/50/69/84/93rd percentiles of the layer's
    activations (pooled over units and probe examples): TensorBoard's distribution view."""
    data = _stack(activations)
    columns = ["run", "step", "epoch", "layer", *BAND_COLUMNS]
    if data.empty:
        return pd.DataFrame(columns=columns)
    data = data[data["site"] == site]
    data = data.groupby(["run", "step", "epoch", "layer"], as_index=False)[BAND_COLUMNS].mean()
    return _finite(data, "q50")[columns].reset_index(drop=True)


def pick_steps(steps: np.ndarray, at_most: int) -> np.ndarray:
    """At most `at_most` steps spread evenly over the run, always keeping the first and last."""
    steps = np.unique(steps)
    if len(steps) <= at_most:
        return steps
    return np.unique(steps[np.linspace(0, len(steps) - 1, at_most).round().astype(int)])


def histogram_ridges(histograms: dict[str, pd.DataFrame], site: str = "post", max_steps: int = 12,
                     overlap: float = 1.6) -> pd.DataFrame:
    """Stacked histograms (one ridge per probe step) of each layer's activations.

    Returns run, layer, step, center, density (fraction of values per unit of x), and
    base/top: the ridge spans base..top on a step axis, `overlap` step-gaps tall at the
    mode, so later steps sit below earlier ones like TensorBoard's offset view."""
    data = _stack(histograms)
    columns = ["run", "layer", "step", "center", "density", "base", "top"]
    if data.empty:
        return pd.DataFrame(columns=columns)
    data = data[(data["site"] == site) & (data["member"] == 0)].copy()
    data = data[data["step"].isin(pick_steps(data["step"].to_numpy(), max_steps))]
    width = (data["hi"] - data["lo"]).where(lambda w: w > 0, np.nan)
    totals = data.groupby(["run", "layer", "step"])["count"].transform("sum").replace(0, np.nan)
    data["center"] = (data["lo"] + data["hi"]) / 2
    data["density"] = data["count"] / totals / width
    data = _finite(data, "density")
    gap = _step_gap(data["step"])
    # scale by a high quantile, not the max: post-ReLU histograms have a spike at 0 that
    # would flatten everything else; ridges are clipped at that height instead
    peak = data.groupby(["run", "layer"])["density"].transform(lambda d: d.quantile(0.99)).replace(0, np.nan)
    data["base"] = data["step"].astype(float)
    data["top"] = data["base"] - overlap * gap * (data["density"] / peak).clip(upper=1.0)  # step axis reversed
    return data[columns].sort_values(["run", "layer", "step", "center"]).reset_index(drop=True)


def _step_gap(steps: pd.Series) -> float:
    unique = np.unique(steps.to_numpy())
    return float(np.median(np.diff(unique))) if len(unique) > 1 else 1.0


def final_metrics(status: dict) -> dict:
    """The run's final train/val/test numbers from status.json, as flat columns for a table
    (val blank for a run without a validation split)."""
    final = status.get("final") or {}
    return {f"{split}_{metric}": final.get(f"{split}_{metric}") for metric in ("loss", "accuracy")
            for split in CURVE_SPLITS}
