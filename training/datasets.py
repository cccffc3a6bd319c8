"""Dataset registry: every problem the lab trains on, as in-memory tensors.

Each loader takes a DataSpec and returns a `Dataset` (train/test tensors plus what the
pages need to explain it). Subsets and label noise are drawn from `resample_seed`; the
synthetic problems draw their test set from a fixed seed so that runs on different
training draws are scored on the same test inputs (the bias-variance lesson needs that).
`data.validation_fraction` then moves part of the training draw to x_val / y_val
(training/validation.py); 'standardize' statistics are taken before, over the whole draw.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import torch

from training import concrete, csv_datasets, fashion_mnist, tabular, validation

if TYPE_CHECKING:
    from runspec import DataSpec, RunSpec

SYNTHETIC_TEST_SEED = 1_000_003
# Training draws use resample_seed + this offset: seeded with resample_seed alone, a draw
# repeated the model's init stream (seed 0 = resample_seed 0), so linear-highdim's N(0, 1)
# initial weights were ~ its first training example (cosine 0.96).
SYNTHETIC_TRAIN_SEED_OFFSET = 2_000_003
POLY_TRUE_WEIGHTS = (5.0, 1.2, -3.4, 5.6)  # on features x^i / i!


@dataclass(frozen=True)
class Dataset:
    x_train: torch.Tensor            # [n_train, d] float32
    y_train: torch.Tensor            # [n_train] int64 (classification) or [n_train, 1] float32
    x_test: torch.Tensor
    y_test: torch.Tensor
    task: str                        # "classification" | "regression"
    n_classes: int = 0
    y_test_clean: torch.Tensor | None = None   # noise-free targets of the test set (synthetic problems)
    x_train_1d: torch.Tensor | None = None     # the scalar input behind polynomial features, for plots
    x_test_1d: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)
    x_val: torch.Tensor | None = None          # the validation split held out of the training set (training/validation.py)
    y_val: torch.Tensor | None = None

    @property
    def in_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def out_features(self) -> int:
        return self.n_classes if self.task == "classification" else self.y_train.shape[-1]


def as_reconstruction(data: Dataset) -> Dataset:
    """An autoencoder's task: the inputs are the targets (regression on every input feature)."""
    return Dataset(data.x_train, data.x_train, data.x_test, data.x_test, "regression",
                   meta={**data.meta, "reconstruction": True}, x_val=data.x_val, y_val=data.x_val)


def _subset(n_total: int, n_wanted: int | None, generator: torch.Generator) -> torch.Tensor:
    if n_wanted is None or n_wanted >= n_total:
        return torch.arange(n_total)
    return torch.randperm(n_total, generator=generator)[:n_wanted]


def corrupt_labels(labels: torch.Tensor, fraction: float, n_classes: int, generator: torch.Generator) -> torch.Tensor:
    """Replace `fraction` of labels by a different class drawn uniformly (exact count)."""
    n_noisy = round(fraction * len(labels))
    if n_noisy == 0:
        return labels
    which = torch.randperm(len(labels), generator=generator)[:n_noisy]
    shift = torch.randint(1, n_classes, (n_noisy,), generator=generator)
    noisy = labels.clone()
    noisy[which] = (labels[which] + shift) % n_classes
    return noisy


