"""The bias-variance width sweep on this CPU: batched ensembles vs sequential members, and
the wall time of the whole demo-scale sweep.

(1) For a few widths of the `width-sweep-noisy` spec (Yang et al.'s 784-width-10 MLP,
K = 5 members on disjoint splits): (a) one batched K=5 run vs (b) 5 runs of K=1, through
the lab's Trainer (bench.bench_ensemble.variants; Trainer.run() timed, data loading
excluded), for `--epochs` epochs; every width's (a) and (b) alternate over `--width-repeats`
passes, each row is a median with its spread, each speed-up a ratio of medians.
(2) `--full`: the full sweeps `width-sweep` and `width-sweep-noisy` (every width, the
preset's epochs) trained for real into `--cache-dir`, one process per sweep side by side
(one torch thread each: on a shared 2-core machine, two single-threaded processes beat
one process with two spinning threads), then decomposed (postprocess.predictions). Reports
the wall time of the whole thing against the 10-minute goal.
`python -m bench.bench_width_sweep [--epochs N] [--widths 8 64 512] [--width-repeats R] [--full --cache-dir DIR]`.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench import alternated, format_table, median_row, standalone_main
from bench.bench_ensemble import variants, warm_up
from training import presets
from training.presets import get_sweep

FULL_SWEEPS = (presets.bias_variance.WIDTH_SWEEP.name, presets.bias_variance.WIDTH_SWEEP_NOISY.name)
GOAL_SECONDS = 600.0


def width_spec(width: int, epochs: int):
    """The noisy sweep's spec at one width (renamed, so it never passes for a sweep run)."""
    spec = get_sweep(presets.bias_variance.WIDTH_SWEEP_NOISY.name).specs()[0][1]
    return spec.with_overrides({"model.widths": [width], "epochs": epochs, "name": "bench-width-sweep"})


def batched_vs_sequential(widths: list[int], epochs: int, repeats: int = 3) -> tuple[list[dict], dict[int, float]]:
    """Every (width, batched | sequential) variant, alternated over `repeats` passes (w1 a, w1 b,
    w2 a, w2 b, ..., then again): rows of medians with their spread, and per width the ratio of
    the medians (sequential / batched)."""
    root = Path(tempfile.mkdtemp(prefix="bench-width-sweep-"))
    try:
        warm_up(width_spec(widths[0], epochs), root)
        plan = {}
        for width in widths:
            plan.update(variants(width_spec(width, epochs), root, label=f"width {width:>4} "))
        passes = alternated(plan, repeats)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows, speedups = [], {}
    for width in widths:
        batched, sequential = (median_row(passes[f"width {width:>4} {v}"]) for v in "ab")
        rows += [batched, sequential]
        speedups[width] = sequential["seconds_per_epoch"] / batched["seconds_per_epoch"]
    return rows, speedups


def _train_sweep(name: str, cache_dir: str, epochs: int | None) -> tuple[str, float, float]:
    """One sweep, in its own process, single-threaded; returns (name, wall s, cpu s)."""
    torch.set_num_threads(1)
    from cache import store
    from postprocess.predictions import store_predictions
    from training.runner import execute

    wall, cpu = time.perf_counter(), time.process_time()
    for _, spec in get_sweep(name).specs():
        spec = spec if epochs is None else spec.with_overrides({"epochs": epochs})
        folder = store.create_run_folder(Path(cache_dir), spec)
        if store.read_status(folder)["state"] != "finished":
            execute(spec, folder)
        store_predictions(folder)
    return name, time.perf_counter() - wall, time.process_time() - cpu


def full_sweep(cache_dir: Path, epochs: int | None = None, names: tuple[str, ...] = FULL_SWEEPS) -> list[dict]:
    """Train the named sweeps side by side, one process each; rows of wall/CPU seconds."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(names)) as pool:
        done = pool.starmap(_train_sweep, [(n, str(cache_dir), epochs) for n in names])
    total = time.perf_counter() - start
    rows = [{"name": f"sweep {n} (1 thread)", "seconds_per_epoch": float("nan"), "total_seconds": wall,
             "cpu_seconds": cpu, "test_accuracy": None} for n, wall, cpu in done]
    rows.append({"name": "full sweep, side by side", "seconds_per_epoch": float("nan"), "total_seconds": total,
                 "test_accuracy": None})
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    known = parser._option_string_actions
    options = [("--epochs", {"type": int, "default": 10, "help": "epochs of the batched/sequential comparison"}),
               ("--widths", {"type": int, "nargs": "*", "default": [8, 64, 512], "help": "widths to compare"}),
               ("--full", {"action": "store_true", "help": "also train the full width sweeps (both noise levels)"}),
               ("--cache-dir", {"default": "cache/runs", "help": "where --full puts its runs (default cache/runs)"}),
               ("--full-epochs", {"type": int, "default": None, "help": "override the sweeps' epochs (default theirs)"}),
               ("--width-repeats", {"type": int, "default": 3, "help": "alternated passes per variant (default 3)"})]
    for flag, kwargs in options:
        if flag not in known:
            parser.add_argument(flag, **kwargs)


def run(args: argparse.Namespace) -> dict:
    rows, speedups = batched_vs_sequential(args.widths, args.epochs, args.width_repeats) if args.widths else ([], {})
    ratios = {f"width {w}: sequential / batched (medians)": r for w, r in speedups.items()}
    goals = {f"width {w}: batched faster": r > 1 for w, r in speedups.items()}
    if args.full:
        full = full_sweep(Path(args.cache_dir), args.full_epochs)
        rows += full
        goals["full sweep (both noise levels) under 10 minutes"] = full[-1]["total_seconds"] < GOAL_SECONDS
    return {"title": f"width sweep (Yang MLP, K=5 disjoint), {args.epochs} epochs per comparison, "
                     f"cpu, {torch.get_num_threads()} threads, {os.cpu_count()} cores; median of {args.width_repeats} "
                     f"alternated passes over every width's (a) and (b)",
            "rows": rows, "ratios": ratios, "goals": goals}


def format_result(result: dict) -> str:
    return format_table(result)


def main(argv: list[str] | None = None) -> int:
    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
