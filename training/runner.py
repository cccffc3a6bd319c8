"""Run one spec to completion inside this process, recording the outcome in status.json.

Used by the CLI's `run` and by background jobs. Every way a run can end (finished,
cancelled, diverged, failed) leaves a readable folder whose status says what happened.
"""
from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Callable

from cache import store
from runspec import RunSpec
from nets.models import require_lab_model
from training.trainer import Diverged, Heartbeat, Trainer


def execute(spec: RunSpec, folder: Path, resume: bool = False, should_stop: Callable[[], bool] = lambda: False,
            progress: Callable[[int, int], None] | None = None) -> dict:
    """Train `spec` into `folder`; returns the final status fields. A custom model's spec is
    refused (CustomModelError) before the folder is touched: it belongs to the user's loop."""
    require_lab_model(spec, "train")
    store.write_status(folder, state="running", pid=os.getpid(), started=time.time(), heartbeat=time.time(),
                       error=None, reason=None)
    trainer = None
    try:
        with Heartbeat(folder):
            trainer = Trainer(spec, folder, should_stop=should_stop, progress=progress)
            if resume:
                trainer.restore()
            outcome = trainer.run()
    except Diverged as err:
        outcome = {"state": "diverged", "diverged_step": err.step, "error": str(err)}
    except Exception as err:  # noqa: BLE001 - any failure must end up in the folder, readable
        (folder / "job.log").open("a").write(traceback.format_exc())
        outcome = {"state": "failed", "error": f"{type(err).__name__}: {err}"}
    finally:
        if trainer is not None:
            _close_quietly(trainer)
    return store.write_status(folder, finished=time.time(), pid=None, **outcome)


def _close_quietly(trainer: Trainer) -> None:
    try:
        trainer.writer.close()
    except Exception:  # noqa: BLE001 - already closed after a normal finish
        pass
