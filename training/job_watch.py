"""Watching and stopping jobs: status rows, waiting for runs to settle, and cancel, which
signals only a process it can verify is the job this lab launched for the run."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterable

from cache import locks, store
from cache.run_files import process_command, same_process
from training import job_process
from training.job_queue import JobError, refuse_custom

SETTLED_STATES = (*store.TERMINAL, "interrupted")       # nothing will change these by itself
LAUNCH_GRACE_S = 2.0     # a job being launched has its pid in status.json within this


def cache_path(cache_dir: Path | str | None) -> Path:
    return Path(cache_dir or store.default_cache_dir()).resolve()


def find(run_id: str, cache_dir: Path | str | None = None) -> Path:
    cache_dir = cache_path(cache_dir)
    folder = store.run_folder(cache_dir, run_id)   # validates the id before a path is built
    if not (folder / "spec.json").exists():
        raise JobError(f"unknown run id {run_id!r} in {cache_dir}")
    return folder


# ---------------------------------------------------------------- which process is the job

def is_our_job(folder: Path, status: dict) -> int | None:
    """The pid of the job process this lab launched for `folder`, verified, or None.

    A pid in status.json is only a claim (pids are reused; the file can be edited): the
    process must have the recorded start time, a command line naming the job module, this
    run and the launch's token, and the run's writer lock must be held."""
    pid, token = status.get("pid"), status.get("token")
    if not pid or not token or not same_process(pid, status.get("pid_start")):
        return None
    command = process_command(pid)
    if job_process.MODULE not in command or folder.name not in command or token not in command:
        return None
    return pid if locks.writer_active(folder) else None


def signal_job(pid: int) -> None:
    """SIGTERM the job's process group (it leads its own session: pgid == pid)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _status_with_pid(folder: Path) -> dict:
    """The status, after waiting briefly for a job being launched to record its pid."""
    deadline = time.time() + LAUNCH_GRACE_S
    status = store.read_status(folder)
    while status["state"] == "queued" and not status.get("pid") and time.time() < deadline:
        time.sleep(0.05)
        status = store.read_status(folder)
    return status


# ---------------------------------------------------------------- cancelling

def cancel(run_id: str, cache_dir: Path | str | None = None, wait_s: float = 10.0) -> dict:
    """SIGTERM a queued or running job's process group; the job marks itself cancelled.
    Returns the status after waiting up to `wait_s` for the process to end."""
    folder = find(run_id, cache_dir)
    refuse_custom(store.read_spec(folder), run_id, "cancel")   # its pid is the user's own process
    status = _status_with_pid(folder)
    from training import ray_backend   # imports no ray

    if ray_backend.is_ray_placeholder(status):   # trained on a Ray cluster: its driver stops it
        return ray_backend.request_cancel(folder, wait_s)
    pid = is_our_job(folder, status)
    if pid is None:
        return _cancel_without_job(run_id, folder, status)
    start = status.get("pid_start")
    signal_job(pid)
    deadline = time.time() + wait_s
    while same_process(pid, start) and time.time() < deadline:
        time.sleep(0.05)
    if not same_process(pid, start) and store.read_status(folder)["state"] not in store.TERMINAL:
        # it died before its SIGTERM handler was installed
        _mark_cancelled(folder, "cancelled before the job started training")
    return store.read_status(folder)


def _cancel_without_job(run_id: str, folder: Path, status: dict) -> dict:
    """No verified job process: signal nothing; settle a run that only looks active."""
    writer = locks.try_writer_lock(folder)
    try:
        if writer is None:
            raise JobError(f"cannot cancel run {run_id}: process {status.get('pid')} holds it but is not a job this "
                           f"lab launched (a `run` in a terminal?); nothing was signalled, stop it where it runs")
        if status["state"] not in ("queued", "running"):
            raise JobError(f"run {run_id} is not running (it is {status['state']}); nothing to cancel")
        store.write_status(folder, state="cancelled", pid=None, finished=time.time(),
                           reason="no job process held the run; nothing was signalled")
    finally:
        locks.release(writer)
    return store.read_status(folder)


def _mark_cancelled(folder: Path, reason: str) -> None:
    writer = locks.try_writer_lock(folder)
    try:
        if writer is not None:
            store.write_status(folder, state="cancelled", pid=None, finished=time.time(), reason=reason)
    finally:
        locks.release(writer)


# ---------------------------------------------------------------- watching

def job_status(run_id: str, cache_dir: Path | str | None = None) -> dict:
    """One job's status row: state, progress, pid, ETA and the run's name."""
    folder = find(run_id, cache_dir)
    status, spec = store.read_status(folder), store.read_spec(folder)
    keys = ("state", "step", "total_steps", "progress", "elapsed", "eta", "pid", "sweep", "error", "reason", "final",
            "owner")
    return {"run_id": run_id, "name": spec.name, **{k: status.get(k) for k in keys}}


def wait(run_ids: Iterable[str], cache_dir: Path | str | None = None, timeout: float | None = None,
         poll_s: float = 0.5, on_update: Callable[[dict[str, dict]], None] | None = None) -> dict[str, dict]:
    """Block until every run is finished, failed, cancelled, diverged or interrupted."""
    run_ids = list(run_ids)
    deadline = None if timeout is None else time.time() + timeout
    while True:
        rows = {run_id: job_status(run_id, cache_dir) for run_id in run_ids}
        if on_update is not None:
            on_update(rows)
        if all(row["state"] in SETTLED_STATES for row in rows.values()):
            return rows
        if deadline is not None and time.time() > deadline:
            pending = [r for r, row in rows.items() if row["state"] not in SETTLED_STATES]
            raise TimeoutError(f"runs still going after {timeout} s: {', '.join(pending)}")
        time.sleep(poll_s)
