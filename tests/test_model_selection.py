"""Model selection: K-fold CV picks the known degree of a synthetic problem, and no test-set
number enters the choice (the selection functions get no test data; perturbing the test set
leaves every choice unchanged)."""
from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import replace

import torch

from analysis import model_selection as ms


def _cubic(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A known truth: a cubic in x with features x^i/i! up to degree 8 and little noise."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=gen)
    powers = torch.arange(9, dtype=torch.float64)
    feats = (x.double()[:, None] ** powers / torch.exp(torch.lgamma(powers + 1))).float()
    y = feats[:, :4] @ torch.tensor([5.0, 1.2, -3.4, 5.6]) + 0.1 * torch.randn(n, generator=gen)
    return feats, y[:, None]


def test_folds_partition_the_training_set():
    parts = ms.folds(23, 5)
    assert len(parts) == 5 and sorted(torch.cat(parts).tolist()) == list(range(23))
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1


def test_ridge_fit_matches_the_normal_equations():
    x, y = _cubic(50, 0)
    cand = ms.Candidate(3, columns=4, weight_decay=0.1)
    design = x[:, :4].double()
    expected = torch.linalg.solve(design.T @ design + 50 * 0.1 / 2 * torch.eye(4, dtype=torch.float64),
                                  design.T @ y.double())
    assert torch.allclose(ms.fit(cand, x, y), expected, atol=1e-8)


def test_cross_validation_picks_the_true_degree():
    candidates = [ms.Candidate(d, columns=d + 1) for d in range(9)]
    picks = {k: Counter() for k in (5, 10)}
    for seed in range(6):
        x, y = _cubic(200, seed)
        for k in picks:
            picks[k][ms.choose(candidates, x, y, f"{k}-fold CV")] += 1
    for k, counter in picks.items():
        assert counter.most_common(1)[0][0] == 3, (k, counter)
        assert min(counter) >= 3, (k, counter)      # never an underfitting degree
    x, y = _cubic(200, 0)
    assert ms.choose(candidates, x, y, "training error") == 8    # the training error always wants more


def test_the_selection_functions_take_no_test_data():
    for fn in (ms.cross_validate, ms.holdout, ms.validation_table, ms.choose):
        assert not any("test" in name for name in inspect.signature(fn).parameters), fn.__name__


def test_perturbing_the_test_set_leaves_every_choice_unchanged():
    for problem in (ms.degree_problem(), ms.lambda_problem()):
        before = ms.selection_frame(problem)
        data = problem.data
        gen = torch.Generator().manual_seed(1)
        noisy = replace(data, x_test=data.x_test + torch.randn(data.x_test.shape, generator=gen),
                        y_test=-3 * data.y_test + 100)
        after = ms.selection_frame(ms.Problem(problem.knob, problem.candidates, noisy))
        assert not after[after["method"] == "test error"]["mean"].equals(before[before["method"] == "test error"]["mean"])
        chosen = {m: v for m, v in ms.choices(before).items() if m != "test error"}
        assert chosen == {m: v for m, v in ms.choices(after).items() if m != "test error"}
        assert chosen["5-fold CV"] == ms.choices(before)["5-fold CV"]
