"""Shared fixtures: tiny runs built for real through the trainer, in temporary caches.

Real Fashion-MNIST everywhere: where the full dataset is not found (no Debian package, no
$REGLAB_DATA_DIR, no download), the session points $REGLAB_DATA_DIR at the committed
subset in tests/fixtures/fashion-mnist (3,000 train / 1,000 test images), read by the
same loader. Jobs started as subprocesses inherit the variable. Tests that need the full
60,000 / 10,000 carry `@needs_full_fashion_mnist()` and skip on the subset.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from cache import store
from runspec import RunSpec

FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "fashion-mnist"
FULL_SIZES = {"train": 60_000, "test": 10_000}
_SAVED_ENV = "_REGLAB_DATA_DIR_BEFORE_TESTS"


def _located_folder() -> Path | None:
    from training import fashion_mnist

    try:
        return fashion_mnist.locate(download=False)["train_images"].parent
    except fashion_mnist.DatasetNotFound:
        return None


def pytest_configure(config) -> None:
    """Before collection (skip marks read the data): fall back to the committed subset.

    One compute thread per process: the suite runs one worker per core (make test: -n 2) and
    its tiny models gain nothing from a second thread, while idle threads spinning for work on
    a busy core cost the other worker its time. Jobs started as subprocesses inherit it."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    _scan_component_packages_once()
    if _located_folder() is None:
        os.environ[_SAVED_ENV] = os.environ.get("REGLAB_DATA_DIR", "")
        os.environ["REGLAB_DATA_DIR"] = str(FIXTURE_DATA)


def _scan_component_packages_once() -> None:
    """Every AppTest run scans all installed distributions' metadata for Streamlit components
    (about 0.5 s of parsing each time, the bulk of a page test); the packages do not change
    during a test run, so each worker scans once."""
    from streamlit.components.v2 import manifest_scanner

    if not hasattr(manifest_scanner.scan_component_manifests, "cache_info"):
        manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)


def pytest_unconfigure(config) -> None:
    if _SAVED_ENV in os.environ:
        before = os.environ.pop(_SAVED_ENV)
        if before:
            os.environ["REGLAB_DATA_DIR"] = before
        else:
            os.environ.pop("REGLAB_DATA_DIR", None)


@functools.cache
def fashion_mnist_sizes() -> dict[str, int]:
    """Image counts of the folder the loader reads ({} where none), from the label files."""
    from training import fashion_mnist

    try:
        paths = fashion_mnist.locate(download=False)
    except fashion_mnist.DatasetNotFound:
        return {}
    return {split: len(fashion_mnist.read_idx(paths[f"{split}_labels"])) for split in FULL_SIZES}


def have_full_fashion_mnist() -> bool:
    return fashion_mnist_sizes() == FULL_SIZES


def _why_not_full() -> str:
    sizes = fashion_mnist_sizes()
    found = f"only {sizes['train']} train / {sizes['test']} test images" if sizes else "nothing"
    return (f"needs the full Fashion-MNIST (60000 / 10000); the loader found {found} "
            f"(apt-get install dataset-fashion-mnist, or set REGLAB_DATA_DIR)")


def needs_full_fashion_mnist() -> pytest.MarkDecorator:
    """`@needs_full_fashion_mnist()`: skip where only the test subset, or nothing, is on disk.
    A call, not a constant: the mark must be made after pytest_configure has run."""
    return pytest.mark.skipif(not have_full_fashion_mnist(), reason=_why_not_full())


def require_full_fashion_mnist() -> None:
    """The same skip from inside a fixture."""
    if not have_full_fashion_mnist():
        pytest.skip(_why_not_full())


def build_run(spec: RunSpec, cache_dir: Path) -> Path:
    """Train `spec` into cache_dir (in this process) and return its folder."""
    from training.runner import execute

    folder = store.create_run_folder(cache_dir, spec)
    status = store.read_status(folder)
    if status["state"] != "finished":
        execute(spec, folder)
    return folder


def tiny(spec: RunSpec, **overrides) -> RunSpec:
    """The same spec made cheap: keyword `a__b=v` sets the dotted field a.b."""
    return spec.with_overrides({k.replace("__", "."): v for k, v in overrides.items()})


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """An empty user cache; REGLAB_CACHE_DIR points at it for the code under test."""
    path = tmp_path / "runs"
    path.mkdir()
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(path))
    return path


# The app's tests share one small demo cache: two tiny Fashion-MNIST MLPs (with and without
# dropout, so comparisons have two runs), a polynomial fit, and a run that diverges.
APP_DEMO_RUNS = (
    ("d2l-mlp", dict(epochs=2, data__n_train=256, data__n_test=128, model__widths=[16], probe_every=2)),
    ("d2l-dropout", dict(epochs=2, data__n_train=256, data__n_test=128, model__widths=[16, 8], probe_every=2)),
    ("polynomial-degree19", dict(epochs=4)),
    ("polynomial-degree3", dict(epochs=3, optim__lr=100.0)),   # diverges: the loss becomes inf
)


@pytest.fixture(scope="session")
def app_demo_cache(tmp_path_factory) -> Path:
    """A demo cache for the app's tests, built once per session (cache hits after that)."""
    from training.presets import get_preset

    path = tmp_path_factory.getbasetemp() / "app-demo"
    for name, overrides in APP_DEMO_RUNS:
        build_run(tiny(get_preset(name).spec, **overrides), path)
    return path


def point_app_at(monkeypatch, demo: Path, mine: Path) -> None:
    """The app reads `demo` as the demo cache and `mine` as the user's runs, with clean caches."""
    import streamlit as st

    monkeypatch.setenv("REGLAB_DEMO_DIR", str(demo))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(mine))
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
