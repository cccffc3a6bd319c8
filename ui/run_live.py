"""Live jobs and per-run actions on the Runs page.

The live panel is a fragment that reruns itself every 2 s while a job is queued or
running (every 10 s otherwise), so progress and the running jobs' loss and accuracy
curves move without redrawing the page; when a job
it was showing ends, it reruns the whole page so the table and charts pick up the result.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from cache import store
from ui.charts import show_chart
from ui.data import all_runs
from ui.messages import diverged_run
from ui.sources import allowed, is_user_run, may_manage, read_only, runs_page_dirs, session_owner, user_dir
from ui.url_state import bound

ACTIVE = ("queued", "running")
RESUMABLE = ("interrupted", "cancelled", "failed")
ACTIVE_KEY = "live_active_ids"


def _progress_text(run) -> str:
    status = run.status
    step, total = status.get("step") or 0, status.get("total_steps")
    eta = status.get("eta")
    parts = [f"**{run.spec.name or '(custom)'}** `{run.run_id}` {run.state}",
             f"step {step}/{total}" if total else "waiting for a slot" if run.state == "queued" else ""]
    if eta and run.state == "running":
        parts.append(f"about {eta:.0f} s left")
    return " · ".join(p for p in parts if p)


def _fresh_status(folder: Path) -> dict | None:
    """The status now (not as it was drawn): callbacks decide on what is true when clicked."""
    try:
        return store.read_status(Path(folder))
    except (store.StoreError, OSError):
        return None


def _cancel(run_id: str, folder: Path) -> None:
    from training import jobs

    if not allowed("cancel", _fresh_status(folder)):
        return
    try:
        status = jobs.cancel(run_id, cache_dir=folder.parent, wait_s=3.0)
        st.toast(f"{run_id}: {status['state']}")
    except store.StoreError as err:
        st.toast(f"Cannot cancel {run_id}: {err}")


def live_panel() -> None:
    """Progress of queued and running jobs in the selected sources, with cancel buttons."""
    runs, _ = all_runs(runs_page_dirs(), dedupe=False)   # a job retraining a demo run is still a job
    active = runs[runs["state"].isin(ACTIVE)] if not runs.empty else runs
    if active.empty:
        st.caption("No jobs running. Launch one below; its progress shows here.")
    for run in active.itertuples(index=False):
        bar, button = st.columns([6, 1], vertical_alignment="center")
        bar.progress(float(run.status.get("progress") or 0.0), text=_progress_text(run))
        if run.spec.is_custom:   # its pid is the user's own process: only their loop may stop it
            button.caption("from your own loop")
        elif is_user_run(run.folder) and may_manage(run.status):
            button.button("Cancel", key=f"cancel-{run.run_id}", icon=":material/stop_circle:",
                          on_click=_cancel, args=(run.run_id, run.folder))
        elif not read_only():
            button.caption("launched elsewhere")
    queue_caption()
    live_curves(active)
    now = set(active["run_id"]) if not active.empty else set()
    before = st.session_state.get(ACTIVE_KEY, set())
    st.session_state[ACTIVE_KEY] = now
    if before - now:   # a job ended: refresh the table and charts, not just this panel
        st.rerun(scope="app")


def live_curves(active: pd.DataFrame) -> None:
    """The running jobs' loss and accuracy so far, redrawn with the panel (every 2 s)."""
    from ui.run_compare import CURVES, _cached_view, _run_keys

    running = active[active["state"] == "running"] if not active.empty else active
    keys = tuple(key for key in _run_keys(list(running.itertuples(index=False))) if key[3] > 0)
    charts = _cached_view(CURVES, keys, "step", "pre") if keys else []
    for column, (key, spec, data) in zip(st.columns(max(len(charts), 1)), charts):
        with column:
            show_chart(spec, data, key=f"live-{key}", export=False)


def queue_caption() -> None:
    """The queue of the user's cache: jobs waiting for a slot, the cap, the slots."""
    from training import jobs

    try:
        info = jobs.queue_info(user_dir())
    except (store.StoreError, OSError) as err:
        st.caption(f"Queue: unknown ({err})")
        return
    st.caption(f"Queue: {info['waiting']} of at most {info['max_queued']} jobs waiting for a slot "
               f"(REGLAB_MAX_QUEUED) · {info['slots']} slots (REGLAB_SLOTS)")


def render_live(runs: pd.DataFrame) -> None:
    any_active = not runs.empty and runs["state"].isin(ACTIVE).any()
    st.fragment(live_panel, run_every="2s" if any_active else "10s")()


# ---------------------------------------------------------------- one run: details and actions

def _label(run) -> str:
    where = "mine" if is_user_run(run.folder) else "demo"
    return f"{run.spec.name or '(custom)'} · {run.run_id} · {run.state} · {where}"


