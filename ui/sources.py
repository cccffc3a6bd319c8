"""Where the app looks for runs (the sidebar's choice) and whether it may change them.

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

SOURCE_KEY = "runs_source"
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


def selected_dirs() -> list[Path]:
    """The cache folders chosen in the sidebar (both when nothing was chosen yet)."""
    return dirs_for(st.session_state.get(SOURCE_KEY, BOTH))


def read_only() -> bool:
    flag = os.environ.get("REGLAB_READ_ONLY", "").strip().lower()
    return flag in ("1", "true", "yes", "on") or "--read-only" in sys.argv[1:]


def is_user_run(folder: Path | str) -> bool:
    """Only runs in the user's own cache may be deleted; the demo cache is never touched."""
    folder = Path(folder).resolve()
    return folder.parent == user_dir().resolve() and folder.parent != demo_dir().resolve()


def render_sidebar() -> None:
    """The shared sidebar: the run source and the read-only notice."""
    with st.sidebar:
        st.radio("Runs from", SOURCES, key=SOURCE_KEY,
                 help=f"Demo cache: {demo_dir()}\n\nMy runs: {user_dir()}")
        if read_only():
            st.caption(":lock: Read-only: launching, cancelling and deleting runs are off.")
