"""Dropout lesson (REFERENCES 1, 2.3, 2.6): the textbook pair lives in core.py
(`d2l-dropout`, `d2l-no-dropout`); here are the rate sweeps.

The sweeps train the textbook architecture (784-256-256-10 ReLU) on a 2,000-example
subset for 100 epochs with SGD + momentum (lr 0.05, momentum 0.9, batch 128, torch's
default init): without dropout the net memorises the training set (train accuracy 1.0,
test loss rising), which is where dropout's effect on the generalization gap shows. Srivastava et al. found no gain at 100-500 examples and
the largest at intermediate sizes; they also found test error flat for keep
probabilities 0.4-0.8 (drop rates 0.2-0.6), with very high drop rates underfitting.
"""

from training.presets.base import Sweep, collect
from training.presets.core import D2L_MLP_TREE

SWEEP_BUDGET = {
    **D2L_MLP_TREE,
    "data": {"name": "fashion-mnist", "n_train": 2_000},
    "epochs": 100,
    "batch_size": 128,
    "model": {"widths": [256, 256], "activation": "relu"},
    "optim": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "probe_every": 200,
    "probes": {"tracked_units": 0, "histogram_bins": 20},
}

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# (first hidden layer, second hidden layer); the common practice is a lower rate near the
# input. The last pair reverses that, as a contrast.
LAYER_RATES = ((0.0, 0.0), (0.1, 0.3), (0.2, 0.5), (0.3, 0.7), (0.5, 0.5), (0.5, 0.2))

PRESETS: dict = {}

DROPOUT_RATE_SWEEP = Sweep(
    "dropout-rate-sweep",
    "Dropout rate p = 0..0.9 in both hidden layers, 784-256-256-10 on 2k examples",
    SWEEP_BUDGET,
    {"model.dropout": RATES},
)
DROPOUT_LAYER_SWEEP = Sweep(
    "dropout-layer-sweep",
    "Per-layer dropout rates (lower near the input, and one reversed pair)",
    SWEEP_BUDGET,
    {"model.dropout": LAYER_RATES},
)
SWEEPS = collect(DROPOUT_RATE_SWEEP, DROPOUT_LAYER_SWEEP)
