"""The tuning lesson's charts: grid and random search over Adam's lr x beta1, and hidden units
x layers, each choosing its best run on the validation split (analysis/tuning.py) and
reading the chosen run's test score once, for the caption.

Each frame carries the validation score of every run and the test score of the chosen run
only: the other runs' test scores are never drawn.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import altair as alt
import pandas as pd

from analysis import findings
from analysis import lesson_charts as lc
from analysis import tuning
from training import presets
from ui.lesson_runs import Absent, Shown, sweep


def _with_val(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The runs that held out a validation split (a choice is made on it), or Absent."""
    if "val_accuracy" in table:
        table = table[table["val_accuracy"].notna()]
    if "val_accuracy" not in table or table.empty:
        raise Absent([name], sweep=True)
    return table


def _search(name: str, label: str, dirs: Sequence[Path]) -> pd.DataFrame:
    table = _with_val(sweep(name, {"lr": "optim.lr", "betas": "optim.betas"}, dirs), name)
    return pd.DataFrame({"search": label, "lr": table["lr"], "beta1": table["betas"].map(lambda betas: betas[0]),
                         "val_accuracy": table["val_accuracy"], "test_accuracy": table["test_accuracy"]})


LR_BETA = ("lr", "beta1")


def tuning_grid(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    frame = tuning.selection_frame(_search(presets.tuning.TUNING_GRID.name, "grid", dirs), LR_BETA)
    caption = findings.choice_story(tuning.choice_of(frame, LR_BETA), "grid")
    return Shown(lc.grid_heatmap(frame), frame, f"Brighter is better; look along the rows and the columns. {caption}")


def tuning_searches(chart: Callable[[pd.DataFrame], alt.TopLevelMixin], dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    runs = pd.concat([_search(presets.tuning.TUNING_GRID.name, "grid", dirs),
                      _search(presets.tuning.TUNING_RANDOM.name, "random", dirs)], ignore_index=True)
    frame = tuning.selection_frame(runs, LR_BETA, by="search")
    stories = [findings.choice_story(tuning.choice_of(part, LR_BETA), f"{search} search")
               for search, part in frame.groupby("search", sort=False)]
    sizes = frame.groupby("search", sort=False).size()
    budget = (f"Same budget, {sizes.iloc[0]} runs each" if sizes.nunique() == 1 else
              ", ".join(f"{search} {n} runs" for search, n in sizes.items()))
    return Shown(chart(frame), frame, " ".join([f"{budget}: count the distinct learning rates each tried.", *stories]))


SHAPE = ("width", "layers")


def tuning_shape(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    name = presets.tuning.TUNING_SHAPE.name
    table = _with_val(sweep(name, {"widths": "model.widths"}, dirs), name)
    runs = pd.DataFrame({"width": table["widths"].map(lambda widths: widths[0]), "layers": table["widths"].map(len),
                         "val_accuracy": table["val_accuracy"], "test_accuracy": table["test_accuracy"]})
    frame = tuning.selection_frame(runs, SHAPE)
    chart = lc.grid_heatmap(frame, x="width", y="layers", title="Hidden units x layers")
    return Shown(chart, frame, findings.choice_story(tuning.choice_of(frame, SHAPE), "shape sweep"))


# chart id -> (builder, the analysis functions behind it); ui/lesson_charts.py registers them
CHARTS = {
    presets.tuning.TUNING_GRID.name: (tuning_grid, (tuning.choose_by_validation, tuning.selection_frame,
                                                    lc.grid_heatmap)),
    "tuning-search-plane": (partial(tuning_searches, lc.search_scatter), (tuning.selection_frame, lc.search_scatter)),
    "tuning-lr-projection": (partial(tuning_searches, lc.lr_projection_chart),
                             (tuning.selection_frame, lc.lr_projection_chart)),
    presets.tuning.TUNING_SHAPE.name: (tuning_shape, (tuning.choose_by_validation, tuning.selection_frame,
                                                      lc.grid_heatmap)),
}
