"""The detached process of one job, started as `python -m cli.job RUN_ID --cache-dir DIR ...`
(that entry point, in the command line's layer, hands this module the lessons' post-processing).

It waits for a slot with only light modules loaded (json, fcntl, the run's small files):
a waiting job costs a bare interpreter, about 10 MB, and torch is imported only once it
holds a slot. It holds the run's writer lock (inherited from its launcher) for its whole
life, checks the run's state again once it has a slot, and records any failure, with the
real error, in status.json; SIGTERM while queued or training ends the run as cancelled.
"""
from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

from cache import locks
from cache.run_files import (describe_error, make_reserve, process_start, read_json, update_status,
                             write_last_word)
from training.job_queue import hold_slot

# The module a job is started as; cancel checks a pid's command line names it. It is the CLI's
# entry point (cli/job.py) calling main() below: named here as a string, not imported.
MODULE = "cli.job"
Postprocess = Callable[[Path], None]


def log(text: str) -> None:
    """stdout is the folder's job.log; a full disk must not turn a log line into a crash."""
    try:
        print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}", flush=True)
    except OSError:
        pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    parser.add_argument("run_id")
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--slots", type=int, required=True)
    parser.add_argument("--token", help="the launch this process belongs to (status.json names it too)")
    parser.add_argument("--writer-fd", type=int, help="the run's writer lock, inherited from the launcher")
    parser.add_argument("--ticket-fd", type=int, help="this job's place in the queue, inherited")
    return parser.parse_args(argv)


def run_folder(cache_dir: str, run_id: str) -> Path:
    if not run_id or run_id != Path(run_id).name or run_id.startswith("."):
        raise SystemExit(f"not a run id: {run_id!r}")
    return Path(cache_dir).resolve() / run_id


def main(argv: list[str] | None = None, postprocess: Postprocess | None = None) -> int:
    """The job; `postprocess` is given each run that ends finished, before the slot is given back."""
    args = parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    folder = run_folder(args.cache_dir, args.run_id)
    writer = args.writer_fd if args.writer_fd is not None else locks.try_writer_lock(folder, patience_s=0.0)
    if writer is None or not locks.hold_inherited(writer):
        log(f"job {args.run_id}: another process writes this run; this one stops")
        return 3
    try:
        return _job(folder, args, stop, postprocess)
    except BaseException as err:   # noqa: BLE001 - whatever ends the job is kept in status.json
        log(f"job {args.run_id} failed: {describe_error(err, folder)}")
        write_last_word(folder, state="failed", pid=None, finished=time.time(), error=describe_error(err, folder))
        return 1


def _mine(token: str | None):
    """A status predicate: this launch's status (a token-less manual start owns any)."""
    return lambda status: token is None or status.get("token") == token


def _job(folder: Path, args: argparse.Namespace, stop: threading.Event, postprocess: Postprocess | None) -> int:
    make_reserve(folder)
    me = os.getpid()
    update_status(folder, when=_mine(args.token), pid=me, pid_start=process_start(me), heartbeat=time.time())
    log(f"job {args.run_id} (pid {me}) waiting for one of {args.slots} slots")
    with hold_slot(folder.parent, args.slots, stop) as slot:
        locks.release(args.ticket_fd)        # no longer waiting: its place in the queue frees
        if slot is None:
            log(f"job {args.run_id}: cancelled while queued")
            write_last_word(folder, state="cancelled", pid=None, finished=time.time(), reason="cancelled while queued")
            return 0
        status = read_json(folder / "status.json")
        if status.get("state") != "queued" or not _mine(args.token)(status):
            log(f"job {args.run_id}: the run is {status.get('state')} now; nothing to train")
            return 0
        log(f"job {args.run_id}: got slot {slot}, training")
        from training.runner import train_job   # torch and the data load only now

        code = train_job(folder, args.slots, stop, log)
        _postprocess(folder, stop, postprocess)
        return code


def _postprocess(folder: Path, stop: threading.Event, postprocess: Postprocess | None) -> None:
    """A finished run gets what its lesson needs (sub-network scores, decompositions) before the
    job gives its slot back, so no command-line step is left to the user. Which lesson a run
    belongs to is the lesson registry's to say, above this layer: the entry point hands the step in."""
    if postprocess is None or stop.is_set() or read_json(folder / "status.json").get("state") != "finished":
        return
    started = time.perf_counter()
    postprocess(folder)
    log(f"job {folder.name}: post-processed in {time.perf_counter() - started:.1f} s "
        f"({'done' if read_json(folder / 'status.json').get('postprocessed') else 'not done: see status.json'})")
