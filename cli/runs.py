"""Run commands of `python -m training`: run, presets, list, show, rekey."""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

import lessons
from cache import store
from cache.rekey import rekey_folders
from nets.models import require_lab_model
from cli.args import add_spec_arguments, cache_dir_of, spec_from_args
from cli.jobs import postprocess_finished
from training.presets import PRESETS


def cmd_run(args: argparse.Namespace) -> int:
    from training import jobs
    from training.runner import execute

    spec = spec_from_args(args)
    require_lab_model(spec, "train")   # before any folder is made: a custom model's run cannot be retrained here
    cache_dir = cache_dir_of(args)
    jobs.check_memory(spec, slots=1)
    folder = store.run_folder(cache_dir, spec.run_id)
    if (folder / "spec.json").exists():
        with _writing(folder) as _:
            status = store.read_status(folder)
            if status["state"] == "finished" and not args.force:
                print(f"{spec.run_id}: already finished (cache hit; --force retrains)")
                print(_final_line(status))
                return 0
            if args.force:
                store.delete_run(folder)
    folder = store.create_run_folder(cache_dir, spec)
    with _writing(folder) as _:
        print(f"{spec.run_id}: training {spec.name or 'custom spec'} into {folder}", flush=True)
        bar = tqdm(total=None, unit="step", dynamic_ncols=True, disable=args.quiet)

        def progress(step: int, total: int) -> None:
            bar.total = total
            bar.n = step
            bar.refresh() if step % 20 == 0 or step == total else None

        status = execute(spec, folder, progress=progress)
        bar.close()
    postprocess_finished(folder)
    print(f"{spec.run_id}: {status['state']}" + (f" ({status['error']})" if status.get("error") else ""))
    print(_final_line(status))
    return 0 if status["state"] in ("finished", "diverged") else 1


@contextmanager
def _writing(folder: Path):
    """Hold the run's writer lock, or refuse: a job (or another `run`) writes it now."""
    from cache import locks

    fd = locks.try_writer_lock(folder)
    if fd is None:
        raise store.StoreError(f"run {folder.name} is queued or running elsewhere (its writer lock is held); "
                               f"`wait` for it or `cancel` it first")
    try:
        yield fd
    finally:
        locks.release(fd)


def _final_line(status: dict) -> str:
    final = status.get("final") or {}
    return "  " + "  ".join(f"{k}={v:.4f}" for k, v in sorted(final.items())) if final else ""


def cmd_presets(args: argparse.Namespace) -> int:
    width = max(len(n) for n in PRESETS)
    for name, preset in sorted(PRESETS.items()):
        lesson = lessons.lesson_of(name)
        print(f"{name:<{width}}  [{lesson.id if lesson else '-'}] {preset.description}")
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


def cmd_rekey(args: argparse.Namespace) -> int:
    renamed, problems = rekey_folders(cache_dir_of(args))
    for old, new in renamed:
        print(f"{old} -> {new}")
    for problem in problems:
        print(f"left: {problem}", file=sys.stderr)
    print(f"{len(renamed)} folders re-keyed")
    return 1 if problems else 0


def register_run(sub) -> None:
    run = sub.add_parser("run", help="train a spec in this process (a cache hit if already finished)")
    add_spec_arguments(run)
    run.add_argument("--force", action="store_true", help="retrain even if a finished run exists")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)


def register_after_run(sub) -> None:
    sub.add_parser("presets", help="list presets").set_defaults(func=cmd_presets)
    listing = sub.add_parser("list", help="list runs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one run's spec, status and tables")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    rekey = sub.add_parser("rekey", help="rename run folders made under an older run-id rule to today's ids")
    rekey.set_defaults(func=cmd_rekey)
