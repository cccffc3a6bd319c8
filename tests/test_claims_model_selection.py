"""The model-selection lesson's sentences, pinned to what the page computes (closed form on the
lab's synthetic data, deterministic; the same frames the charts draw)."""
from __future__ import annotations

from tests.test_claims import LESSONS, claim, shown
from analysis import model_selection as ms

L08 = LESSONS / "08-model-selection.md"


def _picked(chart_id: str):
    frame = shown(chart_id)
    return frame, ms.choices(frame), frame.set_index(["method", "knob"])["mean"]


def test_l08_the_training_error_wants_the_largest_degree():
    frame, picked, mean = _picked("selection-degree")
    claim(L08, "so the training error picks degree 10.", picked["training error"] == 10, picked)
    ratio = mean[("test error", 10)] / mean[("training error", 10)]
    claim(L08, "while the test error at degree 10 is more than a thousand times its training error.",
          ratio > 1000, f"ratio {ratio:.0f}")


def test_l08_cross_validation_finds_the_cubic():
    frame, picked, mean = _picked("selection-degree")
    cv = {k: picked[f"{k}-fold CV"] for k in (5, 10)}
    claim(L08, "Both CV estimates have their minimum at the cubic or one degree above it, where the test error is "
               "near the noise floor of 0.01.",
          set(cv.values()) <= {3, 4} and all(0.007 <= mean[("test error", d)] <= 0.014 for d in cv.values()), cv)
    claim(L08, "here it picks degree 8.", picked["validation split (20%)"] == 8, picked)


def test_l08_cross_validation_chooses_lambda_near_the_test_optimum():
    frame, picked, mean = _picked("selection-lambda")
    claim(L08, "The training error wants no penalty at all.", picked["training error"] == min(ms.LAMBDAS), picked)
    best = picked["test error"]
    cv = [picked[f"{k}-fold CV"] for k in (5, 10)]
    claim(L08, "Both CV estimates pick a lambda within a factor of ten of the one the test error would have picked, "
               "without ever seeing the test set.", all(best / 10 <= v <= best * 10 for v in cv), picked)
    spread = frame[frame["chosen"] & frame["method"].str.endswith("-fold CV")]
    claim(L08, "With 4 or 2 points per fold the spread over folds is as large as the estimate itself",
          (spread["std"] >= spread["mean"]).all(), spread[["method", "mean", "std"]].to_dict("records"))


def test_readme_model_selection_rows():
    from tests.test_claims import README

    _, deg, _ = _picked("selection-degree")
    claim(README, f"5-fold CV picks degree {deg['5-fold CV']:g}, 10-fold CV degree {deg['10-fold CV']:g}, one 20% "
                  f"validation split degree {deg['validation split (20%)']:g}, the training error degree "
                  f"{deg['training error']:g}; the test error is lowest at degree {deg['test error']:g}", True, deg)
    _, lam, mean = _picked("selection-lambda")
    assert lam["5-fold CV"] == lam["10-fold CV"], lam
    claim(README, f"5- and 10-fold CV pick lambda {lam['5-fold CV']:g} (test error {mean[('test error', lam['5-fold CV'])]:.3g}), "
                  f"the test error is lowest at {lam['test error']:g} ({mean[('test error', lam['test error'])]:.3g})",
          True, lam)
