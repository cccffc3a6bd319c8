"""A full disk loses nothing: the job ends `failed` with 'No space left on device' in
status.json (never 'interrupted / the process is gone'), and a creation that cannot
finish leaves no half-made folder.

Real cases run on a 2 MB tmpfs where this machine lets the tests mount one (root); the
simulated ones (OSError(ENOSPC) raised inside the writer) run everywhere."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cache import run_files, store
from cli import main as cli_main
from tests.test_jobs import TIMEOUT_S, poly, wait_until
from training import jobs
from training.runner import execute

NO_SPACE = "No space left on device"


# ---------------------------------------------------------------- simulated (everywhere)

def test_enospc_in_the_metrics_writer_is_recorded_as_failed(cache_dir, monkeypatch):
    spec = poly(epochs=8, seed=50)
    folder = store.create_run_folder(cache_dir, spec)
    flushes = {"n": 0}
    flush = store.RunWriter.flush

    def full_disk(self):
        flushes["n"] += 1
        if flushes["n"] > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.folder / "metrics.sqlite"))
        flush(self)

    monkeypatch.setattr(store.RunWriter, "flush", full_disk)
    status = execute(spec, folder)
    assert status["state"] == "failed" and NO_SPACE in status["error"]
    assert store.read_status(folder)["error"] == status["error"]


def test_the_last_word_frees_the_reserve_when_status_json_cannot_be_written(cache_dir, monkeypatch):
    folder = store.create_run_folder(cache_dir, poly(epochs=2, seed=51))
    assert (folder / run_files.RESERVE_NAME).stat().st_size == run_files.RESERVE_BYTES
    write = run_files.write_status
    calls = {"n": 0}

    def full_once(folder_, **fields):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(folder_, **fields)

    monkeypatch.setattr(run_files, "write_status", full_once)
    run_files.write_last_word(folder, state="failed", error="OSError: [Errno 28] No space left on device")
    assert store.read_status(folder)["state"] == "failed"
    assert not (folder / run_files.RESERVE_NAME).exists()


def test_a_failed_creation_leaves_no_folder(cache_dir, monkeypatch):
    spec = poly(epochs=2, seed=52)

    def no_room(path, payload):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(store, "write_json_atomic", no_room)
    with pytest.raises(store.StoreError, match=NO_SPACE):
        store.create_run_folder(cache_dir, spec)
    assert list(cache_dir.iterdir()) == []


def test_a_killed_creation_is_listed_as_half_made(cache_dir):
    staging = cache_dir / f"{store.STAGING_PREFIX}0123456789ab-1-abc"
    staging.mkdir()
    _, problems = store.list_runs([cache_dir])
    assert problems == [store.partial_problem(staging)]
    os.utime(staging, (time.time() - 3600,) * 2)
    assert store.remove_partial(cache_dir) == [staging] and not staging.exists()


# ---------------------------------------------------------------- a real 2 MB tmpfs

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs, or a skip where this machine does not allow mounting one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root; the simulated ENOSPC tests above cover the writer")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()})")
    yield mount
    for status in mount.glob("runs/*/status.json"):
        pid = run_files.read_json(status).get("pid")
        if pid and store.process_alive(pid):
            os.kill(pid, 9)
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk to the last byte, then give `leave` bytes back."""
    filler = disk / f"filler-{time.time_ns()}"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    handle.write(b"x" * chunk)
            except OSError as err:
                assert err.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_no_room_at_all_refuses_the_launch_and_leaves_nothing(small_disk, capsys):
    runs = small_disk / "runs"
    runs.mkdir()
    fill(small_disk)
    spec = poly(epochs=2, seed=60)
    code = cli_main(["launch", "--preset", "polynomial-degree3", "--set", "seed=60", "--set", "epochs=2",
                     "--set", "probe_every=20", "--set", "name=jobs-test", "--cache-dir", str(runs)])
    err = capsys.readouterr().err
    assert code == 2 and NO_SPACE in err and "Traceback" not in err
    assert [p.name for p in runs.iterdir() if not p.name.startswith(".")] == []
    assert store.partial_folders(runs) == [] and not (runs / spec.run_id).exists()


@pytest.mark.parametrize("leave", [0, 4096, 65536])
def test_a_disk_that_fills_during_training_ends_failed_with_the_real_error(small_disk, leave):
    runs = small_disk / "runs"
    run_id = jobs.launch(poly(epochs=3000, seed=61), runs, slots=1)
    wait_until(lambda: (store.read_status(runs / run_id).get("epoch") or 0) >= 2)
    fill(small_disk, leave)
    wait_until(lambda: store.read_status(runs / run_id)["state"] in jobs.SETTLED_STATES, timeout=TIMEOUT_S)
    status = store.read_status(runs / run_id)
    assert status["state"] == "failed", status
    assert NO_SPACE in status["error"], status["error"]


def test_a_disk_full_before_the_job_starts_training_ends_failed(small_disk):
    runs = small_disk / "runs"
    runs.mkdir()
    (runs / ".slots").mkdir()
    import fcntl

    with open(runs / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        run_id = jobs.launch(poly(epochs=5, seed=62), runs, slots=1)
        wait_until(lambda: "waiting for one of 1 slots" in (runs / run_id / "job.log").read_text())
        fill(small_disk)
    wait_until(lambda: store.read_status(runs / run_id)["state"] in jobs.SETTLED_STATES, timeout=TIMEOUT_S)
    status = store.read_status(runs / run_id)
    assert status["state"] == "failed" and NO_SPACE in status["error"], status
