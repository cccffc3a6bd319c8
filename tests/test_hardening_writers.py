"""One writer per run, with real processes: simultaneous resumes and launches of one run,
a SIGKILL right after the final checkpoint, and a forged pid in status.json."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cache import store
from cache.run_files import process_start
from tests.conftest import build_run
from tests.test_jobs import TIMEOUT_S, assert_complete_and_unique, poly, state, wait_until
from training import jobs

REPO = Path(__file__).resolve().parent.parent
# A CLI process that imports everything, says "ready", then waits for the go file: two of
# them start their command within a millisecond of each other.
RACER = """
import os, sys, time
from cli import main
print("ready", flush=True)
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.001)
sys.exit(main(sys.argv[2:]))
"""


def race(cache_dir: Path, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Run CLI commands at the same instant in separate processes."""
    go = cache_dir.parent / f"go-{time.time_ns()}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(go), *command], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for command in commands]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for proc, command in zip(procs, commands):
        out, err = proc.communicate(timeout=TIMEOUT_S)
        results.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return results


def trainings(folder: Path) -> int:
    """How many times a job of this run got a slot and started training."""
    return (folder / "job.log").read_text().count("training\n")


def kill_after_epoch(cache_dir: Path, run_id: str, epoch: int = 3) -> None:
    wait_until(lambda: (store.read_status(cache_dir / run_id).get("epoch") or 0) >= epoch)
    pid = store.read_status(cache_dir / run_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not store.process_alive(pid))


def test_two_simultaneous_resumes_give_one_writer_and_no_duplicate_rows(cache_dir):
    spec = poly(epochs=40, seed=11)
    run_id = jobs.launch(spec, cache_dir, slots=2)
    kill_after_epoch(cache_dir, run_id)
    assert state(cache_dir, run_id) == "interrupted"
    command = ["resume", run_id, "--slots", "2", "--cache-dir", str(cache_dir)]
    results = race(cache_dir, command, command)
    assert sorted(r.returncode for r in results) == [0, 2], [r.stderr for r in results]
    loser = next(r for r in results if r.returncode == 2)
    assert "cannot resume" in loser.stderr and "Traceback" not in loser.stderr
    jobs.wait([run_id], cache_dir, timeout=TIMEOUT_S)
    folder = cache_dir / run_id
    assert state(cache_dir, run_id) == "finished", (folder / "job.log").read_text()
    assert trainings(folder) == 2          # the first job and exactly one resumed job
    assert_complete_and_unique(folder, spec)


@pytest.mark.parametrize("slots", [1, 2])
def test_two_simultaneous_launches_give_one_writer(cache_dir, tmp_path, slots):
    spec = poly(epochs=20, seed=20 + slots)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    command = ["launch", "--spec", str(spec_file), "--slots", str(slots), "--cache-dir", str(cache_dir)]
    results = race(cache_dir, command, command)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert all(r.stdout.strip() == spec.run_id for r in results)
    assert sum("not started again" in r.stderr for r in results) == 1, [r.stderr for r in results]
    jobs.wait([spec.run_id], cache_dir, timeout=TIMEOUT_S)
    folder = cache_dir / spec.run_id
    assert state(cache_dir, spec.run_id) == "finished"
    assert trainings(folder) == 1
    assert_complete_and_unique(folder, spec)
    assert jobs.start(spec, cache_dir).note == "already finished (a cache hit)"


# ---------------------------------------------------------------- a kill after the final checkpoint

