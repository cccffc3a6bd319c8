"""Sentences that state what measured data shows, for captions that must stay true.

Each function takes the frame a chart draws and returns the sentence its caption reads, so
the caption cannot claim more than the data: "bias^2 falls" only where it does, the degree
of the lowest test error as measured. Pure: frames in, text out.
"""
from __future__ import annotations

import pandas as pd

NEAR_ZERO = 1e-3   # a bias^2 estimate below this (squared output units) is zero within sampling error


def _series(comps: pd.DataFrame, knob: str, component: str) -> pd.Series:
    part = comps[comps["component"] == component]
    return part.set_index(knob)["value"].sort_index()


def capacity_story(comps: pd.DataFrame, total: pd.DataFrame, knob: str = "degree") -> str:
    """What the bias^2/variance decomposition over a capacity knob shows: where bias^2 reaches
    zero (and whether it climbs again), where variance is smallest and largest, and where the
    measured test error is lowest."""
    bias, variance = _series(comps, knob, "bias^2"), _series(comps, knob, "variance")
    test = total.set_index(knob)["value"].sort_index()
    parts = []
    zero = bias[bias <= NEAR_ZERO]
    if zero.empty:
        parts.append(f"bias^2 never reaches zero here (smallest {bias.min():.3g} at {knob} {bias.idxmin()})")
    else:
        first_zero = zero.index[0]
        parts.append(f"bias^2 falls from {bias.iloc[0]:.3g} at {knob} {bias.index[0]} to about 0 at {knob} {first_zero}")
        later = bias[(bias.index > first_zero) & (bias > max(10 * NEAR_ZERO, 0.1 * float(variance.loc[first_zero:].min())))]
        if not later.empty:
            parts.append(f"then climbs again from {knob} {later.index[0]} (up to {later.max():.3g}): fits that "
                         f"unstable miss the truth even on average")
    parts.append(f"variance is smallest at {knob} {variance.idxmin()} ({variance.min():.3g}) and largest at "
                 f"{knob} {variance.idxmax()} ({variance.max():.3g})")
    story = "; ".join(parts)
    return f"Here {story}. The measured test error is lowest at {knob} {test.idxmin()} ({test.min():.3g})."


def u_shape(curve: pd.DataFrame, knob: str) -> str:
    """Train/test curves over a capacity knob: is the test error U-shaped, and where is its bottom?"""
    test = curve[curve["split"] == "test"].set_index(knob)["value"].sort_index()
    best = test.idxmin()
    if best in (test.index[0], test.index[-1]):
        return (f"Here the test error has no U: it is lowest at the {'smallest' if best == test.index[0] else 'largest'} "
                f"{knob} ({best}, {test.min():.3g}).")
    return (f"Here the test error falls to {test.min():.3g} at {knob} {best}, then climbs to {test.iloc[-1]:.3g} at "
            f"{knob} {test.index[-1]}: the U of too little, then too much, capacity.")
