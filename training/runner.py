"""Run one spec to completion inside this process, recording the outcome in status.json.

Used by the CLI's `run` and by background jobs. Every way a run can end (finished,
cancelled, diverged, failed) leaves a readable folder whose status says what happened,
with the real error: a full disk is recorded as one even when it hits status.json itself
(cache.run_files.write_last_word frees the folder's reserve for that last write).
"""
from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Callable

from cache import store
from cache.run_files import describe_error, process_start
from runspec import RunSpec
from nets.models import require_lab_model
from training.trainer import Diverged, Heartbeat, Trainer


def execute(spec: RunSpec, folder: Path, resume: bool = False, should_stop: Callable[[], bool] = lambda: False,
            progress: Callable[[int, int], None] | None = None) -> dict:
    """Train `spec` into `folder`; returns the final status fields. A custom model's spec is
    refused (CustomModelError) before the folder is touched: it belongs to the user's loop."""
    require_lab_model(spec, "train")
    trainer = None
    try:
        store.write_status(folder, state="running", pid=os.getpid(), pid_start=process_start(os.getpid()),
                           started=time.time(), heartbeat=time.time(), error=None, reason=None)
        with Heartbeat(folder):
            trainer = Trainer(spec, folder, should_stop=should_stop, progress=progress)
            if resume and trainer.restore():
                store.write_status(folder, resumed_from_step=trainer.state.step)
            outcome = trainer.run()
    except Diverged as err:
        outcome = {"state": "diverged", "diverged_step": err.step, "error": str(err)}
    except Exception as err:  # noqa: BLE001 - any failure must end up in the folder, readable
        _append_log(folder, traceback.format_exc())
        outcome = {"state": "failed", "error": describe_error(err, folder)}
    finally:
        if trainer is not None:
            _close_quietly(trainer)
    status = store.write_last_word(folder, finished=time.time(), pid=None, **outcome)
    if status["state"] == "finished":
        store.discard_checkpoint(folder, "last")   # only now: a kill before this resumes from it
    return status


def train_job(folder: Path, slots: int, stop, log: Callable[[str], None]) -> int:
    """The training half of a background job (training/job_process.py): exit code 0 unless it failed."""
    import torch

    # share the cores between the slots instead of every job using all of them
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // slots))
    # restore() continues from a checkpoint, or clears rows a killed first attempt left
    status = execute(store.read_spec(folder), folder, resume=True, should_stop=stop.is_set)
    log(f"job {folder.name}: {status['state']}" + (f" ({status['error']})" if status.get("error") else ""))
    return 0 if status["state"] in ("finished", "cancelled", "diverged") else 1


def _append_log(folder: Path, text: str) -> None:
    try:
        with (folder / "job.log").open("a") as handle:
            handle.write(text)
    except OSError:
        pass   # a full disk: the error itself still goes to status.json


def _close_quietly(trainer: Trainer) -> None:
    try:
        trainer.writer.close()
    except Exception:  # noqa: BLE001 - already closed after a normal finish, or the disk is full
        pass
