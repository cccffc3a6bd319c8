"""Sweeps: many specs that differ in a few fields, launched as jobs under one name.

A sweep's runs carry the sweep's name in `spec.name`, so pages find them by name, and
the fields that vary are read back out of the specs themselves (no index file).
Points are plain dicts of dotted keys, e.g. {"optim.lr": 0.1, "model.batchnorm": "before"}.
"""
from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from cache import store
from training import jobs
from training.presets import Sweep
from runspec import RunSpec, SpecError


def grid_points(grid: dict[str, Iterable]) -> list[dict]:
    """Every combination of the grid's values, first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(list(grid[k]) for k in keys))]


def parse_values(raw: str) -> list:
    """'0.1,0.5' -> [0.1, 0.5]; '[64],[64,64]' -> [[64], [64, 64]]; 'none,before' -> strings."""
    try:
        values = json.loads(f"[{raw}]")
    except json.JSONDecodeError:
        values = [part.strip() for part in raw.split(",")]
    if not values:
        raise SpecError(f"no values in {raw!r}")
    return values


def parse_assignments(pairs: Iterable[str], parse: callable) -> dict[str, Any]:
    """['optim.lr=0.1,0.5'] -> {'optim.lr': parse('0.1,0.5')}."""
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise SpecError(f"expected key=values, got {pair!r}")
        out[key.strip()] = parse(raw.strip())
    return out


# ---------------------------------------------------------------- random search

def _draw(key: str, rule: Any, rng: random.Random) -> Any:
    """One value for `key`: a list is a choice; 'loguniform:a:b', 'uniform:a:b', 'int:a:b'."""
    if isinstance(rule, (list, tuple)):
        return rng.choice(list(rule))
    kind, *bounds = str(rule).split(":")
    try:
        low, high = (float(b) for b in bounds)
    except ValueError:
        raise SpecError(f"{key}: expected loguniform:LOW:HIGH, uniform:LOW:HIGH or int:LOW:HIGH, "
                        f"got {rule!r}") from None
    if low > high or (kind == "loguniform" and low <= 0):
        raise SpecError(f"{key}: bad range {rule!r} (need 0 < LOW <= HIGH for loguniform, LOW <= HIGH otherwise)")
    if kind == "loguniform":
        return _round(math.exp(rng.uniform(math.log(low), math.log(high))))
    if kind == "uniform":
        return _round(rng.uniform(low, high))
    if kind == "int":
        return rng.randint(int(low), int(high))
    raise SpecError(f"{key}: unknown distribution {kind!r}; use loguniform, uniform or int")


def _round(value: float) -> float:
    """4 significant digits: readable in tables, and still distinct draws."""
    return float(f"{value:.4g}")


def random_points(ranges: dict[str, Any], n: int, seed: int = 0) -> list[dict]:
    """n random points; the same (ranges, n, seed) always gives the same points."""
    if n < 1:
        raise SpecError(f"--random: need at least 1 point, got {n}")
    rng = random.Random(seed)
    return [{key: _draw(key, rule, rng) for key, rule in ranges.items()} for _ in range(n)]


def parse_range(raw: str) -> Any:
    """A --range value: 'loguniform:1e-4:1e-1' stays a rule; '0.1,0.5' becomes a choice list."""
    return raw if raw.split(":")[0] in ("loguniform", "uniform", "int") else parse_values(raw)


# ---------------------------------------------------------------- launching

def sweep_specs(base: RunSpec, points: list[dict], name: str) -> list[RunSpec]:
    """Validate every point first (SpecError names the field) so nothing starts on a typo."""
    if not points:
        raise SpecError(f"sweep {name!r} has no points")
    named = base.with_overrides({"name": name})
    return [named.with_overrides(point) for point in points]


def launch_sweep(base: RunSpec, points: list[dict], name: str, cache_dir: Path | str | None = None,
                 slots: int | None = None) -> list[str]:
    """Launch one job per point (finished ones are cache hits); returns the run ids.
    The whole sweep is checked first (memory, room in the queue): none starts if some cannot."""
    specs = sweep_specs(base, points, name)
    return jobs.launch_many(specs, cache_dir=cache_dir, sweep=name, slots=slots)


def launch_named_sweep(sweep: Sweep, cache_dir: Path | str | None = None, slots: int | None = None,
                       overrides: dict | None = None) -> list[str]:
    """A registered Sweep (training/presets), optionally made cheaper with overrides."""
    return jobs.launch_many(named_sweep_specs(sweep, overrides), cache_dir=cache_dir, sweep=sweep.name, slots=slots)


def named_sweep_specs(sweep: Sweep, overrides: dict | None = None) -> list[RunSpec]:
    return [spec.with_overrides(overrides) if overrides else spec for _, spec in sweep.specs()]


# ---------------------------------------------------------------- results

def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def sweep_table(name: str, dirs: Iterable[Path | str] | None = None) -> pd.DataFrame:
    """One row per run named `name`: run_id, the fields that vary across the runs, the final
    train/test metrics (status['final']) and the state. Empty if there are none."""
    dirs = list(dirs) if dirs is not None else [store.default_cache_dir()]
    runs = []
    for cache_dir in dirs:
        for folder in store.iter_run_folders(cache_dir):
            try:
                spec, status = store.read_spec(folder), store.read_status(folder)
            except (store.StoreError, OSError):
                continue   # unreadable folders are reported by the run listing, not here
            if spec.name == name:
                runs.append((folder, _flatten(spec.model_dump(mode="json")), status))
    if not runs:
        return pd.DataFrame()
    varied = [k for k in runs[0][1] if len({json.dumps(fields.get(k)) for _, fields, _ in runs}) > 1]
    rows = [{"run_id": folder.name, **{k: fields.get(k) for k in varied}, **(status.get("final") or {}),
             "state": status["state"], "folder": str(folder)} for folder, fields, status in runs]
    return pd.DataFrame(rows).sort_values(varied or ["run_id"], kind="stable", key=_sortable).reset_index(drop=True)


def _sortable(column: pd.Series) -> pd.Series:
    """Lists (e.g. model.widths) and mixed types do not compare in pandas; sort those by JSON."""
    return column if pd.api.types.is_numeric_dtype(column) else column.map(json.dumps)
