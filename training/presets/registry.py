"""All presets and sweeps by name, collected from every module of this package.

A lesson's presets live in their own module here (module constants, plus `PRESETS` and
`SWEEPS` dicts made with `collect`); the registry finds every such module by itself, so a
new lesson's presets need no edit here. Names must be unique across modules.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from training.presets.base import Preset, PresetError, Sweep

_PACKAGE = __name__.rpartition(".")[0]          # training.presets (no import of the package itself)

_NOT_PRESETS = {"base", "registry"}


def _collect(kind: str) -> dict:
    found: dict = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name in _NOT_PRESETS:
            continue
        module = importlib.import_module(f"{_PACKAGE}.{info.name}")
        for name, item in getattr(module, kind, {}).items():
            if name in found:
                raise PresetError(f"{kind[:-1].lower()} {name!r} is declared twice (again in {module.__name__})")
            found[name] = item
    return found


PRESETS: dict[str, Preset] = _collect("PRESETS")
SWEEPS: dict[str, Sweep] = _collect("SWEEPS")


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise PresetError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def get_sweep(name: str) -> Sweep:
    if name not in SWEEPS:
        raise PresetError(f"unknown sweep {name!r}; known: {', '.join(sorted(SWEEPS)) or 'none'}")
    return SWEEPS[name]
