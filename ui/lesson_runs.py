"""Finding the runs a lesson chart needs, by preset or sweep name, in the lesson caches.

A builder asks for runs and tables through these helpers; anything missing raises `Absent`,
which the registry turns into a `Missing` message naming what to build and the command.
A builder that compares runs also draws the user's chosen runs of the same presets
(`mine`), each labelled "yours" with what differs from the preset.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import altair as alt
import pandas as pd

from cache import store
from runspec import build_spec, changed_fields
from training.presets import PRESETS, SWEEPS
from ui import data

# Short names for the fields a student's variant usually changes (else the dotted name).
FIELD_NAMES = {"optim.lr": "lr", "model.dropout": "dropout", "model.widths": "widths", "model.batchnorm": "BN",
               "optim.weight_decay": "weight decay", "data.n_train": "training images", "optim.name": "optimizer",
               "model.activation": "activation", "batch_size": "batch", "data.label_noise": "label noise",
               "data.n_test": "test images"}
NOT_TRAINING = {"data.data_dir", "probe_every", "device", "checkpoint_every_epoch"}


@dataclass(frozen=True)
class Shown:
    chart: alt.TopLevelMixin | dict   # an Altair chart, or its Vega-Lite spec once built
    data: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Missing:
    what: str          # the presets/sweeps to build
    command: str       # the exact CLI command(s) that build them


class Absent(Exception):
    """Raised inside a builder when a named run is missing; the registry turns it into Missing."""

    def __init__(self, names: Sequence[str], sweep: bool = False, postprocess: str | None = None):
        self.names, self.sweep, self.postprocess = list(names), sweep, postprocess


def command(name: str, sweep: bool) -> str:
    return f"python -m training sweep --sweep {name}" if sweep else f"python -m training run --preset {name}"


def run_folders(names: Sequence[str], dirs: Sequence[Path]) -> dict[str, Path]:
    """{preset name: its run folder} (finished preferred), or Absent naming every missing one."""
    folders = {name: data.latest_run(name, dirs) for name in names}
    absent = [name for name, folder in folders.items() if folder is None]
    if absent:
        raise Absent(absent)
    return folders


def run_tables(names: Sequence[str], table: str, dirs: Sequence[Path]) -> dict[str, pd.DataFrame]:
    """One table per named run; a run that has not logged it yet counts as missing."""
    frames = {name: data.load_table(folder, table) for name, folder in run_folders(names, dirs).items()}
    empty = [name for name, frame in frames.items() if frame.empty]
    if empty:
        raise Absent(empty)
    return frames


def finished(name: str, dirs: Sequence[Path]) -> pd.DataFrame:
    """The finished runs named `name` (ui.data.runs_named columns: spec, folder, status...), or Absent."""
    listing = data.runs_named(name, dirs)
    listing = listing[listing["state"] == "finished"] if not listing.empty else listing
    if listing.empty:
        raise Absent([name], sweep=True)
    return listing


def sweep(name: str, fields: dict[str, str], dirs: Sequence[Path],
           states: Sequence[str] = ("finished",)) -> pd.DataFrame:
    """One row per run of the sweep in the given states: the requested spec fields (column ->
    dotted field), the final metrics from status.json, and the state; or Absent."""
    listing = data.runs_named(name, dirs)
    if listing.empty or not (listing["state"] == "finished").any():
        raise Absent([name], sweep=True)
    listing = listing[listing["state"].isin(states)]
    rows = [{**{column: data.spec_value(run.spec, dotted) for column, dotted in fields.items()},
             **(run.status.get("final") or {}), "final": run.status.get("final") or {},
             "diverged_step": run.status.get("diverged_step"), "state": run.state} for run in listing.itertuples()]
    return pd.DataFrame(rows).sort_values(list(fields), kind="stable").reset_index(drop=True)


def labelled(pair: dict[str, str], table: str, dirs: Sequence[Path],
             mine: Sequence[Path] = ()) -> dict[str, pd.DataFrame]:
    """{label: table} for a {label: preset} pair, plus {"yours: ...": table} for each chosen
    user run of one of those presets that has logged the table."""
    frames = run_tables(list(pair.values()), table, dirs)
    shown = {label: frames[name] for label, name in pair.items()}
    for folder in mine:
        name = data.spec_name(folder)
        if name in pair.values() and not (frame := data.load_table(folder, table)).empty:
            shown[yours_label(folder)] = frame
    return shown


def differences(folder: Path) -> str:
    """What a user's run changed from its preset, e.g. "dropout 0.5/0.5, lr 0.1"."""
    spec = store.read_spec(folder)
    base = lesson_base(spec.name)
    if base is None:
        return "custom spec"
    changes = changed_fields(base, spec)
    for field in [f for f in changes if f in NOT_TRAINING or f.startswith("probes.")]:
        changes.pop(field)   # where the files are and what was measured are not what was trained
    if not changes:
        return "as the preset"
    return ", ".join(f"{FIELD_NAMES.get(field, field)} {_short(new)}" for field, (_, new) in changes.items())


def lesson_base(name: str | None):
    """The spec a lesson's run of this name varies: its preset's, or its sweep's base."""
    if name in PRESETS:
        return PRESETS[name].spec
    if name in SWEEPS:
        return build_spec({"name": name, **SWEEPS[name].base})
    return None


def _short(value) -> str:
    if isinstance(value, (tuple, list)):
        return "/".join(_short(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def yours_label(folder: Path) -> str:
    return f"yours ({store.read_spec(folder).name}: {differences(folder)})"


def own_lesson_runs(user_dir: Path) -> dict[str, str]:
    """{folder: label} of the user's finished (or still training) runs of a lesson preset or sweep,
    newest first: the sidebar's choice of runs to draw next to the demo runs. A run still
    training is listed so a lesson's "try it" run stays chosen while it draws in."""
    listing = data.runs_named_any([*PRESETS, *SWEEPS], [user_dir])
    if listing.empty:
        return {}
    listing = listing[listing["state"].isin(("finished", "queued", "running"))]
    return {str(folder): f"{yours_label(Path(folder))} · {Path(folder).name[:6]}" for folder in listing["folder"]}


def stored(name: str, table: str, dirs: Sequence[Path]) -> pd.DataFrame:
    """A table the sub-network analysis stores after training; missing -> the command that makes it."""
    folder = run_folders([name], dirs)[name]
    frame = data.load_table(folder, table)
    if frame.empty:
        raise Absent([name], postprocess=f"python -m training subnetworks {folder.name}")
    return frame
