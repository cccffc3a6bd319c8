"""`python -m bench [name ...] [--epochs N]`: run benchmarks, print a table, save JSON.

Results go to bench/results/<name>-<UTC time>.json (git-ignored), one file per run.
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

import torch

from bench import BENCHMARKS, format_table

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=[],
                        help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    for name in BENCHMARKS:
        _module(name).add_arguments(parser)
    return parser


def _module(name: str):
    return importlib.import_module(f"bench.bench_{name}")


def environment(threads: int) -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "threads": threads,
            "cpu": platform.processor() or platform.machine(),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.names or BENCHMARKS:
        result = _module(name).run(args)
        result["environment"] = environment(torch.get_num_threads())
        print(format_table(result), flush=True)
        if not args.no_save:
            RESULTS_DIR.mkdir(exist_ok=True)
            path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
            path.write_text(json.dumps({**result, "argv": sys.argv[1:]}, indent=1))
            print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
