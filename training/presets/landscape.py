"""BN smooths the loss landscape (REFERENCES 2.5 and 4; Santurkar et al. 2018, Fig. 4 and
the deep linear network of their appendix).

The Figure 1 sigmoid net (covariate_shift.py) sits at chance for hundreds of steps without
BN, where the landscape is trivially flat, so its smoothness numbers compare a plateau with
a net that learns. Here both nets learn from the first steps: 3 x 100 ReLU, Kaiming (He)
normal init, SGD lr 0.1, batches of 60, 20,000 Fashion-MNIST images, 5 epochs (~1.7k
steps); the ICS and smoothness probes run every 17 steps. The smoothness probe steps
along the gradient with eta = lr x 0.25 .. 4 (training/landscape.py).

Deep linear network: 25 linear layers of width 10 (identity activations), BN before every
hidden activation or none, inputs x ~ N(0, I_10), targets y = A x for a fixed random A,
squared error, full-batch gradient descent on 1,000 examples (one step per epoch), lr 0.01
for 300 steps (the paper: lr 1e-6 on its own target scale; 1e-3 barely moves either net here).
"""

from training.presets.base import Preset, collect

RELU_NET = {
    "data": {"name": "fashion-mnist", "n_train": 20_000, "n_test": 2_000},
    "model": {"widths": [100, 100, 100], "activation": "relu", "init": "kaiming", "batchnorm": "none"},
    "optim": {"name": "sgd", "lr": 0.1},
    "loss": "cross-entropy",
    "epochs": 5,
    "batch_size": 60,
    "probe_every": 17,
    # No activation probes: the lesson reads the landscape, ICS and scores (and the cache stays small)
    "probes": {"activations": False, "tracked_units": 0, "probe_batch": 512, "ics": True, "smoothness": True},
}

DLN_LAYERS, DLN_N, DLN_INIT_STD = 25, 1_000, 10 ** -0.5
DEEP_LINEAR = {
    "data": {"name": "gaussian-linear", "n_features": 10, "n_train": DLN_N, "n_test": DLN_N},
    # N(0, 1/10) weights keep |x| from layer to layer (Kaiming's factor 2 is for ReLUs: 2^25 here)
    "model": {"widths": [10] * (DLN_LAYERS - 1), "activation": "identity", "init_std": DLN_INIT_STD, "batchnorm": "none"},
    "optim": {"name": "sgd", "lr": 1e-2},
    "loss": "mse",
    "epochs": 300,
    "batch_size": DLN_N,
    "probe_every": 5,
    "probes": {"activations": False, "weights": False, "tracked_units": 0, "ics": True},
}


def _bn(tree: dict, batchnorm: str) -> dict:
    return {**tree, "model": {**tree["model"], "batchnorm": batchnorm}}


LANDSCAPE_NOBN = Preset("landscape-relu-nobn", "Santurkar Fig. 4: 3x100 ReLU, Kaiming init, SGD lr 0.1, no BN; "
                        "ICS and smoothness probes", RELU_NET)
LANDSCAPE_BN = Preset("landscape-relu-bn", "the same ReLU net with BN before every ReLU", _bn(RELU_NET, "before"))
DLN_NOBN = Preset("dln-nobn", "Santurkar appendix: 25-layer deep linear network, Gaussian data, full-batch GD, no BN",
                  DEEP_LINEAR)
DLN_BN = Preset("dln-bn", "the deep linear network with BN after every hidden linear layer", _bn(DEEP_LINEAR, "before"))
PRESETS = collect(LANDSCAPE_NOBN, LANDSCAPE_BN, DLN_NOBN, DLN_BN)
SWEEPS: dict = {}
