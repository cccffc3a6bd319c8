"""`reglab.watch`: a run folder and a Recorder for a user's model, in one call.

The run's spec is a RunSpec of model kind 'custom': the model's repr, the user's
hyper-parameters (JSON scalars), the probe settings and the dataset's name ('custom'
unless it is one of the lab's). Its id is the hash of those, as for any run, so the same
model, name and hyper-parameters are the same run: recording it again needs overwrite=True.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from cache import store
from reglab.layers import ReglabError, select_layers
from reglab.recorder import Recorder
from runspec import CUSTOM, RunSpec, build_spec


def plain_hparams(hparams: Mapping[str, Any] | None) -> dict[str, Any]:
    """numpy and 0-dim torch scalars become Python numbers; the spec validates the rest."""
    out = {}
    for key, value in (hparams or {}).items():
        is_scalar_array = hasattr(value, "item") and getattr(value, "ndim", None) == 0
        out[key] = value.item() if is_scalar_array else value
    return out


def _probe_batch(probe_input: Any) -> int | None:
    first = next(iter(probe_input.values())) if isinstance(probe_input, dict) else \
        probe_input[0] if isinstance(probe_input, (tuple, list)) and probe_input else probe_input
    if isinstance(first, torch.Tensor) and first.dim() > 0 and first.shape[0] >= 2:
        return int(first.shape[0])
    return None


def _device(model: nn.Module) -> str:
    kinds = {p.device.type for p in model.parameters()}
    return kinds.pop() if len(kinds) == 1 and kinds <= {"cpu", "cuda"} else "auto"


def custom_spec(model: nn.Module, name: str, hparams: Mapping[str, Any] | None = None, *, every: int = 50,
                dataset: str = CUSTOM, probe_input: Any = None, activations: bool = True, weights: bool = True,
                histogram_bins: int = 30, tracked_units: int = 5) -> RunSpec:
    """The RunSpec recording a user's model; raises SpecError naming a bad field."""
    probes: dict[str, Any] = {"activations": activations, "weights": weights, "histogram_bins": histogram_bins,
                              "tracked_units": tracked_units}
    if (batch := _probe_batch(probe_input)) is not None:
        probes["probe_batch"] = batch
    return build_spec({"name": name, "data": {"name": dataset},
                       "model": {"kind": CUSTOM, "widths": [], "custom_repr": repr(model)},
                       "hparams": plain_hparams(hparams), "probe_every": every, "probes": probes,
                       "device": _device(model)})


def _check_name(name: Any) -> None:
    from training.presets import PRESETS, SWEEPS

    if not isinstance(name, str) or not name.strip():
        raise ReglabError(f"watch(): name= must be a non-empty string (it labels the run), got {name!r}")
    if name in PRESETS or name in SWEEPS:
        raise ReglabError(f"watch(): {name!r} is the name of one of the lab's own presets or sweeps, which the lesson "
                          f"pages look runs up by; choose another name for your model's run")


def fresh_folder(cache_dir: Path | str | None, spec: RunSpec, overwrite: bool) -> Path:
    """The run's folder, new; an existing one is replaced only with overwrite and never while recording."""
    cache_dir = Path(cache_dir) if cache_dir is not None else store.default_cache_dir()
    folder = store.run_folder(cache_dir, spec.run_id)
    if folder.exists():
        try:
            state = store.read_status(folder)["state"]
        except store.StoreError:
            state = "unreadable"
        if state in ("running", "queued"):
            raise ReglabError(f"watch(): run {spec.run_id} ({spec.name!r}) is being recorded right now by another "
                              f"process ({folder}); close that one first, or change name= or hparams=")
        if not overwrite:
            raise ReglabError(f"watch(): a run with this model, name and hparams exists already: {folder} ({state}). "
                              f"Pass overwrite=True to replace it, or change name= or hparams= to keep both")
        shutil.rmtree(folder)
    cache_dir.mkdir(parents=True, exist_ok=True)
    return store.create_run_folder(cache_dir, spec)


