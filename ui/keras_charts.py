"""The Keras lesson's chart on the real Concrete data: test MAE of the course's BatchNorm
layouts (REFERENCES 1 and 4), which diverged and where, and the published figure labelled as such."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from analysis import covariate_shift as cs
from analysis import covariate_shift_charts as csc
from cache import store
from training import presets
from ui import data
from ui.lesson_runs import Shown, labelled, run_folders

KERAS_LAYOUTS = {   # legend label -> preset (REFERENCES 1 and 4: the Kaggle course's BN exercise)
    "no BN": presets.keras.KERAS_CONCRETE_NOBN.name,
    "BN before every Dense (course)": presets.keras.KERAS_CONCRETE_BN.name,
    "input BN + BN before each ReLU": presets.keras.KERAS_CONCRETE_BN_PREACT.name,
    "input BN only": presets.keras.KERAS_CONCRETE_INPUTBN.name,
    "BN + dropout 0.3 (course)": presets.keras.KERAS_CONCRETE_DROPOUT_BN.name,
}
KERAS_PUBLISHED_MAE = 4.1   # the course's one run: minimum validation MAE


def keras_outcomes(dirs: Sequence[Path]) -> pd.DataFrame:
    """One row per layout: state, the step it diverged at, final and best test MAE (and the epoch)."""
    folders = run_folders(list(KERAS_LAYOUTS.values()), dirs)
    rows = []
    for label, name in KERAS_LAYOUTS.items():
        status, scalars = store.read_status(folders[name]), data.load_table(folders[name], "scalars")
        test = scalars[(scalars["split"] == "test") & (scalars["metric"] == "loss") & (scalars["kind"] == "epoch")]
        best = test.loc[test["value"].idxmin()] if not test.empty else None
        rows.append({"layout": label, "state": status["state"], "diverged at step": status.get("diverged_step"),
                     "final test MAE": (status.get("final") or {}).get("test_loss"),
                     "best test MAE": None if best is None else float(best["value"]),
                     "best at epoch": None if best is None else int(best["epoch"])})
    return pd.DataFrame(rows).astype({"diverged at step": "Int64", "best at epoch": "Int64"})


def keras_mae(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    curves = cs.accuracy_curves(labelled(KERAS_LAYOUTS, "scalars", dirs, mine), metric="loss")
    outcomes = keras_outcomes(dirs)
    diverged = outcomes[outcomes["state"] == "diverged"].rename(columns={"layout": "variant",
                                                                        "diverged at step": "step"})
    course = outcomes.set_index("layout").loc["BN before every Dense (course)"]
    broke = ", ".join(f"{r['layout']} diverged at step {int(r['diverged at step'])}"
                      for r in outcomes.to_dict("records") if r["state"] == "diverged") or "no layout diverged"
    caption = (f"Raw features, SGD lr 0.01, MAE: {broke}. The course's BN layout ends at test MAE "
               f"{course['final test MAE']:.2f} (best {course['best test MAE']:.2f} at epoch "
               f"{int(course['best at epoch'])}); published (the course's run): about {KERAS_PUBLISHED_MAE}.")
    chart = csc.loss_curves_chart(curves, "test MAE", diverged=diverged[["variant", "step"]])
    return Shown(chart, curves, caption)


CHARTS = {"keras-concrete-mae": (keras_mae, (keras_outcomes, cs.accuracy_curves, csc.loss_curves_chart))}
