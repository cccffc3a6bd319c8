"""The training loop: a spec in, a run folder out (through the store's RunWriter).

Data lives in memory as tensors; a mini-batch for K members is one gather
x_train[batch_idx] with batch_idx [K, B]. Step s counts optimizer updates done. Probes
run at step 0, every `probe_every` steps and at each epoch end; a checkpoint is saved at
each epoch end so a killed job resumes without losing or duplicating rows.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from cache import store
from training import probes
from training.datasets import Dataset, load_task
from training.eager_optim import EagerAdam, EagerSGD
from training.losses import evaluate, member_loss
from training.schedule import is_scored_epoch, set_epoch_lr
from nets.models import MLP, build_model, is_bias, require_lab_model
from runspec import RunSpec

PROBE_EVAL_EXAMPLES = 1000   # per split at probe steps; epoch ends use probes.eval_max
STATUS_EVERY_S = 2.0
NO_BAD_STEP = 2**62          # "no non-finite loss yet" in the device-side divergence flag


class Diverged(Exception):
    def __init__(self, step: int, value: float):
        super().__init__(f"the training loss became {value} at step {step}")
        self.step = step


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no GPU; use device 'auto' or 'cpu'")
    return torch.device(name)


def gpu_of_slot(slot: int, gpus: int) -> int | None:
    """Job slot i trains on GPU i mod n where several are present; None leaves torch's default."""
    return slot % gpus if gpus > 1 else None


def use_gpu_of_slot(slot: int) -> None:
    """Make the slot's GPU the current one, which device 'cuda' (and 'auto') then means."""
    if torch.cuda.is_available():
        index = gpu_of_slot(slot, torch.cuda.device_count())
        if index is not None:
            torch.cuda.set_device(index)


def member_seeds(spec: RunSpec) -> list[int]:
    """Member k's init and batch-order seed; a single run with seed + k reproduces member k."""
    if spec.ensemble_init == "same":
        return [spec.seed] * spec.ensemble
    return [spec.seed + k for k in range(spec.ensemble)]


def member_indices(spec: RunSpec, n_train: int) -> torch.Tensor:
    """[K, m] indices into the training set: the whole set, disjoint parts, or bootstraps."""
    members = spec.ensemble
    generator = torch.Generator().manual_seed(spec.data.resample_seed + 7919)
    if members == 1 or spec.ensemble_data == "same":
        return torch.arange(n_train).expand(members, n_train).clone()
    if spec.ensemble_data == "bootstrap":
        return torch.randint(n_train, (members, n_train), generator=generator)
    per_member = n_train // members
    if per_member < 1:
        raise ValueError(f"ensemble of {members} disjoint parts needs n_train >= {members}, got {n_train}")
    return torch.randperm(n_train, generator=generator)[: members * per_member].view(members, per_member)


