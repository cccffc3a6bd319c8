"""Bounds that keep one run within a teaching machine, checked when a spec is built.

Every limit is a named constant here and every error names it, so "why not?" has an
answer: a launch form cannot queue a 100,000,000-unit layer or 100,000 epochs of 235
steps. These are fixed (a spec valid here is valid everywhere); the memory a job may use
on *this* machine is checked when the job is launched (training/limits.py), from the
estimate below. Pure arithmetic on the spec: no torch, no data loaded.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runspec.spec import DataSpec, RunSpec

MAX_WIDTH = 65_536               # units in one hidden layer
MAX_HIDDEN_LAYERS = 64
MAX_EXAMPLES = 1_000_000         # data.n_train, data.n_test, batch_size, probes.eval_max
MAX_FEATURES = 100_000           # data.n_features (linear-highdim)
MAX_PROBE_BATCH = 65_536
MAX_PARAMETERS = 200_000_000     # weights and biases over all ensemble members
MAX_TOTAL_STEPS = 2_000_000      # epochs x steps per epoch
MAX_VALIDATION_FRACTION = 0.5    # data.validation_fraction < this: most of the training set still trains

# What each dataset holds when n_train / n_test are None, and its input/output sizes.
# training/datasets.py builds the tensors; a test checks these agree with it.
# For the CSV data sets the sizes are the published files' (a user's copy may differ a little:
# they only size the step and memory checks).
FULL_SIZES = {"fashion-mnist": (60_000, 10_000), "polynomial": (100, 100), "linear-highdim": (20, 100),
              "concrete-synthetic": (721, 309), "concrete": (721, 309), "red-wine": (1_119, 480),
              "spotify": (24_625, 8_208), "gaussian-linear": (1_000, 1_000)}
TABULAR_INPUTS = {"concrete-synthetic": 8, "concrete": 8, "red-wine": 11, "spotify": 12}
FASHION_PIXELS, FASHION_CLASSES = 28 * 28, 10
TORCH_BASE_BYTES = 700 * 2**20   # a job process with torch loaded, before any tensor
EVAL_CHUNK = 8192                # training/losses.evaluate's chunk


def validation_size(n_train: int, fraction: float) -> int:
    """Examples of an n_train training set held out as split 'val' (the trainer's and these checks' one count)."""
    return round(fraction * n_train)


def data_shape(data: "DataSpec") -> tuple[int, int, int, int]:
    """(n_train, n_test, input features, outputs) the loader will produce; n_train counts the
    examples trained on, after the validation split is held out."""
    n_train, n_test, inputs, outputs = _loaded_shape(data)
    return n_train - validation_size(n_train, data.validation_fraction), n_test, inputs, outputs


def _loaded_shape(data: "DataSpec") -> tuple[int, int, int, int]:
    full_train, full_test = FULL_SIZES[data.name]
    if data.name == "fashion-mnist":
        n_train, n_test = min(data.n_train or full_train, full_train), min(data.n_test or full_test, full_test)
        return n_train, n_test, FASHION_PIXELS // data.downsample**2, FASHION_CLASSES
    if data.name == "gaussian-linear":   # y = A x with A square: as many outputs as inputs
        return data.n_train or full_train, data.n_test or full_test, data.n_features, data.n_features
    inputs = {"polynomial": data.degree + 1, "linear-highdim": data.n_features, **TABULAR_INPUTS}[data.name]
    return data.n_train or full_train, data.n_test or full_test, inputs, 1


def per_member_examples(spec: "RunSpec") -> int:
    """m: the training examples each member sees per epoch (trainer.member_indices)."""
    n_train = data_shape(spec.data)[0]
    if spec.ensemble > 1 and spec.ensemble_data == "disjoint":
        return max(1, n_train // spec.ensemble)
    return n_train


def total_steps(spec: "RunSpec") -> int:
    if spec.optim.name == "lstsq":
        return 1
    return math.ceil(per_member_examples(spec) / spec.batch_size) * spec.epochs


def layer_sizes(spec: "RunSpec") -> list[int]:
    _, _, inputs, outputs = data_shape(spec.data)
    if spec.model.kind == "autoencoder":   # it reconstructs its input
        outputs = inputs
    return [inputs, *spec.model.widths, outputs]


def parameter_count(spec: "RunSpec") -> int:
    sizes = layer_sizes(spec)
    per_member = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    return spec.ensemble * per_member


def check_bounds(spec: "RunSpec") -> None:
    """ValueError naming the field, the value and the limit, for a run too big to start."""
    if spec.is_custom:   # the user's own model and data (reglab): nothing the lab would train
        return
    params = parameter_count(spec)
    if params > MAX_PARAMETERS:
        raise ValueError(f"model.widths: {params:,} parameters over {spec.ensemble} member(s) is over the limit "
                         f"of {MAX_PARAMETERS:,} (runspec.bounds.MAX_PARAMETERS)")
    steps = total_steps(spec)
    if steps > MAX_TOTAL_STEPS:
        per_epoch = steps // spec.epochs
        raise ValueError(f"epochs: {spec.epochs:,} epochs x {per_epoch:,} steps per epoch = {steps:,} steps is over "
                         f"the limit of {MAX_TOTAL_STEPS:,} (runspec.bounds.MAX_TOTAL_STEPS)")


def estimate_memory(spec: "RunSpec") -> int:
    """Bytes a job for `spec` may need at its peak (float32 everywhere; generous, not exact)."""
    _, n_test, inputs, outputs = data_shape(spec.data)
    members, m = spec.ensemble, per_member_examples(spec)
    sizes, hidden = layer_sizes(spec), sum(spec.model.widths) + outputs
    params = parameter_count(spec)
    optimizer_states = {"sgd": 1 if spec.optim.momentum else 0, "adam": 2, "lstsq": 0}[spec.optim.name]
    loaded = _loaded_shape(spec.data)[0]                  # the validation split stays in memory too
    data = 4 * 2 * (loaded + n_test) * inputs             # the tensors and one normalised copy
    if spec.data.name == "fashion-mnist":
        data += 70_000 * FASHION_PIXELS                    # the raw uint8 arrays
    model = 4 * params * (3 + optimizer_states)            # weights, grads, a probe snapshot, optimizer state
    batch = 4 * members * min(spec.batch_size, m) * (inputs + 6 * hidden)
    n_eval = min(spec.probes.eval_max, m)
    scoring = 4 * members * (n_eval * inputs + min(EVAL_CHUNK, max(n_eval, n_test)) * max(sizes) * 3)
    probes = 4 * members * min(spec.probes.probe_batch, n_test) * hidden * 4
    solve = 0
    if spec.optim.name == "lstsq":
        features = sizes[-2]
        solve = 4 * members * (m * features + features * features) * 3
    return TORCH_BASE_BYTES + data + model + batch + scoring + probes + solve
