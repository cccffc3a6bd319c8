"""Loading runs for pages: cached, keyed on what can change.

A table is cached under (folder, table, state, row count): a finished run is read once,
while a running job's new rows change the key, so the next rerun shows them. Listings
read only each run's small spec.json and status.json, never its metrics.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import stat
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import streamlit as st

from cache import store
from runspec import RunSpec

LISTING_COLUMNS = ["run_id", "folder", "state", "spec", "status", "collection"]
STATE_PREFERENCE = {"finished": 0, "running": 1, "queued": 2, "interrupted": 3, "cancelled": 4,
                    "diverged": 5, "failed": 6}


def _db_stamp(folder: Path) -> tuple:
    """Modification stamps of the database and its WAL: they change whenever rows arrive."""
    stamp = []
    for name in ("metrics.sqlite", "metrics.sqlite-wal"):
        try:
            info = (folder / name).stat()
            stamp.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


@st.cache_data(show_spinner=False, max_entries=2048)
def _row_count(folder: str, state: str, stamp: tuple) -> int:
    path = Path(folder)
    return store.row_count(path) if (path / "metrics.sqlite").exists() else 0


@st.cache_data(show_spinner=False, max_entries=8192)
def _metrics_problem(folder: str, stamp: tuple) -> str | None:
    """store.check_metrics's message, once per database version (it opens the file)."""
    try:
        store.check_metrics(Path(folder))
    except (store.StoreError, OSError) as err:
        return str(err)
    return None


def fingerprint(folder: Path | str) -> tuple[str, int]:
    """(state, rows logged so far): the part of a run that can change while it trains."""
    folder = Path(folder)
    state = store.read_status(folder)["state"]
    return state, _row_count(str(folder), state, _db_stamp(folder))


@st.cache_data(show_spinner=False, max_entries=1024)
def _cached_table(folder: str, table: str, state: str, rows: int) -> pd.DataFrame:
    return store.read_table(Path(folder), table)


def load_table(folder: Path | str, table: str) -> pd.DataFrame:
    """One table of a run as a tidy DataFrame (empty if not logged yet).

    Raises store.CorruptRun (a StoreError, whose message names the folder) for a folder the
    store cannot read; the app shows that message instead of a traceback."""
    state, rows = fingerprint(folder)
    return _cached_table(str(Path(folder)), table, state, rows)


def from_tables(function, folders: dict[str, Path], table: str, *args) -> Any:
    """function({label: that table of each run in `folders`}, *args), computed once per version
    of those runs (their fingerprints) instead of on every rerun: a section's analysis of its
    runs' tables (bands, drift, ridgelines) was most of its rerun. `function` is passed by
    name, so it must be a module-level function; the result is a copy, as st.cache_data's are."""
    runs = tuple((label, str(folder), *fingerprint(folder)) for label, folder in folders.items())
    return _from_tables(function.__module__, function.__qualname__, table, runs, args)


@st.cache_data(show_spinner=False, max_entries=256)
def _from_tables(module: str, name: str, table: str, runs: tuple, args: tuple) -> Any:
    function = getattr(importlib.import_module(module), name)
    return function({label: _cached_table(folder, table, state, rows) for label, folder, state, rows in runs}, *args)


@st.cache_resource(show_spinner=False, max_entries=4096)
def _spec_of(folder: str, mtime_ns: int) -> RunSpec:
    """spec.json is written once, so (folder, mtime) identifies its content; RunSpec is
    frozen, so one shared object (no copy per call) is safe."""
    return store.read_spec(Path(folder))


def _raw_name(folder: Path) -> str | None:
    """The spec's name without validating the whole spec (cheap filter for listings)."""
    try:
        return _name_in(str(folder / "spec.json"), (folder / "spec.json").stat().st_mtime_ns)
    except OSError:
        return None


@functools.lru_cache(maxsize=8192)
def _name_in(path: str, mtime_ns: int) -> str | None:
    """spec.json never changes once written: read each one once per process."""
    try:
        name = store.read_json(Path(path)).get("name")   # size-capped; never blocks on a pipe
    except (store.StoreError, OSError):
        return None
    return name if isinstance(name, str) else None


# Listing rows of runs that are not queued or running, per folder, while its files are
# unchanged: the Runs page lists every run on each rerun (and its live panel every second or
# two), and reading and validating each status.json again was most of that. A row is shared,
# read-only (its spec is frozen; nothing writes to its status). A queued or running run's row
# is read again each time: whether its process is still alive is not in its files.
_KEPT_ROWS: dict[str, tuple[tuple, dict | None]] = {}
_KEPT_ROWS_MAX = 20_000
ACTIVE_STATES = ("queued", "running")
STATUS_BYTES_MAX = 1 << 20


def _files_stamp(folder: Path) -> tuple:
    """What changes whenever a run folder's small files or its database are written: the
    status by its bytes (two quick writes can share a timestamp, size and a reused inode)."""
    spec, status = (folder / "spec.json").lstat(), (folder / "status.json").lstat()
    if not stat.S_ISREG(status.st_mode) or status.st_size > STATUS_BYTES_MAX:
        raise OSError(f"{folder}: status.json is not a small regular file")   # read (and refused) as usual
    digest = hashlib.blake2b((folder / "status.json").read_bytes(), digest_size=16).digest()
    return folder.is_symlink(), (spec.st_mtime_ns, spec.st_size, spec.st_ino), digest, _db_stamp(folder)


def _describe(folder: Path) -> dict | None:
    """One listing row, or None for a folder the store cannot read (listed by `problems`)."""
    try:
        stamp = _files_stamp(folder)
    except OSError:
        return _read_row(folder)
    kept = _KEPT_ROWS.get(str(folder))
    if kept is not None and kept[0] == stamp:
        return kept[1]
    row = _read_row(folder)
    if row is None or row["state"] not in ACTIVE_STATES:
        if len(_KEPT_ROWS) >= _KEPT_ROWS_MAX:
            _KEPT_ROWS.clear()
        _KEPT_ROWS[str(folder)] = (stamp, row)
    return row


