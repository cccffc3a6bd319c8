"""Double descent in SGD-trained networks (REFERENCES 2.7 and 4; Nakkiran et al. 2019,
Belkin et al. 2019): one-hidden-layer ReLU nets trained to interpolation.

The Yang et al. width sweep (bias_variance.py) never fits its noisy labels (weight decay on,
a few hundred steps), so it has no interpolation threshold to peak at. Here every width is
trained until the wide nets fit every training label: Adam lr 1e-3 (Nakkiran's optimiser),
no weight decay, cross-entropy, batches of 128, 2,000 epochs on 1,000 images, 20% of them
relabelled at random (Nakkiran: 10-20%), and the same with clean labels.

Why 7x7 inputs (each 4x4 pixel block averaged): with 784 inputs a hidden unit carries 795
weights, so a net can fit 1,000 noisy labels from width ~16 on, and every width below that
is too narrow to fit even the signal: no room for the classical regime before the
threshold. With 49 inputs the threshold moves to width ~500 (about 25k parameters ~ n x
classes x 2.5), widths 16-64 fit the signal and not the noise, and the sweep costs a
twentieth. The whole test set (10,000 images) scores each width, at ~20 epochs per decade
("log" schedule) for Nakkiran's epoch-wise view.

Cost (2 shared cores): about 5 min per sweep with one worker, most of it widths 2048-4096.
"""

from training.presets.base import Sweep, collect

DD_WIDTHS = (8, 16, 32, 64, 128, 256, 384, 512, 768, 1024, 2048, 4096)
DD_N_TRAIN = 1_000
DD_EPOCHS = 2_000
DD_LABEL_NOISE = 0.2

INTERPOLATION = {
    "data": {"name": "fashion-mnist", "n_train": DD_N_TRAIN, "downsample": 4},
    "model": {"kind": "mlp", "widths": [64], "activation": "relu"},
    "loss": "cross-entropy",
    "optim": {"name": "adam", "lr": 1e-3},
    "batch_size": 128,
    "epochs": DD_EPOCHS,
    "probe_every": 1_000_000,   # no mid-epoch probes: the scores come from the scored epoch ends
    "probes": {"activations": False, "weights": False, "eval_max": 10_000, "score_epochs": "log"},
    "checkpoint_every_epoch": False,
}


def _noisy(fraction: float) -> dict:
    return {**INTERPOLATION, "data": {**INTERPOLATION["data"], "label_noise": fraction}}


DD_SWEEP = Sweep(
    "dd-width-sweep",
    "one-hidden-layer ReLU nets trained to interpolation (Adam, no weight decay, 2k epochs), width 8-4096, "
    "1,000 Fashion-MNIST images at 7x7, clean labels",
    INTERPOLATION,
    {"model.widths": tuple([w] for w in DD_WIDTHS)},
)
DD_SWEEP_NOISY = Sweep(
    "dd-width-sweep-noisy",
    "the interpolation sweep with 20% of the training labels replaced at random: the double-descent peak",
    _noisy(DD_LABEL_NOISE),
    {"model.widths": tuple([w] for w in DD_WIDTHS)},
)

PRESETS: dict = {}
SWEEPS = collect(DD_SWEEP, DD_SWEEP_NOISY)
