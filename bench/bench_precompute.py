"""`python -m bench.bench_precompute [--workers 2] [--names NAME ...] [--rerun]`: what the demo
cache costs to rebuild, per preset and sweep.

By default it reads the training time every demo run recorded in its status.json when it was
built (`elapsed`: the trainer's own clock, without the post-processing that follows) and
replays `python -m training precompute --workers N`: runs in the registry's order, each
taken by the first worker that is free. `--names` marks a group (default: the runs added for
the double-descent, autoencoder and landscape lessons, and the width sweeps they changed)
and reports its share. `--rerun` instead builds the named runs afresh into a temporary
cache (`--rerun-workers`, default 1) and times the real thing, post-processing included,
with the replay for `--workers` from the fresh runs' clocks.
"""
from __future__ import annotations

import argparse
import heapq
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import lessons
from cache import store
from postprocess import precompute
from training.presets import bias_variance as bv, double_descent as dd, landscape, sparsity

ADDED = (*(p.name for p in (*dd.DD_NOISY, *dd.DD_CLEAN)), sparsity.AE_NO_DROPOUT.name, sparsity.AE_DROPOUT.name,
         landscape.LANDSCAPE_NOBN.name, landscape.LANDSCAPE_BN.name, landscape.DLN_NOBN.name, landscape.DLN_BN.name)
CHANGED = (bv.WIDTH_SWEEP.name, bv.WIDTH_SWEEP_NOISY.name, bv.WIDTH_SWEEP_NOISY_DROPOUT.name, bv.WIDTH_SWEEP_NOISY_WD.name,
           "bn-noisy")


def recorded_seconds(demo_dir: Path) -> list[tuple[str, float]]:
    """(preset or sweep name, training seconds) per demo run, in the order precompute builds them."""
    out = []
    for run in lessons.demo_runs():
        folder = demo_dir / run.spec.run_id
        elapsed = store.read_status(folder).get("elapsed") if folder.exists() else None
        out.append((run.rebuild_name, float(elapsed or 0.0)))
    return out


def replay(seconds: list[float], workers: int) -> float:
    """Wall time of a pool that hands each job, in order, to the first free worker."""
    free = [0.0] * workers
    for s in seconds:
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free)


def by_lesson(runs: list[tuple[str, float]], workers: int) -> dict[str, dict]:
    """Per lesson: its runs' training seconds and their replayed wall time on `workers`
    (what `python -m training precompute --only ITS_NAMES --workers N` would take)."""
    groups = defaultdict(list)
    for name, s in runs:
        groups[lessons.lesson_of(name).id].append(s)
    return {lesson: {"runs": len(s), "core_s": round(sum(s), 1), "wall_s": round(replay(s, workers), 1)}
            for lesson, s in groups.items()}


def report(demo_dir: Path, workers: int, names: set[str]) -> dict:
    runs = recorded_seconds(demo_dir)
    by_name: dict[str, float] = defaultdict(float)
    for name, s in runs:
        by_name[name] += s
    group = [s for name, s in runs if name in names]
    return {"workers": workers, "runs": len(runs),
            "all_core_s": round(sum(s for _, s in runs), 1), "all_wall_s": round(replay([s for _, s in runs], workers), 1),
            "group_core_s": round(sum(group), 1), "group_wall_s": round(replay(group, workers), 1),
            "group": {name: round(by_name[name], 1) for name in sorted(names) if name in by_name},
            "by_lesson": by_lesson(runs, workers),
            "missing_elapsed": [name for name, s in runs if s == 0.0]}


def rerun(names: list[str], workers: int, replay_workers: int) -> dict:
    """Build the named runs into a temporary cache with `workers` processes; report the wall time
    and, from the runs' own clocks, what `replay_workers` workers would have taken."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.time()
        summary = precompute.precompute(lessons.demo_runs(names), Path(tmp), workers=workers)
        wall = round(time.time() - started, 1)
        runs = [(run.rebuild_name, float(store.read_status(Path(tmp) / run.spec.run_id).get("elapsed") or 0.0))
                for run in lessons.demo_runs(names)]
        return {"rerun_wall_s": wall, "workers": workers, **summary,
                "core_s": round(sum(s for _, s in runs), 1),
                f"replayed_wall_s_{replay_workers}_workers": round(replay([s for _, s in runs], replay_workers), 1),
                "by_name": {name: round(sum(s for n, s in runs if n == name), 1) for name in dict.fromkeys(n for n, _ in runs)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_precompute", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--names", nargs="+", default=[*ADDED, *CHANGED], help="the group to report on")
    parser.add_argument("--rerun", action="store_true", help="build the group afresh into a temporary cache")
    parser.add_argument("--rerun-workers", type=int, default=1, help="processes for --rerun (replayed for --workers)")
    parser.add_argument("--demo-dir", type=Path, default=store.DEMO_DIR)
    args = parser.parse_args(argv)
    result = (rerun(args.names, args.rerun_workers, args.workers) if args.rerun
              else report(args.demo_dir, args.workers, set(args.names)))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
