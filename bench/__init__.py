"""Benchmarks: `python -m bench [name ...]` runs them and prints their timings side by side.

A benchmark is a module `bench/bench_<name>.py` with `add_arguments(parser)` and
`run(args) -> dict` returning {"title", "rows": [{"name", "seconds_per_epoch", ...}],
"ratios": {"b/a": x, ...}, "goals": {"b/a <= 1.10": True, ...}}.
"""
BENCHMARKS = ("trainer", "ensemble", "width_sweep")