KILL_AFTER_FINAL_CHECKPOINT = """
import os, signal, sys
from training import trainer
save = trainer.Trainer.checkpoint
def checkpoint(self, name="last"):
    save(self, name)
    if name == "final":
        os.kill(os.getpid(), signal.SIGKILL)
trainer.Trainer.checkpoint = checkpoint
from training.job_process import main
sys.exit(main(sys.argv[1:]))
"""
KILL_BEFORE_FINISHED_STATUS = """
import os, signal, sys
from cache import store
write = store.write_last_word
def last_word(folder, **fields):
    if fields.get("state") == "finished":
        os.kill(os.getpid(), signal.SIGKILL)
    return write(folder, **fields)
store.write_last_word = last_word
from training.job_process import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("hook", [KILL_AFTER_FINAL_CHECKPOINT, KILL_BEFORE_FINISHED_STATUS],
                         ids=["after-final-checkpoint", "before-finished-status"])
def test_sigkill_after_the_final_checkpoint_resumes_without_retraining(cache_dir, tmp_path, hook):
    spec = poly(epochs=6, seed=30)
    folder = store.create_run_folder(cache_dir, spec)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    job = subprocess.run([sys.executable, "-c", hook, spec.run_id, "--cache-dir", str(cache_dir), "--slots", "1"],
                         cwd=REPO, env=env, timeout=TIMEOUT_S)
    assert job.returncode == -signal.SIGKILL
    assert state(cache_dir, spec.run_id) == "interrupted"
    assert (folder / "checkpoints" / "final.pt").exists()
    jobs.resume(spec.run_id, cache_dir, slots=1)
    jobs.wait([spec.run_id], cache_dir, timeout=TIMEOUT_S)
    status = store.read_status(folder)
    assert status["state"] == "finished", (folder / "job.log").read_text()
    total = status["total_steps"]
    assert status["resumed_from_step"] == total == 60      # restored at the end: not one step trained again
    assert not (folder / "checkpoints" / "last.pt").exists()
    assert_complete_and_unique(folder, spec)
    reference = build_run(spec, tmp_path / "reference")
    keys = ["step", "member", "split", "metric", "kind"]
    got = store.read_table(folder, "scalars").sort_values(keys).reset_index(drop=True)
    want = store.read_table(reference, "scalars").sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[keys], want[keys])


# ---------------------------------------------------------------- a forged pid

@pytest.fixture
def victim():
    """Someone else's process, leading its own process group (as a job would)."""
    proc = subprocess.Popen(["sleep", "120"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def forge(folder: Path, **fields) -> None:
    payload = json.loads((folder / "status.json").read_text())
    payload.update(fields)
    (folder / "status.json").write_text(json.dumps(payload))


def test_a_forged_pid_is_never_signalled(cache_dir, victim):
    spec = poly(epochs=2, seed=40)
    folder = store.create_run_folder(cache_dir, spec)
    forge(folder, state="running", pid=victim.pid, pid_start=process_start(victim.pid), token="forged",
          heartbeat=time.time())
    assert state(cache_dir, spec.run_id) == "running"      # it looks alive: the pid and start time match
    status = jobs.cancel(spec.run_id, cache_dir, wait_s=1.0)
    time.sleep(0.3)
    assert victim.poll() is None, "the forged pid's process was signalled"
    assert status["state"] == "cancelled" and "nothing was signalled" in status["reason"]


def test_a_reused_pid_is_not_signalled_and_reads_interrupted(cache_dir, victim):
    spec = poly(epochs=2, seed=41)
    folder = store.create_run_folder(cache_dir, spec)
    forge(folder, state="running", pid=victim.pid, pid_start=process_start(victim.pid) - 1, token="old",
          heartbeat=time.time())   # the job that had this pid started earlier: the pid was reused since
    assert state(cache_dir, spec.run_id) == "interrupted"
    with pytest.raises(jobs.JobError, match="not running"):
        jobs.cancel(spec.run_id, cache_dir, wait_s=1.0)
    assert victim.poll() is None


def test_a_real_job_whose_status_names_another_pid_is_not_cancelled_by_it(cache_dir, victim):
    (cache_dir / ".slots").mkdir()
    with open(cache_dir / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)    # the job stays queued, holding the run's writer lock
        run_id = jobs.launch(poly(epochs=2, seed=42), cache_dir, slots=1)
        wait_until(lambda: "waiting for one of 1 slots" in (cache_dir / run_id / "job.log").read_text())
        real = store.read_status(cache_dir / run_id)["pid"]
        forge(cache_dir / run_id, pid=victim.pid, pid_start=process_start(victim.pid))
        with pytest.raises(jobs.JobError, match="not a job this lab launched"):
            jobs.cancel(run_id, cache_dir, wait_s=1.0)
        assert victim.poll() is None and store.process_alive(real)
        os.kill(real, signal.SIGTERM)
        wait_until(lambda: not store.process_alive(real))
