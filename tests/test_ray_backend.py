"""The Ray backend on a real local cluster (ray.init(num_cpus=2)): a two-point sweep equals
the local backend's, live progress reaches the driver's cache, cancel and a killed worker
leave resumable runs, and finished runs are cache hits. Skipped where Ray is absent; the
CLI's message for that case is tested everywhere."""
from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading

import pandas as pd
import pytest

import cli
from cache import store
from tests.test_jobs import TIMEOUT_S, assert_complete_and_unique, poly, wait_until
from training import jobs, sweeps

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (pip install -r requirements-ray.txt)")
KEYS = ["step", "member", "split", "metric", "kind"]


@pytest.fixture(scope="module")
def cluster():
    """A real two-CPU Ray cluster on this machine, shared by the tests of this module."""
    from training import ray_backend

    ray = ray_backend.connect(num_cpus=2)
    assert ray.cluster_resources()["CPU"] == 2
    yield ray
    ray.shutdown()


def ray_runs(specs, sweep=None):
    from training.ray_backend import RayRun

    return [RayRun(spec, sweep=sweep) for spec in specs]


def in_background(target, *args, **kwargs) -> dict:
    """Run target in a thread; the dict gets its 'result' (or 'error') when it returns."""
    box: dict = {}

    def go():
        try:
            box["result"] = target(*args, **kwargs)
        except BaseException as err:  # noqa: BLE001 - re-raised by the test through the box
            box["error"] = err

    box["thread"] = threading.Thread(target=go, daemon=True)
    box["thread"].start()
    return box


def joined(box: dict):
    box["thread"].join(TIMEOUT_S)
    assert not box["thread"].is_alive(), "the Ray driver did not return"
    if "error" in box:
        raise box["error"]
    return box["result"]


def same_scalars(folder_a, folder_b) -> None:
    got = store.read_table(folder_a, "scalars").sort_values(KEYS).reset_index(drop=True)
    want = store.read_table(folder_b, "scalars").sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[KEYS], want[KEYS])
    assert (got["value"] - want["value"]).abs().max() < 1e-6


@needs_ray
def test_two_point_sweep_on_ray_equals_the_local_backend(cluster, tmp_path):
    from training.ray_backend import run_on_ray

    specs = sweeps.sweep_specs(poly(epochs=6), [{"optim.lr": 0.01}, {"optim.lr": 0.05}], "ray-sweep")
    ray_cache, local_cache = tmp_path / "ray", tmp_path / "local"
    results = run_on_ray(ray_runs(specs, sweep="ray-sweep"), ray_cache)
    local_ids = sweeps.launch_sweep(poly(epochs=6), [{"optim.lr": 0.01}, {"optim.lr": 0.05}], "ray-sweep",
                                    local_cache, slots=2)
    jobs.wait(local_ids, local_cache, timeout=TIMEOUT_S)
    assert sorted(results) == sorted(local_ids) == sorted(s.run_id for s in specs)
    for spec in specs:
        status = store.read_status(ray_cache / spec.run_id)
        assert status["state"] == "finished" and status["backend"] == "ray" and status["sweep"] == "ray-sweep"
        assert status["final"] == pytest.approx(store.read_status(local_cache / spec.run_id)["final"], abs=1e-6)
        same_scalars(ray_cache / spec.run_id, local_cache / spec.run_id)
        assert_complete_and_unique(ray_cache / spec.run_id, spec)
    assert sorted(p.name for p in ray_cache.iterdir()) == sorted(s.run_id for s in specs)   # nothing half-landed
    assert sweeps.sweep_table("ray-sweep", [ray_cache])["state"].tolist() == ["finished"] * 2
    again = run_on_ray(ray_runs(specs), ray_cache)                  # cache hits by run id: no task starts
    assert [row["outcome"] for row in again.values()] == ["cache hit"] * 2


@needs_ray
def test_live_progress_then_cancel_leaves_a_resumable_run(cluster, tmp_path):
    from training.ray_backend import run_on_ray

    spec = poly(epochs=400, seed=11)
    folder = tmp_path / spec.run_id
    box = in_background(run_on_ray, ray_runs([spec]), tmp_path, snapshot_every_s=0.0)
    live = wait_until(lambda: live_status(folder))
    assert live["backend"] == "ray" and live["pid"] == os.getpid() and 0 < live["progress"] < 1
    listed = store.list_runs([tmp_path])[0]                         # what the Runs page lists
    assert listed["state"].tolist() == ["running"]
    status = jobs.cancel(spec.run_id, tmp_path, wait_s=TIMEOUT_S)   # what the CLI and the Runs page call
    assert status["state"] == "cancelled" and 0 < status["step"] < status["total_steps"], status
    assert joined(box)[spec.run_id]["state"] == "cancelled"
    assert (folder / "checkpoints" / "last.pt").exists()
    resumed = run_on_ray(ray_runs([spec]), tmp_path)
    assert resumed[spec.run_id]["state"] == "finished"
    assert_complete_and_unique(folder, spec)


def live_status(folder) -> dict | None:
    """The placeholder's status once its run is running a few epochs in, else None."""
    if not (folder / "status.json").exists():
        return None
    status = store.read_status(folder)
    return status if status["state"] == "running" and (status.get("epoch") or 0) >= 3 else None


@needs_ray
def test_a_killed_worker_leaves_the_run_interrupted_and_resumable(cluster, tmp_path):
    from training.ray_backend import run_on_ray
    from tests.conftest import build_run

    spec = poly(epochs=400, seed=12)
    folder = tmp_path / "ray" / spec.run_id
    box = in_background(run_on_ray, ray_runs([spec]), tmp_path / "ray", retries=0, snapshot_every_s=0.0)
    wait_until(lambda: live_status(folder) and (folder / "checkpoints" / "last.pt").exists())
    os.kill(store.read_status(folder)["worker_pid"], signal.SIGKILL)
    assert joined(box)[spec.run_id]["state"] == "interrupted"
    status = store.read_status(folder)
    assert status["state"] == "interrupted" and "resume" in status["reason"]
    assert len(store.read_table(folder, "scalars")) > 0             # the last snapshot is readable
    assert store.load_checkpoint(folder, "last")["epoch"] >= 1
    jobs.resume(spec.run_id, tmp_path / "ray", slots=1)               # `resume RUN_ID`: a local job continues it
    assert jobs.wait([spec.run_id], tmp_path / "ray", timeout=TIMEOUT_S)[spec.run_id]["state"] == "finished"
    assert_complete_and_unique(folder, spec)
    same_scalars(folder, build_run(spec, tmp_path / "local"))       # as if never interrupted


def test_without_ray_the_option_says_how_to_get_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)                   # `import ray` fails as if absent
    code = cli.main(["sweep", "--preset", "polynomial-degree3", "--grid", "optim.lr=0.01,0.05", "--backend", "ray",
                     "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "pip install -r requirements-ray.txt" in err
    assert not any(tmp_path.iterdir())                              # nothing was queued
