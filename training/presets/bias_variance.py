"""Bias-variance lesson (REFERENCES 2.1, 2.2, 2.7): capacity, weight decay and width sweeps.

Every sweep trains ensembles: K members on K disjoint training subsets in one job, all
scored on the same test inputs, which is what the decompositions need.

Degree sweep: the members are fitted by the closed-form least-squares solver
(optim.name "lstsq"), not SGD. SGD on x^i/i! features barely moves the high-order
weights within any sane epoch budget (their gradients are tiny), so it never reaches the
least-squares fit the classical U-curve is about; the textbook's SGD runs stay in
core.py (polynomial-degree3/1/19) and the page shows them separately. Test inputs
reach |x| ~ 3, so high-degree fits extrapolate wildly: variance grows by orders of
magnitude (the page uses a log axis and a cut stack); past degree ~15 the x^i/i!
columns fall below lstsq's rank cutoff and the fits stop changing.

Width sweep: Yang et al. 2020's Fashion-MNIST setup as in their fmnist/train.py
(784-width-10, no biases, ReLU, softmax then torch's MSELoss against the one-hot label, i.e.
the squared error averaged over the 10 classes, SGD lr 0.1 momentum 0.9 wd 1e-5, batch 128,
200 epochs with the rate cut 10x after epoch 100, N = 5 disjoint splits) at demo scale:
5 x 500 training images instead of 5 x 12,000, 2000 test images instead of 10,000. Scores logged during
training use only `eval_max` examples to keep the CPU budget; the page's numbers come
from `python -m training predictions` (training/predictions.py), which scores every
member on the whole test subset.

Random-features sweeps (Belkin et al. 2019, Nakkiran 2019): the same 784-width-10 ReLU
network, but the hidden layer keeps its random init and the output layer is the
minimum-norm least-squares fit to the one-hot labels (optim "lstsq",
training/closed_form.py). With 500 images per member the interpolation threshold is
width = 500 (features = examples); the grid doubles from 500/32 to 8 x 500, with extra
points near the threshold, so 500 has neighbours at 125 and 2000. Closed form: about a
minute per sweep on 2 shared cores (predictions included), not hours. Its cost is disk:
each run's final.pt holds K x width x 784 float32 hidden weights (~150 MB per sweep); the
page needs only the decomposition tables that the predictions step writes.
"""

from training.presets.base import collect, Sweep

DEGREE_MEMBERS = 100  # K resampled training sets per degree (closed form: cheap)
DEGREE_PER_MEMBER = (100, 30)  # the textbook's 100 points, and a small set where variance explodes early
DEGREES = tuple(range(1, 21))
WEIGHT_DECAYS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
WIDTHS = tuple(2**i for i in range(1, 11))  # 2 .. 1024
OVERLAY_WIDTHS = (2, 8, 32, 128, 512)  # factor-4 steps: a third of the cost
WIDTH_MEMBERS, WIDTH_PER_MEMBER = 5, 500
WIDTH_EPOCHS, WIDTH_LR_DROP_EVERY = 200, 100   # Yang et al.: StepLR(step_size=100, gamma=0.1), 200 epochs
RF_WIDTHS = (16, 31, 62, 125, 250, 350, 420, 500, 600, 700, 1000, 2000, 4000)

POLY_ENSEMBLE = {
    "data": {"name": "polynomial", "n_test": 500},
    "model": {"kind": "linear", "widths": [], "bias": False},
    "loss": "mse",
    "optim": {"name": "lstsq"},
    "epochs": 1,
    "batch_size": 10,
    "probe_every": 2,
    "probes": {"activations": False, "weights": False},
    "ensemble": DEGREE_MEMBERS,
    "ensemble_data": "disjoint",
    "checkpoint_every_epoch": False,
}

WEIGHT_DECAY_BASE = {
    "data": {"name": "linear-highdim", "n_train": 20, "n_test": 100},
    "model": {"kind": "linear", "widths": [], "init_std": 1.0},
    "loss": "mse",
    "optim": {"name": "sgd", "lr": 0.003, "decay_bias": False},
    "batch_size": 5,
    "epochs": 100,
    "probe_every": 20,
    "probes": {"activations": False},
    # Members share the 20 examples and differ in their N(0, 1) init only: the spread of ||w||.
    "ensemble": 5,
    "ensemble_data": "same",
}

