"""`python -m training ...`: the lab's command line, its parser and its error handling.

The commands live in three modules (runs, jobs, lessons) that each register their own
subparsers; argument helpers shared by all are in cli/args.py. Nothing below the CLI
imports it.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys

from cache import store
from cli import jobs, lessons as lesson_commands, runs
from cli.args import hoist_cache_dir
from lessons import LessonError
from runspec import SpecError
from training.presets import PresetError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Regularization Lab training CLI")
    parser.add_argument("--cache-dir", help="run folder root (default cache/runs or $REGLAB_CACHE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    runs.register_run(sub)
    runs.register_after_run(sub)      # presets, list, show, rekey
    jobs.register(sub)                # launch, sweep, status, cancel, resume, wait, job
    lesson_commands.register(sub)     # precompute, check-demo, predictions, subnetworks
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(hoist_cache_dir(argv))
    try:
        return args.func(args)
    except (SpecError, PresetError, LessonError, store.StoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error, MemoryError) as err:   # the machine said no: a full disk, permissions
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


