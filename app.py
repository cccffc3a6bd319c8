"""Regularization Lab: `streamlit run app.py` (add `-- --read-only` for a shared screen).

Only navigation and the shared sidebar live here; each page is a module in views/, listed
in the lesson registry (lessons/registry.py).
"""
import streamlit as st

from cache.store import StoreError
from lessons import PAGES
from ui.lesson_runs import own_lesson_runs
from ui.sources import render_sidebar, user_dir

st.set_page_config(page_title="Regularization Lab", page_icon=":material/science:", layout="wide")

page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=p.id == "home") for p in PAGES])

render_sidebar(own_lesson_runs(user_dir()))
try:
    page.run()
except StoreError as err:  # a run folder the store refused: say which, keep the app usable
    st.error(f"A run this page needs cannot be read: {err}\n\n"
             "Delete or rebuild that run (Runs page), or pick another source in the sidebar.",
             icon=":material/error:")