YANG_MLP = {
    "data": {"name": "fashion-mnist", "n_train": WIDTH_MEMBERS * WIDTH_PER_MEMBER, "n_test": 2000},
    "model": {"kind": "mlp", "widths": [64], "activation": "relu", "bias": False},
    "loss": "mse-class-mean",
    "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-5, "lr_drop_every": WIDTH_LR_DROP_EVERY},
    "batch_size": 128,
    "epochs": WIDTH_EPOCHS,
    "probe_every": 100_000,
    "probes": {"activations": False, "weights": False, "eval_max": 200},
    "ensemble": WIDTH_MEMBERS,
    "ensemble_data": "disjoint",
    "checkpoint_every_epoch": False,
}


RANDOM_FEATURES = {
    **YANG_MLP,
    "loss": "mse",
    "optim": {"name": "lstsq"},
    "epochs": 1,
    "batch_size": WIDTH_PER_MEMBER,
    "probe_every": 2,
    "probes": {"activations": False, "weights": False, "eval_max": 2000},
}


def _with(base: dict, **sections) -> dict:
    """base with some sections updated, e.g. _with(YANG_MLP, data={"label_noise": 0.2})."""
    tree = dict(base)
    for key, value in sections.items():
        tree[key] = {**base[key], **value} if isinstance(value, dict) else value
    return tree


def _widths(values: tuple[int, ...]) -> tuple[list[int], ...]:
    return tuple([w] for w in values)


POLY_DEGREE_SWEEP = Sweep(
    "poly-degree-sweep",
    f"degree 1-20 polynomial least-squares fits, K={DEGREE_MEMBERS} disjoint training sets per degree; "
    "training-set size (100 or 30 per member) and noise (0.1 or 1.0) as knobs",
    POLY_ENSEMBLE,
    {
        "data.degree": DEGREES,
        "data.n_train": tuple(DEGREE_MEMBERS * n for n in DEGREE_PER_MEMBER),
        "data.noise_std": (0.1, 1.0),
    },
)
WEIGHT_DECAY_SWEEP = Sweep(
    "weight-decay-sweep",
    "D2L 4.5 linear regression (d=200, 20 examples) over lambda, 0 and log-spaced 0.001-10",
    WEIGHT_DECAY_BASE,
    {"optim.weight_decay": WEIGHT_DECAYS},
)
WIDTH_SWEEP = Sweep(
    "width-sweep",
    "Yang et al.'s Fashion-MNIST MLP, width 2-1024, 5 models on 5 disjoint 500-image splits, clean labels",
    YANG_MLP,
    {"model.widths": _widths(WIDTHS)},
)
WIDTH_SWEEP_NOISY = Sweep(
    "width-sweep-noisy",
    "the width sweep with 20% of the training labels replaced at random (double descent)",
    _with(YANG_MLP, data={"label_noise": 0.2}),
    {"model.widths": _widths(WIDTHS)},
)
WIDTH_SWEEP_NOISY_DROPOUT = Sweep(
    "width-sweep-noisy-dropout",
    "the noisy width sweep with dropout 0.5 on the hidden layer (overlay, every other width)",
    _with(YANG_MLP, data={"label_noise": 0.2}, model={"dropout": 0.5}),
    {"model.widths": _widths(OVERLAY_WIDTHS)},
)
WIDTH_SWEEP_NOISY_WD = Sweep(
    "width-sweep-noisy-wd",
    "the noisy width sweep with weight decay 5e-4 instead of 1e-5 (overlay, every other width)",
    _with(YANG_MLP, data={"label_noise": 0.2}, optim={"weight_decay": 5e-4}),
    {"model.widths": _widths(OVERLAY_WIDTHS)},
)
WIDTH_SWEEP_RF = Sweep(
    "width-sweep-rf",
    "random ReLU features + minimum-norm least squares on Fashion-MNIST, width 16-4000, "
    "5 x 500 disjoint images, clean labels (closed form)",
    RANDOM_FEATURES,
    {"model.widths": _widths(RF_WIDTHS)},
)
WIDTH_SWEEP_RF_NOISY = Sweep(
    "width-sweep-rf-noisy",
    "the random-features sweep with 20% label noise: the double-descent peak at width = 500",
    _with(RANDOM_FEATURES, data={"label_noise": 0.2}),
    {"model.widths": _widths(RF_WIDTHS)},
)
SWEEPS = collect(
    POLY_DEGREE_SWEEP,
    WEIGHT_DECAY_SWEEP,
    WIDTH_SWEEP,
    WIDTH_SWEEP_NOISY,
    WIDTH_SWEEP_NOISY_DROPOUT,
    WIDTH_SWEEP_NOISY_WD,
    WIDTH_SWEEP_RF,
    WIDTH_SWEEP_RF_NOISY,
)

PRESETS: dict = {}
