"""Background jobs: launch a spec as a detached process, queue it on a fixed number of
slots, cancel it, resume it after a kill or crash.

A job is `python -m training job RUN_ID` in its own session (so a closed terminal or a
restarted app does not take it down), writing into its run folder and logging to the
folder's job.log. Slots are lock files `<cache>/.slots/slot-<i>.lock` held with flock:
the kernel releases a lock when its holder dies, so a killed job never leaks its slot,
and a queued job starts when any slot frees even if the process that launched it is gone.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from cache import store
from runspec import RunSpec

SLOTS_ENV = "REGLAB_SLOTS"
SLOT_POLL_S = 0.3
DONE_STATES = ("finished", "diverged")                 # launching these again is a cache hit
ACTIVE_STATES = ("queued", "running")
RESUMABLE_STATES = ("interrupted", "cancelled", "failed")
SETTLED_STATES = (*store.TERMINAL, "interrupted")       # nothing will change these by itself


class JobError(store.StoreError):
    """A job request that cannot be honoured; the message says why."""


def default_slots() -> int:
    raw = os.environ.get(SLOTS_ENV)
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            raise JobError(f"${SLOTS_ENV} must be a whole number, got {raw!r}") from None
    return os.cpu_count() or 1


def _refuse_custom(spec: RunSpec, run_id: str, action: str) -> None:
    """A custom model's run is written by the user's own loop (reglab): no job may train or stop it."""
    if spec.is_custom:
        raise JobError(f"cannot {action} run {run_id}: it records a custom model from the user's own training "
                       f"loop (reglab), which the lab cannot retrain or stop; use the user's script instead")


def _cache(cache_dir: Path | str | None) -> Path:
    return Path(cache_dir or store.default_cache_dir()).resolve()


# ---------------------------------------------------------------- launching

def launch(spec: RunSpec, cache_dir: Path | str | None = None, sweep: str | None = None,
           slots: int | None = None) -> str:
    """Queue `spec` as a background job and return its run id at once.

    A finished (or diverged) run with this id is a cache hit and a queued or running one is
    already on its way: nothing starts. A cancelled, failed or interrupted one continues
    from its last checkpoint."""
    _refuse_custom(spec, spec.run_id, "launch")
    cache_dir, slots = _cache(cache_dir), slots or default_slots()
    folder = store.run_folder(cache_dir, spec.run_id)
    if (folder / "spec.json").exists():
        status = store.read_status(folder)
        never_started = status["state"] == "queued" and not status.get("pid")   # e.g. its launcher crashed
        if status["state"] in DONE_STATES or (status["state"] in ACTIVE_STATES and not never_started):
            return spec.run_id
        if _live_pid(status):   # marked interrupted for a stale heartbeat, yet still alive: never two writers
            return spec.run_id
    folder = store.create_run_folder(cache_dir, spec)
    fields = {"sweep": sweep} if sweep else {}
    _queue(folder, cache_dir, slots, **fields)
    return spec.run_id


def resume(run_id: str, cache_dir: Path | str | None = None, slots: int | None = None) -> str:
    """Relaunch an interrupted, cancelled or failed run from checkpoints/last.pt."""
    cache_dir = _cache(cache_dir)
    folder = find(run_id, cache_dir)
    _refuse_custom(store.read_spec(folder), run_id, "resume")
    status = store.read_status(folder)
    state = status["state"]
    if state in RESUMABLE_STATES and _live_pid(status):
        raise JobError(f"cannot resume run {run_id}: it reads {state}, but its process {status['pid']} is still "
                       f"alive (a stale heartbeat); cancel it first")
    if state not in RESUMABLE_STATES:
        hint = {"finished": "it already finished", "diverged": f"it diverged at step {status.get('diverged_step')}",
                "queued": "it is queued already", "running": f"it is still running (pid {status.get('pid')})"}
        raise JobError(f"cannot resume run {run_id}: {hint[state]}; only interrupted, cancelled "
                       f"or failed runs resume")
    _queue(folder, cache_dir, slots or default_slots())
    return run_id


def _queue(folder: Path, cache_dir: Path, slots: int, **fields) -> None:
    store.write_status(folder, state="queued", pid=None, error=None, reason=None, queued_at=time.time(),
                       slots=slots, **fields)
    pid = _spawn(folder, cache_dir, slots)
    store.write_status(folder, pid=pid, heartbeat=time.time())


def _spawn(folder: Path, cache_dir: Path, slots: int) -> int:
    """Start the detached job process; its output goes to the folder's job.log."""
    command = [sys.executable, "-m", "training", "job", folder.name, "--cache-dir", str(cache_dir),
               "--slots", str(slots)]
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(store.REPO_ROOT) + (os.pathsep + path if path else "")}
    with (folder / "job.log").open("ab") as log:
        process = subprocess.Popen(command, cwd=store.REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process.pid


# ---------------------------------------------------------------- cancelling and watching

def _live_pid(status: dict) -> int | None:
    pid = status.get("pid")
    return pid if pid and store.process_alive(pid) else None


def find(run_id: str, cache_dir: Path | str | None = None) -> Path:
    cache_dir = _cache(cache_dir)
    folder = store.run_folder(cache_dir, run_id)   # validates the id before a path is built
    if not (folder / "spec.json").exists():
        raise JobError(f"unknown run id {run_id!r} in {cache_dir}")
    return folder


def cancel(run_id: str, cache_dir: Path | str | None = None, wait_s: float = 10.0) -> dict:
    """SIGTERM a queued or running job's process group; the job marks itself cancelled.
    Returns the status after waiting up to `wait_s` for the process to end."""
    folder = find(run_id, cache_dir)
    _refuse_custom(store.read_spec(folder), run_id, "cancel")   # its pid is the user's own process
    status = store.read_status(folder)
    if status["state"] not in ACTIVE_STATES and not _live_pid(status):
        raise JobError(f"run {run_id} is not running (it is {status['state']}); nothing to cancel")
    pid = status.get("pid")
    if pid and store.process_alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)   # the job leads its own session: pgid == pid
        except ProcessLookupError:
            pass
        deadline = time.time() + wait_s
        while store.process_alive(pid) and time.time() < deadline:
            time.sleep(0.05)
    if store.process_alive(pid):
        return store.read_status(folder)
    if store.read_status(folder)["state"] not in store.TERMINAL:
        # it died before its SIGTERM handler was installed, or had not started yet
        store.write_status(folder, state="cancelled", pid=None, finished=time.time(),
                           reason="cancelled before the job started training")
    return store.read_status(folder)


