"""Shared fixtures: tiny runs built for real through the trainer, in temporary caches."""
from __future__ import annotations

from pathlib import Path

import pytest

from cache import store
from runspec import RunSpec


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


def require_fashion_mnist() -> None:
    """Skip (with the reason) where the real dataset is not installed."""
    from training import fashion_mnist

    try:
        fashion_mnist.locate(download=False)
    except fashion_mnist.DatasetNotFound:
        pytest.skip("Fashion-MNIST is not installed")


def point_app_at(monkeypatch, demo: Path, mine: Path) -> None:
    """The app reads `demo` as the demo cache and `mine` as the user's runs, with clean caches."""
    import streamlit as st

    monkeypatch.setenv("REGLAB_DEMO_DIR", str(demo))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(mine))
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
