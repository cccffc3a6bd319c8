"""Time to render each page of the app from the demo cache, cold and warm.

    python -m bench.bench_pages [--demo-dir cache/demo] [--repeat 3] [--pages runs dropout]

cold: a fresh AppTest session with st.cache_data / st.cache_resource cleared (the process
has already imported the app's modules once, as a running server has); warm: the same
session run again (what every widget interaction costs). Goal: < 2 s cold, < 0.5 s warm.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
PAGES = ("home", "bias_variance", "covariate_shift", "dropout", "runs", "walkthroughs")
GOALS = {"cold": 2.0, "warm": 0.5}


def _fresh_session(page: str):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    # switch before the first run: the page renders directly (st.navigation keeps file names)
    return AppTest.from_file(APP, default_timeout=300).switch_page(f"views/{page}.py")


def time_page(page: str) -> tuple[float, float, str]:
    """(cold seconds, warm seconds, problem or '') for one page."""
    session = _fresh_session(page)
    start = time.perf_counter()
    session.run()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    session.run()
    warm = time.perf_counter() - start
    problem = "; ".join(str(e.value)[:80] for e in session.exception)
    return cold, warm, problem


def warm_up() -> None:
    """Import everything once (torch, pandas, altair...) so `cold` measures caches, not imports."""
    for page in PAGES:
        _fresh_session(page).run()


def table(rows: list[tuple[str, list[float], list[float], str]]) -> str:
    lines = ["| page | cold (s), median (min-max) | warm (s), median (min-max) | within goal | note |",
             "|---|---:|---:|:---:|---|"]
    for page, colds, warms, problem in rows:
        cold, warm = statistics.median(colds), statistics.median(warms)
        ok = "yes" if cold < GOALS["cold"] and warm < GOALS["warm"] else "no"
        lines.append(f"| {page} | {cold:.2f} ({min(colds):.2f}-{max(colds):.2f}) | {warm:.2f} "
                     f"({min(warms):.2f}-{max(warms):.2f}) | {ok} | {problem or ''} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_pages", description=__doc__.split("\n")[0])
    parser.add_argument("--demo-dir", default=None, help="demo cache to read (default: $REGLAB_DEMO_DIR or cache/demo)")
    parser.add_argument("--repeat", type=int, default=3, help="sessions per page; the median is reported")
    parser.add_argument("--pages", nargs="*", choices=PAGES, default=list(PAGES))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.demo_dir:
        os.environ["REGLAB_DEMO_DIR"] = str(Path(args.demo_dir).resolve())
    # the user's own runs are not part of the benchmark: point "My runs" at an empty folder
    os.environ["REGLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="reglab-bench-")
    sys.path.insert(0, str(REPO))
    from ui.sources import demo_dir

    print(f"demo cache: {demo_dir()} ({sum(1 for _ in demo_dir().glob('*/spec.json'))} runs)", flush=True)
    warm_up()
    timings: dict[str, list] = {page: [] for page in args.pages}
    for _ in range(args.repeat):
        for page in args.pages:   # alternated (a, b, c, a, b, c, ...): a noisy neighbour hits every page alike
            timings[page].append(time_page(page))
    rows = [(page, [t[0] for t in ts], [t[1] for t in ts], ts[-1][2]) for page, ts in timings.items()]
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
