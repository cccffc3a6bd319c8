"""The textbook's MLP from scratch and the concise nn.Sequential version agree: same init,
same batches, same losses and weights after training (on the committed Fashion-MNIST subset)."""
from __future__ import annotations

from runspec import DataSpec
from training.datasets import load_dataset
from training.scratch_mlp import largest_difference, train_both


def test_scratch_and_concise_mlp_agree_step_for_step():
    data = load_dataset(DataSpec(name="fashion-mnist", n_train=1024, n_test=256))
    rows, params, net = train_both(data.x_train.reshape(len(data.x_train), -1), data.y_train, epochs=2)
    by_epoch = {}
    for row in rows:
        by_epoch.setdefault(row["epoch"], {})[row["version"]] = row["loss"]
    for epoch, losses in by_epoch.items():
        assert abs(losses["scratch"] - losses["concise"]) < 1e-5, (epoch, losses)
    assert by_epoch[2]["scratch"] < by_epoch[1]["scratch"]          # it learns
    assert largest_difference(params, net) < 1e-5
