"""Sweeps: grid and random points, validation before anything starts, launching as real
jobs, and the results table read back from the runs' specs and statuses."""
from __future__ import annotations

import math

import pytest

from cache import store
from tests.conftest import build_run
from training import jobs, sweeps
from cli import main as cli_main
from training.presets import Sweep, get_preset
from runspec import SpecError

BASE = get_preset("polynomial-degree3").spec.with_overrides({"epochs": 2, "probe_every": 20})


def test_grid_points_are_every_combination_in_order():
    points = sweeps.grid_points({"optim.lr": [0.01, 0.1], "model.bias": [True, False]})
    assert points == [{"optim.lr": 0.01, "model.bias": True}, {"optim.lr": 0.01, "model.bias": False},
                      {"optim.lr": 0.1, "model.bias": True}, {"optim.lr": 0.1, "model.bias": False}]


def test_values_parse_as_json_lists_or_plain_words():
    assert sweeps.parse_values("0.1,0.5") == [0.1, 0.5]
    assert sweeps.parse_values("[64],[64,64]") == [[64], [64, 64]]
    assert sweeps.parse_values("none,before") == ["none", "before"]
    assert sweeps.parse_assignments(["optim.lr=1e-3,1e-2"], sweeps.parse_values) == {"optim.lr": [1e-3, 1e-2]}
    with pytest.raises(SpecError, match="key=values"):
        sweeps.parse_assignments(["optim.lr"], sweeps.parse_values)


def test_random_points_log_uniform_lr_and_choices_are_seeded():
    ranges = {"optim.lr": "loguniform:1e-4:1e-1", "model.batchnorm": ["none", "before"], "batch_size": "int:8:64"}
    points = sweeps.random_points(ranges, 400, seed=3)
    assert points == sweeps.random_points(ranges, 400, seed=3)
    assert points != sweeps.random_points(ranges, 400, seed=4)
    lrs = [p["optim.lr"] for p in points]
    assert 1e-4 <= min(lrs) and max(lrs) <= 1e-1
    # log-uniform: half the draws fall below the geometric middle 10^-2.5 (uniform: ~3%)
    below = sum(lr < 10 ** -2.5 for lr in lrs) / len(lrs)
    assert 0.4 < below < 0.6
    assert 0.4 < sum(math.log10(lr) < -3.25 for lr in lrs) / len(lrs) * 2 < 0.6
    assert {p["model.batchnorm"] for p in points} == {"none", "before"}
    sizes = [p["batch_size"] for p in points]
    assert min(sizes) >= 8 and max(sizes) <= 64 and all(isinstance(s, int) for s in sizes)
    with pytest.raises(SpecError, match="optim.lr"):
        sweeps.random_points({"optim.lr": "loguniform:0:1"}, 2)
    with pytest.raises(SpecError, match="gaussian"):
        sweeps.random_points({"optim.lr": "gaussian:0:1"}, 2)


def test_a_field_that_does_not_exist_is_named_before_any_job_starts(cache_dir, capsys):
    points = [{"optim.lr": 0.1}, {"optim.learning_rate": 0.2}]      # the first point is fine
    with pytest.raises(SpecError, match="optim.learning_rate"):
        sweeps.launch_sweep(BASE, points, "typo-sweep", cache_dir)
    code = cli_main(["sweep", "--preset", "polynomial-degree3", "--grid", "model.widht=[8],[16]"])
    assert code == 2 and "model.widht" in capsys.readouterr().err
    code = cli_main(["sweep", "--preset", "polynomial-degree3", "--grid", "optim.lr=-1,0.1"])
    assert code == 2 and "optim.lr" in capsys.readouterr().err
    assert list(cache_dir.iterdir()) == []


def test_launched_grid_runs_as_jobs_and_tabulates(cache_dir):
    points = sweeps.grid_points({"optim.lr": [0.003, 0.01]})
    build_run(sweeps.sweep_specs(BASE, points, "lr-sweep")[0], cache_dir)   # one cache hit, one job
    run_ids = sweeps.launch_sweep(BASE, points, "lr-sweep", cache_dir, slots=2)
    assert store.read_status(cache_dir / run_ids[1])["state"] == "queued"
    rows = jobs.wait(run_ids, cache_dir, timeout=150)
    assert [row["state"] for row in rows.values()] == ["finished", "finished"]
    assert all(row["name"] == "lr-sweep" for row in rows.values()) and rows[run_ids[1]]["sweep"] == "lr-sweep"
    table = sweeps.sweep_table("lr-sweep", [cache_dir])
    assert table.columns.tolist() == ["run_id", "optim.lr", "test_loss", "train_loss", "state", "folder"]
    assert table["optim.lr"].tolist() == [0.003, 0.01] and table["run_id"].tolist() == run_ids
    for row in table.to_dict("records"):
        final = store.read_status(cache_dir / row["run_id"])["final"]
        assert row["test_loss"] == final["test_loss"] and row["train_loss"] == final["train_loss"]
    # relaunching the sweep is a cache hit for every run: nothing new starts
    assert sweeps.launch_sweep(BASE, sweeps.grid_points({"optim.lr": [0.003, 0.01]}), "lr-sweep", cache_dir) == run_ids
    assert all(store.read_status(cache_dir / r)["pid"] is None for r in run_ids)


def test_named_sweep_table_lists_varied_fields_and_unfinished_runs(cache_dir, capsys):
    base = {k: v for k, v in BASE.model_dump(mode="json").items() if k != "name"}
    sweep = Sweep("width-sweep", "widths x batchnorm", base=base,
                  grid={"model.kind": ("mlp",), "model.widths": ([4], [2, 2]), "model.batchnorm": ("none", "before")})
    specs = [spec for _, spec in sweep.specs()]
    for spec in specs:
        build_run(spec, cache_dir)
    assert sweeps.launch_named_sweep(sweep, cache_dir) == [s.run_id for s in specs]   # all cache hits
    store.write_status(cache_dir / specs[3].run_id, state="cancelled", final=None)
    table = sweeps.sweep_table("width-sweep", [cache_dir])
    assert {"model.widths", "model.batchnorm"} <= set(table.columns)
    assert "model.kind" not in table.columns and "name" not in table.columns   # equal in every run
    assert sorted(table["state"]) == ["cancelled", "finished", "finished", "finished"]
    assert table["model.widths"].tolist() == [[2, 2], [2, 2], [4], [4]]
    assert cli_main(["status", "--sweep", "width-sweep"]) == 0
    assert "model.batchnorm" in capsys.readouterr().out
    assert sweeps.sweep_table("no-such-sweep", [cache_dir]).empty
