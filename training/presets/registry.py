"""All presets and sweeps by name. A lesson's module adds its own dicts here (one line each)."""

from training.presets.base import Preset, PresetError, Sweep
from training.presets import bias_variance
from training.presets import core
from training.presets import covariate_shift
from training.presets import dropout
from training.presets import keras
from training.presets import tuning

PRESETS = {
    **bias_variance.PRESETS,
    **core.PRESETS,
    **covariate_shift.PRESETS,
    **dropout.PRESETS,
    **keras.PRESETS,
    **tuning.PRESETS,
}
SWEEPS = {
    **bias_variance.SWEEPS,
    **core.SWEEPS,
    **covariate_shift.SWEEPS,
    **dropout.SWEEPS,
    **keras.SWEEPS,
    **tuning.SWEEPS,
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise PresetError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def get_sweep(name: str) -> Sweep:
    if name not in SWEEPS:
        raise PresetError(f"unknown sweep {name!r}; known: {', '.join(sorted(SWEEPS)) or 'none'}")
    return SWEEPS[name]
