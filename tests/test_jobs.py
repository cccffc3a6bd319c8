"""Background jobs with real detached processes: queueing on slots, cancel, kill -9 and
resume, concurrent writers and a polling reader. Every spec is the tiny polynomial
problem (10 steps an epoch), so most of the time is the job processes starting up."""
from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from cache import store
from tests.conftest import build_run
from training import jobs
from cli import main as cli_main
from training.presets import get_preset
from runspec import SpecError

TIMEOUT_S = 150   # generous: job processes import torch, slow on a loaded 2-core machine
POLY = get_preset("polynomial-degree3").spec.with_overrides({"probe_every": 20, "name": "jobs-test"})


def poly(epochs: int, seed: int = 0):
    return POLY.with_overrides({"epochs": epochs, "seed": seed})


def wait_until(predicate, timeout: float = TIMEOUT_S, poll: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"condition not met within {timeout} s")


def state(cache_dir: Path, run_id: str) -> str:
    return store.read_status(cache_dir / run_id)["state"]


def expected_scalar_steps(spec, steps_per_epoch: int) -> dict[str, set[int]]:
    """Which steps each kind of scalar row must have, for one (member, split, metric)."""
    total = steps_per_epoch * spec.epochs
    probe = {0} | set(range(spec.probe_every, total + 1, spec.probe_every))
    epoch = set(range(steps_per_epoch, total + 1, steps_per_epoch))
    return {"probe": probe, "epoch": epoch, "final": {total}}


def assert_complete_and_unique(folder: Path, spec, steps_per_epoch: int = 10) -> None:
    """Every (member, split, metric, kind) has exactly the steps a clean run logs, each once,
    and the weights table has one row per probe step and parameter."""
    scalars = store.read_table(folder, "scalars")
    expected = expected_scalar_steps(spec, steps_per_epoch)
    for (member, split, metric, kind), group in scalars.groupby(["member", "split", "metric", "kind"]):
        steps = group["step"].tolist()
        assert steps == sorted(set(steps)), f"duplicated or unordered steps in {split}/{metric}/{kind}"
        assert set(steps) == expected[kind], f"missing or extra steps in {split}/{metric}/{kind}"
    assert set(scalars["split"]) == {"train", "test", "train_batch"}
    weights = store.read_table(folder, "weights")
    assert not weights.duplicated(["step", "member", "layer", "param"]).any()
    assert set(weights["step"]) == expected["probe"] | expected["epoch"]


def test_three_jobs_on_one_slot_queue_and_all_finish(cache_dir):
    specs = [poly(epochs=30, seed=s) for s in range(3)]
    run_ids = [jobs.launch(spec, cache_dir, slots=1) for spec in specs]
    assert all(state(cache_dir, r) == "queued" for r in run_ids)   # launch returns before any training
    first = wait_until(lambda: [state(cache_dir, r) for r in run_ids] if any(
        state(cache_dir, r) == "running" for r in run_ids) else None)
    assert sorted(first) == ["queued", "queued", "running"]
    rows = jobs.wait(run_ids, cache_dir, timeout=TIMEOUT_S)
    assert [row["state"] for row in rows.values()] == ["finished"] * 3
    # one slot: the training intervals never overlap
    spans = sorted((store.read_status(cache_dir / r)["started"], store.read_status(cache_dir / r)["finished"])
                   for r in run_ids)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    assert jobs.launch(specs[0], cache_dir, slots=1) == run_ids[0]          # a cache hit starts nothing
    assert store.read_status(cache_dir / run_ids[0])["pid"] is None


