"""Background jobs: launch a spec as a detached process, queue it on a fixed number of
slots, cancel it, resume it after a kill or crash.

A job is `python -m cli.job RUN_ID ...` in its own session (so a closed
terminal or a restarted app does not take it down), writing into its run folder and
logging to the folder's job.log. Exactly one process writes a run: the launcher takes the
run's writer lock (cache/locks.py) before it reads the state, and the job it starts
inherits the lock and holds it for life. Slots, the cap on waiting jobs and the memory a
job may use are in training/job_queue.py.
"""
from __future__ import annotations

import getpass
import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from cache import locks, store
from cache.run_files import describe_error, process_start, same_process
from runspec import RunSpec
from runspec.bounds import estimate_memory
from training import job_process
from training.job_queue import (SLOT_POLL_S, SLOTS_ENV, JobError, hold_slot, job_memory_limit, refuse_custom,  # noqa: F401
                                queue_info, resolve_slots, slot_limit, take_ticket)
from training.job_watch import (SETTLED_STATES, cache_path, cancel, find, is_our_job,  # noqa: F401 (re-exported)
                                job_status, signal_job, wait)

DONE_STATES = ("finished", "diverged")                 # launching these again is a cache hit
ACTIVE_STATES = ("queued", "running")
RESUMABLE_STATES = ("interrupted", "cancelled", "failed")


def default_slots() -> int:
    return slot_limit()


def default_owner() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


_cache = cache_path


@dataclass(frozen=True)
class Launched:
    run_id: str
    started: bool
    note: str = ""       # why nothing started: a cache hit, already on its way


# ---------------------------------------------------------------- checks before anything starts

def check_memory(spec: RunSpec, slots: int) -> None:
    """JobError when the spec's estimated peak memory is over what one job may use here."""
    limit, source = job_memory_limit(slots)
    need = estimate_memory(spec)
    if limit is not None and need > limit:
        raise JobError(f"run {spec.run_id} ({spec.name or 'custom spec'}) would need about {need / 2**30:.1f} GiB; "
                       f"one job may use {limit / 2**30:.1f} GiB here ({source}); make it smaller "
                       f"(widths, data.n_train, ensemble, batch_size)")


def preflight(specs: list[RunSpec], cache_dir: Path | str | None = None, slots: int | None = None) -> int:
    """Check a batch (a sweep, a form) before launching any of it: every spec fits in memory
    and the queue has room for the ones that would start. Returns how many would start."""
    cache_dir, slots = _cache(cache_dir), resolve_slots(slots)
    fresh = [spec for spec in specs if not _done_or_active(store.run_folder(cache_dir, spec.run_id))]
    for spec in fresh:
        check_memory(spec, slots)
    info = queue_info(cache_dir)
    room = info["max_queued"] - info["waiting"]
    if len(fresh) > room:
        raise JobError(f"{len(fresh)} jobs would start but the queue has room for {max(room, 0)} "
                       f"({info['waiting']} waiting, at most {info['max_queued']}, $REGLAB_MAX_QUEUED)")
    return len(fresh)


def _done_or_active(folder: Path) -> bool:
    try:
        return store.read_status(folder)["state"] in (*DONE_STATES, *ACTIVE_STATES)
    except store.StoreError:
        return False


def check_room(cache_dir: Path) -> None:
    """JobError when the queue is full (advisory: take_ticket decides under its lock)."""
    info = queue_info(cache_dir)
    if info["waiting"] >= info["max_queued"]:
        raise JobError(f"the queue is full: {info['waiting']} jobs already wait for a slot in {cache_dir} (at most "
                       f"{info['max_queued']}, $REGLAB_MAX_QUEUED); wait for some to start, or cancel some")


@contextmanager
def _writer(folder: Path) -> Iterator[int | None]:
    fd = locks.try_writer_lock(folder)
    try:
        yield fd
    finally:
        locks.release(fd)


def _live_job(status: dict) -> bool:
    return same_process(status.get("pid"), status.get("pid_start"))


# ---------------------------------------------------------------- launching

def start(spec: RunSpec, cache_dir: Path | str | None = None, sweep: str | None = None,
          slots: int | None = None, owner: str | None = None) -> Launched:
    """Queue `spec` as a background job unless it is finished or already on its way.

    A finished (or diverged) run is a cache hit; a cancelled, failed or interrupted one
    continues from its last checkpoint."""
    refuse_custom(spec, spec.run_id, "launch")
    cache_dir, slots = _cache(cache_dir), resolve_slots(slots)
    check_memory(spec, slots)
    folder = store.run_folder(cache_dir, spec.run_id)
    if not (folder / "spec.json").exists():
        check_room(cache_dir)        # a new run: no folder is made for a job the queue would refuse
    folder = store.create_run_folder(cache_dir, spec)
    with _writer(folder) as writer:
        status = store.read_status(folder)
        if status["state"] in DONE_STATES:
            return Launched(spec.run_id, False, f"already {status['state']} (a cache hit)")
        if writer is None:      # read after the lock: a job that just finished still holds it a moment
            return Launched(spec.run_id, False, "already queued or running (another process holds its writer lock)")
        if _live_job(status):   # e.g. a stale heartbeat, yet alive: never two writers
            return Launched(spec.run_id, False, f"its process {status['pid']} is still alive")
        _queue(folder, cache_dir, slots, writer, owner, sweep=sweep)
    return Launched(spec.run_id, True)


