"""Model-wise and epoch-wise double descent from the interpolation sweeps (Nakkiran et al.
2019; Belkin et al. 2019): pure functions on the runs' scalars tables.

A sweep gives one run per width; each run's `scalars` table holds train and test accuracy
at its scored epoch ends and after the last one (kind "final"). Errors are 1 - accuracy,
averaged over members, on the run's (possibly noisy) training labels and the clean test set.
"""
from __future__ import annotations

import math

import pandas as pd

ZERO_TRAIN_ERROR = 0.01     # "train error ~0": at most 1% of the training labels not fitted
SAME_PLACE = 2.0            # a peak within this factor of the threshold width sits "at" it


def _errors(scalars: pd.DataFrame, kind: str) -> pd.DataFrame:
    part = scalars[(scalars["kind"] == kind) & (scalars["metric"] == "accuracy")
                   & scalars["split"].isin(["train", "test"])]
    out = part.groupby(["epoch", "split"], as_index=False)["value"].mean()
    return out.assign(error=1.0 - out["value"]).drop(columns="value")


def width_errors(runs: list[tuple[int, pd.DataFrame]]) -> pd.DataFrame:
    """[(width, scalars)] -> final train and test error per width: [width, split, error]."""
    rows = [_errors(scalars, "final").assign(width=width) for width, scalars in runs]
    if not rows:
        return pd.DataFrame(columns=["width", "split", "error"])
    frame = pd.concat(rows, ignore_index=True)
    return frame[["width", "split", "error"]].sort_values(["width", "split"]).reset_index(drop=True)


def epoch_errors(scalars: pd.DataFrame) -> pd.DataFrame:
    """One run's train and test error at each scored epoch end: [epoch, split, error]."""
    return _errors(scalars, "epoch").sort_values(["split", "epoch"]).reset_index(drop=True)


def interpolation_threshold(errors: pd.DataFrame, zero: float = ZERO_TRAIN_ERROR) -> float | None:
    """The smallest width whose final train error is <= `zero`: where the training set is
    first fitted (None when no width fits it)."""
    train = errors[errors["split"] == "train"]
    fitted = train[train["error"] <= zero]
    return float(fitted["width"].min()) if not fitted.empty else None


def test_peak(errors: pd.DataFrame) -> dict:
    """The test-error peak of a width sweep: the interior width that stands highest above
    the lowest test error on each side of it (its prominence). Keys: peak_width, peak;
    dip_width, dip (the lowest error at a smaller width: the classical sweet spot);
    after_width, after (the lowest at a larger width); widest_width, widest; height (the
    prominence: peak minus the higher of dip and after); is_peak (height > 0)."""
    test = errors[errors["split"] == "test"].sort_values("width").reset_index(drop=True)
    if len(test) < 3:
        raise ValueError(f"a peak needs at least 3 widths, got {len(test)}")
    error = test["error"].to_numpy()
    height = [error[i] - max(error[:i].min(), error[i + 1:].min()) for i in range(1, len(error) - 1)]
    top = 1 + max(range(len(height)), key=height.__getitem__)
    dip = int(error[:top].argmin())
    after = top + 1 + int(error[top + 1:].argmin())
    width = [float(w) for w in test["width"]]
    return {"peak_width": width[top], "peak": float(error[top]), "dip_width": width[dip], "dip": float(error[dip]),
            "after_width": width[after], "after": float(error[after]),
            "widest_width": width[-1], "widest": float(error[-1]),
            "height": float(height[top - 1]), "is_peak": bool(height[top - 1] > 0)}


def peak_at_threshold(peak_width: float, threshold: float | None, factor: float = SAME_PLACE) -> bool:
    """Whether the peak sits at the interpolation threshold (within `factor` in width)."""
    return threshold is not None and threshold / factor <= peak_width <= threshold * factor


def summary(errors: pd.DataFrame, n_test: int | None = None) -> dict:
    """The numbers the page and the README quote for one sweep. With `n_test`, also the
    standard error of the peak's error rate on that many test images, and whether the peak
    stands out of it (height above twice that)."""
    threshold = interpolation_threshold(errors)
    out = {"threshold": threshold, **test_peak(errors)}
    out["at_threshold"] = bool(peak_at_threshold(out["peak_width"], threshold))
    if n_test:
        out["standard_error"] = sampling_error(out["peak"], n_test)
        out["clear"] = bool(out["is_peak"] and out["height"] > 2 * out["standard_error"])
    return out


def sampling_error(error: float, n: int) -> float:
    """Standard error of an error rate measured on n independent test images: sqrt(p(1-p)/n)."""
    return math.sqrt(error * (1 - error) / n)


def near_threshold(widths: list[float], threshold: float | None) -> float | None:
    """The sweep's width closest (in log scale) to the threshold: the run for the epoch-wise view."""
    if threshold is None or not widths:
        return None
    return min(widths, key=lambda w: abs(math.log(w / threshold)))
