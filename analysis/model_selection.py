"""Model selection done right (d2l 4.4; REFERENCES 4): training, validation and test error, a
held-out validation split and K-fold cross-validation, choosing the polynomial degree and the
weight-decay lambda on the lab's synthetic problems, in closed form (ridge least squares).

The rule the lesson teaches is built into the signatures: `cross_validate`, `holdout` and
`choose` receive the training data only; `test_error` is called once per candidate after the
choice, to draw the true test error next to the estimates. Pure: tensors in, frames out.

Shapes: x [n, p] features, y [n, 1] targets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd
import torch

from runspec import DataSpec
from training.closed_form import solve_member
from training.datasets import Dataset, load_dataset

Features = Callable[[torch.Tensor], torch.Tensor]    # the training features -> the candidate's columns


@dataclass(frozen=True)
class Candidate:
    """One model to choose among: which feature columns it uses and its weight decay."""
    label: float                  # the knob's value (a degree, a lambda)
    columns: int | None = None    # keep the first `columns` features (None = all)
    weight_decay: float = 0.0
    has_bias: bool = False        # the polynomial's column 0 already is the bias

    def design(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.columns is None else x[:, :self.columns]


def fit(candidate: Candidate, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Ridge least squares, the objective the trainer minimises: mean sq. error + (lambda/2)||w||^2."""
    return solve_member(candidate.design(x), y, candidate.weight_decay, candidate.has_bias, decay_bias=False)


