"""Per-task overhead of the Ray backend against local jobs, on this machine.

N tiny specs (the polynomial-degree3 preset for `--epochs` epochs of 10 steps: next to no
training, so what is timed is the machinery), each round with fresh seeds so nothing is a
cache hit:
  (0) in-process: runner.execute one after another (the training itself);
  (a) local jobs: jobs.launch on 2 slots, then jobs.wait (a detached process per run);
  (b) Ray: ray_backend.run_on_ray on a local cluster of 2 CPUs started once beforehand
      (its start-up, and the first round's worker start, are reported apart).
Seconds per task = a round's wall time / N; the median over `--repeats` rounds, the
variants alternated (0, a, b, 0, a, b, ...). Overhead = seconds per task - (0)'s.
`python -m bench.bench_ray [--tasks 4] [--repeats 3] [--epochs 1]` (needs requirements-ray.txt).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import standalone_main
from cache import store
from training import jobs
from training.presets import get_preset


def specs_for(round_: int, variant: str, tasks: int, epochs: int) -> list:
    base = get_preset("polynomial-degree3").spec.with_overrides({"name": f"bench-ray-{variant}", "epochs": epochs})
    return [base.with_overrides({"seed": 1000 * round_ + k}) for k in range(tasks)]


def in_process(specs: list, cache_dir: Path) -> None:
    from training.runner import execute

    for spec in specs:
        execute(spec, store.create_run_folder(cache_dir, spec))


def local_jobs(specs: list, cache_dir: Path) -> None:
    run_ids = [jobs.launch(spec, cache_dir, slots=2) for spec in specs]
    rows = jobs.wait(run_ids, cache_dir, timeout=600, poll_s=0.1)
    assert all(row["state"] == "finished" for row in rows.values()), rows


def on_ray(specs: list, cache_dir: Path) -> None:
    from training.ray_backend import RayRun, run_on_ray

    rows = run_on_ray([RayRun(spec) for spec in specs], cache_dir)
    assert all(row["state"] == "finished" for row in rows.values()), rows


VARIANTS = {"(0) in-process": in_process, "(a) local jobs": local_jobs, "(b) Ray": on_ray}


def timed(variant, specs: list, root: Path) -> float:
    cache_dir = Path(tempfile.mkdtemp(dir=root))
    start = time.perf_counter()
    variant(specs, cache_dir)
    return (time.perf_counter() - start) / len(specs)


def run(args: argparse.Namespace) -> dict:
    from training import ray_backend

    root = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        start = time.perf_counter()
        ray = ray_backend.connect(num_cpus=2)
        cluster_start = time.perf_counter() - start
        cold = timed(on_ray, specs_for(0, "cold", args.tasks, args.epochs), root)   # workers start, import torch
        per_task: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for round_ in range(1, args.repeats + 1):
            for name, variant in VARIANTS.items():
                per_task[name].append(timed(variant, specs_for(round_, name[1], args.tasks, args.epochs), root))
        ray.shutdown()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in per_task.items()}
    base = medians["(0) in-process"]
    return {"title": f"{args.tasks} tiny polynomial runs ({args.epochs} epoch(s) of 10 steps) per round, 2 slots / "
                     f"2 Ray CPUs; median of {args.repeats} alternated rounds",
            "rows": [{"name": name, "seconds_per_task": value, "overhead_per_task": value - base,
                      "rounds": per_task[name]} for name, value in medians.items()],
            "ratios": {"Ray / local jobs (per task)": medians["(b) Ray"] / medians["(a) local jobs"]},
            "cluster_start_s": cluster_start, "first_round_ray_s_per_task": cold,
            "goals": {}}


def format_result(result: dict) -> str:
    lines = [result["title"], f"{'variant':<16}  {'s/task':>7}  {'overhead s/task':>15}  rounds"]
    lines += [f"{r['name']:<16}  {r['seconds_per_task']:7.3f}  {r['overhead_per_task']:15.3f}  "
              + " ".join(f"{v:.2f}" for v in r["rounds"]) for r in result["rows"]]
    lines += [f"  {name} = {value:.2f}" for name, value in result["ratios"].items()]
    lines.append(f"  Ray cluster start (once): {result['cluster_start_s']:.1f} s; first round on fresh workers: "
                 f"{result['first_round_ray_s_per_task']:.2f} s/task")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    known = parser._option_string_actions
    options = [("--tasks", {"type": int, "default": 4, "help": "runs per round (default 4)"}),
               ("--repeats", {"type": int, "default": 3, "help": "alternated rounds (default 3)"}),
               ("--epochs", {"type": int, "default": 1, "help": "epochs per run (default 1)"})]
    for flag, kwargs in options:
        if flag not in known:
            parser.add_argument(flag, **kwargs)


def main(argv: list[str] | None = None) -> int:
    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
