"""The recorder behind `reglab.watch`: the lab's probes on a user's model, in the user's loop.

It owns one standard run folder (spec.json, status.json, metrics.sqlite) and writes the
tables a lab run has, through the store's RunWriter. Probe steps are step 0 (at watch
time), every `every` optimizer steps, and the last step (at close); between them a step
costs a counter and a list append. Nothing it does at step/log time raises: a failure is
a ReglabWarning, counted in status.json, and the user's training goes on.
"""
from __future__ import annotations

import math
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from cache import store
from reglab import stats
from reglab.capture import Capture, probe_mode, run_forward
from reglab.layers import ReglabError
from runspec import RunSpec
from training.trainer import Heartbeat

STATUS_EVERY_S = 2.0
FLUSH_EVERY_S = 1.0
CORE_TABLES = ("meta", "scalars", "activations", "histograms", "units", "weights")
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


class ReglabWarning(UserWarning):
    """A probe or log call that failed; the run goes on without its rows."""


class Recorder:
    """Records one run of a user's model. Build it with `reglab.watch(...)`, then per
    optimizer step call `step(loss=...)`, report scores with `log(split, metric, value)`,
    and `close()` at the end (or use it as a context manager)."""

    def __init__(self, model: nn.Module, spec: RunSpec, folder: Path, layers: dict[str, nn.Module], *,
                 every: int, probe_input: Any = None, total_steps: int | None = None, max_values: int | None = None):
        self.model, self.spec, self.folder, self.layers = model, spec, folder, layers
        self.every, self.probe_input, self.total_steps = every, probe_input, total_steps
        self.epoch = 0
        self._steps = 0
        self._losses: list = []
        self._final: dict[str, float] = {}
        self._before: stats.Params | None = None
        self._params = stats.watched_parameters(layers) if spec.probes.weights else {}
        self._capture = Capture(model, layers, max_values, training_only=probe_input is None)
        self._pending_tables: dict[str, list[dict]] = {}
        self._warned: set = set()
        self._failures, self._diverged_step, self._closed = 0, None, False
        self._started = self._last_status = self._last_flush = time.time()
        self.writer = store.RunWriter(folder)
        store.write_status(folder, state="running", pid=os.getpid(), started=self._started, heartbeat=self._started,
                           step=0, total_steps=total_steps, progress=0.0, epoch=0, recorded_by="reglab")
        self._heartbeat = Heartbeat(folder).__enter__()
        self._safely("the probe at step 0", self._probe)
        self._safely("preparing the next probe", self._prepare_next)

    # ------------------------------------------------------------ the user's calls
    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def steps(self) -> int:
        """Optimizer steps reported so far with step()."""
        return self._steps

    @property
    def closed(self) -> bool:
        return self._closed

    def step(self, loss: Any = None) -> None:
        """One optimizer step done: call it after optimizer.step() (and before the next
        zero_grad, so the gradient norms are this step's). `loss` (a tensor or a number) is
        averaged over the steps between probes into the `train_batch` loss."""
        if self._closed:
            self._warn_once("closed", "step() after close() is ignored")
            return
        self._steps += 1
        self._capture.disarm()
        if loss is not None:
            self._losses.append(loss.detach() if isinstance(loss, torch.Tensor) else loss)
        if self._is_probe_step(self._steps):
            self._safely(f"the probe at step {self._steps}", self._probe)
        self._safely("preparing the next probe", self._prepare_next)
        if time.time() - self._last_status >= STATUS_EVERY_S:
            self._safely("the status update", self._write_progress)

    def log(self, split: str, metric: str, value: Any, *, epoch: int | None = None) -> None:
        """Report a score, e.g. log("test", "accuracy", 0.91, epoch=3), at the current step.
        `epoch`: epochs completed when it was measured (1 after the first pass), for an
        end-of-epoch score: the Runs page's epoch-aligned comparisons use those. Splits
        "train", "val" and "test" with metrics "loss" and "accuracy" fill the Runs table's columns."""
        if self._closed:
            self._warn_once("closed", "log() after close() is ignored")
            return
        self._safely(f"log({split!r}, {metric!r})", self._log, split, metric, value, epoch)

    def save_table(self, table: str, frame) -> None:
        """Store a DataFrame (e.g. what sample_subnetworks returns) as a table of this run,
        replacing an earlier one of that name; while the run is open it is written at close."""
        if not isinstance(table, str) or not TABLE_NAME.match(table) or table in CORE_TABLES:
            raise ReglabError(f"save_table(): {table!r} is not a table name this run can take (lowercase letters, "
                              f"digits and _, and none of {', '.join(CORE_TABLES)})")
        rows = frame.to_dict("records")
        if self._closed:
            store.replace_table(self.folder, table, rows)
        else:
            self._pending_tables[table] = rows

    def close(self, state: str = "finished", error: str | None = None) -> dict:
        """End the run: a last probe if the last step had none, then status `state`
        ('finished', or 'diverged' if the reported loss became NaN/inf). Returns the status."""
        if self._closed:
            return store.read_status(self.folder)
        self._closed = True
        if not self._is_probe_step(self._steps):
            self._safely(f"the probe at step {self._steps}", self._probe, True)
        self._capture.disarm()
        self._heartbeat.__exit__(None, None, None)
        self._safely("writing the run's tables", self.writer.close)
        for table, rows in self._pending_tables.items():
            self._safely(f"save_table({table!r})", store.replace_table, self.folder, table, rows)
        fields: dict[str, Any] = {"state": state, "error": error}
        if state == "finished" and self._diverged_step is not None:
            fields = {"state": "diverged", "diverged_step": self._diverged_step,
                      "error": f"the training loss became NaN or infinite by step {self._diverged_step}"}
        done = self._steps / self.total_steps if self.total_steps else (1.0 if state == "finished" else 0.0)
        return store.write_status(self.folder, **fields, pid=None, finished=time.time(), step=self._steps,
                                  epoch=self.epoch, progress=round(min(done, 1.0), 4), elapsed=self._elapsed(),
                                  final=dict(self._final), heartbeat=time.time())

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("cancelled", "stopped by the user (KeyboardInterrupt)")
        else:
            self.close("failed", f"{exc_type.__name__}: {exc}")
        return False   # the user's exception goes on up

    def __repr__(self) -> str:
        state = "closed" if self._closed else "recording"
        return f"<reglab.Recorder {self.spec.name!r} {self.run_id} {state}, step {self._steps}, {self.folder}>"

    # ------------------------------------------------------------ probes
    def _is_probe_step(self, step: int) -> bool:
        return step % self.every == 0 or step == self.total_steps

    def _prepare_next(self) -> None:
        """Before the update that leads to a probe step: keep the weights (for update ratios)
        and, without a probe_input, arm the hooks for that step's training forward pass."""
        if not self._is_probe_step(self._steps + 1):
            return
        if self._params:
            self._before = stats.snapshot(self._params)
        if self.spec.probes.activations and self.probe_input is None:
            self._capture.arm(seed=self._steps + 1)

    def _probe(self, closing: bool = False) -> None:
        """The probe at the current step; each part fails alone (a warning), the others still log.
        Closing after a step that was no probe step: without a probe_input there is no forward
        pass to show, so that last probe has weights only."""
        step = self._steps
        if self.spec.probes.activations and not (closing and self.probe_input is None):
            self._safely(f"the activation probe at step {step}", self._log_activations, step)
        if self._params:
            self._safely(f"the weight probe at step {step}", self._log_weights, step)
        self._before = None
        self._safely(f"the loss at step {step}", self._log_loss, step)
        self._flush()
        self._write_progress()

    def _log_activations(self, step: int) -> None:
        try:
            self.writer.log_many(self._activation_tables(step))
        finally:
            self._capture.tensors = {}

    def _log_weights(self, step: int) -> None:
        self.writer.log("weights", stats.weight_rows(self._params, step, self._before))

    def _log_loss(self, step: int) -> None:
        loss = self._mean_loss()
        if loss is None:
            return
        self.writer.log("scalars", [{"step": step, "epoch": self.epoch, "member": 0, "split": "train_batch",
                                     "metric": "loss", "value": loss, "kind": "probe"}])
        if not math.isfinite(loss) and self._diverged_step is None:
            self._diverged_step = step

    def _activation_tables(self, step: int) -> dict[str, list[dict]]:
        if self.probe_input is not None:
            self._capture.arm(seed=step)
            try:
                with probe_mode(self.model):
                    run_forward(self.model, self.probe_input)
            finally:
                self._capture.disarm()
        elif step > 0 and not self._capture.tensors:
            self._warn_once("no-forward", f"no training forward pass (gradients on, model in train mode) ran "
                            f"before step {step}, so it has no activation rows; call step() once per optimizer "
                            f"step, after optimizer.step(), or give watch() a probe_input to probe a fixed batch")
        for layer, why in self._capture.problems.items():
            self._warn_once(("layer", layer), f"layer {layer!r} records no activations: {why}")
        probes = self.spec.probes
        return stats.activation_tables(self._capture.pairs(), self.layers, step, self.epoch,
                                       probes.histogram_bins, probes.tracked_units)

    def _mean_loss(self) -> float | None:
        losses, self._losses = self._losses, []
        if not losses:
            return None
        tensors = [t.float().mean() for t in losses if isinstance(t, torch.Tensor)]
        total = float(sum(float(v) for v in losses if not isinstance(v, torch.Tensor)))
        if tensors:
            total += torch.stack([t.to(tensors[0].device) for t in tensors]).sum().item()
        return total / len(losses)

    # ------------------------------------------------------------ scores, status, safety
    def _log(self, split: str, metric: str, value: Any, epoch: int | None) -> None:
        if not (isinstance(split, str) and split and isinstance(metric, str) and metric):
            raise ReglabError(f"split and metric must be non-empty strings, got {split!r} and {metric!r}")
        number = float(value.item() if isinstance(value, torch.Tensor) else value)
        if epoch is not None:
            if isinstance(epoch, bool) or int(epoch) != epoch or epoch < 0:
                raise ReglabError(f"epoch must be a whole number >= 0, got {epoch!r}")
            self.epoch = int(epoch)
        self.writer.log("scalars", [{"step": self._steps, "epoch": self.epoch, "member": 0, "split": split,
                                     "metric": metric, "value": number, "kind": "probe" if epoch is None else "epoch"}])
        self._final[f"{split}_{metric}"] = number
        if time.time() - self._last_flush >= FLUSH_EVERY_S:
            self._flush()

    def _flush(self) -> None:
        self.writer.flush()
        self._last_flush = time.time()

    def _elapsed(self) -> float:
        return round(time.time() - self._started, 2)

    def _write_progress(self) -> None:
        self._last_status = now = time.time()
        fields = {"step": self._steps, "epoch": self.epoch, "elapsed": self._elapsed(), "heartbeat": now,
                  "probe_failures": self._failures}
        if self.total_steps:
            fields["progress"] = round(min(self._steps / self.total_steps, 1.0), 4)
        store.write_status(self.folder, **fields)

    def _safely(self, what: str, fn: Callable, *args) -> None:
        try:
            fn(*args)
        except Exception as err:  # noqa: BLE001 - the user's training loop must never break on a probe
            self._failures += 1
            self._warn_once((what.split(" at step")[0], type(err).__name__),
                            f"{what} failed ({type(err).__name__}: {err}); training goes on without its rows. "
                            f"Later failures like this one are only counted (status.json: probe_failures)")
            try:
                store.write_status(self.folder, probe_failures=self._failures,
                                   last_probe_error=f"step {self._steps}: {what}: {type(err).__name__}: {err}")
            except Exception:  # noqa: BLE001 - the status file itself may be what fails
                pass

    def _warn_once(self, key, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        warnings.warn(f"reglab ({self.spec.name}): {message}", ReglabWarning, stacklevel=_user_frame_level())


def _user_frame_level() -> int:
    """The warnings stacklevel of the first caller outside this package (the user's step() or
    log() line), however deep inside reglab the warning was raised."""
    package = str(Path(__file__).parent)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
