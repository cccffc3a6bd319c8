"""Dropout lesson (REFERENCES 1, 2.3, 2.6): the textbook pair lives in core.py
(`d2l-dropout`, `d2l-no-dropout`); here are the rate sweeps.

The sweeps train the textbook MLP (784-256-256-10, SGD lr 0.5, batch 256) on a
10,000-example subset for 20 epochs: a smaller training set and a longer schedule make
the no-dropout net overfit visibly (train accuracy keeps climbing, test accuracy stalls),
which is where dropout helps. Srivastava et al. found no gain at 100-500 examples and
the largest at intermediate sizes; they also found test error flat for keep
probabilities 0.4-0.8 (drop rates 0.2-0.6), with very high drop rates underfitting.
"""
from training.presets.base import Sweep
from training.presets.core import D2L_MLP

SWEEP_BUDGET = {**D2L_MLP, "data": {"name": "fashion-mnist", "n_train": 10_000}, "epochs": 20,
                "probe_every": 80, "probes": {"tracked_units": 0, "histogram_bins": 20}}

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# (first hidden layer, second hidden layer); the common practice is a lower rate near the
# input. The last pair reverses that, as a contrast.
LAYER_RATES = ((0.0, 0.0), (0.1, 0.3), (0.2, 0.5), (0.3, 0.7), (0.5, 0.5), (0.5, 0.2))

PRESETS: dict = {}

SWEEPS = {
    "dropout-rate-sweep": Sweep(
        "dropout-rate-sweep", "Dropout rate p = 0..0.9 in both hidden layers, 784-256-256-10 on 10k examples",
        "dropout", SWEEP_BUDGET, {"model.dropout": RATES}),
    "dropout-layer-sweep": Sweep(
        "dropout-layer-sweep", "Per-layer dropout rates (lower near the input, and one reversed pair)",
        "dropout", SWEEP_BUDGET, {"model.dropout": LAYER_RATES}),
}
