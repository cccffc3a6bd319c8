"""The textbook MLP written twice (training/scratch_mlp.py: from scratch and as nn.Sequential),
trained from one N(0, std^2) init on the same shuffled batches, with the finished d2l-mlp
run's data and setup (images, epochs, batch size, learning rate, init std, seed), and stored
as a lesson table in that run's metrics.sqlite:

    scratch_vs_concise(epoch, version, loss, test_accuracy, test_images)
        version: scratch or concise; loss: mean training loss over the epoch's batches;
        test_accuracy: on the run's test images (test_images of them) after the epoch

The lab's own trainer trains the run itself (batched layers, its own init stream); this table
is the two textbook listings side by side, which is what the comparison needs.
`python -m training postprocess RUN_ID` writes it by hand; the lesson's jobs do as they end.
"""
from __future__ import annotations

from pathlib import Path

import torch

from cache import store
from training.datasets import load_task
from training.scratch_mlp import train_both

TABLE = "scratch_vs_concise"


def comparable(spec) -> str | None:
    """Why the two textbook listings cannot replay this spec (None when they can)."""
    m, o = spec.model, spec.optim
    checks = {"one hidden layer": len(m.widths) == 1, "ReLU": m.activation == "relu",
              "no dropout or BN": not any(m.dropout_rates) and m.batchnorm == "none" and not m.input_batchnorm,
              "an N(0, std^2) init": m.init_std is not None, "cross-entropy": spec.loss == "cross-entropy",
              "plain SGD": o.name == "sgd" and o.momentum == 0 and o.weight_decay == 0}
    missing = [what for what, ok in checks.items() if not ok]
    return f"the textbook listings need {', '.join(missing)}" if missing else None


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), -1)


def compare_versions(folder: Path) -> list[dict]:
    """Train both listings with the run's setup and store their per-epoch table; returns its rows."""
    spec = store.read_spec(folder)
    reason = comparable(spec)
    if reason:
        raise ValueError(f"{folder.name}: {reason}")
    data = load_task(spec)
    rows, _, _ = train_both(_flat(data.x_train), data.y_train, epochs=spec.epochs, batch_size=spec.batch_size,
                            lr=spec.optim.lr, seed=spec.seed, hidden=spec.model.widths[0],
                            outputs=data.out_features, std=spec.model.init_std,
                            test=(_flat(data.x_test), data.y_test))
    rows = [{**row, "test_images": len(data.y_test)} for row in rows]
    store.replace_table(folder, TABLE, rows)
    return rows


def postprocess(folder: Path) -> dict:
    """The MLP lesson's hook: the comparison table for a finished run the listings can replay."""
    spec, status = store.read_spec(folder), store.read_status(folder)
    if status["state"] != "finished" or comparable(spec):
        return {}
    return {TABLE: compare_versions(folder)}
