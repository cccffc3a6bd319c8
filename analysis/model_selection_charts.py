"""Altair chart builders for the model-selection lesson (pure: DataFrame in, chart out)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette

# training error and test error in the splits' colours (analysis/palette.py); the estimates between
ORDER = ["training error", "validation split (20%)", "5-fold CV", "10-fold CV", "test error"]
TITLES = {"degree": "polynomial degree", "lambda": "weight decay lambda (log)"}


def selection_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Error vs the knob, one line per method (log y), the CV estimates with a band of
    +-1 standard deviation over the folds, and a ring on each method's choice.

    frame: selection_frame's rows [problem, knob, method, mean, std, folds, chosen].
    """
    knob = str(frame["problem"].iloc[0])
    frame = frame.assign(lo=(frame["mean"] - frame["std"]).clip(lower=frame["mean"] / 10),
                         hi=frame["mean"] + frame["std"])
    present = [m for m in ORDER if m in set(frame["method"])]
    x = alt.X("knob:Q", title=TITLES.get(knob, knob),
              scale=alt.Scale(type="log") if knob == "lambda" else alt.Scale(zero=False))
    color = alt.Color("method:N", sort=present, title="estimate",
                      scale=alt.Scale(domain=present, range=palette.colors_for(present)))
    y = alt.Y("mean:Q", scale=alt.Scale(type="log"), title="mean squared error (log)")
    band = alt.Chart(frame[frame["folds"] > 1]).mark_area(opacity=0.15).encode(x=x, y="lo:Q", y2="hi:Q", color=color)
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=x, y=y, color=color, tooltip=["method:N", "knob:Q", alt.Tooltip("mean:Q", format=".4g"),
                                        alt.Tooltip("std:Q", format=".3g", title="std over folds")])
    rings = alt.Chart(frame[frame["chosen"]]).mark_point(size=220, filled=False, strokeWidth=2).encode(
        x=x, y=y, color=color)
    return (band + lines + rings).properties(height=320, title=f"Choosing the {knob}: estimates and the test error")
