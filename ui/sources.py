"""Where the app looks for runs and whether it may change them.

Lesson pages and walkthroughs are pinned to the demo cache: a student's run never silently
replaces a lesson's data. A user's own runs of a lesson's presets are drawn next to the
demo runs only when chosen in the sidebar ("Also draw my runs"), labelled as theirs. The
Runs page lists any source (its own "Runs from" choice).

Read-only mode (a classroom projector, a shared server) turns off launching, cancelling,
resuming and deleting: the buttons are not drawn, and every action callback checks again
(`allowed`). It is on when REGLAB_READ_ONLY=1 or the app was started with
`streamlit run app.py -- --read-only`.

Who may stop what: a job can be cancelled, resumed or deleted from the app only by the
browser session (or logged-in user) that launched it, unless the server runs in owner
mode (REGLAB_OWNER=1 or `-- --owner`: one person's own machine, as `make app` starts it),
where the app may manage every run in the user's cache, including ones launched from the
command line.
"""
from __future__ import annotations

import functools
import os
import secrets
import sys
from pathlib import Path

import streamlit as st

from cache import store
from ui.url_state import bound

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
def _flag(env: str, argument: str) -> bool:
    return os.environ.get(env, "").strip().lower() in ("1", "true", "yes", "on") or argument in sys.argv[1:]


def read_only() -> bool:
    return _flag("REGLAB_READ_ONLY", "--read-only")


def owner_mode() -> bool:
    """The person running the server manages every run (not for a server a room can reach)."""
    return _flag("REGLAB_OWNER", "--owner")


def session_owner() -> str:
    """Who this browser session is, as recorded in status.json's `owner` when it launches."""
    try:
        if st.user.is_logged_in and st.user.get("email"):
            return f"user:{st.user['email']}"
    except Exception:  # noqa: BLE001 - no authentication configured
        pass
    if "owner_token" not in st.session_state:
        st.session_state["owner_token"] = secrets.token_hex(8)
    return f"app:{st.session_state['owner_token']}"


def may_manage(status: dict | None) -> bool:
    """May this session cancel, resume or delete the run with this status?"""
    if read_only():
        return False
    return owner_mode() or (status is not None and status.get("owner") == session_owner())


def allowed(action: str, status: dict | None = None, needs_owner: bool = True) -> bool:
    """Checked inside every action callback (a hidden button is no protection): False, with
    a note saying why, when read-only mode or ownership forbids `action`."""
    if read_only():
        st.toast(f"Read-only: {action} is off on this server.", icon=":material/lock:")
        return False
    if needs_owner and not may_manage(status):
        st.toast(f"Not yours: only the session that launched this run can {action} it "
                 "(or start the app in owner mode: REGLAB_OWNER=1).", icon=":material/lock:")
        return False
    return True


def is_user_run(folder: Path | str, fresh: bool = False) -> bool:
    """Only runs in the user's own cache may be deleted; the demo cache is never touched.

    The Runs page asks this of every listed run, twice per rerun: each cache folder is resolved
    once and remembered (500 realpaths were 80 ms of a 244-run page); `fresh` resolves them again,
    for a delete, which must see the disk as it is now."""
    if fresh:
        _resolved_dir.cache_clear()
    parent = _resolved_dir(str(Path(folder).parent))   # not the folder itself: a symlinked folder is still mine
    return parent == _resolved_dir(str(user_dir())) and parent != _resolved_dir(str(demo_dir()))


@functools.lru_cache(maxsize=256)
def _resolved_dir(path: str) -> Path:
    return Path(path).resolve()


def render_sidebar(own_runs: dict[str, str]) -> None:
    """The shared sidebar: which of the user's runs the lessons also draw, and the read-only
    notice. `own_runs` maps a run folder to its label (the user's finished lesson runs)."""
    with st.sidebar:
        kept = [f for f in st.session_state.get(MINE_KEY, []) if f in own_runs]
        if kept != st.session_state.get(MINE_KEY, kept):
            st.session_state[MINE_KEY] = kept    # a deleted run drops out of the choice
        st.multiselect("Also draw my runs", list(own_runs), format_func=own_runs.get, **bound(MINE_KEY),
                       placeholder="lessons show the demo runs",
                       help=f"Lessons read the demo cache ({demo_dir()}). Pick your own runs of a lesson's "
                            f"presets (from {user_dir()}) to see them next to it, labelled as yours.")
        if read_only():
            st.caption(":lock: Read-only: launching, cancelling and deleting runs are off.")
        elif owner_mode():
            st.caption(":key: Owner mode: this app may manage every run in your cache.")
