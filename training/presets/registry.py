"""All presets and sweeps by name. A lesson's module adds its own dicts here (one line each)."""
from training.presets import core

PRESETS = {
    **core.PRESETS,
}
SWEEPS = {
    **core.SWEEPS,
}
