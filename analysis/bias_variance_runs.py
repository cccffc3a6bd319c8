"""Bias-variance decompositions of real ensemble runs, and the tables the page plots.

Pure: arrays and DataFrames in, dicts and DataFrames out. A run's per-member test
predictions (training/predictions.py) go through `decompose_run`; the result is stored
as a small long table (estimator, quantity, value) in the run folder, and
`sweep_summary` joins those tables over a sweep's knob values.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from analysis.bias_variance import (
    _np, polynomial_features, regression_decomposition, ridge_fit, true_polynomial,
    yang_ce_decomposition, yang_mse_decomposition)

SUMMARY_COLUMNS = ["estimator", "quantity", "value"]


# ---------------------------------------------------------------- one run

def classification_errors(probs, labels) -> dict:
    """probs [K, n, C], labels [n] -> mean member test error and the averaged ensemble's error."""
    P, y = _np(probs), np.asarray(_np(labels), dtype=np.int64)
    member_error = float(np.mean(P.argmax(-1) != y[None, :]))
    ensemble_error = float(np.mean(P.mean(0).argmax(-1) != y))
    return {"test_error": member_error, "ensemble_test_error": ensemble_error}


def decompose_run(pred: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """One ensemble run's decompositions, {estimator: {quantity: value}}.

    pred (from postprocess.predictions.member_predictions): task; test [K, n] (regression)
    or [K, n, C] softmax (classification), optionally test_raw [K, n, C] (raw outputs
    of closed-form fits); y_test [n]; y_test_clean and noise_var
    (regression); train_loss / train_error [K] on each member's own training data.
    """
    test = _np(pred["test"])
    out: dict[str, dict[str, float]] = {"scores": {"members": float(test.shape[0])}}
    for key in ("train_loss", "train_error"):
        if pred.get(key) is not None:
            out["scores"][key] = float(np.mean(_np(pred[key])))
    if test.shape[0] < 2:
        return out                       # a single model has no spread to measure
    if pred["task"] == "regression":
        out["classical"] = regression_decomposition(test, pred["y_test_clean"], pred["noise_var"],
                                                    y_test=pred["y_test"])
        out["scores"]["test_loss"] = out["classical"]["measured_test_mse"]
        return out
    labels = np.asarray(_np(pred["y_test"]), dtype=np.int64)
    onehot = np.eye(test.shape[-1])[labels]
    out["yang-mse"] = yang_mse_decomposition(test, onehot)
    out["yang-ce"] = yang_ce_decomposition(test, labels)
    if pred.get("test_raw") is not None:     # closed-form fits: their own loss, raw outputs vs one-hot
        out["yang-mse-raw"] = yang_mse_decomposition(_np(pred["test_raw"]), onehot)
    out["scores"].update(classification_errors(test, labels))
    out["scores"]["test_loss"] = out["yang-mse"]["risk"]
    return out


def summary_rows(result: Mapping[str, Mapping[str, float]]) -> list[dict]:
    """{estimator: {quantity: value}} -> rows for the run's `bias_variance` table."""
    return [{"estimator": est, "quantity": q, "value": float(v)}
            for est, values in result.items() for q, v in values.items()]


def summary_dict(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The inverse of summary_rows: a run's stored table back to {estimator: {quantity: value}}."""
    out: dict[str, dict[str, float]] = {}
    for row in table.itertuples():
        out.setdefault(row.estimator, {})[row.quantity] = float(row.value)
    return out


# ---------------------------------------------------------------- a sweep

def sweep_summary(points: Iterable[tuple[Mapping[str, Any], pd.DataFrame]]) -> pd.DataFrame:
    """[(knob values, run's bias_variance table)] -> long frame [knobs..., estimator, quantity, value]."""
    frames = []
    for knobs, table in points:
        if table is None or table.empty:
            continue
        frame = table[SUMMARY_COLUMNS].copy()
        for key, value in knobs.items():
            frame[key] = value
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def components_frame(summary: pd.DataFrame, knob: str, estimator: str) -> pd.DataFrame:
    """Long [knob, component, value] of one estimator: bias^2, variance (and noise)."""
    labels = {"bias2": "bias^2", "variance": "variance", "noise": "noise"}
    part = summary[(summary["estimator"] == estimator) & summary["quantity"].isin(labels)]
    out = part.assign(component=part["quantity"].map(labels))[[knob, "component", "value"]]
    return out.sort_values(knob).reset_index(drop=True)


def total_frame(summary: pd.DataFrame, knob: str, estimator: str, quantity: str) -> pd.DataFrame:
    """[knob, value] of one quantity, e.g. the measured test MSE the stack should add up to."""
    part = summary[(summary["estimator"] == estimator) & (summary["quantity"] == quantity)]
    return part[[knob, "value"]].assign(metric=quantity).sort_values(knob).reset_index(drop=True)


def train_test_frame(summary: pd.DataFrame, knob: str, train: str, test: str) -> pd.DataFrame:
    """Long [knob, split, value] of the stored train and test scores (e.g. train_error/test_error)."""
    scores = summary[summary["estimator"] == "scores"]
    part = scores[scores["quantity"].isin([train, test])]
    split = part["quantity"].map({train: "train", test: "test"})
    return part.assign(split=split)[[knob, "split", "value"]].sort_values(knob).reset_index(drop=True)


def peak_vs_neighbours(frame: pd.DataFrame, knob: str, value: str = "value", factor: float = 4.0) -> dict:
    """The knob value with the largest `value` among those that have both neighbours at
    knob / factor and knob * factor, and whether it beats both (a double-descent peak)."""
    by_knob = dict(zip(frame[knob], frame[value]))
    inner = [k for k in by_knob if k / factor in by_knob and k * factor in by_knob]
    if not inner:
        got = ", ".join(f"{float(k):g}" for k in sorted(by_knob))   # plain numbers, not np.int64(2)
        raise ValueError(f"no {knob} value has neighbours at /{factor:g} and x{factor:g}; got {got}")
    peak = max(inner, key=lambda k: by_knob[k])
    left, right = by_knob[peak / factor], by_knob[peak * factor]
    return {knob: peak, "value": by_knob[peak], "left": left, "right": right,
            "left_knob": peak / factor, "right_knob": peak * factor,
            "is_peak": bool(by_knob[peak] > left and by_knob[peak] > right)}


# ---------------------------------------------------------------- weight decay

def final_weight_norms(weights: pd.DataFrame, layer: str = "output", param: str = "weight") -> pd.DataFrame:
    """The weights table's last step -> [member, norm] of one layer's weight (the textbook's ||w||)."""
    part = weights[(weights["layer"] == layer) & (weights["param"] == param)]
    last = part[part["step"] == part["step"].max()]
    return last[["member", "norm"]].reset_index(drop=True)


def final_scores(scalars: pd.DataFrame, metric: str = "loss") -> pd.DataFrame:
    """The scalars table's final rows -> [member, split, value] for train and test."""
    part = scalars[(scalars["kind"] == "final") & (scalars["metric"] == metric)]
    return part[["member", "split", "value"]].reset_index(drop=True)


# ---------------------------------------------------------------- closed form, computed live

def draw_polynomial_data(n: int, noise_std: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The textbook problem (REFERENCES 2.1): x ~ N(0, 1), y = cubic(x) + N(0, noise^2)."""
    x = rng.normal(0.0, 1.0, n)
    return x, true_polynomial(x) + rng.normal(0.0, noise_std, n)


def closed_form_polynomial_fit(x, y, degree: int, x_test, y_test) -> dict:
    """Least-squares fit of features x^i/i!, i <= degree: weights, train and test MSE.

    With fewer points than features the minimum-norm solution is returned (it interpolates
    the training points); `underdetermined` says so, for the caller to explain.
    """
    X, Xt = polynomial_features(x, degree), polynomial_features(x_test, degree)
    w = ridge_fit(X, y, 0.0)
    return {"weights": w, "train_mse": float(np.mean((X @ w - _np(y)) ** 2)),
            "test_mse": float(np.mean((Xt @ w - _np(y_test)) ** 2)),
            "underdetermined": len(_np(x)) < degree + 1}


def closed_form_degree_sweep(degrees: Iterable[int], n_train: int, noise_std: float, members: int,
                             x_test, seed: int = 0) -> dict[int, dict]:
    """Classical decomposition per degree from `members` fresh training sets, in closed form."""
    if members < 2:
        raise ValueError(f"the decomposition needs at least 2 training sets (K >= 2); got K={members}")
    rng = np.random.default_rng(seed)
    x_test = _np(x_test)
    y_test = true_polynomial(x_test) + rng.normal(0.0, noise_std, x_test.shape)
    sets = [draw_polynomial_data(n_train, noise_std, rng) for _ in range(members)]
    results = {}
    for degree in degrees:
        preds = np.stack([polynomial_features(x_test, degree) @ ridge_fit(polynomial_features(x, degree), y, 0.0)
                          for x, y in sets])                                  # [K, n_test]
        results[degree] = regression_decomposition(preds, true_polynomial(x_test), noise_std**2, y_test=y_test)
    return results


# ---------------------------------------------------------------- page tables

def fit_points(x_train, y_train, x_test, y_test) -> pd.DataFrame:
    """Training and test points of a 1-D regression as one frame [x, y, split]."""
    flat = lambda a: np.asarray(a, dtype=float).ravel()  # noqa: E731
    return pd.concat([pd.DataFrame({"x": flat(x_train), "y": flat(y_train), "split": "train"}),
                      pd.DataFrame({"x": flat(x_test), "y": flat(y_test), "split": "test"})])


def norms_by_source(table: pd.DataFrame) -> dict[str, dict[float, float]]:
    """Sources with both lambda 0 and 3: source -> {lambda: ||w||}, for the published-norms line."""
    complete = table.groupby("source").filter(lambda g: set(g["lambda"]) >= {0.0, 3.0})
    return {src: dict(zip(g["lambda"], g["norm"])) for src, g in complete.groupby("source", sort=False)}


def estimator_by_variant(summary: pd.DataFrame, estimator: str, quantities: list[str]) -> pd.DataFrame:
    """One estimator's quantities per width and sweep variant, sorted by width (long format)."""
    part = summary[(summary["estimator"] == estimator) & summary["quantity"].isin(quantities)]
    return part[["width", "variant", "quantity", "value"]].sort_values("width").reset_index(drop=True)


def peak_table(errors: pd.DataFrame) -> pd.DataFrame:
    """Per sweep: the test-error peak and the errors a factor of 4 away in width."""
    rows = []
    for variant, part in errors[errors["series"] == "test error"].groupby("variant"):
        try:
            peak = peak_vs_neighbours(part, "width")
        except ValueError:
            continue
        rows.append({"sweep": variant, "peak width": peak["width"], "test error": peak["value"],
                     "error at width/4": peak["left"], "error at 4 x width": peak["right"],
                     "a peak": peak["is_peak"]})
    return pd.DataFrame(rows)
