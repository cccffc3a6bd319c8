"""`--backend ray` for `sweep` and `precompute`: the same runs, one Ray task each.

The command stays in the foreground while the cluster trains (the driver mirrors the
workers' progress into the run folders, so `status`, `wait` and the Runs page follow
along); Ctrl-C cancels its runs, which stay resumable. Ray itself is imported only here,
when the option is used (training/ray_backend.py says what it does).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from tqdm import tqdm

from cli.args import note

BACKENDS = ("local", "ray")


def add_backend_arguments(parser: argparse.ArgumentParser, local_help: str) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help=f"local: {local_help}; ray: one task per run on a Ray cluster "
                             f"(needs `pip install -r requirements-ray.txt`)")
    parser.add_argument("--address", help="with --backend ray: an existing cluster, e.g. auto or HOST:6379 "
                                          "(default $RAY_ADDRESS, else a cluster started on this machine)")
    parser.add_argument("--cpus-per-task", type=int, default=1, help="with --backend ray: CPUs (torch threads) a run uses")
    parser.add_argument("--retries", type=int, default=1,
                        help="with --backend ray: times a run whose worker died is restarted from its checkpoint")


def _cluster_options(args: argparse.Namespace) -> dict:
    return {"address": args.address or os.environ.get("RAY_ADDRESS") or None,
            "cpus_per_task": max(1, args.cpus_per_task), "retries": max(0, args.retries)}


def _connect(args: argparse.Namespace, runs: int) -> None:
    from training import ray_backend

    options = _cluster_options(args)
    ray = ray_backend.connect(options["address"])
    resources = ray.cluster_resources()
    note(f"{runs} runs on the Ray cluster at {options['address'] or 'this machine'} "
         f"({resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs, {options['cpus_per_task']} per run); "
         f"Ctrl-C cancels them (resumable)")


def _progress(total: int):
    bar = tqdm(total=total, desc="runs ended", unit="run", dynamic_ncols=True)

    def show(rows: dict[str, dict]) -> None:
        states = [row["state"] for row in rows.values()]
        bar.n = total - len(rows)
        steps = sum(row.get("progress") or 0.0 for row in rows.values())
        bar.set_postfix_str(f"{states.count('running')} running, {states.count('queued')} queued, "
                            f"{steps / max(1, len(rows)):.0%} through the running ones", refresh=False)
        bar.refresh()

    return bar, show


def sweep_on_ray(specs: list, name: str, cache_dir: Path, args: argparse.Namespace) -> int:
    from training.ray_backend import RayRun, run_on_ray

    _connect(args, len(specs))
    print("\n".join(spec.run_id for spec in specs), flush=True)
    bar, show = _progress(len(specs))
    try:
        results = run_on_ray([RayRun(spec, sweep=name) for spec in specs], cache_dir, on_update=show,
                             **_cluster_options(args))
    finally:
        bar.close()
    for run_id, row in results.items():
        extra = f" ({row['error'] or row.get('reason')})" if row.get("error") or row.get("reason") else ""
        note(f"{run_id}  {row['state']:<11} {row['outcome']}{extra}")
    return 0 if all(row["state"] in ("finished", "diverged") for row in results.values()) else 1


def precompute_on_ray(runs: list, args: argparse.Namespace, keep: set[str] | None) -> int:
    from postprocess.precompute import precompute_on_ray as build

    _connect(args, len(runs))
    bar, show = _progress(len(runs))
    try:
        summary = build(runs, args.cache_dir, keep_ids=keep, on_update=show, **_cluster_options(args))
    finally:
        bar.close()
    print(json.dumps(summary, indent=1))
    return 0 if set(summary["states"]) <= {"finished", "diverged"} else 1