def _explain(run) -> None:
    status = run.status
    if run.state == "diverged":
        diverged_run(run.spec.name or run.run_id, status)
    elif run.state == "failed":
        st.error(f"This run failed: {status.get('error') or 'no error text'}. Its job.log has the traceback.",
                 icon=":material/error:")
    elif run.state == "interrupted" and run.spec.is_custom:
        st.warning("This run was recorded from your own training loop, whose process ended before it closed "
                   "the recorder (use `with reglab.watch(...)`); its rows up to then are all here.",
                   icon=":material/pause_circle:")
    elif run.state == "interrupted":
        st.warning(f"This run was interrupted ({status.get('reason') or 'its process is gone'}); "
                   "resume continues from its last checkpoint.", icon=":material/pause_circle:")


def _spec_json(spec) -> str:
    return json.dumps(json.loads(spec.to_json()), indent=2)


def _delete(folder: Path, quiet: bool = False) -> bool:
    folder = Path(folder)
    if not is_user_run(folder, fresh=True):   # the demo cache is never deleted from the app
        st.toast("Only runs in your own cache can be deleted.")
        return False
    if not allowed("delete", _fresh_status(folder)):
        return False
    if store.writer_active(folder):
        st.toast(f"{folder.name} is queued or running; cancel it first.")
        return False
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder, ignore_errors=True)
    if not quiet:
        st.toast(f"Deleted {folder.name}")
    return True


def _resume(run_id: str, folder: Path) -> None:
    from training import jobs

    if not allowed("resume", _fresh_status(folder)):
        return
    try:
        jobs.resume(run_id, cache_dir=folder.parent, owner=session_owner())
        st.toast(f"Resumed {run_id}")
    except store.StoreError as err:
        st.toast(f"Cannot resume {run_id}: {err}")


def render_manage(runs: pd.DataFrame) -> None:
    """Pick one run (every copy: the same run id can be in both caches): its spec as JSON,
    why it stopped, and resume/delete where allowed."""
    by_label = {_label(run): run for run in runs.itertuples(index=False)}
    label = st.selectbox("Run", list(by_label), **bound("manage_run"))
    if label is None:
        return
    run = by_label[label]
    _explain(run)
    spec_col, resume_col, delete_col = st.columns(3)
    spec_col.download_button("Spec (JSON)", _spec_json(run.spec), file_name=f"{run.run_id}.json",
                             mime="application/json", key="spec-json", on_click="ignore",
                             icon=":material/data_object:",
                             help="A model recorded from your own loop: its repr and hparams (the lab cannot "
                                  "retrain it)" if run.spec.is_custom else
                             "Rerun elsewhere: python -m training run --spec FILE.json")
    if read_only():
        st.caption(":lock: Read-only: resume and delete are off.")
        return
    mine = is_user_run(run.folder)
    if mine and not may_manage(run.status):
        st.caption(":lock: Launched by another session or from the command line: only its owner (or an app "
                   "started in owner mode, REGLAB_OWNER=1) can resume or delete it.")
        mine = False
    if mine and run.state in RESUMABLE and not run.spec.is_custom:
        resume_col.button("Resume", key="resume", icon=":material/play_arrow:", on_click=_resume,
                          args=(run.run_id, run.folder))
    if mine and run.state not in ACTIVE:
        sure = delete_col.checkbox("I want to delete this run", key=f"delete-sure-{run.run_id}")
        delete_col.button("Delete", key="delete", icon=":material/delete:", disabled=not sure,
                          on_click=_delete, args=(run.folder,))
    elif not is_user_run(run.folder):
        st.caption("Demo runs are read-only; copy the spec to train your own.")
    with st.expander("status.json"):
        st.json({**run.status, "age_s": round(time.time() - (run.status.get("heartbeat") or time.time()), 1)})


# ---------------------------------------------------------------- folders the store cannot read

def unreadable_user_folders(every_copy: pd.DataFrame) -> list[Path]:
    """Folders in my cache that are not in the listing (the store refused them), and
    half-made ones left by a creation that failed."""
    listed = {Path(folder) for folder in every_copy["folder"]} if not every_copy.empty else set()
    refused = [f for f in store.iter_run_folders(user_dir()) if f not in listed]
    return refused + store.partial_folders(user_dir())


def _delete_all(folders: list[Path]) -> None:
    """Unreadable folders have no owner the app can check: owner mode only."""
    if not allowed("delete unreadable folders", None):
        return
    deleted = sum(_delete(folder, quiet=True) for folder in folders)
    st.toast(f"Deleted {deleted} unreadable folder(s)")


def render_problems(problems: list[str], every_copy: pd.DataFrame) -> None:
    """Say which folders cannot be read and why; offer to remove the ones in my cache."""
    if not problems:
        return
    with st.expander(f":material/warning: {len(problems)} run folder(s) cannot be read and are left out"):
        for problem in problems:
            st.markdown(f"- `{problem}`")
        broken = unreadable_user_folders(every_copy)
        if broken and may_manage(None):
            sure = st.checkbox(f"Delete the {len(broken)} unreadable folder(s) in my cache", key="delete-broken-sure")
            st.button("Delete unreadable", key="delete-broken", icon=":material/delete_sweep:", disabled=not sure,
                      on_click=_delete_all, args=(broken,))
