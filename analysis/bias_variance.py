"""Bias-variance estimators: classical squared loss, OLS closed form, Yang et al. 2020.

Pure functions: arrays in, numbers / DataFrames out. Inputs may be numpy arrays or
torch tensors; everything is computed in numpy float64 so that small differences
(bias ~ 0, identities that must hold exactly) are not drowned by float32 rounding.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

# D2L v0.17 cubic: y = 5 + 1.2x - 3.4 x^2/2! + 5.6 x^3/3! (weights on x^i/i!).
TRUE_POLY_WEIGHTS = (5.0, 1.2, -3.4, 5.6)

COMPONENT_LABELS = {"bias2": "bias^2", "variance": "variance", "noise": "noise"}
ERROR_KEYS = ("measured_test_mse", "expected_test_mse", "risk")


def _np(a: Any) -> np.ndarray:
    """Any array-like (numpy, torch, list) -> numpy float64, detached from autograd."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _require_members(k: int, what: str = "variance") -> None:
    # A spread needs at least two samples; K=1 would give 0/0 with ddof=1.
    if k < 2:
        raise ValueError(f"{what} needs at least 2 members (K >= 2); got K={k}")


# ---------------------------------------------------------------- polynomial oracle

def true_polynomial(x):
    """Noise-free textbook cubic f(x); same type and shape as x (numpy or torch)."""
    return 5 + 1.2 * x - 3.4 * x**2 / 2 + 5.6 * x**3 / 6


def polynomial_features(x, degree: int):
    """x [n] -> features [n, degree+1] with column i = x^i / i! (column 0 is the bias).

    Dividing by i! keeps high powers of x ~ N(0,1) from dominating the gradient.
    Returns a torch tensor for a torch input (same dtype), else numpy float64.
    """
    if degree < 0:
        raise ValueError(f"degree must be >= 0, got {degree}")
    facts = [float(math.factorial(i)) for i in range(degree + 1)]
    if hasattr(x, "detach"):
        import torch  # only when the caller already uses torch
        powers = torch.arange(degree + 1, dtype=x.dtype, device=x.device)
        return x.reshape(-1, 1) ** powers / torch.tensor(facts, dtype=x.dtype, device=x.device)
    x = _np(x).reshape(-1, 1)
    return x ** np.arange(degree + 1) / np.asarray(facts)


# ---------------------------------------------------------------- classical decomposition

def regression_decomposition(predictions, truth, noise_var: float, y_test=None) -> dict:
    """Squared-loss decomposition from K models trained on K independent training sets.

    predictions: [K, n_test] f_k(x) on shared test inputs; truth: [n_test] noise-free f(x);
    noise_var: sigma^2; y_test (optional): noisy targets [n_test] (or [K, n_test], one
    fresh draw per member, which broadcasts the same way).
    """
    preds, f = _np(predictions), _np(truth)
    if preds.ndim != 2 or preds.shape[1] != f.shape[-1]:
        raise ValueError(f"predictions must be [K, n_test] matching truth [{f.shape[-1]}], "
                         f"got {preds.shape}")
    _require_members(preds.shape[0])
    k = preds.shape[0]
    mean_pred = preds.mean(axis=0)                                  # [n_test]
    # ddof=1: unbiased estimate of Var_D[f_D(x)] from K draws of the training set.
    variance = float(np.mean(preds.var(axis=0, ddof=1)))
    # The plug-in (mean_pred - f)^2 overestimates (E f - f)^2 by variance / K; subtracting
    # it makes bias^2 unbiased (it can dip below 0 when the bias is ~0) and makes
    # bias^2 + variance equal mean_k (f_k - f)^2 exactly, which matters for small K.
    bias2 = float(np.mean((mean_pred - f) ** 2)) - variance / k
    out = {"bias2": bias2, "variance": variance, "noise": float(noise_var),
           "expected_test_mse": bias2 + variance + float(noise_var)}
    if y_test is not None:
        out["measured_test_mse"] = float(np.mean((preds - _np(y_test)) ** 2))
    return out


def ols_closed_form_bias_variance(x_train_design, x_test_design, beta_true=None,
                                  noise_var: float = 0.0, f_train=None, f_test=None) -> dict:
    """Exact bias^2 / variance of OLS over noise draws, for a FIXED training design.

    X: [n, p] training design, X_t: [m, p] test design. With A = X_t (X^T X)^-1:
    E[prediction] = A X^T f_train, so bias = A X^T f_train - f_test ([m]); the noise
    y = f_train + eps, eps ~ N(0, sigma^2 I) gives Cov = sigma^2 X_t (X^T X)^-1 X_t^T,
    whose diagonal is the per-row variance. Correctly specified: pass beta_true
    (f = X beta_true, bias 0). Misspecified (fewer columns than the truth): pass the
    true means f_train [n] and f_test [m]; they take precedence over beta_true.
    """
    X, Xt = _np(x_train_design), _np(x_test_design)
    n, p = X.shape
    if n < p or np.linalg.matrix_rank(X) < p:
        raise ValueError(f"OLS needs a full-column-rank design: got n_train={n}, p={p}, "
                         f"rank={np.linalg.matrix_rank(X)} (X^T X is singular)")
    if f_train is None or f_test is None:
        if beta_true is None:
            raise ValueError("pass beta_true, or both f_train and f_test")
        f_train, f_test = X @ _np(beta_true), Xt @ _np(beta_true)
    A = np.linalg.solve(X.T @ X, Xt.T).T                         # [m, p] = X_t (X^T X)^-1
    bias = A @ (X.T @ _np(f_train)) - _np(f_test)                # [m]
    var_rows = float(noise_var) * np.einsum("mp,mp->m", A, Xt)   # diag(A X_t^T), [m]
    return {"bias2": float(np.mean(bias**2)), "variance": float(np.mean(var_rows)),
            "noise": float(noise_var),
            "expected_test_mse": float(np.mean(bias**2) + np.mean(var_rows) + noise_var)}


