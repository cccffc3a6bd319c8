"""Benchmarks: `python -m bench [name ...]` runs them and prints their timings side by side.

A benchmark is a module `bench/bench_<name>.py` with `add_arguments(parser)` and
`run(args) -> dict` returning {"title", "rows": [{"name", "seconds_per_epoch", ...}],
"ratios": {"b/a": x, ...}, "goals": {"b/a <= 1.10": True, ...}}.
"""
BENCHMARKS = ("trainer", "ensemble", "width_sweep", "api")


def standalone_main(module, argv: list[str] | None = None) -> int:
    """`python -m bench.bench_<name>`: one benchmark module on its own, with --threads."""
    import argparse

    import torch

    name = module.__spec__.name if module.__spec__ else module.__name__   # "__main__" under python -m
    parser = argparse.ArgumentParser(prog=f"python -m {name}", description=module.__doc__.splitlines()[0])
    module.add_arguments(parser)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(module.format_result(module.run(args)), flush=True)
    return 0


def alternated(variants: dict, repeats: int) -> dict[str, list]:
    """Run each variant `repeats` times in turn (a, b, c, a, b, c, ...), so a noisy
    neighbour slows every variant alike; {name: [result of each pass]}."""
    results: dict[str, list] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, variant in variants.items():
            results[name].append(variant())
    return results


def median_row(passes: list[dict]) -> dict:
    """One row from a variant's passes: the median of each timing, its spread (min-max), the passes."""
    import statistics

    timings = ("total_seconds", "seconds_per_epoch", "cpu_seconds_per_epoch")
    row = {**passes[-1], **{key: statistics.median(p[key] for p in passes) for key in timings}}
    row["min_seconds"] = min(p["seconds_per_epoch"] for p in passes)
    row["max_seconds"] = max(p["seconds_per_epoch"] for p in passes)
    row["passes"] = [p["seconds_per_epoch"] for p in passes]
    return row


def format_table(result: dict) -> str:
    """The rows side by side: one line per variant (a median over passes shows its spread,
    min-max), then the ratios and goals."""
    rows = result["rows"]
    width = max(len(r["name"]) for r in rows)
    lines = [result["title"],
             f"{'variant':<{width}}  {'s/epoch':>8}  {'spread':>15}  {'cpu s/ep':>8}  {'total s':>8}  {'test acc':>8}"]
    for r in rows:
        acc = "-" if r.get("test_accuracy") is None else f"{r['test_accuracy']:.4f}"
        cpu = r.get("cpu_seconds_per_epoch")
        spread = f"{r['min_seconds']:.3f}-{r['max_seconds']:.3f}" if "min_seconds" in r else "-"
        lines.append(f"{r['name']:<{width}}  {r['seconds_per_epoch']:8.3f}  {spread:>15}  "
                     f"{'-' if cpu is None else f'{cpu:8.3f}':>8}  {r['total_seconds']:8.2f}  {acc:>8}")
    lines += [f"  {name} = {value:.3f}" for name, value in result["ratios"].items()]
    lines += [f"  goal {goal}: {'met' if met else 'NOT met'}" for goal, met in result.get("goals", {}).items()]
    return "\n".join(lines)
