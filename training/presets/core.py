"""The textbook setups (REFERENCES 1, 2.1-2.3)."""

from training.presets.base import Preset, collect

D2L_MLP_TREE = {
    "data": {"name": "fashion-mnist"},
    "loss": "cross-entropy",
    "epochs": 10,
    "batch_size": 256,
    "model": {"widths": [256, 256], "activation": "relu", "init_std": 0.01},
    "optim": {"name": "sgd", "lr": 0.5},
    "probe_every": 47,
}


def _poly(degree: int, epochs: int) -> dict:
    return {
        "data": {"name": "polynomial", "degree": degree, "n_train": 100, "n_test": 100},
        "model": {"kind": "linear", "widths": [], "bias": False},
        "loss": "mse",
        "optim": {"name": "sgd", "lr": 0.01},
        "batch_size": 10,
        "epochs": epochs,
        "probe_every": 200,
        "probes": {"activations": False},
    }


def _weight_decay(lam: float) -> dict:
    return {
        "data": {"name": "linear-highdim", "n_train": 20, "n_test": 100},
        "model": {"kind": "linear", "widths": [], "init_std": 1.0},
        "loss": "mse",
        "optim": {"name": "sgd", "lr": 0.003, "weight_decay": lam, "decay_bias": False},
        "batch_size": 5,
        "epochs": 100,
        "probe_every": 20,
        "probes": {"activations": False},
    }


D2L_DROPOUT = Preset(
    "d2l-dropout",
    "D2L 4.6: 784-256-256-10 ReLU, dropout 0.2/0.5, SGD lr 0.5, 10 epochs",
    {**D2L_MLP_TREE, "model": {**D2L_MLP_TREE["model"], "dropout": [0.2, 0.5]}},
)
D2L_NO_DROPOUT = Preset("d2l-no-dropout", "D2L 4.6 without dropout: the same MLP and schedule", D2L_MLP_TREE)
D2L_MLP = Preset(
    "d2l-mlp",
    "D2L 4.2: 784-256-10 ReLU, SGD lr 0.1, batch 256, 10 epochs",
    {**D2L_MLP_TREE, "model": {"widths": [256], "init_std": 0.01}, "optim": {"name": "sgd", "lr": 0.1}},
)
POLYNOMIAL_DEGREE3 = Preset("polynomial-degree3", "D2L 4.4: cubic features fit the cubic (normal fit)", _poly(3, 400))
POLYNOMIAL_DEGREE1 = Preset("polynomial-degree1", "D2L 4.4: a line underfits the cubic", _poly(1, 400))
POLYNOMIAL_DEGREE19 = Preset("polynomial-degree19", "D2L 4.4: 20 features overfit (1500 epochs)", _poly(19, 1500))
WEIGHT_DECAY_0 = Preset(
    "weight-decay-0", "D2L 4.5: 200-d linear regression, 20 examples, no decay", _weight_decay(0.0)
)
WEIGHT_DECAY_3 = Preset(
    "weight-decay-3", "D2L 4.5: the same with lambda = 3 (biases not decayed)", _weight_decay(3.0)
)
PRESETS = collect(
    D2L_DROPOUT,
    D2L_NO_DROPOUT,
    D2L_MLP,
    POLYNOMIAL_DEGREE3,
    POLYNOMIAL_DEGREE1,
    POLYNOMIAL_DEGREE19,
    WEIGHT_DECAY_0,
    WEIGHT_DECAY_3,
)

SWEEPS: dict = {}