def _normalize(x_train: torch.Tensor, x_test: torch.Tensor, how: str, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """'unit' divides by the natural range (255 for pixels), 'standardize' uses train mean/std per feature."""
    if how == "unit":
        return x_train / scale, x_test / scale
    if how == "standardize":
        mean, std = x_train.mean(0), x_train.std(0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        return (x_train - mean) / std, (x_test - mean) / std
    return x_train, x_test


def load_fashion_mnist(spec: "DataSpec") -> Dataset:
    x_train, y_train, x_test, y_test = fashion_mnist.load_arrays(spec.data_dir)
    fashion_mnist.check_subset_sizes(spec.data_dir, spec.n_train, spec.n_test)
    generator = torch.Generator().manual_seed(spec.resample_seed)
    train_idx = _subset(len(y_train), spec.n_train, generator)
    test_idx = _subset(len(y_test), spec.n_test, generator)
    x_tr, x_te = (_pooled(x[idx].float(), spec.downsample) for x, idx in ((x_train, train_idx), (x_test, test_idx)))
    x_tr, x_te = _normalize(x_tr, x_te, spec.normalize, 255.0)
    labels = corrupt_labels(y_train[train_idx], spec.label_noise, 10, generator)
    side = 28 // spec.downsample
    return Dataset(x_tr, labels, x_te, y_test[test_idx], "classification", n_classes=10,
                   meta={"classes": fashion_mnist.CLASSES, "image_shape": (side, side)})


def _pooled(x: torch.Tensor, k: int) -> torch.Tensor:
    """[n, 784] pixels -> [n, (28/k)^2]: the mean of each k x k block (k = 1: unchanged)."""
    if k == 1:
        return x
    side = 28 // k
    return x.view(-1, side, k, side, k).mean((2, 4)).flatten(1)


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """[n] -> [n, degree + 1] with columns x^i / i!, i = 0..degree (column 0 is the bias)."""
    powers = torch.arange(degree + 1, dtype=torch.float64)
    factorials = torch.exp(torch.lgamma(powers + 1))
    return (x.double()[:, None] ** powers / factorials).float()


def true_polynomial(x: torch.Tensor) -> torch.Tensor:
    return polynomial_features(x, 3) @ torch.tensor(POLY_TRUE_WEIGHTS)


def load_polynomial(spec: "DataSpec") -> Dataset:
    """D2L 4.4: y = 5 + 1.2x - 3.4x^2/2! + 5.6x^3/3! + N(0, 0.1^2), x ~ N(0, 1)."""
    noise = 0.1 if spec.noise_std is None else spec.noise_std
    n_train, n_test = spec.n_train or 100, spec.n_test or 100
    train_gen = torch.Generator().manual_seed(spec.resample_seed + SYNTHETIC_TRAIN_SEED_OFFSET)
    test_gen = torch.Generator().manual_seed(SYNTHETIC_TEST_SEED)
    x_tr, x_te = torch.randn(n_train, generator=train_gen), torch.randn(n_test, generator=test_gen)
    clean_tr, clean_te = true_polynomial(x_tr), true_polynomial(x_te)
    y_tr = clean_tr + noise * torch.randn(n_train, generator=train_gen)
    y_te = clean_te + noise * torch.randn(n_test, generator=test_gen)
    return Dataset(polynomial_features(x_tr, spec.degree), y_tr[:, None], polynomial_features(x_te, spec.degree),
                   y_te[:, None], "regression", y_test_clean=clean_te[:, None], x_train_1d=x_tr, x_test_1d=x_te,
                   meta={"true_weights": POLY_TRUE_WEIGHTS, "noise_std": noise})


def load_linear_highdim(spec: "DataSpec") -> Dataset:
    """D2L 4.5: y = 0.05 + sum_i 0.01 x_i + N(0, 0.01^2), d = 200, 20 train / 100 test."""
    noise = 0.01 if spec.noise_std is None else spec.noise_std
    n_train, n_test, d = spec.n_train or 20, spec.n_test or 100, spec.n_features
    train_gen = torch.Generator().manual_seed(spec.resample_seed + SYNTHETIC_TRAIN_SEED_OFFSET)
    test_gen = torch.Generator().manual_seed(SYNTHETIC_TEST_SEED)
    x_tr, x_te = torch.randn(n_train, d, generator=train_gen), torch.randn(n_test, d, generator=test_gen)
    clean_tr, clean_te = 0.05 + 0.01 * x_tr.sum(1), 0.05 + 0.01 * x_te.sum(1)
    y_tr = clean_tr + noise * torch.randn(n_train, generator=train_gen)
    y_te = clean_te + noise * torch.randn(n_test, generator=test_gen)
    return Dataset(x_tr, y_tr[:, None], x_te, y_te[:, None], "regression", y_test_clean=clean_te[:, None],
                   meta={"true_bias": 0.05, "true_weight": 0.01, "noise_std": noise})


# Concrete compressive strength (Yeh 1998) feature ranges, kg/m^3 except age in days, for the
# synthetic stand-in; the real data is `concrete` (training/concrete.py).
CONCRETE_FEATURES = {
    "cement": (102.0, 540.0), "slag": (0.0, 359.0), "fly_ash": (0.0, 200.0), "water": (122.0, 247.0),
    "superplasticizer": (0.0, 32.0), "coarse_aggregate": (801.0, 1145.0), "fine_aggregate": (594.0, 993.0),
    "age_days": (1.0, 365.0),
}


def concrete_strength(x: torch.Tensor) -> torch.Tensor:
    """A smooth stand-in for measured strength (MPa): Abrams' law in the water/binder
    ratio, log growth with age, plasticiser helps; range ~5-80 MPa like the real data."""
    cement, slag, ash, water, plast, _, _, age = x.unbind(1)
    binder = cement + 0.8 * slag + 0.5 * ash
    abrams = 96.0 / 9.0 ** (water / binder)
    maturity = torch.log1p(age) / math.log1p(28.0)
    return abrams * maturity.clamp(max=1.35) + 0.3 * plast


def load_concrete_synthetic(spec: "DataSpec") -> Dataset:
    """A synthetic stand-in for `concrete` (for tests and machines without the data): 8
    features on the real ranges and wildly different scales, 70/30 split of 1030."""
    noise = 4.0 if spec.noise_std is None else spec.noise_std
    n_train, n_test = spec.n_train or 721, spec.n_test or 309
    lows = torch.tensor([lo for lo, _ in CONCRETE_FEATURES.values()])
    highs = torch.tensor([hi for _, hi in CONCRETE_FEATURES.values()])

    def draw(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = lows + (highs - lows) * torch.rand(n, len(lows), generator=gen)
        x[:, 7] = torch.exp(torch.rand(n, generator=gen) * math.log(365.0))  # ages skew young
        clean = concrete_strength(x)
        return x, clean, clean + noise * torch.randn(n, generator=gen)

    x_tr, _, y_tr = draw(n_train, torch.Generator().manual_seed(spec.resample_seed + SYNTHETIC_TRAIN_SEED_OFFSET))
    x_te, clean_te, y_te = draw(n_test, torch.Generator().manual_seed(SYNTHETIC_TEST_SEED))
    x_tr, x_te = _normalize(x_tr, x_te, spec.normalize, highs.max().item())
    return Dataset(x_tr, y_tr[:, None], x_te, y_te[:, None], "regression", y_test_clean=clean_te[:, None],
                   meta={"features": tuple(CONCRETE_FEATURES), "noise_std": noise})


GAUSSIAN_TARGET_SEED = 3_000_017


def load_gaussian_linear(spec: "DataSpec") -> Dataset:
    """Santurkar et al.'s deep-linear-network problem: x ~ N(0, I_d), y = A x (+ noise), with
    A [d, d] ~ N(0, 1/d) drawn once from a fixed seed (so every run fits the same map; entries
    of variance 1/d keep |y| ~ |x|)."""
    noise = 0.0 if spec.noise_std is None else spec.noise_std
    d, n_train, n_test = spec.n_features, spec.n_train or 1000, spec.n_test or 1000
    target = torch.randn(d, d, generator=torch.Generator().manual_seed(GAUSSIAN_TARGET_SEED)) / math.sqrt(d)
    train_gen = torch.Generator().manual_seed(spec.resample_seed + SYNTHETIC_TRAIN_SEED_OFFSET)
    test_gen = torch.Generator().manual_seed(SYNTHETIC_TEST_SEED)
    x_tr, x_te = torch.randn(n_train, d, generator=train_gen), torch.randn(n_test, d, generator=test_gen)
    clean_tr, clean_te = x_tr @ target.T, x_te @ target.T
    y_tr = clean_tr + noise * torch.randn(clean_tr.shape, generator=train_gen)
    y_te = clean_te + noise * torch.randn(clean_te.shape, generator=test_gen)
    return Dataset(x_tr, y_tr, x_te, y_te, "regression", y_test_clean=clean_te,
                   meta={"target": target, "noise_std": noise})
def table_dataset(spec: "DataSpec", table: tabular.Table, train_idx: torch.Tensor, test_idx: torch.Tensor) -> Dataset:
    """A real table as a regression Dataset: subsets within the split, targets [n, 1] float32.
    'unit' divides every feature by the largest training value (their scales stay unequal)."""
    generator = torch.Generator().manual_seed(spec.resample_seed)
    train_idx = train_idx[_subset(len(train_idx), spec.n_train, generator)]
    test_idx = test_idx[_subset(len(test_idx), spec.n_test, generator)]
    x, y = torch.from_numpy(table.x), torch.from_numpy(table.y)[:, None]
    x_tr, x_te = _normalize(x[train_idx], x[test_idx], spec.normalize, x[train_idx].abs().max().item())
    meta = {k: v for k, v in table.meta.items() if k != "groups"}
    return Dataset(x_tr, y[train_idx], x_te, y[test_idx], "regression",
                   meta={**meta, "features": table.features, "target": table.target, "n_rows": len(table)})


def load_concrete(spec: "DataSpec") -> Dataset:
    """The real Concrete data (training/concrete.py), a 70/30 split drawn from resample_seed."""
    table = concrete.load_table(spec.data_dir)
    return table_dataset(spec, table, *tabular.split_indices(len(table), concrete.TRAIN_FRACTION, spec.resample_seed))


def _csv_loader(name: str) -> Callable[["DataSpec"], Dataset]:
    source = csv_datasets.SOURCES[name]

    def load(spec: "DataSpec") -> Dataset:
        table = csv_datasets.load_table(name, spec.data_dir)
        return table_dataset(spec, table, *source.split(table, spec.resample_seed))

    load.__doc__ = f"{source.title}, from a CSV the user names (training/csv_datasets.py)."
    return load


DATASETS: dict[str, Callable[["DataSpec"], Dataset]] = {
    "fashion-mnist": load_fashion_mnist,
    "polynomial": load_polynomial,
    "linear-highdim": load_linear_highdim,
    "concrete": load_concrete,
    "concrete-synthetic": load_concrete_synthetic,
    "gaussian-linear": load_gaussian_linear,
    "red-wine": _csv_loader("red-wine"),
    "spotify": _csv_loader("spotify"),
}


def load_dataset(spec: "DataSpec") -> Dataset:
    from runspec import CUSTOM, SpecError

    if spec.name == CUSTOM:
        raise SpecError("data.name 'custom' is the user's own data, recorded by reglab with a custom model; "
                        "the lab has no loader for it")
    return validation.hold_out(DATASETS[spec.name](spec), spec.validation_fraction, spec.resample_seed)


def load_task(spec: "RunSpec") -> Dataset:
    """The data a run trains on: its dataset, with inputs as targets for an autoencoder."""
    data = load_dataset(spec.data)
    return as_reconstruction(data) if spec.model.kind == "autoencoder" else data
