"""Shared fixtures: tiny runs built for real through the trainer, in temporary caches."""
from __future__ import annotations

from pathlib import Path

import pytest

from cache import store
from training.spec import RunSpec


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
