"""Altair charts for Santurkar et al.'s landscape measurements as bands, and the deep linear
network (pure: frames in, charts out)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from analysis import palette
from analysis.smoothness import MEASURES


def _variant_color(frame: pd.DataFrame) -> alt.Color:
    """No BN and BN in the palette's two hues (bands drawn over each other stay apart)."""
    present = [v for v in ("no BN", "BN") if v in set(frame.get("variant", []))]
    return palette.color("variant", present, title=None)


def bands_chart(bands: pd.DataFrame, window: tuple[int, int] | None) -> alt.VConcatChart:
    """Fig. 4 (a-c): per measure, the band between the lowest and highest value over the step
    sizes at each training step, per variant (log y); the shaded window is where both learn."""
    panels = []
    for measure, title in MEASURES.items():
        part = bands[(bands["measure"] == measure) & (bands["lo"] > 0)]
        band = alt.Chart(part).mark_area(opacity=0.35).encode(
            x=alt.X("step:Q", title="training step"),
            y=alt.Y("lo:Q", scale=alt.Scale(type="log"), title=title), y2="hi:Q", color=_variant_color(part),
            tooltip=["variant:N", "step:Q", alt.Tooltip("lo:Q", format=".3g"), alt.Tooltip("hi:Q", format=".3g")])
        layers = [band]
        if window is not None:
            span = pd.DataFrame({"start": [window[0]], "end": [window[1]]})
            layers.insert(0, alt.Chart(span).mark_rect(color=palette.LIGHT_GREY, opacity=0.6).encode(x="start:Q", x2="end:Q"))
        panels.append(alt.layer(*layers).properties(width=560, height=150))
    return alt.vconcat(*panels)


def dln_loss_chart(frame: pd.DataFrame) -> alt.Chart:
    """Training loss of the deep linear network over gradient steps (log y): variant, step, value."""
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("step:Q", title="gradient step (full batch)"),
        y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="training loss (squared error)"),
        color=_variant_color(frame), tooltip=["variant", "step", alt.Tooltip("value:Q", format=".4f")],
    ).properties(width=300, height=220)


def dln_ics_chart(frame: pd.DataFrame) -> alt.Chart:
    """ICS of the deep linear network: the median over layers of ||G - G'|| / ||G|| per step."""
    return alt.Chart(frame[frame["ics_relative"] > 0]).mark_line().encode(
        x=alt.X("step:Q", title="gradient step (full batch)"),
        y=alt.Y("ics_relative:Q", scale=alt.Scale(type="log"), title="||G - G'|| / ||G||"),
        color=_variant_color(frame), tooltip=["variant", "step", alt.Tooltip("ics_relative:Q", format=".3g")],
    ).properties(width=300, height=220)