def _read_row(folder: Path) -> dict | None:
    try:
        store.check_folder(folder)
        spec = _spec_of(str(folder), (folder / "spec.json").stat().st_mtime_ns)
        status = store.read_status(folder)
        if _metrics_problem(str(folder), _db_stamp(folder)):
            return None
    except (store.StoreError, OSError):
        return None
    return {"run_id": folder.name, "folder": folder, "state": status["state"], "spec": spec,
            "status": status, "collection": folder.parent.name}


def dedupe_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """A listing with each run id once (the copy furthest along)."""
    return pd.DataFrame(_dedupe(runs.to_dict("records")), columns=LISTING_COLUMNS)


def _dedupe(rows: list[dict]) -> list[dict]:
    """The same run id in two caches is one run: keep the copy furthest along."""
    best: dict[str, dict] = {}
    for row in rows:
        kept = best.get(row["run_id"])
        if kept is None or STATE_PREFERENCE[row["state"]] < STATE_PREFERENCE[kept["state"]]:
            best[row["run_id"]] = row
    return list(best.values())


def runs_named(name: str, dirs: Iterable[Path | str] | None = None) -> pd.DataFrame:
    """One row per run whose spec.name == name: run_id, folder, state, spec (RunSpec), status.
    Without `dirs`, the lesson caches (the demo cache: lessons are pinned to it)."""
    return runs_named_any((name,), dirs)


def runs_named_any(names: Iterable[str], dirs: Iterable[Path | str] | None = None) -> pd.DataFrame:
    """runs_named for several names at once."""
    from ui.sources import lesson_dirs

    wanted, rows = set(names), []
    for cache_dir in (lesson_dirs() if dirs is None else dirs):
        index = names_index(cache_dir)
        unnamed = [f for f in index.get(None, ()) if _raw_name(f) in wanted]   # readable by now?
        for folder in sorted([*unnamed, *(f for name in wanted for f in index.get(name, ()))]):
            if (row := _describe(folder)) is not None:
                rows.append(row)
    return pd.DataFrame(_dedupe(rows), columns=LISTING_COLUMNS)


def names_index(cache_dir: Path | str) -> dict[str | None, tuple[Path, ...]]:
    """spec name -> the cache's run folders of that name (None: no readable name yet).

    A lesson page looks up dozens of names among hundreds of folders on every rerun; the
    index is rebuilt only when the cache directory changes (a folder lands or is deleted:
    its mtime moves), since a folder's spec.json never changes once it is there."""
    root = Path(cache_dir)
    try:
        stamp = root.stat().st_mtime_ns
    except OSError:
        return {}
    return _names_index(str(root), stamp)


def cache_stamp(cache_dir: Path | str) -> tuple:
    """Changes whenever anything a chart reads from the cache can: a run folder lands or
    leaves (the directory's mtime), or a run writes its status (each probe and state change;
    the largest status.json mtime). One stat per run, no file read."""
    root = Path(cache_dir)
    try:
        stamp = root.stat().st_mtime_ns
    except OSError:
        return ()
    latest = 0
    for folders in names_index(root).values():
        for folder in folders:
            try:
                latest = max(latest, (folder / "status.json").stat().st_mtime_ns)
            except OSError:
                continue
    return stamp, latest


@functools.lru_cache(maxsize=64)
def _names_index(root: str, stamp: int) -> dict[str | None, tuple[Path, ...]]:
    index: dict[str | None, list[Path]] = {}
    for folder in store.iter_run_folders(root):
        index.setdefault(_raw_name(folder), []).append(folder)
    return {name: tuple(folders) for name, folders in index.items()}


def spec_name(folder: Path | str) -> str | None:
    """A run's spec name, cheaply (cached on spec.json's stamp)."""
    return _raw_name(Path(folder))


def all_runs(dirs: Iterable[Path | str] | None = None, dedupe: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Every readable run (same columns as runs_named) and one message per unreadable folder.

    With dedupe, a run id present in several caches is listed once (the copy furthest along).
    Without `dirs`, the caches the Runs page lists."""
    from ui.sources import runs_page_dirs

    rows, problems = [], []
    for cache_dir in (runs_page_dirs() if dirs is None else dirs):
        for folder in store.iter_run_folders(cache_dir):
            row = _describe(folder)
            if row is None:
                problems.append(_problem(folder))
            else:
                rows.append(row)
        problems += [store.partial_problem(p) for p in store.partial_folders(cache_dir)]
    return pd.DataFrame(_dedupe(rows) if dedupe else rows, columns=LISTING_COLUMNS), problems


def _problem(folder: Path) -> str:
    try:
        store.check_run(folder)
    except (store.StoreError, OSError) as err:
        return str(err)
    return f"{folder}: cannot be read"


def spec_value(spec: RunSpec | dict, dotted: str) -> Any:
    """A field by dotted path, e.g. spec_value(spec, "optim.lr"); tuples come back as tuples."""
    node: Any = spec
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def latest_run(name: str, dirs: Iterable[Path | str] | None = None) -> Path | None:
    """The run named `name` to show: a finished one (newest) if any, else the newest of any state."""
    runs = runs_named(name, dirs)
    if runs.empty:
        return None
    when = runs["status"].map(lambda s: s.get("finished") or s.get("created") or 0.0)
    order = runs.assign(_rank=runs["state"].map(STATE_PREFERENCE), _when=-when)
    return Path(order.sort_values(["_rank", "_when"]).iloc[0]["folder"])
