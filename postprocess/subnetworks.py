"""Follow-up analysis of a finished run: its dropout sub-networks, scored on the test set.

`python -m training subnetworks RUN_ID` (or `postprocess(folder)` from code) loads the
run's final weights, evaluates what is too slow for the page (hundreds of sampled
sub-networks, Monte-Carlo averages, unit removal, activation sparsity) and stores the
results as tables in the run's metrics.sqlite:

    subnet_samples(sample, accuracy, kept_hidden1, ...)        one row per sampled sub-network
    subnet_reference(network, accuracy)                          weight-scaled (eval mode) accuracy
    mc_average(k, repeat, accuracy)                              MC average of k sub-networks
    unit_removal(fraction, repeat, accuracy)                     units deleted at test time, no rescale
    sparsity(layer, mean_activation, frac_zero, frac_dead_units)
    sparsity_hist(layer, kind, bin, lo, hi, count)

It also saves a small test subset (checkpoints/test_subset.pt) so the page can score
freshly sampled sub-networks live without the dataset installed.
"""
from __future__ import annotations

from pathlib import Path

import torch

from analysis import dropout as dp
from cache import store
from training.datasets import load_dataset

LIVE_SUBSET = 1000                     # test examples the page scores a sampled sub-network on
REMOVAL_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
TEST_SUBSET_CHECKPOINT = "test_subset"


def save_test_subset(folder: Path, x: torch.Tensor, y: torch.Tensor) -> None:
    """Store x [n, d], y [n]; pixel data that is k/255 is kept as uint8 (4x smaller)."""
    as_bytes = (x * 255).round()
    in_range = x.numel() > 0 and float(as_bytes.min()) >= 0 and float(as_bytes.max()) <= 255
    if in_range and bool(((as_bytes / 255 - x).abs() < 1e-6).all()):
        payload = {"x": as_bytes.to(torch.uint8), "scale": 255.0, "y": y}
    else:
        payload = {"x": x.float(), "scale": 1.0, "y": y}
    store.save_checkpoint(folder, TEST_SUBSET_CHECKPOINT, payload)


def load_test_subset(folder: Path) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(x float [n, d], y [n]) saved by `postprocess`, or None if it has not run."""
    payload = store.load_checkpoint(folder, TEST_SUBSET_CHECKPOINT)
    if payload is None:
        return None
    return payload["x"].float() / payload["scale"], payload["y"]


def evaluate_subnetworks(folder: Path, n_samples: int = 200, ks: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200),
                         repeats: int = 5, seed: int = 0, n_test: int | None = None) -> dict:
    """Compute every sub-network table for the run in `folder` and store them; returns the frames.
    n_test scores on the first n_test test examples only (default: the run's whole test set)."""
    spec = store.read_spec(folder)
    data = load_dataset(spec.data)
    model = store.load_model(folder, "final")
    x, y = data.x_test[:n_test], data.y_test[:n_test]
    generator = torch.Generator().manual_seed(seed)
    reference = float(dp.accuracy(dp.weight_scaled_forward(model, x), y))
    tables = {
        "subnet_reference": [{"network": "weight-scaled", "accuracy": reference, "n_test": len(y)}],
        "subnet_samples": dp.subnet_accuracies(model, x, y, n_samples, generator).to_dict("records"),
        "mc_average": dp.mc_curve(model, x, y, tuple(ks), repeats, generator).to_dict("records"),
        "unit_removal": dp.unit_removal(model, x, y, REMOVAL_FRACTIONS, repeats, generator).to_dict("records"),
    }
    activations = dp.hidden_activations(model, x)
    tables["sparsity"] = dp.sparsity_summary(activations).to_dict("records")
    tables["sparsity_hist"] = dp.sparsity_histograms(activations).to_dict("records")
    for table, rows in tables.items():
        store.replace_table(folder, table, rows)
    save_test_subset(folder, x[:LIVE_SUBSET], y[:LIVE_SUBSET])
    return tables


def postprocess(folder: Path) -> dict:
    """The demo precompute's hook: sub-network tables for a finished MLP preset run (sweep runs,
    linear models and unfinished runs are skipped)."""
    from training.presets import SWEEPS

    spec, status = store.read_spec(folder), store.read_status(folder)
    if spec.name in SWEEPS or status.get("sweep"):   # sweep pages read only the logged scores
        return {}
    if spec.model.kind != "mlp" or status["state"] != "finished" or not (folder / "checkpoints" / "final.pt").exists():
        return {}
    return evaluate_subnetworks(folder)
