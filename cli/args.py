"""Argument helpers shared by every command: spec arguments, overrides, the cache dir."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cache import store
from runspec import RunSpec, SpecError, load_spec_json
from training.presets import get_preset


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
        try:
            spec = load_spec_json(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise SpecError(f"spec file {path} is not UTF-8 text ({err.reason} at byte {err.start})") from None
        except OSError as err:
            raise SpecError(f"cannot read spec file {path}: {err.strerror or err}") from None
    overrides = parse_overrides(args.set or [])
    if getattr(args, "data_dir", None):
        overrides["data.data_dir"] = args.data_dir
    return spec.with_overrides(overrides) if overrides else spec


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="a preset name (see `python -m training presets`)")
    parser.add_argument("--spec", help="a spec JSON file")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field, e.g. optim.lr=0.5")
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST IDX files")


def positive_int(raw: str) -> int:
    """argparse type: a whole number >= 1 (e.g. --slots)."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cache_dir_of(args: argparse.Namespace) -> Path:
    return Path(args.cache_dir) if args.cache_dir else store.default_cache_dir()


def json_or_text(raw: str):
    """A JSON value, or the raw text where it is not JSON."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def note(text: str) -> None:
    """Notes go to stderr, so stdout stays parseable (run ids, JSON)."""
    print(text, file=sys.stderr)


def hoist_cache_dir(argv: list[str]) -> list[str]:
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
