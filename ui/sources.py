"""Where the app looks for runs and whether it may change them.

Lesson pages and walkthroughs are pinned to the demo cache: a student's run never silently
replaces a lesson's data. A user's own runs of a lesson's presets are drawn next to the
demo runs only when chosen in the sidebar ("Also draw my runs"), labelled as theirs. The
Runs page lists any source (its own "Runs from" choice).

Read-only mode (a classroom projector, a shared server) hides launching, cancelling,
resuming and deleting. It is on when REGLAB_READ_ONLY=1 or the app was started with
`streamlit run app.py -- --read-only`.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from cache import store

SOURCE_KEY = "runs_source"          # the Runs page's source
MINE_KEY = "lesson_mine"            # user runs drawn next to the lessons' demo runs
DEMO, MINE, BOTH = "Demo cache", "My runs", "Both"
SOURCES = (BOTH, DEMO, MINE)


def demo_dir() -> Path:
    """The committed, precomputed runs (read at call time so tests can point it elsewhere)."""
    return Path(os.environ.get("REGLAB_DEMO_DIR", store.DEMO_DIR))


def user_dir() -> Path:
    """The user's own runs: launched from the app or the CLI."""
    return store.default_cache_dir()


def dirs_for(source: str) -> list[Path]:
    if source == DEMO:
        return [demo_dir()]
    if source == MINE:
        return [user_dir()]
    return [demo_dir(), user_dir()]


def runs_page_dirs() -> list[Path]:
    """The cache folders the Runs page lists (both when nothing was chosen yet)."""
    return dirs_for(st.session_state.get(SOURCE_KEY, BOTH))


def lesson_dirs() -> list[Path]:
    """Where lesson pages and walkthroughs read their runs: the demo cache, always."""
    return [demo_dir()]


def chosen_runs() -> tuple[Path, ...]:
    """The user's runs chosen in the sidebar to be drawn next to the lessons' demo runs."""
    return tuple(Path(folder) for folder in st.session_state.get(MINE_KEY, []))


def read_only() -> bool:
    flag = os.environ.get("REGLAB_READ_ONLY", "").strip().lower()
    return flag in ("1", "true", "yes", "on") or "--read-only" in sys.argv[1:]


def is_user_run(folder: Path | str) -> bool:
    """Only runs in the user's own cache may be deleted; the demo cache is never touched."""
    folder = Path(folder).resolve()
    return folder.parent == user_dir().resolve() and folder.parent != demo_dir().resolve()


def render_sidebar(own_runs: dict[str, str]) -> None:
    """The shared sidebar: which of the user's runs the lessons also draw, and the read-only
    notice. `own_runs` maps a run folder to its label (the user's finished lesson runs)."""
    with st.sidebar:
        kept = [f for f in st.session_state.get(MINE_KEY, []) if f in own_runs]
        if kept != st.session_state.get(MINE_KEY, kept):
            st.session_state[MINE_KEY] = kept    # a deleted run drops out of the choice
        st.multiselect("Also draw my runs", list(own_runs), format_func=own_runs.get, key=MINE_KEY,
                       placeholder="lessons show the demo runs",
                       help=f"Lessons read the demo cache ({demo_dir()}). Pick your own runs of a lesson's "
                            f"presets (from {user_dir()}) to see them next to it, labelled as yours.")
        if read_only():
            st.caption(":lock: Read-only: launching, cancelling and deleting runs are off.")
