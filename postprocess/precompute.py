"""Build the demo cache that the app opens with (`python -m training precompute`).

The lesson registry says which runs the demo cache holds (`lessons.demo_runs()`: a spec,
its lesson and whether it keeps its checkpoint); this module trains each into cache/demo
(resumable: finished runs are skipped, an interrupted one continues from its checkpoint),
then runs its lesson's post-processing (stored sub-network evaluations, test predictions).
Sweep runs keep no model checkpoint and no per-layer probe tables: their pages use the
scores and lesson tables only, and the demo cache stays small.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from tqdm import tqdm

from cache import store

def build_one(run, cache_dir: Path) -> str:
    """Train (or resume) one demo run, post-process it, trim it; returns its final state."""
    from training.runner import execute

    folder = store.create_run_folder(cache_dir, run.spec)
    state = store.read_status(folder)["state"]
    if state not in ("finished", "diverged"):
        resume = (folder / "checkpoints" / "last.pt").exists()
        state = execute(run.spec, folder, resume=resume)["state"]
        if run.sweep:
            store.write_status(folder, sweep=run.sweep)
    finish_demo_run(run, folder)
    return state


def finish_demo_run(run, folder: Path) -> None:
    """After training: the lesson's post-processing (once, if finished), then trimming."""
    status = store.read_status(folder)
    if status["state"] == "finished" and not status.get("postprocessed"):
        if run.lesson.postprocess is not None:
            run.lesson.postprocess(folder)
        store.write_status(folder, postprocessed=True)
    if not run.keep_checkpoint:
        trim_sweep_run(folder)
    else:
        store.compact(folder)


# Sweep pages read scores and lesson tables only; per-layer distributions are shown for the
# single preset runs, which keep everything.
SWEEP_DROPPED_TABLES = ("activations", "histograms", "units")


def trim_sweep_run(folder: Path) -> None:
    """Keep the demo cache small: no model checkpoint and no per-layer probes for sweep runs."""
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    (folder / "checkpoints").mkdir(exist_ok=True)
    store.compact(folder, drop_tables=SWEEP_DROPPED_TABLES)


def prune_stale(cache_dir: Path, keep: set[str]) -> list[str]:
    """Remove demo folders no preset or sweep asks for any more (the specs changed)."""
    removed = []
    for folder in store.iter_run_folders(cache_dir):
        if folder.name not in keep:
            shutil.rmtree(folder)
            removed.append(folder.name)
    return removed


def folder_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _build_in_worker(run, cache_dir: Path) -> str:
    """One torch thread per worker: the demo models are small, and N single-threaded
    workers on N cores beat one N-threaded trainer (no thread oversubscription)."""
    import torch

    torch.set_num_threads(1)
    return build_one(run, cache_dir)


def _build_all(runs: list, cache_dir: Path, workers: int) -> dict[str, int]:
    states: dict[str, int] = {}
    bar = tqdm(total=len(runs), desc="demo runs", unit="run", dynamic_ncols=True)
    if workers <= 1:
        results = (build_one(run, cache_dir) for run in runs)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        results = pool.map(_build_in_worker, runs, [cache_dir] * len(runs))
    for state in results:
        states[state] = states.get(state, 0) + 1
        bar.update()
    bar.close()
    return states


def precompute(runs: list, cache_dir: Path | None = None, keep_ids: set[str] | None = None,
               workers: int = 1) -> dict:
    """Build `runs` (lessons.demo_runs()); with `keep_ids`, delete every other folder afterwards."""
    cache_dir = Path(cache_dir or store.DEMO_DIR)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    states = _build_all(runs, cache_dir, workers)
    removed = prune_stale(cache_dir, keep_ids) if keep_ids is not None else []
    return {"runs": len(runs), "states": states, "seconds": round(time.time() - started, 1),
            "size_mb": round(folder_size_mb(cache_dir), 2), "removed": removed, "cache_dir": str(cache_dir)}


def precompute_on_ray(runs: list, cache_dir: Path | None = None, keep_ids: set[str] | None = None,
                      on_update=None, **cluster) -> dict:
    """`precompute` with one Ray task per demo run: each trains, is post-processed and trimmed
    on its worker, and lands in `cache_dir`; `cluster` goes to training.ray_backend.run_on_ray."""
    from functools import partial

    from training.ray_backend import RayRun, run_on_ray

    cache_dir = Path(cache_dir or store.DEMO_DIR)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started, todo = time.time(), []
    for run in runs:
        folder = cache_dir / run.spec.run_id
        status = store.read_status(folder) if (folder / "status.json").exists() else {}
        if status.get("state") in ("finished", "diverged"):
            if status["state"] == "finished" and not status.get("postprocessed"):
                finish_demo_run(run, folder)   # trained earlier, post-processing left: do it here
            continue
        todo.append(RayRun(run.spec, sweep=run.sweep, finish=partial(finish_demo_run, run)))
    results = run_on_ray(todo, cache_dir, on_update=on_update, **cluster)
    states: dict[str, int] = {}
    for run in runs:
        folder = cache_dir / run.spec.run_id
        state = results.get(run.spec.run_id, {}).get("state") or store.read_status(folder)["state"]
        states[state] = states.get(state, 0) + 1
    removed = prune_stale(cache_dir, keep_ids) if keep_ids is not None else []
    return {"runs": len(runs), "states": states, "seconds": round(time.time() - started, 1), "backend": "ray",
            "size_mb": round(folder_size_mb(cache_dir), 2), "removed": removed, "cache_dir": str(cache_dir)}


def check_demo(runs: list, cache_dir: Path | None = None) -> list[str]:
    """What is missing or stale in the demo cache, one line each with the command to fix it.

    Run ids are spec hashes, so a preset whose spec changed simply has no folder: it reads
    as missing, and the message names it.
    """
    cache_dir = Path(cache_dir or store.DEMO_DIR)
    problems = []
    for run in runs:
        label = run.label
        folder = cache_dir / run.spec.run_id
        if not folder.exists():
            problems.append(f"{label}: run {run.spec.run_id} is missing or its spec changed; "
                            f"rebuild with `python -m training precompute --only {run.rebuild_name}`")
            continue
        try:
            status = store.read_status(folder)
        except store.StoreError as err:
            problems.append(f"{label}: {err}")
            continue
        if status["state"] not in ("finished", "diverged"):
            problems.append(f"{label}: run {run.spec.run_id} is {status['state']}; "
                            f"finish it with `python -m training precompute --only {run.rebuild_name}`")
    return problems
