"""The run store: the only code that touches run folders on disk.

    <cache_dir>/<run_id>/spec.json        written once, never changed
                        /status.json      replaced atomically (write + rename)
                        /metrics.sqlite   append-only tables, WAL while a job writes
                        /checkpoints/     state dicts, loaded with weights_only=True
                        /job.log          the job's own output

Training writes through `RunWriter`; everything else reads through the functions at the
bottom, which return tidy pandas DataFrames. A folder that cannot be read is reported by
name (`CorruptRun`) and never breaks a listing of the others.
"""
from __future__ import annotations

import enum
import fcntl
import shutil
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import torch

from cache.metrics_db import SCHEMA_VERSION, RunWriter, compact, connect, replace_table  # noqa: F401 (re-exported)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = Path(os.environ.get("REGLAB_DEMO_DIR", REPO_ROOT / "cache" / "demo"))


class RunState(str, enum.Enum):
    """A run's state in status.json. A str enum: `RunState.FINISHED == "finished"` holds, so
    frames and JSON keep plain strings."""
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"   # the job's process died (read-time verdict, or written on restart)
    DIVERGED = "diverged"         # the loss became non-finite: a result to show, not an error


STATES = tuple(state.value for state in RunState)
TERMINAL = tuple(s.value for s in (RunState.FINISHED, RunState.FAILED, RunState.CANCELLED, RunState.DIVERGED))
DONE = (RunState.FINISHED.value, RunState.DIVERGED.value)   # trained to the end: a cache hit
HEARTBEAT_STALE_S = 30.0


class StoreError(Exception):
    """A run folder or run id the store cannot serve; the message names it."""


class CorruptRun(StoreError):
    pass


SPEC_FILE, STATUS_FILE, METRICS_FILE, CHECKPOINT_DIR, JOB_LOG = (
    "spec.json", "status.json", "metrics.sqlite", "checkpoints", "job.log")


def default_cache_dir() -> Path:
    return Path(os.environ.get("REGLAB_CACHE_DIR", REPO_ROOT / "cache" / "runs"))


def run_folder(cache_dir: Path | str, run_id: str) -> Path:
    from runspec import check_run_id

    return Path(cache_dir) / check_run_id(run_id)


# ---------------------------------------------------------------- status and spec files

def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
    os.replace(tmp, path)


def create_run_folder(cache_dir: Path | str, spec) -> Path:
    """Make the folder and write spec.json once; an existing folder must hold the same spec."""
    folder = run_folder(cache_dir, spec.run_id)
    spec_path = folder / "spec.json"
    if spec_path.exists():
        # Compare by id, not text: a spec.json written before a defaulted field existed lacks it.
        if read_spec(folder).run_id != spec.run_id:
            raise CorruptRun(f"{folder}: spec.json differs from the spec whose hash names the folder")
        return folder
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    _write_json_atomic(spec_path, json.loads(spec.to_json()))
    write_status(folder, state="queued", schema_version=SCHEMA_VERSION, created=time.time())
    return folder


_status_lock = threading.Lock()


