"""The divergence check kept on the device: the recorded step is still the first update
whose loss is not finite, and the host reads the flag only at the probe cadence."""
from __future__ import annotations

import math

import pytest

from cache import store
from tests.conftest import build_run, tiny
from training.presets import PRESETS
from training.trainer import Trainer

DIVERGING = tiny(PRESETS["weight-decay-0"].spec, optim__lr=100.0, epochs=50)


@pytest.mark.parametrize("probe_every", [1, 7, 1000])
def test_diverged_step_is_the_first_non_finite_loss(cache_dir, monkeypatch, probe_every):
    losses: list[float] = []            # the host-side oracle: every step's loss, as the old check read it
    watch = Trainer.watch_finite

    def recording(self, total):
        losses.append(total.item())
        watch(self, total)

    monkeypatch.setattr(Trainer, "watch_finite", recording)
    folder = build_run(DIVERGING.with_overrides({"probe_every": probe_every}), cache_dir)
    status = store.read_status(folder)
    first_bad = next(i + 1 for i, value in enumerate(losses) if not math.isfinite(value))
    assert status["state"] == "diverged" and status["diverged_step"] == first_bad
    assert str(losses[first_bad - 1]) in status["error"]
    scalars = store.read_table(folder, "scalars")
    assert not scalars.empty and scalars["step"].max() < first_bad   # nothing logged from after it


def test_the_flag_is_read_at_the_probe_cadence_not_every_step(cache_dir, monkeypatch):
    reads = []
    check = Trainer.raise_if_diverged
    monkeypatch.setattr(Trainer, "raise_if_diverged", lambda self: (reads.append(self.state.step), check(self)))
    spec = tiny(PRESETS["polynomial-degree3"].spec, epochs=4, probe_every=5)   # 10 steps an epoch
    assert store.read_status(build_run(spec, cache_dir))["state"] == "finished"
    assert reads == [5, 10, 10, 15, 20, 20, 25, 30, 30, 35, 40, 40]   # each probe step, then each epoch end