def launch(spec: RunSpec, cache_dir: Path | str | None = None, sweep: str | None = None,
           slots: int | None = None, owner: str | None = None) -> str:
    """start() returning only the run id (finished and on-the-way runs return theirs too)."""
    return start(spec, cache_dir, sweep, slots, owner).run_id


def launch_many(specs: list[RunSpec], cache_dir: Path | str | None = None, sweep: str | None = None,
                slots: int | None = None, owner: str | None = None) -> list[str]:
    """A batch, checked as a whole first (preflight), so nothing starts if some cannot."""
    preflight(specs, cache_dir, slots)
    return [launch(spec, cache_dir, sweep, slots, owner) for spec in specs]


def resume(run_id: str, cache_dir: Path | str | None = None, slots: int | None = None,
           owner: str | None = None) -> str:
    """Relaunch an interrupted, cancelled or failed run from its checkpoint."""
    cache_dir, slots = _cache(cache_dir), resolve_slots(slots)
    folder = find(run_id, cache_dir)
    refuse_custom(store.read_spec(folder), run_id, "resume")
    with _writer(folder) as writer:
        status = store.read_status(folder)
        state = status["state"]
        if writer is None and state not in DONE_STATES:
            raise JobError(f"cannot resume run {run_id}: it is queued or running (another process holds its "
                           f"writer lock)")
        if _live_job(status):
            raise JobError(f"cannot resume run {run_id}: it reads {state}, but its process {status['pid']} is still "
                           f"alive (a stale heartbeat); cancel it first")
        if state in ACTIVE_STATES:     # under the lock with no live process: its launcher died
            state = "interrupted"
        if state not in RESUMABLE_STATES:
            hint = {"finished": "it already finished", "diverged": f"it diverged at step {status.get('diverged_step')}"}
            raise JobError(f"cannot resume run {run_id}: {hint[state]}; only interrupted, cancelled "
                           f"or failed runs resume")
        check_memory(store.read_spec(folder), slots)
        _queue(folder, cache_dir, slots, writer, owner)
    return run_id


def _queue(folder: Path, cache_dir: Path, slots: int, writer: int, owner: str | None, **fields) -> None:
    """Take a place in the queue, mark the run queued and start its job, handing it the locks."""
    token, ticket = secrets.token_hex(8), None
    try:
        ticket = _ticket_or_settle(folder, cache_dir, token)
        store.write_status(folder, state="queued", pid=None, pid_start=None, error=None, reason=None,
                           queued_at=time.time(), slots=slots, token=token, owner=owner or default_owner(),
                           resumed_from_step=None, **{k: v for k, v in fields.items() if v})
        pid = _spawn(folder, cache_dir, slots, token, writer, ticket)
    except OSError as err:
        store.write_last_word(folder, state="failed", pid=None, error=describe_error(err, folder))
        raise JobError(f"could not start the job of run {folder.name}: {describe_error(err, folder)}") from None
    finally:
        locks.release(ticket)
    store.update_status(folder, when=lambda s: s.get("token") == token and s.get("pid") is None,
                        pid=pid, pid_start=process_start(pid), heartbeat=time.time())


def _ticket_or_settle(folder: Path, cache_dir: Path, token: str) -> int:
    """A place in the queue; a new run refused one (another launcher took the last place
    first) reads cancelled with the reason, not queued forever."""
    try:
        return take_ticket(cache_dir, folder.name, token)
    except JobError as err:
        store.update_status(folder, when=lambda s: s.get("state") == "queued" and not s.get("pid"),
                            state="cancelled", reason=f"not started: {err}")
        raise


def _spawn(folder: Path, cache_dir: Path, slots: int, token: str, writer: int, ticket: int) -> int:
    """Start the detached job process; its output goes to the folder's job.log."""
    command = [sys.executable, "-m", job_process.MODULE, folder.name, "--cache-dir", str(cache_dir),
               "--slots", str(slots), "--token", token, "--writer-fd", str(writer), "--ticket-fd", str(ticket)]
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(store.REPO_ROOT) + (os.pathsep + path if path else "")}
    with (folder / "job.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=store.REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   pass_fds=(writer, ticket))
    return process.pid
