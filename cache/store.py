"""The run store: the only code that touches run folders on disk.

    <cache_dir>/<run_id>/spec.json        written once, never changed
                        /status.json      replaced atomically (write + rename)
                        /metrics.sqlite   append-only tables, WAL while a job writes
                        /checkpoints/     state dicts, loaded with weights_only=True
                        /job.log          the job's own output

Training writes through `RunWriter`; everything else reads through the functions at the
bottom, which return tidy pandas DataFrames. A folder that cannot be read is reported by
name (`CorruptRun`) and never breaks a listing of the others. The small files and the
writer lock live in cache/run_files.py, cache/status_model.py and cache/locks.py (torch-free,
so a queued job can wait without loading torch); this module re-exports them.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from cache.checkpoints import discard_checkpoint, load_checkpoint, save_checkpoint  # noqa: F401 (re-exported)
from cache.locks import writer_active  # noqa: F401 (re-exported)
from cache.metrics_db import RunWriter, compact, connect, replace_table  # noqa: F401 (re-exported)
from cache.run_files import (DONE, SCHEMA_VERSION, STATES, TERMINAL, CorruptRun, RunState, StoreError,  # noqa: F401 (re-exported)
                             make_reserve, process_alive, read_json, update_status, write_json_atomic,
                             write_last_word, write_status)
from cache.status_model import HEARTBEAT_STALE_S, RunStatus, read_status  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    import pandas as pd  # the readers' frames; imported when read, so a training job never loads pandas

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = Path(os.environ.get("REGLAB_DEMO_DIR", REPO_ROOT / "cache" / "demo"))
STAGING_PREFIX = ".creating-"     # a run folder being made; renamed into place when complete
SQLITE_HEADER = b"SQLite format 3\0"


SPEC_FILE, STATUS_FILE, METRICS_FILE, CHECKPOINT_DIR, JOB_LOG = (
    "spec.json", "status.json", "metrics.sqlite", "checkpoints", "job.log")


def default_cache_dir() -> Path:
    return Path(os.environ.get("REGLAB_CACHE_DIR", REPO_ROOT / "cache" / "runs"))


def run_folder(cache_dir: Path | str, run_id: str) -> Path:
    from runspec import check_run_id

    return Path(cache_dir) / check_run_id(run_id)


# ---------------------------------------------------------------- making a run folder

def create_run_folder(cache_dir: Path | str, spec) -> Path:
    """Make the folder and write spec.json once; an existing folder must hold the same spec.

    The folder is built under a hidden staging name and renamed into place when whole, so a
    full disk or a kill never leaves a half-made run folder (a stray staging folder is
    listed as such by list_runs and removed by remove_partial)."""
    folder = run_folder(cache_dir, spec.run_id)
    if not (folder / "spec.json").exists() and not folder.is_symlink():
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        staging = Path(cache_dir) / f"{STAGING_PREFIX}{spec.run_id}-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            _fill_new_folder(staging, spec)
            _move_into_place(staging, folder)
        except OSError as err:
            raise StoreError(f"cannot create run folder {folder}: {err.strerror or err}") from err
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    check_folder(folder)
    # Compare by id, not text: a spec.json written before a defaulted field existed lacks it.
    if read_spec(folder).run_id != spec.run_id:
        raise CorruptRun(f"{folder}: spec.json differs from the spec whose hash names the folder")
    return folder


def _fill_new_folder(staging: Path, spec) -> None:
    import json

    (staging / "checkpoints").mkdir(parents=True)
    write_json_atomic(staging / "spec.json", json.loads(spec.to_json()))
    write_status(staging, state="queued", schema_version=SCHEMA_VERSION, created=time.time())
    if not make_reserve(staging):
        raise OSError(28, "No space left on device", str(staging))


def _move_into_place(staging: Path, folder: Path) -> None:
    try:
        os.rename(staging, folder)     # atomic; fails if another creator got there first
    except OSError:
        if not (folder / "spec.json").exists():
            if folder.is_dir() and not any(folder.iterdir()):
                os.rmdir(folder)       # an empty folder made by hand: take its place
                os.rename(staging, folder)
                return
            raise


def partial_folders(cache_dir: Path | str) -> list[Path]:
    """Staging folders left by a creation that failed or was killed."""
    root = Path(cache_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith(STAGING_PREFIX))


def remove_partial(cache_dir: Path | str, older_than_s: float = 60.0) -> list[Path]:
    """Delete staging folders older than `older_than_s` (younger ones may still be in the making)."""
    removed = []
    for path in partial_folders(cache_dir):
        try:
            if time.time() - path.lstat().st_mtime > older_than_s:
                shutil.rmtree(path) if not path.is_symlink() else path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


# ---------------------------------------------------------------- spec and folder checks

def check_folder(folder: Path) -> None:
    """A run folder is a real directory (a symlink could point anywhere, even outside the cache)."""
    if folder.is_symlink():
        raise CorruptRun(f"{folder}: is a symbolic link; run folders must be real folders")
    if not folder.is_dir():
        raise CorruptRun(f"{folder}: not a folder")


def read_spec(folder: Path):
    from runspec import SpecError, build_spec

    path = folder / "spec.json"
    if not path.exists() and not path.is_symlink():
        raise CorruptRun(f"{folder}: no spec.json (not a run folder, or half-written)")
    try:
        return build_spec(read_json(path))
    except SpecError as err:
        raise CorruptRun(f"{folder}: spec.json does not validate with this version of the lab: {err}") from None


def delete_run(folder: Path) -> None:
    """Remove a run folder. Renamed first (atomic), so a reader never sees it half-deleted."""
    folder = Path(folder)
    if not (folder / SPEC_FILE).exists() and not (folder / STATUS_FILE).exists():
        raise StoreError(f"{folder}: not a run folder; nothing deleted")
    doomed = folder.with_name(f".deleting-{folder.name}-{os.getpid()}")
    os.rename(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


# ---------------------------------------------------------------- readers

def table_names(folder: Path) -> list[str]:
    if not _metrics_path(folder):
        return []
    with _reader(folder) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def _metrics_path(folder: Path) -> Path | None:
    """metrics.sqlite if present; a symlink, pipe or other non-file there is CorruptRun
    (sqlite would follow the link, or block forever opening a pipe)."""
    path = folder / "metrics.sqlite"
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise CorruptRun(f"{folder}: cannot read metrics.sqlite ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise CorruptRun(f"{folder}: metrics.sqlite is not a regular file")
    return path


def check_metrics(folder: Path) -> None:
    """A quick look at metrics.sqlite: a file that starts as SQLite's do, opens, and was
    written by a lab no newer than this one (deeper damage shows when a table is read)."""
    path = _metrics_path(folder)
    if path is None:
        return
    with open(path, "rb") as handle:
        head = handle.read(len(SQLITE_HEADER))
    if not head:
        return
    if head != SQLITE_HEADER:
        raise CorruptRun(f"{folder}: metrics.sqlite is not an SQLite database")
    with _reader(folder):
        pass


class _reader:
    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self) -> sqlite3.Connection:
        path = _metrics_path(self.folder)
        if path is None:
            raise CorruptRun(f"{self.folder}: no metrics.sqlite")
        self.conn = None
        try:
            self.conn = connect(path, readonly=True)
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            _check_version(self.folder, self.conn)
        except sqlite3.DatabaseError as err:
            self.__exit__()
            raise CorruptRun(f"{self.folder}: metrics.sqlite is unreadable ({err})") from None
        except CorruptRun:
            self.__exit__()
            raise
        return self.conn

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.close()


def _check_version(folder: Path, conn: sqlite3.Connection) -> None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        version = int(row[0]) if row else SCHEMA_VERSION
    except (TypeError, ValueError):
        raise CorruptRun(f"{folder}: metrics.sqlite has a schema version {row[0]!r:.20} this lab cannot read") from None
    if version > SCHEMA_VERSION:
        raise CorruptRun(f"{folder}: metrics.sqlite was written by a newer lab (schema {version})")


def read_table(folder: Path, table: str, where: str = "", params: tuple = ()) -> pd.DataFrame:
    """One table as a DataFrame (empty if the run has not logged it yet)."""
    import pandas as pd

    if table not in table_names(folder):
        return pd.DataFrame()
    with _reader(folder) as conn:
        try:
            return pd.read_sql_query(f'SELECT * FROM "{table}" {where}', conn, params=params)
        except (sqlite3.DatabaseError, pd.errors.DatabaseError) as err:
            raise CorruptRun(f"{folder}: table {table} is unreadable ({err})") from None


def row_count(folder: Path) -> int:
    """Rows logged so far over all tables: a cheap cache key for the app."""
    total = 0
    with _reader(folder) as conn:
        try:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                total += conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise CorruptRun(f"{folder}: metrics.sqlite is unreadable ({err})") from None
    return total


def iter_run_folders(cache_dir: Path | str) -> list[Path]:
    """Every entry of a cache that looks like a run folder (hidden and staging names left
    out); symlinks are included, so that listings can report them."""
    root = Path(cache_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p.is_dir() or p.is_symlink()) and not p.name.startswith("."))


def check_run(folder: Path) -> tuple:
    """(spec, status) of a folder a listing may show, or CorruptRun naming what is wrong."""
    check_folder(folder)
    spec, status = read_spec(folder), read_status(folder)
    check_metrics(folder)
    return spec, status


def describe_run(folder: Path) -> dict:
    """One row of the run listing: id, names, key spec fields, state and progress."""
    spec, status = check_run(folder)
    return {
        "run_id": folder.name, "name": spec.name, "dataset": spec.data.name,
        "widths": list(spec.model.widths), "batchnorm": spec.model.batchnorm,
        "dropout": list(spec.model.dropout_rates), "lr": spec.optim.lr, "epochs": spec.epochs,
        "ensemble": spec.ensemble, "state": status["state"], "step": status.get("step") or 0,
        "total_steps": status.get("total_steps"), "progress": status.get("progress") or 0.0,
        "final": status.get("final") or {}, "error": status.get("error"), "collection": folder.parent.name,
        "sweep": status.get("sweep"), "folder": str(folder),
    }


def partial_problem(path: Path) -> str:
    return f"{path}: a half-made run folder (its creation failed or was killed); safe to delete"


def list_runs(cache_dirs: Iterable[Path | str]) -> tuple[pd.DataFrame, list[str]]:
    """All readable runs as a DataFrame, plus one message per folder that could not be read."""
    import pandas as pd

    rows, problems = [], []
    for cache_dir in cache_dirs:
        for folder in iter_run_folders(cache_dir):
            try:
                rows.append(describe_run(folder))
            except (StoreError, OSError) as err:
                problems.append(str(err) if isinstance(err, StoreError) else f"{folder}: {err}")
        problems += [partial_problem(p) for p in partial_folders(cache_dir)]
    return pd.DataFrame(rows), problems


def find_run(cache_dirs: Iterable[Path | str], run_id: str) -> Path:
    from runspec import check_run_id

    check_run_id(run_id)
    for cache_dir in cache_dirs:
        folder = Path(cache_dir) / run_id
        if (folder / "spec.json").exists():
            return folder
    raise StoreError(f"unknown run id {run_id!r} (looked in {', '.join(str(c) for c in cache_dirs)})")


# ---------------------------------------------------------------- models

def model_args(spec, in_features: int, out_features: int, member_seeds: list[int]) -> dict:
    """What build_model needs, saved in every checkpoint (as nanoGPT saves `model_args`)."""
    return {"model": spec.model.model_dump(mode="json"), "in_features": int(in_features),
            "out_features": int(out_features), "member_seeds": [int(s) for s in member_seeds]}


def _args_from_state(spec, state: dict) -> dict:
    """For checkpoints written before model_args existed: shapes from the weights
    (every weight is [K, out, in]; the first layer's `in` is the input size)."""
    first = next(v for k, v in state.items() if k.endswith("linear.weight") or k == "output.weight")
    members, out_features = state["output.weight"].shape[:2]
    seeds = [spec.seed] * members if spec.ensemble_init == "same" else [spec.seed + k for k in range(members)]
    return model_args(spec, first.shape[2], out_features, seeds)


def load_model(folder: Path, name: str = "final"):
    """The run's network with the checkpoint's weights, in eval mode (torch's default device)."""
    from nets.models import build_model
    from runspec import build_spec

    spec = read_spec(folder)
    checkpoint = load_checkpoint(folder, name)
    if checkpoint is None:
        raise StoreError(f"{folder}: no checkpoints/{name}.pt (has the run finished, and were checkpoints kept?)")
    args = checkpoint.get("model_args") or _args_from_state(spec, checkpoint["model"])
    model_spec = build_spec({"model": args["model"], "ensemble": len(args["member_seeds"])}).model
    model = build_model(model_spec, args["in_features"], args["out_features"], args["member_seeds"])
    try:
        model.load_state_dict(checkpoint["model"])
    except (RuntimeError, KeyError) as err:
        raise CorruptRun(f"{folder}: checkpoint {name}.pt does not fit its spec's model ({err})") from None
    return model.eval()