def job_status(run_id: str, cache_dir: Path | str | None = None) -> dict:
    """One job's status row: state, progress, pid, ETA and the run's name."""
    folder = find(run_id, cache_dir)
    status, spec = store.read_status(folder), store.read_spec(folder)
    keys = ("state", "step", "total_steps", "progress", "elapsed", "eta", "pid", "sweep", "error", "reason", "final")
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


# ---------------------------------------------------------------- the job process

@contextmanager
def hold_slot(cache_dir: Path, slots: int, stop: threading.Event) -> Iterator[int | None]:
    """Wait for one of `slots` lock files; yields its index, or None if stopped first."""
    folder = cache_dir / ".slots"
    folder.mkdir(parents=True, exist_ok=True)
    while not stop.is_set():
        for index in range(slots):
            handle = open(folder / f"slot-{index}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield index
            finally:
                handle.close()   # closing releases the lock
            return
        stop.wait(SLOT_POLL_S)
    yield None


def run_job(run_id: str, cache_dir: Path | str, slots: int) -> int:
    """Entry point of the detached process: wait for a slot, then train (resuming if a
    checkpoint exists). SIGTERM while queued or training ends the run as cancelled."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cache_dir = Path(cache_dir)
    folder = find(run_id, cache_dir)
    if store.read_status(folder)["state"] in store.TERMINAL:
        return 0   # cancelled before this process got going, or already done
    store.write_status(folder, state="queued", pid=os.getpid(), heartbeat=time.time())
    _log(f"job {run_id} (pid {os.getpid()}) waiting for one of {slots} slots")
    with hold_slot(cache_dir, slots, stop) as slot:
        _log(f"job {run_id}: " + ("cancelled while queued" if slot is None else f"got slot {slot}, training"))
        if slot is None:
            store.write_status(folder, state="cancelled", pid=None, finished=time.time(),
                               reason="cancelled while queued")
            return 0
        return _train(folder, slots, stop)


def _log(text: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}", flush=True)   # stdout is the folder's job.log


def _train(folder: Path, slots: int, stop: threading.Event) -> int:
    import torch

    from training.runner import execute

    # share the cores between the slots instead of every job using all of them
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // slots))
    # restore() continues from checkpoints/last.pt, or clears rows a killed first attempt left
    status = execute(store.read_spec(folder), folder, resume=True, should_stop=stop.is_set)
    _log(f"job {folder.name}: {status['state']}" + (f" ({status['error']})" if status.get("error") else ""))
    return 0 if status["state"] in ("finished", "cancelled", "diverged") else 1