# ---------------------------------------------------------------- Yang et al. 2020

def yang_mse_decomposition(probs, onehot) -> dict:
    """MSE decomposition of N softmax models trained on N disjoint splits.

    probs: [N, n_test, C]; onehot: [n_test, C]. Norms are summed over classes.
    variance: per-x spread mean_j||f_j||^2 - ||mean_j f_j||^2 is the ddof=0 variance,
    so it is scaled by N/(N-1) to be unbiased. bias2 = risk - variance equals
    mean_x ||f_bar - y||^2 - variance/N, an unbiased estimate of ||E f - y||^2 that
    can come out slightly negative when the bias is tiny and N is small.
    """
    P, Y = _np(probs), _np(onehot)
    if P.ndim != 3 or P.shape[1:] != Y.shape:
        raise ValueError(f"probs must be [N, n_test, C] matching onehot {Y.shape}, got {P.shape}")
    n_models = P.shape[0]
    _require_members(n_models)
    mean_sq_norm = np.mean(np.sum(P**2, axis=-1), axis=0)         # [n_test]
    sq_norm_mean = np.sum(P.mean(axis=0) ** 2, axis=-1)           # [n_test]
    variance = float(np.mean(mean_sq_norm - sq_norm_mean)) * n_models / (n_models - 1)
    risk = float(np.mean(np.sum((P - Y) ** 2, axis=-1)))          # mean over j and x
    return {"bias2": risk - variance, "variance": variance, "risk": risk}


def yang_ce_decomposition(probs, labels, eps: float = 1e-12) -> dict:
    """Cross-entropy decomposition (Yang et al. 2020) with f_bar the normalised geometric mean.

    probs: [N, n_test, C]; labels: [n_test] ints. With G(c) = exp(mean_j log f_j(c)) and
    Z = sum_c G(c) (<= 1 by AM-GM), f_bar = G / Z. Per x, mean_j KL(f_bar||f_j) = -log Z,
    and mean_j[-log f_j(y)] = -log f_bar(y) - log Z, so risk = bias2 + variance holds
    EXACTLY (not just up to the normaliser). Clipping at eps keeps logs finite; the
    identity still holds exactly for the clipped values since all terms use them.
    """
    P = _np(probs)
    y = np.asarray(_np(labels), dtype=np.int64)
    if P.ndim != 3 or P.shape[1] != y.shape[0]:
        raise ValueError(f"probs must be [N, n_test, C] matching labels [{y.shape[0]}], got {P.shape}")
    _require_members(P.shape[0])
    logp = np.log(np.clip(P, eps, None))                          # [N, n_test, C]
    log_g = logp.mean(axis=0)                                     # [n_test, C]
    log_fbar = log_g - np.log(np.exp(log_g).sum(axis=-1, keepdims=True))
    rows = np.arange(y.shape[0])
    bias2 = float(np.mean(-log_fbar[rows, y]))
    kl = np.sum(np.exp(log_fbar) * (log_fbar - logp), axis=-1)    # [N, n_test]
    variance = float(np.mean(kl))
    risk = float(np.mean(-logp[:, rows, y]))
    return {"bias2": bias2, "variance": variance, "risk": risk}


# ---------------------------------------------------------------- tidy tables for charts

def decomposition_table(results: Mapping[Any, Mapping[str, float]], knob: str) -> pd.DataFrame:
    """{knob value: decomposition dict} -> long frame [knob, component, value].

    component is one of "bias^2", "variance", "noise" (noise only if present, e.g.
    Yang results have none), ready for a stacked area/bar chart.
    """
    rows = [{knob: k, "component": label, "value": float(res[key])}
            for k, res in results.items()
            for key, label in COMPONENT_LABELS.items() if key in res]
    return pd.DataFrame(rows, columns=[knob, "component", "value"])


def error_table(results: Mapping[Any, Mapping[str, float]], knob: str) -> pd.DataFrame:
    """{knob value: decomposition dict} -> long frame [knob, metric, value] of test errors.

    metric is each of measured_test_mse / expected_test_mse / risk present in a result.
    """
    rows = [{knob: k, "metric": key, "value": float(res[key])}
            for k, res in results.items() for key in ERROR_KEYS if key in res]
    return pd.DataFrame(rows, columns=[knob, "metric", "value"])


# ---------------------------------------------------------------- ridge

def ridge_fit(X, y, lam: float) -> np.ndarray:
    """Minimiser of ||X w - y||^2 + lam ||w||^2: w = (X^T X + lam I)^-1 X^T y.

    X: [n, p], y: [n] -> w [p]. lam = 0 uses lstsq (minimum-norm solution), which
    stays defined when p > n, as in the weight-decay setup (d=200, n=20).
    D2L's objective mean_i (x_i w - y_i)^2 / 2 + (lambda/2)||w||^2 has the same
    minimiser with lam = n * lambda (multiply it by 2n).
    """
    X, y = _np(X), _np(y)
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam}")
    if lam == 0:
        return np.linalg.lstsq(X, y, rcond=None)[0]
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def weight_norm(w) -> float:
    """L2 norm of all entries of w (any shape)."""
    return float(np.linalg.norm(_np(w).ravel()))
