"""After training: every member's test predictions, decomposed, stored in the run folder.

The bias-variance page needs each member's predictions on the shared test inputs; the
trainer only logs mean scores. `store_predictions(folder)` reloads checkpoints/final.pt,
scores every member (softmax probabilities for classification, outputs for regression),
and writes two small tables into metrics.sqlite:
  bias_variance(estimator, quantity, value)   the decompositions (analysis.bias_variance_runs)
  learned_weights(member, feature, value)      linear models only: member 0's fitted weights
                                               (the fit the page draws; all members would bloat the cache)
Optionally the predictions themselves go to predictions.npz (float16), for re-analysis;
off by default since the demo cache must stay small.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from analysis.bias_variance_runs import decompose_run, summary_rows
from cache import store
from training.datasets import load_dataset
from training.losses import evaluate
from training.trainer import member_indices

MAX_TEST = 2000                   # a fixed test subset: the first MAX_TEST test examples
@torch.no_grad()
def member_predictions(folder: Path, max_test: int = MAX_TEST) -> dict:
    """Reload a finished run and score each member; shapes: test [K, n(, C)], train_* [K]."""
    spec = store.read_spec(folder)
    model = store.load_model(folder, "final")
    data = load_dataset(spec.data)
    x_test, y_test = data.x_test[:max_test], data.y_test[:max_test]
    outputs = model(x_test)                                              # [K, n, C]
    idx = member_indices(spec, len(data.y_train))                        # [K, m]
    train = evaluate(model, data.x_train[idx], data.y_train[idx], spec.loss, data.task)
    pred = {"task": data.task, "train_loss": train["loss"].numpy()}
    if data.task == "classification":
        pred.update(test=outputs.softmax(-1).numpy(), y_test=y_test.numpy(),
                    train_error=(1 - train["accuracy"]).numpy())
    else:
        noise = data.meta.get("noise_std", 0.0)
        pred.update(test=outputs[..., 0].numpy(), y_test=y_test[:, 0].numpy(),
                    y_test_clean=data.y_test_clean[:max_test, 0].numpy(), noise_var=noise**2)
    if spec.optim.name == "lstsq" and data.task == "classification":
        pred["test_raw"] = outputs.numpy()       # random features: the raw outputs the fit regressed on one-hot
    if not model.hidden:
        pred["weights"] = model.output.weight[:, 0, :].numpy()             # [K, d]
    return pred


def store_predictions(folder: Path, keep_file: bool = False, max_test: int = MAX_TEST) -> dict:
    """Decompose one finished run and write its tables (replacing earlier ones); returns the result."""
    pred = member_predictions(folder, max_test)
    result = decompose_run(pred)
    writer = store.RunWriter(folder)
    try:
        for table in ("bias_variance", "learned_weights"):
            writer.conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        writer.log("bias_variance", summary_rows(result))
        if pred.get("weights") is not None:
            writer.log("learned_weights", [{"member": 0, "feature": i, "value": float(v)}
                                           for i, v in enumerate(pred["weights"][0])])
    finally:
        writer.close()
    if keep_file:
        np.savez_compressed(folder / "predictions.npz", test=pred["test"].astype(np.float16),
                            y_test=pred["y_test"])
    return result


def postprocess(folder: Path) -> bool:
    """The demo precompute's hook: decompose a finished run of this lesson; False if it is
    not one (another lesson's run, unfinished, or its final checkpoint was dropped)."""
    if store.read_status(folder)["state"] != "finished":
        return False
    if not (folder / "checkpoints" / "final.pt").exists():
        return False
    store_predictions(folder)
    return True
