"""Activation functions inside deep networks (REFERENCES 4, "Activations"; d2l 4.1 and 5.4).

Six hidden layers of 128 units on Fashion-MNIST, SGD at one learning rate, only the
activation (and BN) differing: the deep sigmoid net's gradients shrink layer by layer
toward the input (vanishing gradients); tanh, centred at 0 with a slope of 1 there, keeps
them; ReLU at a too-large learning rate loses units that never fire again (dead ReLUs);
BN between each layer and its activation changes both. The probes log per-layer gradient
norms ('weights' table) and the fraction of zero and saturated activations
('activations' table), which is what the lesson reads.

Budget: 20k training images, 3 epochs (about 240 steps), probes every 20 steps.
"""

from training.presets.base import Preset, collect

DEEP_WIDTHS = [128] * 6
DEEP_BASE = {
    "data": {"name": "fashion-mnist", "n_train": 20_000, "n_test": 5_000},
    "model": {"widths": DEEP_WIDTHS, "activation": "sigmoid"},
    "optim": {"name": "sgd", "lr": 0.1},
    "loss": "cross-entropy",
    "epochs": 3,
    "batch_size": 256,
    "probe_every": 20,
    "probes": {"tracked_units": 0, "histogram_bins": 20, "eval_max": 5_000},
}
HIGH_LR = 1.0   # ReLU at this rate loses units (dead ReLUs); sigmoid and tanh are shown at 0.1


def _deep(activation: str, lr: float = 0.1, batchnorm: str = "none") -> dict:
    return {**DEEP_BASE, "model": {**DEEP_BASE["model"], "activation": activation, "batchnorm": batchnorm},
            "optim": {**DEEP_BASE["optim"], "lr": lr}}


DEEP_SIGMOID = Preset("deep-sigmoid", "6 x 128 sigmoid MLP, SGD lr 0.1: vanishing gradients", _deep("sigmoid"))
DEEP_TANH = Preset("deep-tanh", "6 x 128 tanh MLP, SGD lr 0.1", _deep("tanh"))
DEEP_RELU = Preset("deep-relu", "6 x 128 ReLU MLP, SGD lr 0.1", _deep("relu"))
DEEP_RELU_HIGH_LR = Preset("deep-relu-high-lr", f"6 x 128 ReLU MLP at a too-large SGD lr {HIGH_LR}: dead ReLUs",
                           _deep("relu", HIGH_LR))
DEEP_SIGMOID_BN = Preset("deep-sigmoid-bn", "The sigmoid net with BN before each sigmoid, lr 0.1",
                         _deep("sigmoid", batchnorm="before"))
DEEP_RELU_HIGH_LR_BN = Preset("deep-relu-high-lr-bn", f"The ReLU net at lr {HIGH_LR} with BN before each ReLU",
                              _deep("relu", HIGH_LR, batchnorm="before"))
# pReLU learns its negative slope, one per layer (torch's initial 0.25); the checkpoint holds what it learned.
DEEP_PRELU = Preset("deep-prelu", "6 x 128 pReLU MLP, SGD lr 0.1: each layer learns its negative slope",
                    _deep("prelu"))

PRESETS = collect(DEEP_SIGMOID, DEEP_TANH, DEEP_RELU, DEEP_RELU_HIGH_LR, DEEP_SIGMOID_BN, DEEP_RELU_HIGH_LR_BN,
                  DEEP_PRELU)
SWEEPS: dict = {}
