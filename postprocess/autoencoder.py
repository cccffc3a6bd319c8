"""After training an autoencoder: its hidden activations on the test images and its learned
features, stored as tables in the run's metrics.sqlite (Srivastava et al. 2014, Figs. 7-8).

    ae_sparsity(mean_activation, median_unit_mean, frac_zero, frac_dead_units, units, images,
                reconstruction_mse)
    ae_histograms(kind, bin, lo, hi, count)     kind: unit_mean (one value per hidden unit) or
                                                activation (every unit on every image)
    ae_filters(layer, units, png)                the encoder's rows / the decoder's columns as one
                                                 mosaic image (a data: URL), so no checkpoint is needed

`python -m training sparsity RUN_ID` runs it by hand; the dropout lesson's post-processing
runs it on its autoencoder presets and the sub-network analysis on the others.
"""
from __future__ import annotations

from pathlib import Path

import torch

from analysis import dropout as dp
from analysis import sparsity
from cache import store
from postprocess import subnetworks
from training.datasets import load_task

TABLES = ("ae_sparsity", "ae_histograms", "ae_filters")


@torch.no_grad()
def evaluate_autoencoder(folder: Path, n_test: int | None = None) -> dict[str, list[dict]]:
    """Compute and store the three tables for a finished autoencoder run; returns their rows."""
    spec = store.read_spec(folder)
    data = load_task(spec)
    model = store.load_model(folder, "final")
    x = data.x_test[:n_test]
    h = dp.hidden_activations(model, x)["hidden1"]                       # member 0's ReLU outputs [n, U]
    reconstruction = model(x)[0]                                          # [n, d], dropout off
    summary = {**sparsity.sparsity_row(h), "reconstruction_mse": float((reconstruction - x).pow(2).mean())}
    encoder = model.hidden["hidden1"].linear.weight[0]                   # [U, d]: unit u's input filter
    decoder = model.output.weight[0].T                                   # [U, d]: unit u's picture in the output
    tables = {
        "ae_sparsity": [summary],
        "ae_histograms": sparsity.activation_histograms(h).to_dict("records"),
        "ae_filters": [{"layer": layer, "units": int(w.shape[0]), "png": sparsity.png_data_url(sparsity.filter_mosaic(w))}
                       for layer, w in (("encoder", encoder), ("decoder", decoder))],
    }
    for table, rows in tables.items():
        store.replace_table(folder, table, rows)
    return tables


def postprocess(folder: Path) -> dict:
    """The dropout lesson's hook: sparsity tables for its autoencoders, sub-network tables for
    its classifiers (unfinished runs and sweep runs are skipped by each)."""
    spec, status = store.read_spec(folder), store.read_status(folder)
    if spec.model.kind != "autoencoder":
        return subnetworks.postprocess(folder)
    if status["state"] != "finished" or not (folder / "checkpoints" / "final.pt").exists():
        return {}
    return evaluate_autoencoder(folder)
