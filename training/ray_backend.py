"""Sweeps and the demo build on a Ray cluster: one Ray task per spec (training/ray_worker.py).

The driver (this process, in the foreground until every task has ended) keeps a
placeholder run folder per spec in its own cache, marked `backend: ray`, with this
process as its pid (so a dead driver reads `interrupted`, as a dead job does). About
twice a second it mirrors the workers' reports into the placeholders: status.json
(state, step, progress, ETA, worker pid and node) and, every `snapshot_every_s`, the
run's database and epoch checkpoint. The Runs page sees live progress, and a run whose
worker dies is left `interrupted` with its last checkpoint: retried here up to `retries`
times, or resumable later (`resume`, here or as a local job). A finished task's folder
lands in place of the placeholder in one rename. `cancel RUN_ID` (CLI or Runs page) asks
the driver, which asks the worker to stop at its next step; the cancelled folder lands
like a finished one, resumable. A spec already finished in the cache starts no task.

Ray is optional: `pip install -r requirements-ray.txt`.
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cache import store, transfer
from runspec import RunSpec
from training.ray_board import StatusBoard
from training.ray_worker import FINISHED_STATES as DONE_STATES, train_task

INSTALL_HINT = "pip install -r requirements-ray.txt"
POLL_S = 0.5
SNAPSHOT_EVERY_S = 15.0
CANCEL_GRACE_S = 15.0        # then the task is killed (its last snapshot stays, resumable)
HEARTBEAT_EVERY_S = 5.0
ACTIVE_STATES = ("queued", "running")   # as in training/jobs.py, which imports this module (not back)
MIRRORED = ("state", "step", "total_steps", "epoch", "progress", "elapsed", "eta", "started", "node")
# what the repo ships to an existing cluster as the tasks' working directory
CODE_EXCLUDES = [".git", ".venv", "cache/demo", "cache/runs", "bench/results", "test-artifacts", ".pytest_cache", "**/__pycache__"]


class RayUnavailable(store.StoreError):
    """Ray is not installed, or no cluster could be reached."""


def import_ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"the Ray backend needs Ray, an optional extra: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None):
    """Join the cluster at `address` (shipping the lab's code to it), or start a local one
    of `num_cpus` CPUs when there is no address; a connection already made is reused."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    if address:
        runtime_env = {"working_dir": str(store.REPO_ROOT), "excludes": CODE_EXCLUDES}
        options = {"address": address, "runtime_env": runtime_env}
    else:
        runtime_env = {"env_vars": {"PYTHONPATH": str(store.REPO_ROOT)}}
        options = {"num_cpus": num_cpus, "runtime_env": runtime_env, "include_dashboard": False}
    try:
        ray.init(log_to_driver=False, **options)
    except (ConnectionError, RuntimeError) as err:
        raise RayUnavailable(f"cannot reach a Ray cluster at {address or 'this machine'}: {err}") from None
    return ray


@dataclass(frozen=True)
class RayRun:
    spec: RunSpec
    sweep: str | None = None
    finish: Callable[[Path], object] | None = None   # on the worker, after training (picklable)


@dataclass
class _Task:
    run: RayRun
    folder: Path
    ref: object = None
    attempts: int = 0
    reported: bool = False           # a worker has picked it up
    cancel_asked: float | None = None
    last_beat: float = field(default_factory=time.time)


def request_cancel(folder: Path, wait_s: float = 10.0) -> dict:
    """Ask the driver of a Ray run to stop it (no Ray needed here); waits up to `wait_s`."""
    store.write_status(folder, cancel_requested=time.time())
    deadline = time.time() + wait_s
    status = store.read_status(folder)
    while status["state"] in ACTIVE_STATES and time.time() < deadline:
        time.sleep(0.1)
        status = store.read_status(folder)
    return status


def is_ray_placeholder(status: dict) -> bool:
    """A queued or running run whose pid is the Ray driver that mirrors it."""
    return bool(status.get("ray_driver")) and status.get("ray_driver") == status.get("pid")


def run_on_ray(runs: list[RayRun], cache_dir: Path | str | None = None, address: str | None = None,
               cpus_per_task: int = 1, retries: int = 1, snapshot_every_s: float = SNAPSHOT_EVERY_S,
               on_update: Callable[[dict[str, dict]], None] | None = None) -> dict[str, dict]:
    """Train every run on the cluster into `cache_dir`; returns each run id's final status
    (with `outcome`: 'cache hit', 'busy' for a run another process is training, or 'ran')."""
    ray = connect(address)
    driver = _Driver(ray, Path(cache_dir or store.default_cache_dir()).resolve(), cpus_per_task, retries,
                     snapshot_every_s)
    return driver.run(runs, on_update)


class _Driver:
    def __init__(self, ray, cache_dir: Path, cpus_per_task: int, retries: int, snapshot_every_s: float):
        self.ray, self.cache_dir, self.cpus, self.retries = ray, cache_dir, cpus_per_task, retries
        self.snapshot_every_s = snapshot_every_s
        self.tasks: dict[str, _Task] = {}
        self.results: dict[str, dict] = {}
        self.stopping = 0
        self.board = None
        self.train = ray.remote(train_task)    # exported to the cluster once per driver

    def run(self, runs: list[RayRun], on_update) -> dict[str, dict]:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        for run in runs:
            self._plan(run)
        if self.tasks:
            self.board = self.ray.remote(num_cpus=0)(StatusBoard).remote()
            for task in self.tasks.values():
                self._submit(task)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)} \
            if _main_thread() else {}
        try:
            while self.tasks:
                self._poll(on_update)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.board is not None:
                self.ray.kill(self.board)
        return self.results

    def _on_signal(self, *_) -> None:
        self.stopping += 1      # once: cancel every run cooperatively; twice: kill the tasks

    # ------------------------------------------------------------ starting
    def _plan(self, run: RayRun) -> None:
        run_id = run.spec.run_id
        folder = store.run_folder(self.cache_dir, run_id)
        if (folder / "spec.json").exists():
            status = store.read_status(folder)
            if status["state"] in DONE_STATES:
                self.results[run_id] = {**status, "outcome": "cache hit"}
                return
            if status["state"] in ACTIVE_STATES and store.process_alive(status.get("pid")):
                self.results[run_id] = {**status, "outcome": "busy"}
                return
        folder = store.create_run_folder(self.cache_dir, run.spec)
        self.tasks[run_id] = _Task(run, folder)

    def _submit(self, task: _Task) -> None:
        spec, now = task.run.spec, time.time()
        seed = transfer.pack(task.folder) if (task.folder / "checkpoints" / "last.pt").exists() else None
        store.write_status(task.folder, state="queued", backend="ray", pid=os.getpid(), ray_driver=os.getpid(),
                           heartbeat=now, queued_at=now, error=None, reason=None, cancel_requested=None,
                           worker_pid=None, **({"sweep": task.run.sweep} if task.run.sweep else {}))
        remote = self.train.options(
            num_cpus=self.cpus, num_gpus=1 if spec.device == "cuda" else 0, max_retries=0,
            name=f"reglab-{spec.run_id}")
        task.ref = remote.remote(spec.to_json(), seed, self.board, self.cpus, self.snapshot_every_s, task.run.finish)
        task.attempts += 1
        task.reported = False

    # ------------------------------------------------------------ watching
    def _poll(self, on_update) -> None:
        by_ref = {task.ref: run_id for run_id, task in self.tasks.items()}
        ready, _ = self.ray.wait(list(by_ref), num_returns=1, timeout=POLL_S)
        if ready:   # every task that has ended by now, not only the first
            ready, _ = self.ray.wait(list(by_ref), num_returns=len(by_ref), timeout=0)
        self._mirror()
        self._handle_cancels()
        for ref in ready:
            self._settle(by_ref[ref])
        if on_update is not None:
            on_update({run_id: store.read_status(task.folder) for run_id, task in self.tasks.items()})

    def _mirror(self) -> None:
        taken = self.ray.get(self.board.take.remote())
        now = time.time()
        for run_id, task in self.tasks.items():
            status, snapshot = taken["statuses"].get(run_id), taken["snapshots"].get(run_id)
            if snapshot is not None:
                transfer.apply_snapshot(snapshot, task.folder)
            if status is not None and status.get("state") in ACTIVE_STATES:
                task.reported = True
                fields = {k: status[k] for k in MIRRORED if k in status}
                store.write_status(task.folder, **fields, worker_pid=status.get("pid"), heartbeat=now)
                task.last_beat = now
            elif now - task.last_beat > HEARTBEAT_EVERY_S:
                store.write_status(task.folder, heartbeat=now)
                task.last_beat = now

    def _handle_cancels(self) -> None:
        now = time.time()
        for run_id, task in self.tasks.items():
            asked = self.stopping or store.read_status(task.folder).get("cancel_requested")
            if asked and task.cancel_asked is None:
                task.cancel_asked = now
                self.ray.get(self.board.stop.remote(run_id))
                if not task.reported:
                    self.ray.cancel(task.ref)          # not on a worker yet: it never starts
            late = task.cancel_asked is not None and now - task.cancel_asked > CANCEL_GRACE_S
            if task.cancel_asked is not None and (late or self.stopping > 1):
                self.ray.cancel(task.ref, force=True)

    def _settle(self, run_id: str) -> None:
        task = self.tasks[run_id]
        exceptions = self.ray.exceptions
        try:
            status, packed = self.ray.get(task.ref)
        except exceptions.TaskCancelledError:
            self._end(task, state="cancelled", reason="cancelled on the Ray cluster")
        except exceptions.RayTaskError as err:     # an error in the task's own code, not in training
            self._end(task, state="failed", error=f"on the Ray worker: {err.cause!r}")
        except exceptions.RayError as err:         # the worker, its node or the object was lost
            if task.cancel_asked is not None:
                self._end(task, state="cancelled", reason="cancelled on the Ray cluster (the task was killed)")
            elif task.attempts <= self.retries:
                store.write_status(task.folder, reason=f"retrying after: {type(err).__name__}")
                self._submit(task)
                return
            else:
                self._end(task, state="interrupted", reason=f"the Ray worker was lost ({type(err).__name__}); "
                                                            f"resume continues from the last checkpoint")
        else:
            transfer.land(packed, task.folder, backend="ray", node=status.get("node"), pid=None, worker_pid=None,
                          ray_driver=None, heartbeat=time.time(), cancel_requested=None,
                          **({"sweep": task.run.sweep} if task.run.sweep else {}))
            self._done(run_id, "ran")

    def _end(self, task: _Task, **fields) -> None:
        store.write_status(task.folder, pid=None, worker_pid=None, ray_driver=None, finished=time.time(), **fields)
        self._done(task.run.spec.run_id, "ran")

    def _done(self, run_id: str, outcome: str) -> None:
        task = self.tasks.pop(run_id)
        self.results[run_id] = {**store.read_status(task.folder), "outcome": outcome}


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
