"""The tuning lesson chooses on the validation split only: poisoning or removing the test
scores never changes the choice, and the scores the choice reads are the runs' split "val"."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import tuning
from cache import store
from ui import data, lesson_charts

REPO = Path(__file__).resolve().parent.parent
DEMO = [REPO / "cache" / "demo"]
KNOBS = ("lr", "beta1")
TUNING_CHARTS = ("tuning-grid", "tuning-search-plane", "tuning-lr-projection", "tuning-shape")


def _runs(seed: int = 0, n: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"lr": 10.0 ** rng.uniform(-4, -1, n), "beta1": rng.uniform(0.8, 0.99, n),
                         "val_accuracy": rng.uniform(0.5, 0.9, n), "test_accuracy": rng.uniform(0.5, 0.9, n)})


@pytest.mark.parametrize("seed", range(5))
def test_poisoned_or_missing_test_scores_never_change_the_choice(seed):
    runs = _runs(seed)
    chosen = tuning.choose_by_validation(runs, KNOBS)
    assert chosen == runs["val_accuracy"].idxmax()
    rng = np.random.default_rng(seed + 100)
    for poison in (rng.permutation(runs["test_accuracy"].to_numpy()), np.full(len(runs), np.nan),
                   -runs["val_accuracy"].to_numpy(), np.where(runs.index == chosen, -1.0, 2.0)):
        assert tuning.choose_by_validation(runs.assign(test_accuracy=poison), KNOBS) == chosen
    assert tuning.choose_by_validation(runs.drop(columns="test_accuracy"), KNOBS) == chosen


def test_the_choice_refuses_anything_but_a_validation_score():
    runs = _runs()
    with pytest.raises(ValueError, match="validation"):
        tuning.choose_by_validation(runs, KNOBS, score="test_accuracy")
    with pytest.raises(ValueError, match="validation_fraction"):
        tuning.choose_by_validation(runs.drop(columns="val_accuracy"), KNOBS)
    assert tuning.choose_by_validation(runs.assign(val_loss=runs["val_accuracy"]), KNOBS, "val_loss") == \
        runs["val_accuracy"].idxmin()


def test_the_test_score_is_read_once_for_the_chosen_run_only():
    runs = _runs(3)
    frame = tuning.selection_frame(runs, KNOBS)
    assert frame["chosen"].sum() == 1 and frame["test_accuracy"].notna().sum() == 1
    choice = tuning.choose(runs, KNOBS)
    row = runs.loc[runs["val_accuracy"].idxmax()]
    assert (choice.val_score, choice.test_score) == (row["val_accuracy"], row["test_accuracy"])
    assert tuning.choice_of(frame, KNOBS) == choice


def test_a_choice_per_search_with_by():
    runs = pd.concat([_runs(1).assign(search="grid"), _runs(2).assign(search="random")], ignore_index=True)
    frame = tuning.selection_frame(runs, KNOBS, by="search")
    assert frame.groupby("search")["chosen"].sum().to_dict() == {"grid": 1, "random": 1}


# ---------------------------------------------------------------- over the committed demo cache

@pytest.mark.parametrize("chart_id", TUNING_CHARTS)
def test_demo_charts_draw_validation_and_only_the_chosen_test_score(chart_id):
    shown = lesson_charts.render(chart_id, DEMO)
    assert isinstance(shown, lesson_charts.Shown), shown
    frame = shown.data
    groups = frame.groupby("search") if "search" in frame else [(None, frame)]
    for _, part in groups:
        assert part["chosen"].sum() == 1 and part["test_accuracy"].notna().sum() == 1
        assert part.loc[part["chosen"], "val_accuracy"].item() == part["val_accuracy"].max()
    assert "test accuracy, read once after the choice" in shown.caption


def test_demo_choice_scores_come_from_split_val_of_the_chosen_run():
    """The validation accuracy the grid's choice read is the run's own split "val" final score,
    and shuffling every run's test score in status.json leaves the choice where it was."""
    from ui.lesson_runs import sweep

    table = sweep("tuning-grid", {"lr": "optim.lr", "betas": "optim.betas"}, DEMO)
    runs = table.assign(beta1=table["betas"].map(lambda b: b[0]))
    chosen = tuning.choose_by_validation(runs, KNOBS)
    shuffled = runs.assign(test_accuracy=runs["test_accuracy"].sample(frac=1, random_state=0).to_numpy())
    assert tuning.choose_by_validation(shuffled, KNOBS) == chosen
    folder = next(f for f in data.runs_named("tuning-grid", DEMO)["folder"]
                  if store.read_spec(Path(f)).optim.lr == runs.loc[chosen, "lr"]
                  and store.read_spec(Path(f)).optim.betas[0] == runs.loc[chosen, "beta1"])
    scalars = store.read_table(Path(folder), "scalars")
    val = scalars[(scalars["kind"] == "final") & (scalars["split"] == "val") & (scalars["metric"] == "accuracy")]
    assert val["value"].item() == pytest.approx(runs.loc[chosen, "val_accuracy"])
    spec = store.read_spec(Path(folder))
    assert spec.data.validation_fraction == 0.2