def make_optimizer(spec: RunSpec, model: MLP) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if is_bias(name) and not spec.optim.decay_bias else decay).append(param)
    groups = [{"params": decay, "weight_decay": spec.optim.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    o = spec.optim
    if o.name == "adam":
        return EagerAdam(groups, lr=o.lr, betas=o.betas, eps=o.eps)
    return EagerSGD(groups, lr=o.lr, momentum=o.momentum)


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0                       # epochs completed
    started: float = field(default_factory=time.time)
    elapsed_before: float = 0.0          # seconds spent before a resume


class Trainer:
    """Owns one run: its data, model, optimizer and writer."""

    def __init__(self, spec: RunSpec, folder: Path, should_stop: Callable[[], bool] = lambda: False,
                 progress: Callable[[int, int], None] | None = None):
        require_lab_model(spec, "train")
        self.spec, self.folder, self.should_stop, self.progress = spec, folder, should_stop, progress
        self.device = select_device(spec.device)
        self.data: Dataset = load_task(spec)
        torch.manual_seed(spec.seed)
        self.seeds = member_seeds(spec)
        self.model = build_model(spec.model, self.data.in_features, self.data.out_features, self.seeds).to(self.device)
        self.optimizer = make_optimizer(spec, self.model)
        self.indices = member_indices(spec, len(self.data.y_train)).to(self.device)
        self.orders = [torch.Generator().manual_seed(s + 104_729) for s in self.seeds]
        self.x_train, self.y_train = self.data.x_train.to(self.device), self.data.y_train.to(self.device)
        self.x_test, self.y_test = self.data.x_test.to(self.device), self.data.y_test.to(self.device)
        # the validation split (data.validation_fraction): scored as "val", never in a batch
        self.x_val, self.y_val = ((self.data.x_val.to(self.device), self.data.y_val.to(self.device))
                                  if self.data.x_val is not None and len(self.data.x_val) else (None, None))
        self.x_probe = self.x_test[: spec.probes.probe_batch]
        m = self.indices.shape[1]
        self.steps_per_epoch = math.ceil(m / spec.batch_size)
        self.total_steps = self.steps_per_epoch * spec.epochs
        self.state = TrainState()
        self.writer = store.RunWriter(folder)
        self._last_status = 0.0
        # the first update whose loss was not finite, and that loss, kept on the device so the
        # per-step check does not wait for the GPU; read at the probe cadence (raise_if_diverged)
        self._bad_step = torch.tensor(NO_BAD_STEP, device=self.device)
        self._bad_value = torch.zeros((), device=self.device)

    # ------------------------------------------------------------ checkpoints
    def checkpoint(self, name: str = "last") -> None:
        """'last' can resume the run; 'final' is read for the weights only, so it leaves out the
        optimizer's state (Adam's moments would triple the file of every demo run)."""
        payload = {
            "model": self.model.state_dict(),
            "model_args": store.model_args(self.spec, self.data.in_features, self.data.out_features, self.seeds),
            "step": self.state.step, "epoch": self.state.epoch, "elapsed": self.elapsed(),
            "orders": [g.get_state() for g in self.orders], "torch_rng": torch.get_rng_state(),
        }
        if name == "last":
            payload["optimizer"] = self.optimizer.state_dict()
        store.save_checkpoint(self.folder, name, payload)

    def restore(self) -> bool:
        """Continue from the final checkpoint (a kill after it, before the status said
        finished) or else the last epoch's; rows logged after it are dropped."""
        ckpt = store.load_checkpoint(self.folder, "final") or store.load_checkpoint(self.folder, "last")
        if ckpt is None:
            self.writer.truncate_after(-1)
            return False
        self.model.load_state_dict(ckpt["model"])
        if "optimizer" in ckpt:      # the final checkpoint has none: no training is left to resume
            self.optimizer.load_state_dict(ckpt["optimizer"])
        for g, s in zip(self.orders, ckpt["orders"]):
            g.set_state(s)
        torch.set_rng_state(ckpt["torch_rng"])
        self.state = TrainState(step=ckpt["step"], epoch=ckpt["epoch"], elapsed_before=ckpt["elapsed"])
        self.writer.truncate_after(self.state.step)
        if self.state.epoch >= self.spec.epochs:   # killed while writing the final rows: run() writes them again
            self.writer.delete_rows("scalars", "kind = 'final'")
        return True

    def elapsed(self) -> float:
        return self.state.elapsed_before + time.time() - self.state.started

    # ------------------------------------------------------------ the loop
    def run(self) -> dict:
        if self.state.epoch >= self.spec.epochs:    # restored after the last epoch: no training left
            return self.finish()
        if self.spec.optim.name == "lstsq":
            return self.run_closed_form()
        if self.state.step == 0:
            self.probe(pre_update_weights=None)
            self.writer.flush()
        while self.state.epoch < self.spec.epochs:
            if not self.train_epoch():
                return {"state": "cancelled"}
            self.state.epoch += 1
            self.end_of_epoch()
        return self.finish()

    def finish(self) -> dict:
        """Final scores, then the final checkpoint; last.pt stays until the status says
        finished (the runner removes it), so no moment exists with neither."""
        final = self.final_metrics()
        self.checkpoint("final")
        self.writer.close()
        return {"state": "finished", "final": final}

    def run_closed_form(self) -> dict:
        """optim 'lstsq': one exact least-squares step per member, then the same tables as
        after SGD (the scores are logged as if after the last epoch, at step 1)."""
        from training.closed_form import solve_linear_members

        self.probe(pre_update_weights=None)
        x, y = self.x_train[self.indices], self.y_train[self.indices]          # [K, m, d], [K, m, 1]
        solve_linear_members(self.model, x, y, self.spec.optim)
        self.total_steps = 1
        self.state.step, self.state.epoch = 1, self.spec.epochs - 1
        self.log_running_loss(evaluate(self.model, x, y, self.spec.loss, self.data.task)["loss"])
        self.state.epoch = self.spec.epochs
        self.end_of_epoch()
        return self.finish()

    def train_epoch(self) -> bool:
        spec, members = self.spec, self.spec.ensemble
        set_epoch_lr(self.optimizer, spec.optim, self.state.epoch)
        perms = torch.stack([torch.randperm(self.indices.shape[1], generator=g) for g in self.orders])
        order = self.indices.gather(1, perms.to(self.device))          # [K, m]
        running = torch.zeros(members, device=self.device)
        self.model.train()
        for b in range(self.steps_per_epoch):
            if self.should_stop():
                self.raise_if_diverged()
                self.writer.flush()
                return False
            batch_idx = order[:, b * spec.batch_size:(b + 1) * spec.batch_size]  # [K, B]
            is_probe = (self.state.step + 1) % spec.probe_every == 0
            before = probes.snapshot_weights(self.model) if is_probe and spec.probes.weights else None
            xb, yb = self.x_train[batch_idx], self.y_train[batch_idx]
            if is_probe:
                self.pre_update_probes(xb, yb)
            losses = member_loss(self.model(xb), yb, spec.loss, self.data.task)  # [K]
            total = losses.sum()
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.watch_finite(total.detach())
            self.optimizer.step()
            self.state.step += 1
            running += losses.detach() * batch_idx.shape[1]
            if is_probe:
                self.raise_if_diverged()
                self.probe(pre_update_weights=before)
            self.report_progress()
        self.raise_if_diverged()
        if is_scored_epoch(self.state.epoch + 1, spec.epochs, spec.probes.score_epochs):
            self.log_running_loss(running / order.shape[1])
        return True

    def watch_finite(self, total: torch.Tensor) -> None:
        """Record (on the device, no host sync) the first update step whose loss is not finite."""
        candidate = torch.where(torch.isfinite(total), NO_BAD_STEP, self.state.step + 1)
        self._bad_value = torch.where(candidate < self._bad_step, total, self._bad_value)
        self._bad_step = torch.minimum(self._bad_step, candidate)

    def raise_if_diverged(self) -> None:
        """One sync, before anything is logged: rows never come from after the first bad step."""
        step = int(self._bad_step)
        if step != NO_BAD_STEP:
            raise Diverged(step, float(self._bad_value))

    def pre_update_probes(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """Measurements that need the batch and the weights before this step's update."""
        if self.spec.probes.ics or self.spec.probes.smoothness:
            from training import landscape

            self.raise_if_diverged()
            self.writer.log_many(landscape.measure(self.model, self.optimizer, xb, yb, self.spec,
                                                   self.data.task, self.state.step))

    def end_of_epoch(self) -> None:
        if self.state.step % self.spec.probe_every != 0:
            self.probe(pre_update_weights=None, evaluate_scores=False)
        if is_scored_epoch(self.state.epoch, self.spec.epochs, self.spec.probes.score_epochs):
            self.log_scores(kind="epoch", limit=self.spec.probes.eval_max)
        self.writer.flush()
        if self.spec.checkpoint_every_epoch:
            self.checkpoint("last")
        self.report_progress(force=True)

    # ------------------------------------------------------------ measurements
    def probe(self, pre_update_weights: dict | None, evaluate_scores: bool = True) -> None:
        step, epoch, probe_spec = self.state.step, self.state.epoch, self.spec.probes
        if probe_spec.activations and self.model.hidden:
            with probes.probe_mode(self.model), probes.capture_activations(self.model) as captured:
                self.model(self.x_probe)
            self.writer.log_many(probes.activation_rows(
                captured, step, epoch, self.spec.model.activation, probe_spec.histogram_bins, probe_spec.tracked_units))
        if probe_spec.weights:
            self.writer.log("weights", probes.weight_rows(self.model, step, pre_update_weights))
        if evaluate_scores:
            self.log_scores(kind="probe", limit=PROBE_EVAL_EXAMPLES)

    def log_scores(self, kind: str, limit: int) -> dict[str, torch.Tensor]:
        """Eval-mode loss/accuracy on each member's own training data, the held-out validation
        split (where the spec has one) and the shared test set, each capped at `limit` examples."""
        cached = getattr(self, "_last_scores", None)
        if cached is not None and cached[0] == (self.state.step, limit):
            scores = cached[1]  # these weights were just scored (last epoch end, then final): reuse
        else:
            train_idx = self.indices[:, :limit]                                   # [K, n]
            scores = {
                "train": evaluate(self.model, self.x_train[train_idx], self.y_train[train_idx], self.spec.loss,
                                  self.data.task),
                "test": evaluate(self.model, self.x_test[:limit], self.y_test[:limit], self.spec.loss, self.data.task),
            }
            if self.x_val is not None:
                scores["val"] = evaluate(self.model, self.x_val[:limit], self.y_val[:limit], self.spec.loss,
                                         self.data.task)
            self._last_scores = ((self.state.step, limit), scores)
        rows = [{"step": self.state.step, "epoch": self.state.epoch, "member": k, "split": split,
                 "metric": metric, "value": float(values[k]), "kind": kind}
                for split, by_metric in scores.items() for metric, values in by_metric.items()
                for k in range(self.spec.ensemble)]
        self.writer.log("scalars", rows)
        return scores

    def log_running_loss(self, per_member: torch.Tensor) -> None:
        """The textbook's 'train loss': the mean mini-batch loss over the epoch, in train mode."""
        self.writer.log("scalars", [{"step": self.state.step, "epoch": self.state.epoch + 1, "member": k,
                                     "split": "train_batch", "metric": "loss", "value": float(per_member[k]),
                                     "kind": "epoch"} for k in range(self.spec.ensemble)])

    def final_metrics(self) -> dict[str, float]:
        scores = self.log_scores(kind="final", limit=self.spec.probes.eval_max)
        self.writer.flush()
        return {f"{split}_{metric}": float(values.mean()) for split, by_metric in scores.items()
                for metric, values in by_metric.items()}

    def report_progress(self, force: bool = False) -> None:
        now = time.time()
        if self.progress is not None:
            self.progress(self.state.step, self.total_steps)
        if not force and now - self._last_status < STATUS_EVERY_S:
            return
        self._last_status = now
        done = self.state.step / self.total_steps
        elapsed = self.elapsed()
        eta = elapsed * (1 - done) / done if done > 0 else None
        store.write_status(self.folder, step=self.state.step, total_steps=self.total_steps, epoch=self.state.epoch,
                           progress=round(done, 4), elapsed=round(elapsed, 2), eta=None if eta is None else round(eta, 1),
                           heartbeat=now)


class Heartbeat:
    """Touches status.json every few seconds from a thread, so a long eval never looks dead."""

    def __init__(self, folder: Path, every_s: float = 5.0):
        self.folder, self.every_s = folder, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                store.write_status(self.folder, heartbeat=time.time())
            except (OSError, store.StoreError):
                pass   # a full disk: the training loop's own writes fail and record it

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
