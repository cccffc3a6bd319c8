"""The validation split: a fraction of the (sub-sampled) training set held out before training.

The held-out examples are drawn from `data.resample_seed` (offset, so the draw does not repeat
the subset's), never enter a mini-batch, and are scored as split "val" next to "train" and
"test". Model selection reads that split only; the test set stays for one final score.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch

from runspec.bounds import validation_size

if TYPE_CHECKING:
    from training.datasets import Dataset

VALIDATION_SEED_OFFSET = 4_000_037


def validation_split(n_train: int, fraction: float, resample_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices kept for training, indices held out), both sorted, disjoint, covering range(n_train)."""
    n_val = validation_size(n_train, fraction)
    generator = torch.Generator().manual_seed(resample_seed + VALIDATION_SEED_OFFSET)
    order = torch.randperm(n_train, generator=generator)
    return order[n_val:].sort().values, order[:n_val].sort().values


def hold_out(data: "Dataset", fraction: float, resample_seed: int) -> "Dataset":
    """The dataset with `fraction` of its training examples moved to x_val / y_val (0: unchanged)."""
    if fraction <= 0:
        return data
    keep, held = validation_split(len(data.y_train), fraction, resample_seed)
    one_d = data.x_train_1d[keep] if data.x_train_1d is not None else None
    return dataclasses.replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep], x_train_1d=one_d,
                               x_val=data.x_train[held], y_val=data.y_train[held],
                               meta={**data.meta, "validation_indices": held})
