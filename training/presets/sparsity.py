"""Dropout makes features sparse (REFERENCES 2.6 and 4; Srivastava et al. 2014, section 7.2,
Figs. 7-8): one-hidden-layer autoencoders, 784-256-784, 256 ReLU units, with and without
dropout p = 0.5 on the hidden units.

The paper trains on MNIST; here Fashion-MNIST, all 60,000 images, standardized per pixel
(so the hidden units start with inputs of unit scale rather than 1/255 steps), linear
output and squared error, Adam lr 1e-3, batches of 128, 10 epochs (~4.7k steps, about a
minute each on 2 shared cores). The probes log the hidden layer's activations over
training; after training the dropout lesson's post-processing stores the sparsity tables
and the learned features (postprocess/autoencoder.py).
"""

from training.presets.base import Preset, collect

AUTOENCODER = {
    "data": {"name": "fashion-mnist", "n_test": 10_000, "normalize": "standardize"},
    "model": {"kind": "autoencoder", "widths": [256], "activation": "relu"},
    "loss": "mse",
    "optim": {"name": "adam", "lr": 1e-3},
    "batch_size": 128,
    "epochs": 10,
    "probe_every": 235,          # ~20 probes over training, 2 per epoch
    "probes": {"tracked_units": 0, "histogram_bins": 30, "eval_max": 2_000},
}

AE_NO_DROPOUT = Preset("ae-no-dropout", "Srivastava Fig. 8: 784-256-784 ReLU autoencoder, no dropout (Adam, 10 epochs)",
                       AUTOENCODER)
AE_DROPOUT = Preset("ae-dropout", "Srivastava Fig. 8: the same autoencoder with dropout p = 0.5 on the hidden units",
                    {**AUTOENCODER, "model": {**AUTOENCODER["model"], "dropout": 0.5}})
PRESETS = collect(AE_NO_DROPOUT, AE_DROPOUT)
SWEEPS: dict = {}
