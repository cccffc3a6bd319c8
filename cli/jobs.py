"""Job subcommands of `python -m training`: launch, sweep, status, cancel, resume, wait,
and the internal `job` entry point of a detached run. A launched run's id goes to stdout
(one per line) so a shell can capture it; notes go to stderr."""
from __future__ import annotations

import argparse
import json

from tqdm import tqdm

from cache import store
from training import jobs, sweeps
import lessons
from cli.args import add_spec_arguments, cache_dir_of, json_or_text, note, positive_int, spec_from_args
from cli import cluster

from training.presets import SWEEPS, get_sweep
from runspec import SpecError


def cmd_launch(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    launched = jobs.start(spec, cache_dir_of(args), slots=args.slots)
    print(launched.run_id)
    state = jobs.job_status(launched.run_id, cache_dir_of(args))["state"]
    if launched.started:
        note(f"{launched.run_id}: {state} ({spec.name or 'custom spec'}); {_queue_line(cache_dir_of(args))}")
    else:
        note(f"{launched.run_id}: not started again: {launched.note} ({state})")
    return 0


def _queue_line(cache_dir) -> str:
    info = jobs.queue_info(cache_dir)
    return (f"queue: {info['waiting']} waiting of at most {info['max_queued']} ($REGLAB_MAX_QUEUED), "
            f"{info['slots']} slots ($REGLAB_SLOTS)")


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.list:
        for name, sweep in sorted(SWEEPS.items()):
            lesson = lessons.lesson_of(name)
            print(f"{name}  [{lesson.id if lesson else '-'}] {sweep.description} ({len(sweep.points())} runs)")
        return 0
    cache_dir = cache_dir_of(args)
    if args.sweep:
        overrides = sweeps.parse_assignments(args.set or [], json_or_text)
        if args.backend == "ray":
            return cluster.sweep_on_ray(sweeps.named_sweep_specs(get_sweep(args.sweep), overrides), args.sweep,
                                        cache_dir, args)
        run_ids = sweeps.launch_named_sweep(get_sweep(args.sweep), cache_dir, args.slots, overrides)
    else:
        base = spec_from_args(args)
        name = args.name or f"{base.name or 'custom'}-sweep"
        if args.backend == "ray":
            return cluster.sweep_on_ray(sweeps.sweep_specs(base, _points(args), name), name, cache_dir, args)
        run_ids = sweeps.launch_sweep(base, _points(args), name, cache_dir, args.slots)
    print("\n".join(run_ids))
    note(f"{len(run_ids)} runs launched or already there; watch them with: "
          f"python -m training wait {' '.join(run_ids)}")
    return 0


def _points(args: argparse.Namespace) -> list[dict]:
    if args.random:
        ranges = sweeps.parse_assignments((args.range or []) + (args.grid or []), sweeps.parse_range)
        if not ranges:
            raise SpecError("--random N needs at least one --range key=loguniform:LOW:HIGH (or --grid key=v1,v2)")
        return sweeps.random_points(ranges, args.random, args.seed)
    if not args.grid:
        raise SpecError("give --sweep NAME, or --preset/--spec with --grid key=v1,v2 (or --random N --range ...)")
    return sweeps.grid_points(sweeps.parse_assignments(args.grid, sweeps.parse_values))


def cmd_status(args: argparse.Namespace) -> int:
    cache_dir = cache_dir_of(args)
    if args.sweep:
        table = sweeps.sweep_table(args.sweep, [cache_dir])
        print(table.to_json(orient="records", indent=1) if args.json else
              (table.drop(columns="folder").to_string(index=False) if len(table) else f"no runs named {args.sweep!r}"))
        return 0
    run_ids = args.run_ids or [row["run_id"] for row in _all_runs(cache_dir)]
    rows = [jobs.job_status(run_id, cache_dir) for run_id in run_ids]
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    for row in rows:
        print(_status_line(row))
    if not rows:
        print(f"no runs in {cache_dir}")
    note(_queue_line(cache_dir))
    return 0


def _all_runs(cache_dir) -> list[dict]:
    from cache import store

    frame, problems = store.list_runs([cache_dir])
    for problem in problems:
        note(f"unreadable: {problem}")
    return frame.to_dict("records")


def _status_line(row: dict) -> str:
    progress = f"{(row['progress'] or 0) * 100:5.1f}%"
    steps = f"{row['step'] or 0}/{row['total_steps'] or '?'}"
    eta = f"eta {row['eta']:.0f}s" if row["eta"] is not None and row["state"] == "running" else ""
    pid = f"pid {row['pid']}" if row["pid"] else ""
    return f"{row['run_id']}  {row['state']:<11} {progress} {steps:>11}  {pid:<10} {eta:<9} {row['name'] or '-'}"


def cmd_cancel(args: argparse.Namespace) -> int:
    status = jobs.cancel(args.run_id, cache_dir_of(args))
    print(f"{args.run_id}: {status['state']}")
    return 0 if status["state"] == "cancelled" else 1


def cmd_resume(args: argparse.Namespace) -> int:
    print(jobs.resume(args.run_id, cache_dir_of(args), slots=args.slots))
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    # the job's own progress and ETA (from status.json), not tqdm's rate: bar.n is set, not counted up
    style = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} steps {postfix}"
    bars = {run_id: tqdm(total=1, position=i, desc=run_id, bar_format=style, dynamic_ncols=True, leave=True,
                         disable=args.quiet) for i, run_id in enumerate(args.run_ids)}

    def show(rows: dict[str, dict]) -> None:
        for run_id, row in rows.items():
            bar = bars[run_id]
            bar.total = row["total_steps"] or bar.total
            bar.n = row["step"] or 0
            bar.set_description(f"{run_id} {row['state']}", refresh=False)
            eta = row["eta"] if row["state"] == "running" and row["eta"] is not None else None
            bar.set_postfix_str(f"eta {eta:.0f}s" if eta is not None else "", refresh=False)
            bar.refresh()

    try:
        rows = jobs.wait(args.run_ids, cache_dir_of(args), timeout=args.timeout, on_update=show)
    except TimeoutError as err:
        note(f"error: {err}")
        return 1
    finally:
        for bar in bars.values():
            bar.close()
    for row in rows.values():
        print(_status_line(row))
    return 0 if all(row["state"] == "finished" for row in rows.values()) else 1


