"""The standard messages pages show instead of failing."""
from __future__ import annotations

import streamlit as st


def missing_runs(what: str, command: str) -> None:
    """Say which preset/sweep to build and the exact CLI command that builds it."""
    st.info(f"No finished runs of **{what}** in the selected sources (sidebar: *Runs from*). "
            "Build them with:", icon=":material/info:")
    st.code(command, language="bash")


def unreadable_run(error: Exception) -> None:
    """A run folder the store refused (garbage status.json, metrics.sqlite, missing spec)."""
    st.warning(f"This run cannot be read, so it is left out: {error}", icon=":material/warning:")


def diverged_run(name: str, status: dict) -> None:
    """A run whose loss became NaN/inf: its curves stop where it diverged."""
    where = status.get("diverged_step")
    at = f" at step {where}" if where is not None else ""
    st.warning(f"Run **{name}** diverged{at} (the loss became NaN or infinite); its curves stop there. "
               f"{status.get('error') or ''} Try a smaller learning rate.", icon=":material/trending_up:")
