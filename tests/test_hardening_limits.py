"""Bounded work: spec bounds, the memory a job may use, the queue cap, the slots, a light
waiting job (its RSS measured), and CLI errors that are messages, not tracebacks."""
from __future__ import annotations

import fcntl
import re
from pathlib import Path

import pytest

from cache import store
from cli import main as cli_main
from runspec import SpecError, bounds, build_spec
from tests.test_jobs import poly, wait_until
from training import jobs, sweeps
from training.datasets import load_dataset, load_task
from training.presets import PRESETS, SWEEPS

WAITING_RSS_LIMIT_KB = 40_000     # a bare interpreter is ~10 MB; with torch loaded a job is ~800 MB


def test_the_launch_form_example_is_refused_naming_the_limit():
    with pytest.raises(SpecError, match="MAX_WIDTH"):
        build_spec({"model": {"widths": [100_000_000]}, "epochs": 100_000})
    with pytest.raises(SpecError, match=r"epochs: .*23,500,000 steps .*MAX_TOTAL_STEPS"):
        build_spec({"epochs": 100_000})                       # Fashion-MNIST: 235 steps an epoch
    with pytest.raises(SpecError, match="MAX_PARAMETERS"):
        build_spec({"model": {"widths": [60_000, 60_000]}})
    with pytest.raises(SpecError, match="MAX_HIDDEN_LAYERS"):
        build_spec({"model": {"widths": [4] * 65}})
    with pytest.raises(SpecError, match="data.n_train"):
        build_spec({"data": {"name": "polynomial", "n_train": 10**9}, "loss": "mse"})


def test_every_preset_and_sweep_is_within_bounds():
    specs = [p.spec for p in PRESETS.values()] + [s for sw in SWEEPS.values() for _, s in sw.specs()]
    assert all(bounds.total_steps(s) <= bounds.MAX_TOTAL_STEPS for s in specs)
    assert all(bounds.parameter_count(s) <= bounds.MAX_PARAMETERS for s in specs)


@pytest.mark.parametrize("name", ["polynomial", "linear-highdim", "concrete-synthetic", "gaussian-linear"])
def test_bounds_know_the_shapes_the_loaders_make(name):
    spec = build_spec({"data": {"name": name}, "loss": "mse"})
    data = load_dataset(spec.data)
    assert bounds.data_shape(spec.data) == (len(data.y_train), len(data.y_test), data.in_features, data.out_features)


def test_bounds_know_the_pooled_images_and_the_autoencoders_output():
    spec = build_spec({"data": {"name": "fashion-mnist", "n_train": 100, "n_test": 50, "downsample": 7},
                       "model": {"kind": "autoencoder", "widths": [16]}, "loss": "mse"})
    data = load_task(spec)
    assert bounds.data_shape(spec.data)[:3] == (len(data.y_train), len(data.y_test), data.in_features)
    assert bounds.layer_sizes(spec) == [data.in_features, 16, data.out_features] == [16, 16, 16]


def test_a_spec_over_the_memory_limit_is_refused_before_anything_is_written(cache_dir, monkeypatch):
    monkeypatch.setenv("REGLAB_JOB_MEMORY", "1G")
    big = build_spec({"data": {"name": "linear-highdim", "n_features": 50_000, "n_train": 20_000}, "loss": "mse",
                      "model": {"widths": [2048]}})
    with pytest.raises(jobs.JobError, match=r"REGLAB_JOB_MEMORY"):
        jobs.launch(big, cache_dir)
    assert list(cache_dir.iterdir()) == []
    assert bounds.estimate_memory(poly(2)) < 2**30


def test_the_queue_cap_refuses_one_more_and_a_sweep_that_does_not_fit(cache_dir, monkeypatch, capsys):
    monkeypatch.setenv("REGLAB_MAX_QUEUED", "2")
    (cache_dir / ".slots").mkdir()
    with open(cache_dir / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)            # nothing trains: every job waits
        queued = [jobs.launch(poly(5, seed=70 + k), cache_dir, slots=1) for k in range(2)]
        assert jobs.queue_info(cache_dir) == {"waiting": 2, "max_queued": 2, "slots": jobs.slot_limit()}
        with pytest.raises(jobs.JobError, match=r"queue is full: 2 jobs .*REGLAB_MAX_QUEUED"):
            jobs.launch(poly(5, seed=72), cache_dir, slots=1)
        with pytest.raises(jobs.JobError, match="room for 0"):
            sweeps.launch_sweep(poly(5), [{"seed": 80}, {"seed": 81}], "capped", cache_dir, slots=1)
        assert not any(d.name != ".slots" and d.name != ".queue" and d.name not in queued
                       for d in cache_dir.iterdir())
        assert cli_main(["status", "--cache-dir", str(cache_dir)]) == 0
        assert "queue: 2 waiting of at most 2" in capsys.readouterr().err
        for run_id in queued:
            jobs.cancel(run_id, cache_dir)
    assert jobs.queue_info(cache_dir)["waiting"] == 0   # cancelled jobs give their places back


def rss_kb(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def test_a_waiting_job_costs_a_few_mb_and_has_not_loaded_torch(cache_dir, capsys):
    (cache_dir / ".slots").mkdir()
    with open(cache_dir / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        run_id = jobs.launch(poly(5, seed=90), cache_dir, slots=1)
        wait_until(lambda: "waiting for one of 1 slots" in (cache_dir / run_id / "job.log").read_text())
        pid = store.read_status(cache_dir / run_id)["pid"]
        rss = rss_kb(pid)
        maps = Path(f"/proc/{pid}/maps").read_text()
        with capsys.disabled():
            print(f"\nRSS of a waiting job: {rss / 1024:.1f} MB")
        assert rss < WAITING_RSS_LIMIT_KB and "libtorch" not in maps
        jobs.cancel(run_id, cache_dir)


def test_slots_never_exceed_the_configured_count(cache_dir, monkeypatch):
    monkeypatch.setenv("REGLAB_SLOTS", "1")
    assert jobs.resolve_slots(8) == 1 and jobs.resolve_slots(None) == 1
    with pytest.raises(jobs.JobError, match="at least 1"):
        jobs.resolve_slots(-1)
    run_ids = [jobs.launch(poly(3, seed=100 + k), cache_dir, slots=4) for k in range(2)]
    jobs.wait(run_ids, cache_dir, timeout=150)
    spans = sorted((store.read_status(cache_dir / r)["started"], store.read_status(cache_dir / r)["finished"])
                   for r in run_ids)
    assert spans[0][1] <= spans[1][0]                       # one at a time, as configured
    assert all(store.read_status(cache_dir / r)["slots"] == 1 for r in run_ids)


def test_cli_errors_are_messages_not_tracebacks(cache_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["launch", "--preset", "polynomial-degree3", "--slots", "-1"])
    assert exit_info.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    latin = tmp_path / "spec.json"
    latin.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    assert cli_main(["run", "--spec", str(latin)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    code = cli_main(["launch", "--preset", "polynomial-degree3", "--cache-dir", str(not_a_dir / "runs")])
    err = capsys.readouterr().err
    assert code in (1, 2) and err.startswith("error:") and "Traceback" not in err