def cmd_job(args: argparse.Namespace) -> int:
    """A job started by hand (jobs are launched as `python -m cli.job`, which does the same)."""
    from training import job_process

    slots = jobs.resolve_slots(args.slots)
    return job_process.main([args.run_id, "--cache-dir", str(cache_dir_of(args).resolve()), "--slots", str(slots)],
                            postprocess=postprocess_finished)


def postprocess_finished(folder) -> None:
    """A finished run of a lesson gets the tables its lesson sections need (sub-network scores,
    decompositions), so no command-line step is left to the user. A failure here is noted in
    status.json; the trained run itself stays finished."""
    try:
        status = store.read_status(folder)
        if status["state"] != "finished" or status.get("postprocessed"):
            return
        lessons.postprocess_run(folder, store.read_spec(folder))
        store.write_status(folder, postprocessed=True)
    except Exception as err:   # never turn a finished training run into a failed one
        note(f"{folder.name}: post-processing failed: {err}")
        store.write_status(folder, postprocess_error=str(err))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the job subcommands to `python -m training`'s parser."""
    launch = sub.add_parser("launch", help="train a spec as a background job; prints the run id at once")
    add_spec_arguments(launch)
    _slots(launch)
    launch.set_defaults(func=cmd_launch)
    sweep = sub.add_parser("sweep", help="launch a named sweep, a grid, or a random search as jobs")
    sweep.add_argument("--sweep", help="a registered sweep name (see --list)")
    sweep.add_argument("--list", action="store_true", help="list registered sweeps")
    add_spec_arguments(sweep)
    sweep.add_argument("--grid", action="append", metavar="KEY=V1,V2", help="grid values, e.g. optim.lr=0.01,0.1")
    sweep.add_argument("--random", type=int, metavar="N", help="N random points instead of a grid")
    sweep.add_argument("--range", action="append", metavar="KEY=RULE", help="e.g. optim.lr=loguniform:1e-4:1e-1")
    sweep.add_argument("--seed", type=int, default=0, help="random search seed")
    sweep.add_argument("--name", help="the sweep's name (default: '<preset>-sweep')")
    _slots(sweep)
    cluster.add_backend_arguments(sweep, "detached jobs on this machine's slots, returning at once")
    sweep.set_defaults(func=cmd_sweep)
    status = sub.add_parser("status", help="state, progress, pid and ETA of runs")
    status.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    status.add_argument("--sweep", help="a sweep's results table instead")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    cancel = sub.add_parser("cancel", help="stop a queued or running job")
    cancel.add_argument("run_id")
    cancel.set_defaults(func=cmd_cancel)
    resume = sub.add_parser("resume", help="continue an interrupted, cancelled or failed run from its checkpoint")
    resume.add_argument("run_id")
    _slots(resume)
    resume.set_defaults(func=cmd_resume)
    wait = sub.add_parser("wait", help="live progress of jobs until all have ended")
    wait.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    wait.add_argument("--timeout", type=float, help="give up after this many seconds")
    wait.add_argument("--quiet", action="store_true", help="no progress bars")
    wait.set_defaults(func=cmd_wait)
    job = sub.add_parser("job", help="(internal) the detached process of one run")
    job.add_argument("run_id")
    _slots(job)
    job.set_defaults(func=cmd_job)


def _slots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--slots", type=positive_int, help="jobs that may train at once (default and most: "
                                                           "$REGLAB_SLOTS or the number of cores)")