def write_status(folder: Path, **fields: Any) -> dict:
    """Merge fields into status.json atomically (a crash leaves the old or the new file).
    The read-merge-write holds a lock file, as a launcher and its job may write at once."""
    with _status_lock, open(folder / ".status.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the holder dies)
        path = folder / "status.json"
        current = _read_json(path) if path.exists() else {}
        current.update(fields)
        _write_json_atomic(path, current)
        return current


def _read_json(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CorruptRun(f"{path.parent}: cannot read {path.name} ({err})") from None
    if not isinstance(payload, dict):
        raise CorruptRun(f"{path.parent}: {path.name} is not a JSON object")
    return payload


def read_spec(folder: Path):
    from runspec import SpecError, build_spec

    path = folder / "spec.json"
    if not path.exists():
        raise CorruptRun(f"{folder}: no spec.json (not a run folder, or half-written)")
    try:
        return build_spec(_read_json(path))
    except SpecError as err:
        raise CorruptRun(f"{folder}: spec.json does not validate with this version of the lab: {err}") from None


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a killed child not yet reaped is a zombie: dead for our purposes
        return stat.read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True


def read_status(folder: Path) -> dict:
    """status.json, with a running/queued job whose process is gone marked `interrupted`."""
    path = folder / "status.json"
    if not path.exists():
        raise CorruptRun(f"{folder}: no status.json")
    status = _read_json(path)
    if status.get("schema_version", SCHEMA_VERSION) > SCHEMA_VERSION:
        raise CorruptRun(f"{folder}: written by a newer lab (schema {status['schema_version']})")
    if status.get("state") not in STATES:
        raise CorruptRun(f"{folder}: unknown state {status.get('state')!r}")
    if status["state"] in ("running", "queued") and status.get("pid") is not None:
        stale = time.time() - status.get("heartbeat", 0) > HEARTBEAT_STALE_S
        if not process_alive(status.get("pid")) or (status["state"] == "running" and stale):
            status = {**status, "state": "interrupted", "reason": "the job's process is gone"}
    return status


def save_checkpoint(folder: Path, name: str, state: dict) -> None:
    path = folder / "checkpoints" / f"{name}.pt"
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def delete_run(folder: Path) -> None:
    """Remove a run folder. Renamed first (atomic), so a reader never sees it half-deleted."""
    folder = Path(folder)
    if not (folder / SPEC_FILE).exists() and not (folder / STATUS_FILE).exists():
        raise StoreError(f"{folder}: not a run folder; nothing deleted")
    doomed = folder.with_name(f".deleting-{folder.name}-{os.getpid()}")
    os.rename(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def load_checkpoint(folder: Path, name: str = "last") -> dict | None:
    path = folder / "checkpoints" / f"{name}.pt"
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CorruptRun(f"{folder}: checkpoint {path.name} cannot be loaded ({err})") from None


# ---------------------------------------------------------------- readers

def table_names(folder: Path) -> list[str]:
    db = folder / "metrics.sqlite"
    if not db.exists():
        return []
    with _reader(folder) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


class _reader:
    def __init__(self, folder: Path):
        self.path = folder / "metrics.sqlite"

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn = connect(self.path, readonly=True)
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as err:
            raise CorruptRun(f"{self.path.parent}: metrics.sqlite is unreadable ({err})") from None
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()


def read_table(folder: Path, table: str, where: str = "", params: tuple = ()) -> pd.DataFrame:
    """One table as a DataFrame (empty if the run has not logged it yet)."""
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
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            total += conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    return total


def iter_run_folders(cache_dir: Path | str) -> list[Path]:
    root = Path(cache_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def describe_run(folder: Path) -> dict:
    """One row of the run listing: id, names, key spec fields, state and progress."""
    spec, status = read_spec(folder), read_status(folder)
    return {
        "run_id": folder.name, "name": spec.name, "dataset": spec.data.name,
        "widths": list(spec.model.widths), "batchnorm": spec.model.batchnorm,
        "dropout": list(spec.model.dropout_rates), "lr": spec.optim.lr, "epochs": spec.epochs,
        "ensemble": spec.ensemble, "state": status["state"], "step": status.get("step", 0),
        "total_steps": status.get("total_steps"), "progress": status.get("progress", 0.0),
        "final": status.get("final", {}), "error": status.get("error"), "collection": folder.parent.name,
        "sweep": status.get("sweep"), "folder": str(folder),
    }


def list_runs(cache_dirs: Iterable[Path | str]) -> tuple[pd.DataFrame, list[str]]:
    """All readable runs as a DataFrame, plus one message per folder that could not be read."""
    rows, problems = [], []
    for cache_dir in cache_dirs:
        for folder in iter_run_folders(cache_dir):
            try:
                rows.append(describe_run(folder))
            except (StoreError, OSError) as err:
                problems.append(str(err))
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
