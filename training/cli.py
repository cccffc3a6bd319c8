"""`python -m training ...`: run, list and inspect runs from a shell."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from cache import store
from training.presets import PRESETS, PresetError, get_preset
from training import predictions, subnetworks
from runspec import RunSpec, SpecError, load_spec_json


def parse_overrides(pairs: list[str]) -> dict:
    """['optim.lr=0.5', 'model.widths=[64,64]'] -> {'optim.lr': 0.5, ...}; values are JSON,
    and anything that is not JSON is taken as a string (so `data.name=polynomial` works)."""
    overrides = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SpecError(f"--set expects key=value, got {pair!r}")
        try:
            overrides[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key.strip()] = raw
    return overrides


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    if bool(args.preset) == bool(args.spec):
        raise SpecError("give exactly one of --preset NAME or --spec FILE.json")
    if args.preset:
        spec = get_preset(args.preset).spec
    else:
        path = Path(args.spec)
        if not path.is_file():
            raise SpecError(f"spec file not found: {path}")
        spec = load_spec_json(path.read_text())
    overrides = parse_overrides(args.set or [])
    if getattr(args, "data_dir", None):
        overrides["data.data_dir"] = args.data_dir
    return spec.with_overrides(overrides) if overrides else spec


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="a preset name (see `python -m training presets`)")
    parser.add_argument("--spec", help="a spec JSON file")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field, e.g. optim.lr=0.5")
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST IDX files")


def cache_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.cache_dir) if args.cache_dir else store.default_cache_dir()


def cmd_run(args: argparse.Namespace) -> int:
    from training.runner import execute

    spec = spec_from_args(args)
    cache_dir = cache_dir_of(args)
    folder = store.run_folder(cache_dir, spec.run_id)
    if folder.exists() and not args.force:
        status = store.read_status(folder)
        if status["state"] == "finished":
            print(f"{spec.run_id}: already finished (cache hit; --force retrains)")
            print(_final_line(status))
            return 0
    if folder.exists() and args.force:
        _remove_run(folder)
    folder = store.create_run_folder(cache_dir, spec)
    print(f"{spec.run_id}: training {spec.name or 'custom spec'} into {folder}", flush=True)
    bar = tqdm(total=None, unit="step", dynamic_ncols=True, disable=args.quiet)

    def progress(step: int, total: int) -> None:
        bar.total = total
        bar.n = step
        bar.refresh() if step % 20 == 0 or step == total else None

    status = execute(spec, folder, progress=progress)
    bar.close()
    print(f"{spec.run_id}: {status['state']}" + (f" ({status['error']})" if status.get("error") else ""))
    print(_final_line(status))
    return 0 if status["state"] in ("finished", "diverged") else 1


def _remove_run(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder)


def _final_line(status: dict) -> str:
    final = status.get("final") or {}
    return "  " + "  ".join(f"{k}={v:.4f}" for k, v in sorted(final.items())) if final else ""


def cmd_presets(args: argparse.Namespace) -> int:
    width = max(len(n) for n in PRESETS)
    for name, preset in sorted(PRESETS.items()):
        print(f"{name:<{width}}  [{preset.lesson}] {preset.description}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    frame, problems = store.list_runs([cache_dir_of(args)])
    if args.json:
        print(json.dumps({"runs": frame.to_dict("records"), "problems": problems}, default=str, indent=1))
        return 0
    if frame.empty:
        print(f"no runs in {cache_dir_of(args)}")
    for row in frame.to_dict("records"):
        final = row["final"] or {}
        score = final.get("test_accuracy", final.get("test_loss"))
        print(f"{row['run_id']}  {row['state']:<11} {row['progress'] * 100:5.1f}%  {row['name'] or '-':<22} "
              f"{row['dataset']:<16} test={'-' if score is None else f'{score:.4f}'}")
    for problem in problems:
        print(f"unreadable: {problem}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    folder = store.find_run([cache_dir_of(args), store.DEMO_DIR], args.run_id)
    spec, status = store.read_spec(folder), store.read_status(folder)
    tables = {t: len(store.read_table(folder, t)) for t in store.table_names(folder) if t != "meta"}
    payload = {"run_id": args.run_id, "folder": str(folder), "status": status,
               "spec": json.loads(spec.to_json()), "tables": tables}
    if args.json:
        print(json.dumps(payload, indent=1, default=str))
        return 0
    print(f"{args.run_id}  {status['state']}  {folder}")
    print(_final_line(status))
    print("tables: " + ", ".join(f"{t} ({n} rows)" for t, n in tables.items()))
    print(json.dumps(payload["spec"], indent=1))
    return 0


def cmd_precompute(args: argparse.Namespace) -> int:
    from training.precompute import precompute

    summary = precompute(args.cache_dir, names=args.only, prune=args.prune, workers=args.workers)
    print(json.dumps(summary, indent=1))
    return 0


def cmd_check_demo(args: argparse.Namespace) -> int:
    from training.precompute import check_demo

    problems = check_demo(args.cache_dir)
    for line in problems:
        print(line)
    print("demo cache is complete" if not problems else f"{len(problems)} demo runs to rebuild")
    return 1 if problems else 0


def add_demo_commands(sub) -> None:
    pre = sub.add_parser("precompute", help="build the demo cache (cache/demo) from every preset and sweep")
    pre.add_argument("--only", nargs="+", metavar="NAME", help="only these presets/sweeps")
    pre.add_argument("--prune", action="store_true", help="delete demo runs no preset or sweep asks for")
    pre.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="runs trained side by side, one torch thread each (default: the number of cores)")
    pre.set_defaults(func=cmd_precompute)
    check = sub.add_parser("check-demo", help="say what in the demo cache is missing or stale")
    check.set_defaults(func=cmd_check_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Regularization Lab training CLI")
    parser.add_argument("--cache-dir", help="run folder root (default cache/runs or $REGLAB_CACHE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train a spec in this process (a cache hit if already finished)")
    add_spec_arguments(run)
    run.add_argument("--force", action="store_true", help="retrain even if a finished run exists")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)
    sub.add_parser("presets", help="list presets").set_defaults(func=cmd_presets)
    listing = sub.add_parser("list", help="list runs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one run's spec, status and tables")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    from training.cli_jobs import register as add_job_commands  # here: cli_jobs imports this module
    add_job_commands(sub)   # launch, sweep, status, cancel, resume, wait, job
    add_demo_commands(sub)
    subnetworks.add_parser(sub)
    predictions.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_hoist_cache_dir(argv))
    try:
        return args.func(args)
    except (SpecError, PresetError, store.StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _hoist_cache_dir(argv: list[str]) -> list[str]:
    """Accept --cache-dir after the subcommand too, as the docs show it there."""
    out, i, hoisted = [], 0, []
    while i < len(argv):
        if argv[i] == "--cache-dir" and i + 1 < len(argv):
            hoisted += argv[i:i + 2]
            i += 2
        elif argv[i].startswith("--cache-dir="):
            hoisted.append(argv[i])
            i += 1
        else:
            out.append(argv[i])
            i += 1
    return hoisted + out
