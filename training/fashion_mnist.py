"""Fashion-MNIST from its original gzipped IDX files, loaded once into tensors.

Search order: the folder the user names (spec `data.data_dir` or $REGLAB_DATA_DIR),
Debian's `dataset-fashion-mnist` install, then torchvision's downloader (only where the
internet is reachable). One clear message says how to get the data when none works, and
a subset larger than the folder holds (e.g. the tests' small copy) is an error naming it.
"""
from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np
import torch

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_DIR = Path.home() / ".cache" / "regularization-lab" / "fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
HOW_TO_GET = (
    "Fashion-MNIST was not found. Looked in: {places}.\n"
    "Get it one of these ways:\n"
    "  * Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
    "  * put the four *-idx*-ubyte(.gz) files in a folder and pass --data-dir DIR\n"
    "    (or set REGLAB_DATA_DIR=DIR)\n"
    "  * with internet access the lab downloads them through torchvision"
)


class DatasetNotFound(FileNotFoundError):
    pass


class NotEnoughImages(DatasetNotFound, ValueError):
    """A spec asks for a larger subset than the folder holds (e.g. a small test copy): the data
    that spec needs is not here, so pages and jobs treat it like a missing dataset."""


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped): magic, dims as big-endian int32, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: only unsigned-byte IDX data is supported")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {data.size}")
    return data.reshape(tuple(int(d) for d in dims))


def _find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem, folder / "FashionMNIST" / "raw" / stem):
        if candidate.is_file():
            return candidate
    return None


def _complete_folder(folder: Path) -> dict[str, Path] | None:
    found = {key: _find_file(folder, stem) for key, stem in FILES.items()}
    return found if all(found.values()) else None


def candidate_folders(data_dir: str | None) -> list[Path]:
    named = [data_dir, os.environ.get("REGLAB_DATA_DIR")]
    return [Path(p).expanduser() for p in named if p] + [DEBIAN_DIR, DOWNLOAD_DIR]


def locate(data_dir: str | None = None, download: bool = True) -> dict[str, Path]:
    folders = candidate_folders(data_dir)
    for folder in folders:
        found = _complete_folder(folder)
        if found:
            return found
    if download and _try_download(DOWNLOAD_DIR):
        found = _complete_folder(DOWNLOAD_DIR)
        if found:
            return found
    raise DatasetNotFound(HOW_TO_GET.format(places=", ".join(str(f) for f in folders)))


def _try_download(root: Path) -> bool:
    try:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(root), train=True, download=True)
        FashionMNIST(str(root), train=False, download=True)
        return True
    except Exception:  # no network, no torchvision: fall through to the message
        return False


@functools.lru_cache(maxsize=4)
def load_arrays(data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train uint8 [60000, 784], y_train int64 [60000], x_test, y_test), read once per process."""
    paths = locate(data_dir)
    x_train = torch.from_numpy(read_idx(paths["train_images"]).reshape(-1, 784).copy())
    x_test = torch.from_numpy(read_idx(paths["test_images"]).reshape(-1, 784).copy())
    y_train = torch.from_numpy(read_idx(paths["train_labels"]).astype(np.int64))
    y_test = torch.from_numpy(read_idx(paths["test_labels"]).astype(np.int64))
    return x_train, y_train, x_test, y_test


def check_subset_sizes(data_dir: str | None, n_train: int | None, n_test: int | None) -> None:
    """Say which folder is too small, rather than silently training on fewer images."""
    x_train, _, x_test, _ = load_arrays(data_dir)
    for split, wanted, have in (("train", n_train, len(x_train)), ("test", n_test, len(x_test))):
        if wanted is not None and wanted > have:
            folder = locate(data_dir, download=False)[f"{split}_images"].parent
            raise NotEnoughImages(
                f"data.n_{split}={wanted}, but the Fashion-MNIST folder {folder} has only {have} "
                f"{split} images. Ask for at most {have}, or point --data-dir / REGLAB_DATA_DIR "
                f"at the full dataset (60000 train / 10000 test).")
