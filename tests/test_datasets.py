"""Datasets: the IDX loader on files written here, the search order, seeded noise and subsets,
and the synthetic problems against their closed forms."""
from __future__ import annotations

import gzip
import math
import struct

import numpy as np
import pytest
import torch

from training import datasets, fashion_mnist
from runspec import DataSpec
from tests.conftest import FIXTURE_DATA, needs_full_fashion_mnist

N_TRAIN, N_TEST = 30, 12


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def write_fashion_folder(folder, compress=True, seed=0) -> dict[str, np.ndarray]:
    """The four Fashion-MNIST files, tiny: 30 train / 12 test images of 28x28."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28)), "train_labels": np.arange(N_TRAIN) % 10,
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28)), "test_labels": (np.arange(N_TEST) * 3) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in fashion_mnist.FILES.items():
        write_idx(folder / (stem + (".gz" if compress else "")), arrays[key], compress)
    return arrays


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No Debian install, no download folder, no env var, and no network download."""
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setattr(fashion_mnist, "DOWNLOAD_DIR", tmp_path / "download")
    monkeypatch.delenv("REGLAB_DATA_DIR", raising=False)
    calls = []
    monkeypatch.setattr(fashion_mnist, "_try_download", lambda root: calls.append(root) or False)
    fashion_mnist.load_arrays.cache_clear()
    yield calls
    fashion_mnist.load_arrays.cache_clear()


# ------------------------------------------------------------------ IDX files

