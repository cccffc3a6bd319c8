"""How long a lesson page's "train this variant" takes: each knob's default variant launched as
a real background job (training.jobs.launch, as the page does), timed from the launch to the
state `running` (the job process started and imported torch and the trainer) and to
`finished` (trained, scored, written), as status.json shows it to the page's live panel.

The knobs alternate (k1, k2, ..., k1, k2, ...) over `--repeats` rounds, each launch into a
fresh cache (no cache hits), and each job's process (its lesson's post-processing included) has
exited before the next launch, so one variant's tail never slows the next. Rows: medians
with their spread (min-max).
`python -m bench.bench_try_it [--repeats R] [--knobs dropout-rate wd-lambda ...]`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import alternated
from cache import store
from training import jobs
from ui import try_it


def _alive(run_id: str) -> bool:
    """Is a process whose command line names this run (the job, its post-processing) still running?"""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if run_id in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


def launch_and_wait(key: str, cache: Path, poll_s: float = 0.05) -> dict:
    knob = try_it.KNOBS[key]
    start = time.perf_counter()
    run_id = jobs.launch(knob.spec(knob.default), cache_dir=cache, owner="cli:bench")
    folder, seen = store.run_folder(cache, run_id), {}
    while True:
        state = store.read_status(folder)["state"]
        seen.setdefault(state, time.perf_counter() - start)
        if state not in try_it.ACTIVE:
            break
        time.sleep(poll_s)
    while _alive(run_id):
        time.sleep(0.2)
    return {"state": state, "running": seen.get("running", float("nan")), "ended": seen[state]}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=3, help="alternated rounds (default 3)")
    parser.add_argument("--knobs", nargs="*", default=list(try_it.KNOBS), help="knob keys (default all)")


def run(args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-try-it-"))
    try:
        def variant(key: str):
            return lambda: launch_and_wait(key, Path(tempfile.mkdtemp(dir=root)))   # a fresh cache: no cache hit
        passes = alternated({key: variant(key) for key in args.knobs}, args.repeats)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = []
    for key, results in passes.items():
        ended, running = [p["ended"] for p in results], [p["running"] for p in results]
        rows.append({"name": key, "states": sorted({p["state"] for p in results}),
                     "median_s": statistics.median(ended), "min_s": min(ended), "max_s": max(ended),
                     "median_start_s": statistics.median(running), "passes": ended})
    return {"title": f"try-it variants launched as jobs, launch -> ended, median of {args.repeats} alternated rounds; "
                     f"load average {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores",
            "rows": rows}


def format_result(result: dict) -> str:
    width = max(len(r["name"]) for r in result["rows"])
    lines = [result["title"], f"{'knob':<{width}}  {'ended s':>8}  {'spread':>13}  {'running s':>9}  state"]
    lines += [f"{r['name']:<{width}}  {r['median_s']:8.2f}  {r['min_s']:6.2f}-{r['max_s']:<6.2f}  "
              f"{r['median_start_s']:9.2f}  {'/'.join(r['states'])}" for r in result["rows"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_try_it", description=__doc__.splitlines()[0])
    add_arguments(parser)
    print(format_result(run(parser.parse_args(argv))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
