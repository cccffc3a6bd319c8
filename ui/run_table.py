"""The Runs page's table: one row per run with its key spec fields, state, progress and
final numbers, filtered by name (preset or sweep), sweep and state."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.compare import final_metrics
from ui.sources import demo_dir
from ui.url_state import bound

COLUMN_CONFIG = {
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    "lr": st.column_config.NumberColumn("lr", format="%g"),
    "weight_decay": st.column_config.NumberColumn("weight decay", format="%g"),
    "label_noise": st.column_config.NumberColumn("label noise", format="%g"),
    "train_loss": st.column_config.NumberColumn("train loss", format="%.4f"),
    "val_loss": st.column_config.NumberColumn("val loss", format="%.4f"),
    "test_loss": st.column_config.NumberColumn("test loss", format="%.4f"),
    "train_accuracy": st.column_config.NumberColumn("train acc", format="%.3f"),
    "val_accuracy": st.column_config.NumberColumn("val acc", format="%.3f"),
    "test_accuracy": st.column_config.NumberColumn("test acc", format="%.3f"),
}


def _joined(values) -> str:
    return "-".join(f"{v:g}" for v in values) if values else "-"


def table_row(run) -> dict:
    """One display row from a listing row (spec + status, no metrics read)."""
    spec, status = run.spec, run.status
    return {
        "name": spec.name or "(custom)", "run_id": run.run_id,
        "source": "demo" if run.folder.parent.resolve() == demo_dir().resolve() else "mine",
        "sweep": status.get("sweep") or "", "state": status["state"],
        "progress": float(status.get("progress") or 0.0),
        "dataset": spec.data.name, "n_train": spec.data.n_train, "label_noise": spec.data.label_noise,
        "model": spec.model.kind, "widths": _joined(spec.model.widths), "activation": spec.model.activation,
        "batchnorm": spec.model.batchnorm, "dropout": _joined(spec.model.dropout_rates),
        "optimizer": spec.optim.name, "lr": spec.optim.lr, "weight_decay": spec.optim.weight_decay,
        "epochs": spec.epochs, "batch_size": spec.batch_size, "ensemble": spec.ensemble,
        **final_metrics(status), **(_custom_columns(spec) if spec.is_custom else {}),
    }


def _custom_columns(spec) -> dict:
    """A model recorded from the user's own loop (reglab) has no lab MLP or optimizer fields:
    those columns stay blank, or show the user's hparams of the same name."""
    hparams = spec.hparams
    columns = {"widths": "-", "activation": "", "batchnorm": "", "dropout": "", "optimizer": "",
               "n_train": None, "label_noise": None, "lr": None, "weight_decay": None, "epochs": None,
               "batch_size": None}
    for key in ("lr", "weight_decay", "epochs", "batch_size"):
        if isinstance(hparams.get(key), (int, float)) and not isinstance(hparams.get(key), bool):
            columns[key] = hparams[key]
    if isinstance(hparams.get("optimizer"), str):
        columns["optimizer"] = hparams["optimizer"]
    return columns


def table_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Your runs first, newest on top, each with what it changed from its preset; then the rest by name."""
    rows = [{**table_row(run), "differs": _differs(run), "_created": run.status.get("created") or 0.0}
            for run in runs.itertuples(index=False)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_mine"] = frame["source"] == "mine"
    frame = frame.sort_values(["_mine", "_created", "name", "run_id"], ascending=[False, False, True, True])
    front = ["name", "differs"]
    return frame[front + [c for c in frame.columns if c not in front and not c.startswith("_")]].reset_index(drop=True)


def _differs(run) -> str:
    """What one of your runs of a preset changed (e.g. "dropout 0.5/0.5, lr 0.1"); blank for demo runs."""
    from ui.lesson_runs import differences

    if run.folder.parent.resolve() == demo_dir().resolve() or run.spec.is_custom:
        return ""
    try:
        return differences(run.folder)
    except Exception:  # noqa: BLE001 - a label is not worth failing the table for
        return ""


def filter_frame(frame: pd.DataFrame, text: str = "", names=(), sweeps=(), states=()) -> pd.DataFrame:
    """Rows matching every filter given (an empty filter matches everything)."""
    keep = pd.Series(True, index=frame.index)
    if text:
        keep &= frame["name"].str.contains(text, case=False, regex=False) | frame["run_id"].str.startswith(text)
    if names:
        keep &= frame["name"].isin(names)
    if sweeps:
        keep &= frame["sweep"].isin(sweeps)
    if states:
        keep &= frame["state"].isin(states)
    return frame[keep]


def render_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Filters and the table; returns the rows shown (the compare picker starts from them)."""
    frame = table_frame(runs)
    search, names, sweeps, states = st.columns([2, 2, 2, 2])
    text = search.text_input("Search", **bound("runs_search"), placeholder="name or run id")
    chosen_names = names.multiselect("Preset / sweep", sorted(frame["name"].unique()), **bound("runs_names"))
    sweep_options = sorted(s for s in frame["sweep"].unique() if s)
    chosen_sweeps = sweeps.multiselect("Launched as sweep", sweep_options, **bound("runs_sweeps"),
                                       disabled=not sweep_options)
    chosen_states = states.multiselect("State", sorted(frame["state"].unique()), **bound("runs_states"))
    shown = filter_frame(frame, text, chosen_names, chosen_sweeps, chosen_states)
    st.dataframe(shown, hide_index=True, column_config=COLUMN_CONFIG, key="runs_table",
                 height=min(38 + 35 * max(len(shown), 1), 420))
    st.caption(f"{len(shown)} of {len(frame)} runs. Final metrics come from each run's status; "
               "progress is the fraction of training steps done.")
    return shown
