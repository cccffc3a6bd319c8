"""Presets and sweeps: named specs (and grids of specs) for every lesson, one registry
the CLI, the demo precompute and the app list from."""

from __future__ import annotations

from training.presets.base import Preset, PresetError, Sweep
from training.presets.registry import PRESETS, SWEEPS, get_preset, get_sweep

__all__ = ["PRESETS", "SWEEPS", "Preset", "PresetError", "Sweep", "get_preset", "get_sweep"]