def watch(model: nn.Module, *, name: str, hparams: Mapping[str, Any] | None = None,
          cache_dir: Path | str | None = None, layers: Iterable[str | nn.Module] | None = None, every: int = 50,
          probe_input: Any = None, dataset: str = CUSTOM, total_steps: int | None = None, activations: bool = True,
          weights: bool = True, histogram_bins: int = 30, tracked_units: int = 5, max_values: int | None = 65_536,
          overwrite: bool = False) -> Recorder:
    """Attach the lab's probes to `model` and start recording a run; returns the Recorder.

    Call `rec.step(loss=loss)` after every optimizer.step(), `rec.log(split, metric, value)`
    for the scores you compute, and `rec.close()` at the end, or use `with watch(...) as rec:`
    (an exception in the block marks the run failed, Ctrl-C cancelled). Every `every` steps,
    and at step 0 and the last step, the probes log the lab's tables:
      activations / histograms / units: per watched layer and site ("pre" = the module's input,
        "post" = its output), mean, std, quantiles, fraction zero/saturated, a histogram, and
        the 15/50/85th percentiles of the first `tracked_units` units (channels for convs);
      weights: per parameter of a watched layer, norm, spectral norm, gradient norm, update ratio;
      scalars: the mean of the `loss` values given to step() since the last probe
        (split "train_batch"), and whatever you log().

    model: any torch.nn.Module. name: the run's label on the Runs page (not a lab preset's name).
    hparams: your hyper-parameters, {name: str | int | float | bool | None}; they and
        repr(model) are the run's spec, so they make its id.
    cache_dir: where the run folder goes (default: the lab's cache/runs, or $REGLAB_CACHE_DIR,
        which the app's "My runs" reads).
    layers: module names (from model.named_modules()) or modules to watch; default every
        Linear, Conv, BatchNorm, activation and Dropout module.
    every: optimizer steps between probes (>= 1).
    probe_input: a fixed batch (a tensor, a tuple of positional inputs or a dict of keyword
        inputs, on the model's device) that each probe feeds the model the way the lab
        probes its own: train mode with dropout off, BN on the batch's statistics, and every
        mode, BN buffer and RNG state restored afterwards. Without it, the probes record the
        training forward pass that precedes each probe step (grad on, model in train mode).
    dataset: "custom", or the name of the lab dataset you trained on.
    total_steps: the steps you expect, for the Runs page's progress bar.
    activations, weights: switch those probes off.
    histogram_bins, tracked_units: as in a lab spec's probes.
    max_values: a site with more values is summarised from a random subset of its rows of
        about this many values (None: always all of them).
    overwrite: replace a finished run with the same spec instead of refusing.

    Raises ReglabError (a ValueError) for a model with no layer to watch, an unknown or
    unsupported layer, or a run that exists already, and runspec.SpecError for bad hparams.
    """
    chosen = select_layers(model, layers)
    _check_name(name)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ReglabError(f"watch(): every= is the number of optimizer steps between probes, >= 1; got {every!r}")
    if total_steps is not None and (not isinstance(total_steps, int) or total_steps < 1):
        raise ReglabError(f"watch(): total_steps= must be a whole number >= 1 or None, got {total_steps!r}")
    if max_values is not None and (not isinstance(max_values, int) or max_values < 2):
        raise ReglabError(f"watch(): max_values= must be a whole number >= 2 or None, got {max_values!r}")
    spec = custom_spec(model, name, hparams, every=every, dataset=dataset, probe_input=probe_input,
                       activations=activations, weights=weights, histogram_bins=histogram_bins,
                       tracked_units=tracked_units)
    folder = fresh_folder(cache_dir, spec, overwrite)
    return Recorder(model, spec, folder, chosen, every=every, probe_input=probe_input, total_steps=total_steps,
                    max_values=max_values)