@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, compress):
    arrays = write_fashion_folder(tmp_path, compress)
    for key, stem in fashion_mnist.FILES.items():
        loaded = fashion_mnist.read_idx(tmp_path / (stem + (".gz" if compress else "")))
        np.testing.assert_array_equal(loaded, arrays[key])
        assert loaded.dtype == np.uint8


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad-magic"
    bad.write_bytes(b"\x1f\x00\x08\x01" + struct.pack(">i", 3) + b"abc")
    with pytest.raises(ValueError, match="bad magic"):
        fashion_mnist.read_idx(bad)
    floats = tmp_path / "floats"
    floats.write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">i", 1) + b"\x00" * 4)
    with pytest.raises(ValueError, match="unsigned-byte"):
        fashion_mnist.read_idx(floats)
    whole = tmp_path / "whole"
    write_idx(whole, np.zeros((5, 28, 28)), compress=False)
    short = tmp_path / "short"
    short.write_bytes(whole.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated"):
        fashion_mnist.read_idx(short)
    short_gz = tmp_path / "short.gz"
    with gzip.open(short_gz, "wb") as handle:
        handle.write(whole.read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated"):
        fashion_mnist.read_idx(short_gz)


def test_load_arrays_from_a_named_folder(tmp_path, nowhere):
    arrays = write_fashion_folder(tmp_path / "mine", compress=False)
    x_train, y_train, x_test, y_test = fashion_mnist.load_arrays(str(tmp_path / "mine"))
    assert x_train.shape == (N_TRAIN, 784) and x_train.dtype == torch.uint8
    assert x_test.shape == (N_TEST, 784) and y_train.dtype == torch.int64
    np.testing.assert_array_equal(x_train.numpy(), arrays["train_images"].reshape(N_TRAIN, 784))
    np.testing.assert_array_equal(y_test.numpy(), arrays["test_labels"])
    assert nowhere == []


# ------------------------------------------------------------------ search order

def test_locate_order_user_dir_then_env_then_debian(tmp_path, monkeypatch, nowhere):
    for name in ("user", "env", "debian"):
        write_fashion_folder(tmp_path / name)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv("REGLAB_DATA_DIR", str(tmp_path / "env"))
    assert fashion_mnist.locate(str(tmp_path / "user"))["train_images"].parent == tmp_path / "user"
    assert fashion_mnist.locate(None)["train_images"].parent == tmp_path / "env"
    assert fashion_mnist.locate(str(tmp_path / "empty"))["test_labels"].parent == tmp_path / "env"
    monkeypatch.delenv("REGLAB_DATA_DIR")
    assert fashion_mnist.locate(None)["train_labels"].parent == tmp_path / "debian"
    assert nowhere == []


def test_locate_accepts_torchvision_layout(tmp_path, nowhere):
    write_fashion_folder(tmp_path / "tv" / "FashionMNIST" / "raw", compress=False)
    found = fashion_mnist.locate(str(tmp_path / "tv"))
    assert found["train_images"] == tmp_path / "tv" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"


def test_incomplete_folder_is_skipped(tmp_path, monkeypatch, nowhere):
    write_fashion_folder(tmp_path / "user")
    (tmp_path / "user" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_fashion_folder(tmp_path / "debian")
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "debian")
    assert fashion_mnist.locate(str(tmp_path / "user"))["train_images"].parent == tmp_path / "debian"


def test_missing_everywhere_gives_one_how_to_message(tmp_path, nowhere):
    with pytest.raises(fashion_mnist.DatasetNotFound) as err:
        fashion_mnist.locate(str(tmp_path / "user"))
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--data-dir" in message and "REGLAB_DATA_DIR" in message
    assert str(tmp_path / "user") in message and str(tmp_path / "debian") in message
    assert len(nowhere) == 1  # the download was tried once, then the message
    with pytest.raises(fashion_mnist.DatasetNotFound, match="apt-get"):
        datasets.load_dataset(DataSpec(name="fashion-mnist"))
    with pytest.raises(fashion_mnist.DatasetNotFound):
        fashion_mnist.locate(None, download=False)
    assert len(nowhere) == 2


def test_too_large_a_subset_names_the_folder_and_its_size(tmp_path, nowhere):
    write_fashion_folder(tmp_path / "small")
    spec = DataSpec(name="fashion-mnist", data_dir=str(tmp_path / "small"), n_train=N_TRAIN, n_test=N_TEST)
    assert datasets.load_dataset(spec).x_train.shape == (N_TRAIN, 784)   # all of it is allowed
    for field, wanted, have in (("n_train", N_TRAIN + 1, N_TRAIN), ("n_test", 5000, N_TEST)):
        with pytest.raises(fashion_mnist.NotEnoughImages) as err:
            datasets.load_dataset(spec.model_copy(update={field: wanted}))
        message = str(err.value)
        assert f"data.{field}={wanted}" in message and f"has only {have} " in message
        assert str(tmp_path / "small") in message


def test_the_committed_subset_is_real_class_balanced_fashion_mnist(nowhere):
    x_train, y_train, x_test, y_test = fashion_mnist.load_arrays(str(FIXTURE_DATA))
    assert x_train.shape == (3000, 784) and x_test.shape == (1000, 784) and x_train.dtype == torch.uint8
    assert torch.bincount(y_train).tolist() == [300] * 10 and torch.bincount(y_test).tolist() == [100] * 10
    # real clothing, not noise: ~half the pixels are background 0, the mean is ~0.29 (Xiao et al.),
    # and the class means differ (trousers are narrow, bags and coats wide)
    assert 0.4 < (x_train == 0).float().mean() < 0.6
    assert 0.25 < x_train.float().mean() / 255 < 0.33
    ink = torch.stack([(x_train[y_train == c] > 0).float().mean() for c in range(10)])
    assert ink[1] < ink[4] and ink[1] < ink[8]     # Trouser < Coat, Trouser < Bag
    assert len(set(map(tuple, x_train.tolist()))) == 3000    # no image twice


@needs_full_fashion_mnist()
def test_the_full_dataset_has_its_published_sizes_and_balance():
    x_train, y_train, x_test, y_test = fashion_mnist.load_arrays(None)
    assert x_train.shape == (60_000, 784) and x_test.shape == (10_000, 784)
    assert torch.bincount(y_train).tolist() == [6000] * 10 and torch.bincount(y_test).tolist() == [1000] * 10
    full = datasets.load_dataset(DataSpec(name="fashion-mnist", n_train=60_000, n_test=10_000))
    assert full.x_train.shape == (60_000, 784)
    with pytest.raises(fashion_mnist.NotEnoughImages, match="has only 60000 train images"):
        datasets.load_dataset(DataSpec(name="fashion-mnist", n_train=60_001))


@needs_full_fashion_mnist()
def test_the_subset_script_reproduces_the_committed_files(tmp_path):
    from tests.fixtures.make_fashion_mnist_subset import make_subset

    source = fashion_mnist.locate(None, download=False)["train_images"].parent
    assert make_subset(source, tmp_path) == {"train": 3000, "test": 1000}
    for stem in fashion_mnist.FILES.values():
        assert (tmp_path / f"{stem}.gz").read_bytes() == (FIXTURE_DATA / f"{stem}.gz").read_bytes(), stem


def test_debian_install_is_used_when_present(monkeypatch):
    debian = fashion_mnist.DEBIAN_DIR
    if not all((debian / f"{stem}.gz").is_file() for stem in fashion_mnist.FILES.values()):
        pytest.skip(f"dataset-fashion-mnist is not installed ({debian})")
    monkeypatch.delenv("REGLAB_DATA_DIR", raising=False)
    found = fashion_mnist.locate(None, download=False)
    assert all(path.parent == debian for path in found.values())
    labels = fashion_mnist.read_idx(found["test_labels"])
    assert labels.shape == (10_000,) and sorted(np.unique(labels)) == list(range(10))
    assert np.bincount(labels).tolist() == [1000] * 10


# ------------------------------------------------------------------ subsets and label noise

def test_corrupt_labels_exact_fraction_always_wrong_and_seeded():
    labels = torch.arange(1000) % 10
    noisy = datasets.corrupt_labels(labels, 0.2, 10, torch.Generator().manual_seed(5))
    assert (noisy != labels).sum().item() == 200  # every chosen label moves to another class
    assert noisy.min() >= 0 and noisy.max() <= 9
    again = datasets.corrupt_labels(labels, 0.2, 10, torch.Generator().manual_seed(5))
    other = datasets.corrupt_labels(labels, 0.2, 10, torch.Generator().manual_seed(6))
    assert torch.equal(noisy, again) and not torch.equal(noisy, other)
    assert datasets.corrupt_labels(labels, 0.0, 10, torch.Generator()) is labels


def test_fashion_subset_and_noise_are_seeded(tmp_path, nowhere):
    arrays = write_fashion_folder(tmp_path / "data")
    spec = DataSpec(name="fashion-mnist", data_dir=str(tmp_path / "data"), n_train=20, n_test=5, label_noise=0.5)
    a, b = datasets.load_dataset(spec), datasets.load_dataset(spec)
    assert a.x_train.shape == (20, 784) and a.x_test.shape == (5, 784) and a.n_classes == 10
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0  # 'unit' scaling of pixels
    flat = arrays["train_images"].reshape(N_TRAIN, 784) / 255.0
    rows = [int(np.argmin(np.abs(flat - row.numpy()).sum(1))) for row in a.x_train]
    assert len(set(rows)) == 20
    clean = torch.tensor(arrays["train_labels"][rows])
    assert (a.y_train != clean).sum().item() == 10  # exactly half the subset relabelled
    c = datasets.load_dataset(spec.model_copy(update={"resample_seed": 1}))
    assert not torch.equal(a.x_train, c.x_train)


# ------------------------------------------------------------------ synthetic problems

def test_polynomial_shapes_and_truth():
    data = datasets.load_dataset(DataSpec(name="polynomial", degree=5, n_train=100, n_test=50))
    assert data.x_train.shape == (100, 6) and data.x_test.shape == (50, 6)
    assert data.y_train.shape == (100, 1) and data.task == "regression" and data.out_features == 1
    x = data.x_train_1d
    for i in range(6):
        torch.testing.assert_close(data.x_train[:, i], (x.double() ** i / math.factorial(i)).float())
    clean = 5 + 1.2 * data.x_test_1d - 3.4 * data.x_test_1d ** 2 / 2 + 5.6 * data.x_test_1d ** 3 / 6
    torch.testing.assert_close(data.y_test_clean[:, 0], clean, atol=1e-4, rtol=1e-5)
    residual = data.y_test - data.y_test_clean
    assert 0.05 < residual.std().item() < 0.2  # noise N(0, 0.1^2)


def test_synthetic_test_set_is_fixed_while_training_draw_follows_the_seed():
    for name in ("polynomial", "linear-highdim", "concrete-synthetic"):
        a = datasets.load_dataset(DataSpec(name=name, resample_seed=0))
        b = datasets.load_dataset(DataSpec(name=name, resample_seed=1))
        again = datasets.load_dataset(DataSpec(name=name, resample_seed=0))
        assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test), name
        assert not torch.equal(a.x_train, b.x_train), name
        assert torch.equal(a.x_train, again.x_train) and torch.equal(a.y_train, again.y_train), name


def test_linear_highdim_shapes_and_truth():
    data = datasets.load_dataset(DataSpec(name="linear-highdim", noise_std=0.0))
    assert data.x_train.shape == (20, 200) and data.x_test.shape == (100, 200)
    torch.testing.assert_close(data.y_train[:, 0], 0.05 + 0.01 * data.x_train.sum(1))
    torch.testing.assert_close(data.y_test, data.y_test_clean)
    noisy = datasets.load_dataset(DataSpec(name="linear-highdim", n_features=50, n_train=500))
    assert noisy.x_train.shape == (500, 50)
    residual = noisy.y_train[:, 0] - (0.05 + 0.01 * noisy.x_train.sum(1))
    assert 0.007 < residual.std().item() < 0.013  # noise N(0, 0.01^2)


def test_concrete_features_keep_their_raw_scales_unless_normalised():
    raw = datasets.load_dataset(DataSpec(name="concrete-synthetic", normalize="none"))
    assert raw.x_train.shape == (721, 8) and raw.x_test.shape == (309, 8)
    assert raw.x_train[:, 0].min() >= 102 and raw.x_train[:, 4].max() <= 32
    std = datasets.load_dataset(DataSpec(name="concrete-synthetic", normalize="standardize"))
    torch.testing.assert_close(std.x_train.mean(0), torch.zeros(8), atol=1e-4, rtol=0)
    assert 5 < raw.y_test_clean.mean().item() < 80


def test_training_draws_are_independent_of_the_model_init():
    """Seed 0 and resample_seed 0 must not share a random stream: N(0, 1) initial weights
    once equalled linear-highdim's first training example (cosine 0.96)."""
    from nets.models import build_model
    from runspec import ModelSpec

    data = datasets.load_dataset(DataSpec(name="linear-highdim"))
    model = build_model(ModelSpec(kind="linear", widths=(), init_std=1.0), 200, 1, [0])
    w = model.output.weight[0, 0].detach()
    cosines = data.x_train @ w / (data.x_train.norm(dim=1) * w.norm())
    assert cosines.abs().max() < 0.5
