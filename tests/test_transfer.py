"""Run folders moved as bytes (cache/transfer.py, what the Ray backend ships), and the
choice of GPU per job slot. No Ray needed: these are plain files and plain functions."""
from __future__ import annotations

import threading

import pandas as pd
import pytest
import torch

from cache import store, transfer
from tests.conftest import build_run, tiny
from training import trainer
from training.presets import PRESETS

SPEC = tiny(PRESETS["polynomial-degree3"].spec, epochs=3, probe_every=5)


def tables(folder) -> dict[str, pd.DataFrame]:
    return {t: store.read_table(folder, t) for t in store.table_names(folder)}


def test_pack_and_land_give_the_same_run(cache_dir, tmp_path):
    folder = build_run(SPEC, cache_dir)
    target = tmp_path / "elsewhere" / SPEC.run_id
    target.parent.mkdir()
    transfer.land(transfer.pack(folder), target, backend="ray")
    assert store.read_status(target)["state"] == "finished" and store.read_status(target)["backend"] == "ray"
    assert store.read_spec(target).run_id == SPEC.run_id
    for name, frame in tables(folder).items():
        pd.testing.assert_frame_equal(frame, tables(target)[name])
    assert [p.name for p in target.parent.iterdir()] == [SPEC.run_id]   # no staging folder left


@pytest.mark.parametrize("exchange", [True, False])
def test_landing_replaces_a_placeholder_and_readers_always_find_a_run(cache_dir, tmp_path, monkeypatch, exchange):
    if not exchange:   # the fallback where renameat2 is missing: two renames
        monkeypatch.setattr(transfer, "_exchange", lambda a, b: False)
    finished = transfer.pack(build_run(SPEC, cache_dir))
    driver = tmp_path / "driver"
    placeholder = store.create_run_folder(driver, SPEC)
    store.write_status(placeholder, state="running", pid=None)
    seen, stop = [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(store.read_status(placeholder)["state"])
            except store.StoreError as err:
                seen.append(str(err))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(20):
        transfer.land(finished, placeholder)
    stop.set()
    reader.join()
    assert store.read_status(placeholder)["state"] == "finished"
    if exchange:
        assert set(seen) <= {"running", "finished"}, set(seen) - {"running", "finished"}
    assert sorted(p.name for p in driver.iterdir()) == [SPEC.run_id]


def test_a_snapshot_of_a_run_being_written_is_consistent_and_resumable(cache_dir, tmp_path):
    spec = SPEC.with_overrides({"epochs": 4})
    folder = store.create_run_folder(cache_dir, spec)
    run = trainer.Trainer(spec, folder)
    run.probe(pre_update_weights=None)
    run.train_epoch()
    run.state.epoch += 1
    run.end_of_epoch()                        # rows flushed, checkpoints/last.pt written; the writer stays open
    run.writer.log("scalars", [{"step": 999, "epoch": 9, "member": 0, "split": "x", "metric": "m", "value": 0.0,
                                "kind": "probe"}])   # buffered, not committed: not in the snapshot
    placeholder = store.create_run_folder(tmp_path / "driver", spec)
    transfer.apply_snapshot(transfer.snapshot(folder), placeholder)
    run.writer.close()
    assert not list(placeholder.glob("metrics.sqlite-*"))           # a rollback-journal copy, no WAL beside it
    copied = store.read_table(placeholder, "scalars")
    assert 999 not in set(copied["step"]) and set(copied["kind"]) == {"probe", "epoch"}
    assert store.load_checkpoint(placeholder, "last")["epoch"] == 1
    store.write_status(placeholder, state="interrupted")
    from training.runner import execute

    assert execute(spec, placeholder, resume=True)["state"] == "finished"
    reference = build_run(spec, tmp_path / "reference")
    keys = ["step", "member", "split", "metric", "kind"]
    got = store.read_table(placeholder, "scalars").sort_values(keys).reset_index(drop=True)
    want = store.read_table(reference, "scalars").sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[keys], want[keys])


def test_each_job_slot_takes_its_own_gpu_where_several_are_present(monkeypatch):
    assert [trainer.gpu_of_slot(slot, 1) for slot in range(3)] == [None] * 3   # one GPU (or none): torch's default
    assert [trainer.gpu_of_slot(slot, 4) for slot in range(6)] == [0, 1, 2, 3, 0, 1]
    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    trainer.use_gpu_of_slot(3)
    assert chosen == [1]
