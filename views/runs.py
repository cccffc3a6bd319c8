"""Runs: every run in the selected sources; launch, watch, compare, export, manage."""
import streamlit as st

from ui.data import all_runs, dedupe_runs
from ui.run_compare import render_compare
from ui.run_launch import render_launch_form
from ui.run_live import render_live, render_manage, render_problems
from ui.run_table import render_table
from ui.sweep_view import render_sweep_view
from ui.sources import SOURCE_KEY, SOURCES, demo_dir, read_only, runs_page_dirs, user_dir
from ui.url_state import bound, sections

st.title("Runs")
st.radio("Runs from", SOURCES, **bound(SOURCE_KEY), horizontal=True,
         help=f"Demo cache: {demo_dir()}\n\nMy runs: {user_dir()}")
every_copy, problems = all_runs(dedupe=False)
runs = dedupe_runs(every_copy)

if not read_only():
    # the form (a dozen widgets) is drawn only once opened, like "Show the code" and "Export"
    with st.expander("Launch a run or a sweep", icon=":material/rocket_launch:", key="launch_open",
                     on_change="rerun") as launch:
        if launch.open:
            render_launch_form()
st.subheader("Live jobs")
render_live(runs)

render_problems(problems, every_copy)

if runs.empty:
    st.info("No runs in the selected sources yet ("
            + ", ".join(str(d) for d in runs_page_dirs()) + "). "
            "Launch one above, or build the demo cache with `python -m training precompute`.",
            icon=":material/inbox:")
    st.stop()

st.subheader("All runs")
shown = render_table(runs)
# only the open view is computed and drawn: the first chart waits for Compare alone
sections("runs_view", {"Compare": lambda: render_compare(runs, shown["run_id"].tolist()),
                       "Sweeps": lambda: render_sweep_view(runs),
                       "One run": lambda: render_manage(every_copy)})
