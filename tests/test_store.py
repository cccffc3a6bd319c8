"""Run store: folders, atomic status, tables round-trip, checkpoints, listings that survive junk."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from cache import store
from runspec import SpecError, build_spec


@pytest.fixture
def spec():
    return build_spec({"name": "store-test", "data": {"name": "polynomial", "degree": 3},
                       "model": {"kind": "linear", "widths": []}, "loss": "mse", "epochs": 2})


def test_create_run_folder_writes_spec_and_queued_status(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    assert folder == cache_dir / spec.run_id
    assert (folder / "checkpoints").is_dir()
    assert store.read_spec(folder) == spec
    status = store.read_status(folder)
    assert status["state"] == "queued" and status["schema_version"] == store.SCHEMA_VERSION
    assert store.create_run_folder(cache_dir, spec) == folder  # idempotent for the same spec


def test_folder_holding_another_spec_is_refused(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    (folder / "spec.json").write_text(json.dumps({**json.loads(spec.to_json()), "seed": 99}))
    with pytest.raises(store.CorruptRun, match="differs"):
        store.create_run_folder(cache_dir, spec)


def test_write_status_merges_and_leaves_no_temp_files(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    store.write_status(folder, state="running", pid=None, step=3)
    merged = store.write_status(folder, step=4)
    assert merged["state"] == "running" and merged["step"] == 4 and "created" in merged
    assert store.read_status(folder)["step"] == 4
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_running_status_of_a_dead_process_reads_interrupted(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    store.write_status(folder, state="running", pid=child.pid, heartbeat=time.time())
    assert store.read_status(folder)["state"] == "interrupted"
    store.write_status(folder, pid=os.getpid(), heartbeat=time.time())
    assert store.read_status(folder)["state"] == "running"
    store.write_status(folder, heartbeat=time.time() - 10 * store.HEARTBEAT_STALE_S)
    assert store.read_status(folder)["state"] == "interrupted"  # alive but silent too long


def test_writer_tables_round_trip(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    writer = store.RunWriter(folder)
    rows = [{"step": s, "member": 0, "layer": "hidden1", "value": s * 0.5, "grad": None if s == 0 else 1.0}
            for s in range(5)]
    writer.log("weights", rows)
    assert store.table_names(folder) in ([], ["meta"])  # buffered until flush
    writer.flush()
    writer.log_many({"scalars": [{"step": 1, "split": "test", "value": 0.25}]})
    writer.close()
    frame = store.read_table(folder, "weights")
    assert list(frame.columns) == ["step", "member", "layer", "value", "grad"]
    assert frame["value"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert frame["grad"].isna().tolist() == [True, False, False, False, False]
    assert store.read_table(folder, "scalars").to_dict("records") == [{"step": 1, "split": "test", "value": 0.25}]
    assert store.read_table(folder, "nope").empty
    assert store.row_count(folder) == 5 + 1 + 1  # meta holds the schema version
    assert set(store.table_names(folder)) == {"meta", "weights", "scalars"}
    assert not (folder / "metrics.sqlite-wal").exists() or (folder / "metrics.sqlite-wal").stat().st_size == 0


def test_truncate_after_drops_later_rows(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    writer = store.RunWriter(folder)
    writer.log("scalars", [{"step": s, "value": float(s)} for s in range(10)])
    writer.flush()
    writer.log("scalars", [{"step": 99, "value": 0.0}])  # pending rows are dropped too
    writer.truncate_after(4)
    writer.close()
    assert store.read_table(folder, "scalars")["step"].tolist() == [0, 1, 2, 3, 4]


def test_checkpoint_round_trip_with_weights_only(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    assert store.load_checkpoint(folder, "final") is None
    state = {"model": {"w": torch.arange(6.0).view(2, 3)}, "step": 7}
    store.save_checkpoint(folder, "final", state)
    loaded = store.load_checkpoint(folder, "final")
    assert loaded["step"] == 7 and torch.equal(loaded["model"]["w"], state["model"]["w"])
    (folder / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(store.CorruptRun, match="last.pt"):
        store.load_checkpoint(folder, "last")


def test_listing_reports_corrupt_and_foreign_folders_by_name(cache_dir, spec):
    good = store.create_run_folder(cache_dir, spec)
    store.write_status(good, state="finished", step=20, total_steps=20, progress=1.0, final={"test_loss": 0.1})
    (cache_dir / "notes").mkdir()                                     # foreign folder
    broken = store.create_run_folder(cache_dir, spec.with_overrides({"seed": 5}))
    (broken / "status.json").write_text("{half")                     # corrupt status
    weird = store.create_run_folder(cache_dir, spec.with_overrides({"seed": 6}))
    store.write_status(weird, state="exploded")
    newer = store.create_run_folder(cache_dir, spec.with_overrides({"seed": 7}))
    store.write_status(newer, schema_version=store.SCHEMA_VERSION + 1)
    frame, problems = store.list_runs([cache_dir, cache_dir / "missing"])
    assert frame["run_id"].tolist() == [good.name]
    row = frame.iloc[0]
    assert row["state"] == "finished" and row["progress"] == 1.0 and row["name"] == "store-test"
    assert row["dataset"] == "polynomial" and row["final"] == {"test_loss": 0.1}
    assert len(problems) == 4
    for folder in (cache_dir / "notes", broken, weird, newer):
        assert sum(str(folder) in p for p in problems) == 1


def test_bad_metrics_file_is_a_named_error(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    (folder / "metrics.sqlite").write_bytes(b"garbage" * 100)
    with pytest.raises(store.CorruptRun, match=str(folder)):
        store.read_table(folder, "scalars")


def test_run_ids_are_validated_before_paths_are_built(cache_dir, spec):
    for bad in ("../etc", "..", "/tmp/x", "ABCDEF012345"):
        with pytest.raises(SpecError):
            store.run_folder(cache_dir, bad)
        with pytest.raises(SpecError):
            store.find_run([cache_dir], bad)
    folder = store.create_run_folder(cache_dir, spec)
    assert store.find_run([cache_dir / "elsewhere", cache_dir], spec.run_id) == folder
    with pytest.raises(store.StoreError, match="0123456789ab"):
        store.find_run([cache_dir], "0123456789ab")


def test_default_cache_dir_follows_environment(cache_dir):
    assert store.default_cache_dir() == cache_dir


def test_read_table_returns_dataframe_types(cache_dir, spec):
    folder = store.create_run_folder(cache_dir, spec)
    writer = store.RunWriter(folder)
    writer.log("activations", [{"step": 0, "layer": "hidden1", "mean": 0.5, "q50": 0.25}])
    writer.close()
    frame = store.read_table(folder, "activations")
    assert isinstance(frame, pd.DataFrame)
    assert frame["step"].dtype.kind == "i" and frame["mean"].dtype.kind == "f"


# ---------------------------------------------------------------- run states, delete, model loading

def test_run_states_are_plain_strings_in_json():
    assert store.RunState.FINISHED == "finished" and "diverged" in store.DONE
    assert set(store.TERMINAL) < set(store.STATES)


def test_delete_run_removes_the_folder_and_refuses_other_folders(tmp_path):
    from runspec import build_spec

    folder = store.create_run_folder(tmp_path, build_spec({"name": "doomed", "data": {"name": "polynomial"},
                                                           "model": {"kind": "linear", "widths": []}, "loss": "mse"}))
    store.delete_run(folder)
    assert not folder.exists() and not list(tmp_path.iterdir())
    other = tmp_path / "photos"
    other.mkdir()
    with pytest.raises(store.StoreError, match="not a run folder"):
        store.delete_run(other)
    assert other.exists()


def test_load_model_rebuilds_from_the_saved_model_args_and_from_old_checkpoints(tmp_path):
    """A checkpoint carries its constructor arguments; one written before that still loads
    (shapes from the weights), and both give the trained network's outputs."""
    import torch

    from runspec import build_spec
    from tests.conftest import build_run

    spec = build_spec({"name": "m", "data": {"name": "polynomial", "n_train": 20, "n_test": 10, "degree": 3},
                       "model": {"widths": [5], "batchnorm": "before"}, "loss": "mse", "epochs": 2,
                       "ensemble": 2, "batch_size": 10})
    folder = build_run(spec, tmp_path)
    checkpoint = store.load_checkpoint(folder, "final")
    assert checkpoint["model_args"]["in_features"] == 4 and checkpoint["model_args"]["member_seeds"] == [0, 1]
    x = torch.randn(2, 7, 4)
    expected = store.load_model(folder)(x)
    assert not store.load_model(folder).training
    del checkpoint["model_args"]
    store.save_checkpoint(folder, "final", checkpoint)
    assert torch.allclose(store.load_model(folder)(x), expected)
    with pytest.raises(store.StoreError, match="no checkpoints/nothing.pt"):
        store.load_model(folder, "nothing")
