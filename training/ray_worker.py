"""What runs on the Ray cluster: the task that trains one spec, and the status board.

The task trains into a temporary folder on its worker's local disk (SQLite's WAL needs a
local filesystem), reports to the board about once a second (its status.json, and every
`snapshot_every_s` a consistent copy of the run as of its last epoch checkpoint), and
returns the whole folder, packed, when training ends. The board it reports to
(training/ray_board.py) carries cancel requests back.

Nothing here imports ray: the driver (training/ray_backend.py) wraps these with ray.remote.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from cache import store, transfer

WORKDIR_ENV = "REGLAB_RAY_WORKDIR"   # where workers train (default: the node's temp folder)
REPORT_EVERY_S = 1.0
FINISHED_STATES = ("finished", "diverged")


class Reporter:
    """A thread that reports the local folder to the board and sets `stop` when asked to."""

    def __init__(self, board, run_id: str, folder: Path, stop: threading.Event, snapshot_every_s: float):
        self.board, self.run_id, self.folder, self.stop = board, run_id, folder, stop
        self.snapshot_every_s = snapshot_every_s
        self._done = threading.Event()
        self._shipped: tuple[int, float] = (0, 0.0)      # (checkpoint mtime_ns, when shipped)
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import ray

        while not self._done.wait(REPORT_EVERY_S):
            try:
                status = {**store.read_status(self.folder), "node": socket.gethostname()}
                if ray.get(self.board.report.remote(self.run_id, status, self._snapshot_if_due())):
                    self.stop.set()
            except Exception as err:  # noqa: BLE001 - a missed report must not end the training
                print(f"report of {self.run_id} skipped: {err}", flush=True)

    def _snapshot_if_due(self) -> bytes | None:
        last = self.folder / "checkpoints" / "last.pt"
        if not last.exists():
            return None
        mtime, now = last.stat().st_mtime_ns, time.time()
        if mtime == self._shipped[0] or now - self._shipped[1] < self.snapshot_every_s:
            return None
        self._shipped = (mtime, now)
        return transfer.snapshot(self.folder)

    def __enter__(self) -> "Reporter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def train_task(spec_json: str, seed: bytes | None, board, threads: int, snapshot_every_s: float,
               finish: Callable[[Path], object] | None = None) -> tuple[dict, bytes]:
    """Train one spec (continuing from `seed`, a packed folder, if given); returns the final
    status and the packed run folder. `finish` runs on the folder after a finished or
    diverged training (the demo build's post-processing); its failure is recorded, not raised."""
    import torch

    from runspec import load_spec_json
    from training.runner import execute

    spec = load_spec_json(spec_json)
    torch.set_num_threads(max(1, threads))
    root = Path(tempfile.mkdtemp(prefix=f"reglab-{spec.run_id}-", dir=os.environ.get(WORKDIR_ENV) or None))
    try:
        if seed is not None:
            transfer.unpack(seed, root / spec.run_id)
        folder = store.create_run_folder(root, spec)
        stop = threading.Event()
        with Reporter(board, spec.run_id, folder, stop, snapshot_every_s):
            status = execute(spec, folder, resume=seed is not None, should_stop=stop.is_set)
            if finish is not None and status["state"] in FINISHED_STATES:
                status = _finish(finish, folder)
        return {**status, "node": socket.gethostname()}, transfer.pack(folder)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _finish(finish: Callable[[Path], object], folder: Path) -> dict:
    try:
        finish(folder)
    except Exception as err:  # noqa: BLE001 - the trained run is still worth keeping
        return store.write_status(folder, finish_error=f"{type(err).__name__}: {err}")
    return store.read_status(folder)
