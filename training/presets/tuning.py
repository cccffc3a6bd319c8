"""Hyperparameter tuning lesson (REFERENCES 1, "Hyperparameter tuning"): the textbook's grid
lr in {0.1, 0.01, 0.001} x beta in {0.8, 0.88, 0.9} (9 runs) for Adam, a random search
with the same budget of 9 runs (Bergstra & Bengio), on the textbook MLP, and the textbook's
other knobs: hidden units {64, 256, 1024} x hidden layers {1, 2, 3} (9 runs).

Every run holds out 20% of its 10k Fashion-MNIST images as a validation split (trained on
the other 8k): settings are chosen on that split, and the chosen run's test score is read
once (analysis/tuning.py). Budget: 3 epochs (about 100 steps a run), scored at epoch ends
only, so the 27 runs fit the demo precompute; the ordering of settings is what the lesson reads.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from training.presets.base import collect, Sweep

TUNING_BASE = {
    "data": {"name": "fashion-mnist", "n_train": 10_000, "n_test": 2_000, "validation_fraction": 0.2},
    "model": {"widths": [256], "activation": "relu", "init_std": 0.01},
    "optim": {"name": "adam", "lr": 0.001},
    "loss": "cross-entropy",
    "epochs": 3,
    "batch_size": 256,
    # scores only at epoch ends, on at most 2,000 examples per split: the lesson reads final metrics
    "probe_every": 1_000,
    "probes": {"activations": False, "weights": False, "tracked_units": 0, "eval_max": 2_000},
}
BETA2 = 0.999


@dataclass(frozen=True)
class RandomSearch(Sweep):
    """A sweep whose points are drawn at random: `grid` maps a dotted key to ('log', low, high)
    or ('uniform', low, high); the same seed always draws the same points. Adam's beta1 is
    drawn under the key 'beta1' and stored in optim.betas with the fixed beta2."""

    n: int = 9
    seed: int = 0

    def points(self) -> list[dict]:
        rng = random.Random(self.seed)
        points = []
        for _ in range(self.n):
            draw = {key: _draw(rule, rng) for key, rule in self.grid.items()}
            if "beta1" in draw:
                draw["optim.betas"] = [draw.pop("beta1"), BETA2]
            points.append(draw)
        return points


def _draw(rule: tuple, rng: random.Random) -> float:
    kind, low, high = rule
    value = math.exp(rng.uniform(math.log(low), math.log(high))) if kind == "log" else rng.uniform(low, high)
    return float(f"{value:.3g}")  # 3 significant digits: readable in tables and legends


TUNING_GRID = Sweep(
    "tuning-grid",
    "Grid search: Adam lr {0.1, 0.01, 0.001} x beta1 {0.8, 0.88, 0.9}, 784-256-10, 10k images",
    TUNING_BASE,
    {"optim.lr": (0.1, 0.01, 0.001), "optim.betas": ((0.8, BETA2), (0.88, BETA2), (0.9, BETA2))},
)
TUNING_RANDOM = RandomSearch(
    "tuning-random",
    "Random search: 9 draws of lr ~ log-uniform(1e-4, 1e-1), beta1 ~ U(0.8, 0.99)",
    TUNING_BASE,
    {"optim.lr": ("log", 1e-4, 1e-1), "beta1": ("uniform", 0.8, 0.99)},
)
SHAPE_WIDTHS, SHAPE_LAYERS = (64, 256, 1024), (1, 2, 3)
TUNING_SHAPE = Sweep(
    "tuning-shape",
    "Hidden units {64, 256, 1024} x hidden layers {1, 2, 3}, Adam lr 0.001, 10k images",
    TUNING_BASE,
    {"model.widths": tuple((width,) * layers for layers in SHAPE_LAYERS for width in SHAPE_WIDTHS)},
)
SWEEPS = collect(TUNING_GRID, TUNING_RANDOM, TUNING_SHAPE)
PRESETS: dict = {}