def test_a_queued_job_waits_for_a_busy_slot_and_cancels(cache_dir):
    """This test holds the only slot itself, so the job must queue (no race on who is first)."""
    (cache_dir / ".slots").mkdir()
    with open(cache_dir / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        queued = jobs.launch(poly(epochs=5, seed=1), cache_dir, slots=1)
        wait_until(lambda: "waiting for one of 1 slots" in (cache_dir / queued / "job.log").read_text())
        time.sleep(2 * jobs.SLOT_POLL_S)
        assert state(cache_dir, queued) == "queued"
        status = jobs.cancel(queued, cache_dir)
    assert status["state"] == "cancelled" and status["reason"] == "cancelled while queued"
    assert not store.process_alive(status.get("pid")) and status.get("step") is None
    with pytest.raises(jobs.JobError, match="not running"):
        jobs.cancel(queued, cache_dir)


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    """Two jobs on two slots while this process polls both databases; once they are a few
    epochs in, one is cancelled and the other killed with SIGKILL; the killed one is
    resumed and runs to the end. Returns what was observed on the way."""
    cache_dir = tmp_path_factory.mktemp("lifecycle")
    specs = {"cancelled": poly(epochs=60, seed=3), "killed": poly(epochs=60, seed=4)}
    ids = {role: jobs.launch(spec, cache_dir, slots=2) for role, spec in specs.items()}
    seen = {"errors": [], "counts": {r: [] for r in ids.values()}}

    def poll_readers() -> None:
        for run_id in ids.values():
            try:
                table = store.read_table(cache_dir / run_id, "scalars")
                seen["counts"][run_id].append(len(table))
            except Exception as err:  # noqa: BLE001 - the test asserts there are none
                seen["errors"].append(repr(err))

    def cancel(run_id: str) -> None:   # in a thread: cancel() blocks until the job has ended
        seen["cancelled_status"] = jobs.cancel(run_id, cache_dir)

    def kill(run_id: str) -> None:
        pid = store.read_status(cache_dir / run_id)["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not store.process_alive(pid))
        seen["killed_status"] = store.read_status(cache_dir / run_id)
        seen["killed_rows"] = len(store.read_table(cache_dir / run_id, "scalars"))

    acted, threads = set(), []

    def act_once_past_epoch_3() -> bool:
        poll_readers()
        for role, run_id in ids.items():
            if role not in acted and store.read_status(cache_dir / run_id).get("epoch", 0) >= 3:
                acted.add(role)
                if role == "cancelled":
                    threads.append(threading.Thread(target=cancel, args=(run_id,)))
                    threads[-1].start()
                else:
                    kill(run_id)
        return len(acted) == 2

    wait_until(act_once_past_epoch_3, poll=0.05)
    for thread in threads:
        thread.join(TIMEOUT_S)
    jobs.resume(ids["killed"], cache_dir, slots=2)
    wait_until(lambda: (poll_readers(), all(state(cache_dir, r) in jobs.SETTLED_STATES for r in ids.values()))[1],
               poll=0.05)
    return cache_dir, specs, ids, seen


def test_cancel_running_and_kill9_leave_readable_folders(lifecycle):
    _, _, _, seen = lifecycle
    cancelled = seen["cancelled_status"]
    assert cancelled["state"] == "cancelled" and 0 < cancelled["step"] < cancelled["total_steps"]
    assert seen["killed_status"]["state"] == "interrupted"
    assert seen["killed_rows"] > 0          # readable with its WAL left behind by the dead writer


def test_resumed_run_is_complete_without_duplicates(lifecycle, tmp_path):
    cache_dir, specs, ids, _ = lifecycle
    killed = cache_dir / ids["killed"]
    assert state(cache_dir, ids["killed"]) == "finished", (killed / "job.log").read_text()
    assert_complete_and_unique(killed, specs["killed"])
    # resuming from a checkpoint reproduces the uninterrupted run exactly
    reference = build_run(specs["killed"], tmp_path)
    keys = ["step", "member", "split", "metric", "kind"]
    got = store.read_table(cache_dir / ids["killed"], "scalars").sort_values(keys).reset_index(drop=True)
    want = store.read_table(reference, "scalars").sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[keys], want[keys])
    assert (got["value"] - want["value"]).abs().max() < 1e-6


def test_polling_reader_never_sees_locks_or_lost_rows(lifecycle):
    _, _, _, seen = lifecycle
    assert seen["errors"] == []
    for counts in seen["counts"].values():
        assert len(counts) > 10
        grew = [b >= a for a, b in zip(counts, counts[1:])]
        assert sum(not g for g in grew) <= 1   # only the one truncation a resume makes


def test_invalid_spec_fails_before_any_process(cache_dir, capsys):
    code = cli_main(["launch", "--preset", "polynomial-degree3", "--set", "optim.lr=-1", "--cache-dir", str(cache_dir)])
    assert code == 2 and "optim.lr" in capsys.readouterr().err
    code = cli_main(["launch", "--preset", "polynomial-degree3", "--set", "optim.lrr=0.1"])
    assert code == 2 and "optim.lrr" in capsys.readouterr().err
    assert list(cache_dir.iterdir()) == []
    with pytest.raises(SpecError, match="optim.nope"):
        POLY.with_overrides({"optim.nope": 1})


def test_cancel_and_resume_say_why_not(cache_dir, capsys):
    with pytest.raises(jobs.JobError, match="unknown run id"):
        jobs.cancel("0123456789ab", cache_dir)
    with pytest.raises(jobs.JobError, match="unknown run id"):
        jobs.resume("0123456789ab", cache_dir)
    with pytest.raises(SpecError, match="not a run id"):
        jobs.cancel("../../etc", cache_dir)
    spec = poly(epochs=2)
    build_run(spec, cache_dir)
    with pytest.raises(jobs.JobError, match="not running"):
        jobs.cancel(spec.run_id, cache_dir)
    with pytest.raises(jobs.JobError, match="already finished"):
        jobs.resume(spec.run_id, cache_dir)
    assert cli_main(["cancel", spec.run_id]) == 2
    assert "not running" in capsys.readouterr().err


def test_status_and_wait_commands_on_a_finished_run(cache_dir, capsys):
    spec = poly(epochs=2)
    build_run(spec, cache_dir)
    assert cli_main(["status", "--json", spec.run_id]) == 0
    out = capsys.readouterr().out
    assert '"state": "finished"' in out and '"total_steps": 20' in out
    assert cli_main(["wait", "--quiet", spec.run_id]) == 0
    assert "finished" in capsys.readouterr().out
    assert cli_main(["launch", "--preset", "polynomial-degree3", "--set", "probe_every=20", "--set",
                     "name=jobs-test", "--set", "epochs=2"]) == 0       # the same spec: a cache hit
    captured = capsys.readouterr()
    assert captured.out.strip() == spec.run_id and "finished" in captured.err


def test_a_writer_finishes_while_a_reader_holds_the_database_open(tmp_path):
    """SQLite refuses to leave WAL mode while any reader is connected, at once and without
    waiting; the writer's close must not fail the run for that."""
    folder = tmp_path / "run"
    folder.mkdir()
    writer = store.RunWriter(folder)
    writer.log("scalars", [{"step": s, "value": float(s)} for s in range(5)])
    writer.flush()
    with store._reader(folder) as reader:
        writer.close()
        assert reader.execute("SELECT count(*) FROM scalars").fetchone()[0] == 5
    assert store.read_table(folder, "scalars")["step"].tolist() == list(range(5))


def test_a_stale_heartbeat_with_a_live_process_never_gets_a_second_writer(cache_dir):
    spec = poly(epochs=2)
    folder = store.create_run_folder(cache_dir, spec)
    store.write_status(folder, state="running", pid=os.getpid(), heartbeat=time.time() - 3600)  # alive, silent
    assert store.read_status(folder)["state"] == "interrupted"
    with pytest.raises(jobs.JobError, match="still alive"):
        jobs.resume(spec.run_id, cache_dir)
    assert jobs.launch(spec, cache_dir) == spec.run_id        # starts nothing
    assert store.read_status(folder)["pid"] == os.getpid() and not (folder / "job.log").exists()
