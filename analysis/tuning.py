"""Choosing a setting from a search, done right: on the validation split only.

Each run of a tuning sweep holds out part of its training images (data.validation_fraction)
and is scored there as split "val". The choice reads those scores and nothing else; the
chosen run's test score is then read once, as the estimate of how the choice will do on new
data. Pure: frames in, frames out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd

SELECT_ON = "val_accuracy"


@dataclass(frozen=True)
class Choice:
    setting: dict          # knob -> value of the chosen run
    val_score: float       # what chose it
    test_score: float      # the chosen run's test score, read once, after the choice
    n_runs: int
    score: str = SELECT_ON


def _test_column(score: str) -> str:
    return "test_" + score.removeprefix("val_")


def choose_by_validation(runs: pd.DataFrame, knobs: Sequence[str], score: str = SELECT_ON):
    """The index label of the best run by its validation score alone (higher accuracy, or
    lower loss, wins; ties go to the first run in the frame's order). Only the knob columns and
    the one validation column are handed to the comparison, so no test score can enter it."""
    if not score.startswith("val_"):
        raise ValueError(f"a choice is made on a validation score (val_...), got {score!r}")
    if score not in runs or runs[score].isna().all():
        raise ValueError(f"no run has a {score!r} score: give the runs data.validation_fraction > 0")
    seen = runs[[*knobs, score]]
    return seen[score].idxmin() if score.endswith("loss") else seen[score].idxmax()


def choose(runs: pd.DataFrame, knobs: Sequence[str], score: str = SELECT_ON) -> Choice:
    """The chosen setting, its validation score, and then (only now) its test score."""
    label = choose_by_validation(runs, knobs, score)
    row = runs.loc[label]
    return Choice({knob: row[knob] for knob in knobs}, float(row[score]), float(row[_test_column(score)]),
                  len(runs), score)


def selection_frame(runs: pd.DataFrame, knobs: Sequence[str], score: str = SELECT_ON,
                    by: str | None = None) -> pd.DataFrame:
    """What a tuning chart draws: [by,] knobs..., the validation score, `chosen`, and the test
    score of the chosen run only (NaN for every other run: those are never looked at). With
    `by` (e.g. "search"), one choice per group."""
    groups = [part for _, part in runs.groupby(by, sort=False)] if by else [runs]
    frames = []
    for part in groups:
        label = choose_by_validation(part, knobs, score)
        frame = part[[*([by] if by else []), *knobs, score]].copy()
        frame["chosen"] = frame.index == label
        frame[_test_column(score)] = part[_test_column(score)].where(frame["chosen"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def choice_of(frame: pd.DataFrame, knobs: Sequence[str], score: str = SELECT_ON) -> Choice:
    """The Choice a selection frame marks (its one `chosen` row)."""
    row = frame[frame["chosen"]].iloc[0]
    return Choice({knob: row[knob] for knob in knobs}, float(row[score]), float(row[_test_column(score)]),
                  len(frame), score)
