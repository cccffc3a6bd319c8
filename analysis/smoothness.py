"""Santurkar et al.'s Fig. 4 as bands, and the with/without-BN ratios over a window where
both nets learn: pure functions on the runs' `smoothness` and `scalars` tables.

At every probe step the smoothness probe (training/landscape.py) steps along the gradient
with several step sizes eta (multiples of the learning rate) and logs the loss there and
the gradient change ||g(w) - g(w - eta g)||. Fig. 4 draws, per step, the spread over the
step sizes: (a) the loss values (their range), (b) the gradient changes (gradient
predictiveness), (c) gradient change / distance moved (its maximum is the effective
beta-smoothness).
"""
from __future__ import annotations

import pandas as pd

from analysis.covariate_shift import _stack, accuracy_curves, smoothness_summary

MEASURES = {"loss": "loss along the gradient", "grad_diff": "gradient change ||g - g'||",
            "ratio": "gradient change / distance"}
LEARNING_ABOVE = 0.5   # test accuracy both nets must have passed for the window to open (chance: 0.1)


def smoothness_bands(smoothness: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per variant, step and measure: the lowest and highest value over the step sizes
    (means over members) -> variant, step, measure, lo, hi."""
    frame = _stack(smoothness)
    if frame.empty:
        return pd.DataFrame(columns=["variant", "step", "measure", "lo", "hi"])
    frame = frame.assign(ratio=frame["grad_diff"] / frame["distance"].where(frame["distance"] > 0))
    per_member = frame.groupby(["variant", "step", "member"]).agg(
        **{f"{m}_{s}": (m, s) for m in MEASURES for s in ("min", "max")}).reset_index()
    rows = []
    for measure in MEASURES:
        part = per_member.groupby(["variant", "step"], as_index=False)[[f"{measure}_min", f"{measure}_max"]].mean()
        rows.append(part.rename(columns={f"{measure}_min": "lo", f"{measure}_max": "hi"}).assign(measure=measure))
    return pd.concat(rows, ignore_index=True)[["variant", "step", "measure", "lo", "hi"]]


def learning_window(scalars: dict[str, pd.DataFrame], above: float = LEARNING_ABOVE) -> tuple[int, int] | None:
    """(first, last) probe step of the stretch where every variant has left chance: from the
    first step at which all of them score above `above` on the test probe, to the last probe."""
    curves = accuracy_curves(scalars)
    if curves.empty:
        return None
    starts = [g.loc[g["value"] > above, "step"].min() for _, g in curves.groupby("variant")]
    if any(pd.isna(s) for s in starts) or curves["variant"].nunique() < len(scalars):
        return None
    return int(max(starts)), int(curves["step"].max())


def smoothness_ratios(smoothness: dict[str, pd.DataFrame], window: tuple[int, int],
                      without: str = "no BN", with_: str = "BN") -> pd.DataFrame:
    """Per measure of cs.smoothness_summary (loss_range, grad_change, beta): the median over the
    window's probe steps of (without BN) / (with BN) at the same step, and each side's median."""
    summary = smoothness_summary(smoothness)
    inside = summary[(summary["step"] >= window[0]) & (summary["step"] <= window[1])]
    wide = inside.pivot_table(index="step", columns="variant", values=["loss_range", "grad_change", "beta"])
    rows = []
    for measure in ("loss_range", "grad_change", "beta"):
        pair = wide[measure][[without, with_]].dropna()
        rows.append({"measure": measure, "median_ratio": float((pair[without] / pair[with_]).median()),
                     f"median {without}": float(pair[without].median()), f"median {with_}": float(pair[with_].median()),
                     "steps": int(len(pair)), "from_step": window[0], "to_step": window[1]})
    return pd.DataFrame(rows)
