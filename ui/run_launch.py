"""The launch form: a preset or sweep, a few editable fields, validated through the spec.

Only edited fields become overrides, so launching a preset unchanged is a cache hit. The
run keeps the preset's (or sweep's) name, which is how the lesson pages find it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from cache import store
from training.presets import PRESETS, SWEEPS
from runspec import RunSpec, SpecError, build_spec
from ui.data import spec_value
from ui.sources import allowed, demo_dir, session_owner, user_dir
from ui.url_state import bound


@dataclass(frozen=True)
class Field:
    key: str          # dotted spec field
    label: str
    kind: str         # float | int | list-int | list-float | choice
    help: str = ""
    choices: tuple = ()


FIELDS = (
    Field("optim.lr", "Learning rate", "float"),
    Field("epochs", "Epochs", "int"),
    Field("batch_size", "Batch size", "int"),
    Field("model.widths", "Hidden widths", "list-int", "comma-separated, e.g. 256, 256 (empty for a linear model)"),
    Field("model.dropout", "Dropout", "list-float", "one rate for all hidden layers, or one per layer"),
    Field("model.batchnorm", "BatchNorm", "choice", "where BN sits in each hidden layer", ("none", "before", "after")),
    Field("optim.weight_decay", "Weight decay", "float", "lambda in loss + lambda/2 ||w||^2"),
    Field("data.label_noise", "Label noise", "float", "fraction of training labels replaced at random"),
    Field("data.n_train", "Training examples", "int", "0 = the whole training set"),
    Field("ensemble", "Ensemble size K", "int", "members trained together in one job"),
)


def _as_text(value: Any) -> str:
    rates = value if isinstance(value, (tuple, list)) else (value,)
    return ", ".join(f"{v:g}" for v in rates)


def parse_list(field: Field, text: str) -> list | float:
    """'256, 256' -> [256, 256]; one dropout rate stays a single number (applies to all layers)."""
    convert: Callable = int if field.kind == "list-int" else float
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        values = [convert(p) for p in parts]
    except ValueError:
        kind = "whole numbers" if convert is int else "numbers"
        raise SpecError(f"{field.key}: expected {kind} separated by commas (got {text!r})") from None
    if field.kind == "list-float" and len(values) == 1:
        return values[0]
    return values


def _widget(field: Field, spec: RunSpec, prefix: str, disabled: bool) -> Any:
    value, key = spec_value(spec, field.key), f"{prefix}-{field.key}"
    if field.kind == "choice":
        return st.selectbox(field.label, field.choices, index=field.choices.index(value), key=key,
                            help=field.help or None, disabled=disabled)
    if field.kind.startswith("list"):
        return st.text_input(field.label, _as_text(value), key=key, help=field.help or None, disabled=disabled)
    if field.kind == "int":
        return st.number_input(field.label, value=int(value or 0), step=1, key=key, help=field.help or None,
                               disabled=disabled)
    return st.number_input(field.label, value=float(value), format="%g", step=None, key=key,
                           help=field.help or None, disabled=disabled)


def overrides_from(values: dict[str, Any], spec: RunSpec) -> dict[str, Any]:
    """Form values -> dotted overrides, keeping only the fields that differ from `spec`."""
    fields = {f.key: f for f in FIELDS}
    changes = {}
    for key, raw in values.items():
        field = fields[key]
        value = parse_list(field, raw) if field.kind.startswith("list") else raw
        if key == "data.n_train" and not value:
            value = None
        current = spec_value(spec, key)
        if isinstance(current, tuple):
            current = list(current)
        if value != current:
            changes[key] = value
    return changes


def specs_to_launch(choice: str, values: dict[str, Any]) -> tuple[list[RunSpec], str | None]:
    """The specs a submitted form asks for (one for a preset, the grid for a sweep).

    Raises SpecError naming the field and value when an edit makes an invalid spec."""
    if choice in SWEEPS:
        sweep = SWEEPS[choice]
        base = build_spec({"name": sweep.name, **sweep.base})
        changes = {k: v for k, v in overrides_from(values, base).items() if k not in sweep.grid}
        specs = [spec for _point, spec in sweep.specs()]
        return [spec.with_overrides(changes) if changes else spec for spec in specs], sweep.name
    spec = PRESETS[choice].spec
    changes = overrides_from(values, spec)
    return [spec.with_overrides(changes) if changes else spec], None


def _in_demo_cache(spec: RunSpec) -> bool:
    """A run the demo cache already finished is a cache hit: no need to train it again."""
    status = demo_dir() / spec.run_id / "status.json"
    try:
        return status.exists() and store.read_status(status.parent)["state"] == "finished"
    except store.StoreError:
        return False


def _launch(specs: list[RunSpec], sweep: str | None) -> list[str]:
    """Launch what the demo cache does not already hold; the batch is checked as a whole
    first (spec bounds, memory, room in the queue), so a sweep starts whole or not at all."""
    from training import jobs

    todo = [spec for spec in specs if not _in_demo_cache(spec)]
    launched = iter(jobs.launch_many(todo, cache_dir=user_dir(), sweep=sweep, owner=session_owner()))
    return [spec.run_id if _in_demo_cache(spec) else next(launched) for spec in specs]


def _base_spec(choice: str) -> tuple[RunSpec, tuple[str, ...], str]:
    if choice in SWEEPS:
        sweep = SWEEPS[choice]
        base = build_spec({"name": sweep.name, **sweep.base})
        return base, tuple(sweep.grid), f"Sweep over {', '.join(sweep.grid)}: {len(sweep.points())} runs. " \
                                        f"{sweep.description}"
    preset = PRESETS[choice]
    return preset.spec, (), preset.description


def render_launch_form() -> None:
    options = sorted(PRESETS) + sorted(SWEEPS)
    choice = st.selectbox("Preset or sweep", options, **bound("launch_choice"),
                          format_func=lambda n: f"{n} (sweep)" if n in SWEEPS else n)
    spec, swept, description = _base_spec(choice)
    st.caption(description)
    with st.form(f"launch-form-{choice}", border=False):
        columns = st.columns(5)
        values = {}
        for i, field in enumerate(FIELDS):
            with columns[i % 5]:
                values[field.key] = _widget(field, spec, f"launch-{choice}", disabled=field.key in swept)
        submitted = st.form_submit_button("Launch", type="primary", icon=":material/rocket_launch:")
    if submitted:
        _submit(choice, {k: v for k, v in values.items() if k not in swept})


def _submit(choice: str, values: dict[str, Any]) -> None:
    if not allowed("launching", needs_owner=False):
        return
    try:
        specs, sweep = specs_to_launch(choice, values)
    except SpecError as err:
        lines = str(err).removeprefix("invalid spec:").strip().splitlines()
        st.error("Not launched: fix " + ("this field" if len(lines) == 1 else "these fields") + ":\n\n" +
                 "\n".join(f"- `{line.strip()}`" for line in lines), icon=":material/error:")
        return
    try:
        run_ids = _launch(specs, sweep)
    except store.StoreError as err:   # too big for this machine, the queue is full, a full disk...
        st.error(f"Not launched: {err}", icon=":material/error:")
        return
    except Exception as err:  # noqa: BLE001 - a job that cannot start is reported, the page stays up
        st.error(f"Could not start the job: {type(err).__name__}: {err}", icon=":material/error:")
        return
    st.session_state["launched"] = run_ids
    st.success(f"Launched {len(run_ids)} job(s): {', '.join(run_ids)}. A finished run with the same spec "
               "is a cache hit and is not trained again.", icon=":material/rocket_launch:")
