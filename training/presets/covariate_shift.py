"""Batch normalization lesson (REFERENCES 1, 2.4, 2.5): Ioffe & Szegedy's Figure 1,
Santurkar et al.'s ICS and smoothness measurements, the Keras Concrete lesson, and
learning-rate / placement sweeps. Budgets are cut to CPU minutes; the effects survive."""

from training.presets.base import Preset, Sweep, collect


# Figure 1 (section 4.1): 3 x 100 sigmoid, small Gaussian init, batches of 60, SGD.
# The paper trains 50k steps on MNIST; 5 epochs of 20k Fashion-MNIST images is ~1.7k steps,
# enough for the no-BN bands to drift while the BN ones stay put.
FIG1 = {
    "data": {"name": "fashion-mnist", "n_train": 20_000, "n_test": 2_000},
    "model": {"widths": [100, 100, 100], "activation": "sigmoid", "init_std": 0.05, "batchnorm": "none"},
    "optim": {"name": "sgd", "lr": 0.5},
    "loss": "cross-entropy",
    "epochs": 5,
    "batch_size": 60,
    "probe_every": 17,
    "probes": {"tracked_units": 10, "probe_batch": 512, "ics": True, "smoothness": True},
}


def _fig1(batchnorm: str, **model) -> dict:
    return {**FIG1, "model": {**FIG1["model"], "batchnorm": batchnorm, **model}}


# The Figure 1 net on a small budget for sweeps: 10k images, 2 epochs, ICS/smoothness off.
SMALL = {
    **_fig1("none"),
    "data": {"name": "fashion-mnist", "n_train": 10_000, "n_test": 2_000},
    "epochs": 2,
    "probe_every": 20,
    "probes": {"tracked_units": 10},
}

# For the learning-rate sweep: the same shape with ReLU and torch's default init, a net that
# trains without BN at moderate rates, so the sweep shows where each one stops training.
LR_NET = {**SMALL, "model": {"widths": [100, 100, 100], "activation": "relu", "batchnorm": "none"}}

BN_FIG1_NOBN = Preset(
    "bn-fig1-nobn", "BN paper Fig. 1: 3x100 sigmoid, batch 60, SGD, no BN (Fashion-MNIST, 1.7k steps)", _fig1("none")
)
BN_FIG1_BN = Preset("bn-fig1-bn", "BN paper Fig. 1: the same net with BN before every sigmoid", _fig1("before"))
BN_NOISY = Preset(
    "bn-noisy",
    "Santurkar et al.: the Fig. 1 BN net with i.i.d. scale/shift noise per activation and sample after BN, "
    "its distribution redrawn every step",
    _fig1("before", bn_noise=0.5),
)
PRESETS = collect(BN_FIG1_NOBN, BN_FIG1_BN, BN_NOISY)

BN_LR_SWEEP = Sweep(
    "bn-lr-sweep",
    "Final test accuracy vs learning rate, with and without BN (3x100 ReLU, 10k images)",
    LR_NET,
    {"optim.lr": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0), "model.batchnorm": ("none", "before")},
)
BN_PLACEMENT = Sweep(
    "bn-placement",
    "BN before vs after the sigmoid (Fig. 1 net, 10k images)",
    {**SMALL, "epochs": 3},
    {"model.batchnorm": ("none", "before", "after")},
)
SWEEPS = collect(BN_LR_SWEEP, BN_PLACEMENT)