def mse(candidate: Candidate, params: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    design = candidate.design(x).double()
    if candidate.has_bias:
        design = torch.cat([design, torch.ones(len(design), 1, dtype=torch.float64)], dim=1)
    return float(((design @ params - y.double()) ** 2).mean())


def folds(n: int, k: int, seed: int = 0) -> list[torch.Tensor]:
    """A random partition of range(n) into k parts of (nearly) equal size."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return list(torch.tensor_split(order, k))


def cross_validate(candidate: Candidate, x: torch.Tensor, y: torch.Tensor, k: int, seed: int = 0) -> list[float]:
    """The K validation errors: fit on K-1 parts of the training data, score the held-out part."""
    scores = []
    for held in folds(len(x), k, seed):
        keep = torch.ones(len(x), dtype=torch.bool)
        keep[held] = False
        params = fit(candidate, x[keep], y[keep])
        scores.append(mse(candidate, params, x[held], y[held]))
    return scores


def holdout(candidate: Candidate, x: torch.Tensor, y: torch.Tensor, fraction: float = 0.2, seed: int = 0) -> float:
    """One validation split: fit on the first (1 - fraction) of a shuffled training set, score the rest."""
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(fraction * len(x)))
    val, train = order[:n_val], order[n_val:]
    return mse(candidate, fit(candidate, x[train], y[train]), x[val], y[val])


def validation_table(candidates: list[Candidate], x: torch.Tensor, y: torch.Tensor,
                     ks: tuple[int, ...] = (5, 10)) -> pd.DataFrame:
    """Every estimate that may drive the choice, from the training data alone: one row per
    (candidate, method) with the mean and spread of the validation error over folds."""
    rows = []
    for cand in candidates:
        rows.append({"knob": cand.label, "method": "training error", "mean": mse(cand, fit(cand, x, y), x, y),
                     "std": 0.0, "folds": 1})
        rows.append({"knob": cand.label, "method": "validation split (20%)", "mean": holdout(cand, x, y),
                     "std": 0.0, "folds": 1})
        for k in ks:
            scores = torch.tensor(cross_validate(cand, x, y, k), dtype=torch.float64)
            rows.append({"knob": cand.label, "method": f"{k}-fold CV", "mean": float(scores.mean()),
                         "std": float(scores.std()), "folds": k})
    return pd.DataFrame(rows)


def choose(candidates: list[Candidate], x: torch.Tensor, y: torch.Tensor, method: str = "5-fold CV") -> float:
    """The knob value with the lowest validation estimate. It sees the training data only."""
    ks = (int(method.split("-")[0]),) if method.endswith("-fold CV") else ()
    table = validation_table(candidates, x, y, ks=ks)
    rows = table[table["method"] == method]
    return float(rows.loc[rows["mean"].idxmin(), "knob"])


def test_error(candidates: list[Candidate], x: torch.Tensor, y: torch.Tensor,
               x_test: torch.Tensor, y_test: torch.Tensor) -> pd.DataFrame:
    """After the choice: each candidate refitted on the whole training set, scored on the test set."""
    return pd.DataFrame([{"knob": c.label, "method": "test error", "mean": mse(c, fit(c, x, y), x_test, y_test),
                          "std": 0.0, "folds": 1} for c in candidates])


# ---------------------------------------------------------------- the lesson's two problems

DEGREES = tuple(range(0, 11))                     # candidate polynomial degrees (the truth is a cubic)
LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0)   # candidate weight decays (log scale)


@dataclass(frozen=True)
class Problem:
    knob: str
    candidates: list[Candidate]
    data: Dataset


def degree_problem(n_train: int = 100, seed: int = 0) -> Problem:
    """D2L's cubic (100 train / 100 test, noise 0.1), features x^i/i! up to degree 10."""
    data = load_dataset(DataSpec(name="polynomial", degree=max(DEGREES), n_train=n_train, resample_seed=seed))
    return Problem("degree", [Candidate(d, columns=d + 1) for d in DEGREES], data)


def lambda_problem(n_train: int = 20, degree: int = 10, seed: int = 0) -> Problem:
    """The same cubic, scarce data: 20 points, all features up to degree 10; only lambda varies."""
    data = load_dataset(DataSpec(name="polynomial", degree=degree, n_train=n_train, resample_seed=seed))
    return Problem("lambda", [Candidate(lam, weight_decay=lam) for lam in LAMBDAS], data)


def selection_frame(problem: Problem, ks: tuple[int, ...] = (5, 10)) -> pd.DataFrame:
    """The estimates (training data only), then the true test error drawn next to them; the
    `chosen` column marks each method's choice, made before the test error was computed."""
    d = problem.data
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # ~200 tiny solves: thread start-up dominates, 20x slower on a busy CPU
    try:
        return _selection_frame(problem, d, ks)
    finally:
        torch.set_num_threads(threads)


def _selection_frame(problem: Problem, d: Dataset, ks: tuple[int, ...]) -> pd.DataFrame:
    table = validation_table(problem.candidates, d.x_train, d.y_train, ks)
    best = table.loc[table.groupby("method")["mean"].idxmin(), ["method", "knob"]]
    chosen = dict(zip(best["method"], best["knob"]))
    table["chosen"] = table["knob"] == table["method"].map(chosen)
    test = test_error(problem.candidates, d.x_train, d.y_train, d.x_test, d.y_test)
    test["chosen"] = test["knob"] == test.loc[test["mean"].idxmin(), "knob"]   # the oracle's choice, for contrast
    frame = pd.concat([table, test], ignore_index=True)
    frame.insert(0, "problem", problem.knob)
    return frame


def choices(frame: pd.DataFrame) -> dict[str, float]:
    """Each method's chosen knob value (the test error's row is the best possible, not a choice)."""
    picked = frame[frame["chosen"]]
    return dict(zip(picked["method"], picked["knob"]))


def selection_story(frame: pd.DataFrame) -> str:
    """The caption: what each method chose, and the test error (looked at once, afterwards)."""
    knob, picked = str(frame["problem"].iloc[0]), choices(frame)
    rows = frame.set_index(["method", "knob"])

    def fmt(value: float) -> str:
        return f"{value:g}"

    test = rows.loc["test error"]["mean"]
    parts = []
    for method in [m for m in frame["method"].unique() if m != "test error"]:
        value = picked[method]
        spread = rows.loc[(method, value), "std"]
        band = f" ± {spread:.2g} over folds" if spread > 0 else ""
        parts.append(f"{method} picks {knob} {fmt(value)} (estimate {rows.loc[(method, value), 'mean']:.3g}{band}; "
                     f"test error there {test.loc[value]:.3g})")
    return (f"{'; '.join(parts)}. The test error, computed only after the choice, is lowest at {knob} "
            f"{fmt(picked['test error'])} ({test.min():.3g}).")
