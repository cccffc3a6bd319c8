"""The model-selection lesson's charts: validation and cross-validation estimates against the
test error, for a polynomial's degree and a ridge penalty, on synthetic data (no runs)."""
from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import Sequence

import pandas as pd

from analysis import model_selection as ms
from analysis import model_selection_charts as msc
from ui.lesson_runs import Shown

SELECTION_PROBLEMS = {"degree": ms.degree_problem, "lambda": ms.lambda_problem}


@lru_cache(maxsize=4)
def selection_frame(knob: str) -> pd.DataFrame:
    """The estimates and the test error for one knob; computed from the synthetic data, no runs needed."""
    return ms.selection_frame(SELECTION_PROBLEMS[knob]())


def model_selection(knob: str, dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = selection_frame(knob)
    return Shown(msc.selection_chart(frame), frame, ms.selection_story(frame))


CODE = (ms.cross_validate, ms.validation_table, msc.selection_chart)
CHARTS = {"selection-degree": (partial(model_selection, "degree"), CODE),
          "selection-lambda": (partial(model_selection, "lambda"), CODE)}
