"""The textbook setups (REFERENCES 1, 2.1-2.3)."""
from training.presets.base import Preset, collect

D2L_MLP = {
    "data": {"name": "fashion-mnist"}, "loss": "cross-entropy", "epochs": 10, "batch_size": 256,
    "model": {"widths": [256, 256], "activation": "relu", "init_std": 0.01},
    "optim": {"name": "sgd", "lr": 0.5}, "probe_every": 47,
}


def _poly(degree: int, epochs: int) -> dict:
    return {"data": {"name": "polynomial", "degree": degree, "n_train": 100, "n_test": 100},
            "model": {"kind": "linear", "widths": [], "bias": False}, "loss": "mse",
            "optim": {"name": "sgd", "lr": 0.01}, "batch_size": 10, "epochs": epochs, "probe_every": 200,
            "probes": {"activations": False}}


def _weight_decay(lam: float) -> dict:
    return {"data": {"name": "linear-highdim", "n_train": 20, "n_test": 100},
            "model": {"kind": "linear", "widths": [], "init_std": 1.0}, "loss": "mse",
            "optim": {"name": "sgd", "lr": 0.003, "weight_decay": lam, "decay_bias": False},
            "batch_size": 5, "epochs": 100, "probe_every": 20, "probes": {"activations": False}}


PRESETS = collect(
    Preset("d2l-dropout", "D2L 4.6: 784-256-256-10 ReLU, dropout 0.2/0.5, SGD lr 0.5, 10 epochs", "dropout",
           {**D2L_MLP, "model": {**D2L_MLP["model"], "dropout": [0.2, 0.5]}}),
    Preset("d2l-no-dropout", "D2L 4.6 without dropout: the same MLP and schedule", "dropout", D2L_MLP),
    Preset("d2l-mlp", "D2L 4.2: 784-256-10 ReLU, SGD lr 0.1, batch 256, 10 epochs", "home",
           {**D2L_MLP, "model": {"widths": [256], "init_std": 0.01}, "optim": {"name": "sgd", "lr": 0.1}}),
    Preset("polynomial-degree3", "D2L 4.4: cubic features fit the cubic (normal fit)", "bias-variance", _poly(3, 400)),
    Preset("polynomial-degree1", "D2L 4.4: a line underfits the cubic", "bias-variance", _poly(1, 400)),
    Preset("polynomial-degree19", "D2L 4.4: 20 features overfit (1500 epochs)", "bias-variance", _poly(19, 1500)),
    Preset("weight-decay-0", "D2L 4.5: 200-d linear regression, 20 examples, no decay", "bias-variance",
           _weight_decay(0.0)),
    Preset("weight-decay-3", "D2L 4.5: the same with lambda = 3 (biases not decayed)", "bias-variance",
           _weight_decay(3.0)),
)

SWEEPS: dict = {}
