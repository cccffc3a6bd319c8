"""Regularization Lab: `streamlit run app.py` (add `-- --read-only` for a shared screen).

Only navigation and the shared sidebar live here; each page is a module in pages/.
"""
import streamlit as st

from cache.store import StoreError
from ui.sources import render_sidebar

st.set_page_config(page_title="Regularization Lab", page_icon=":material/science:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/bias_variance.py", title="Bias-Variance", icon=":material/query_stats:"),
    st.Page("pages/covariate_shift.py", title="Covariate Shift & BatchNorm", icon=":material/stacked_line_chart:"),
    st.Page("pages/dropout.py", title="Dropout", icon=":material/grain:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/play_circle:"),
    st.Page("pages/walkthroughs.py", title="Walkthroughs", icon=":material/school:"),
]

page = st.navigation(PAGES)
render_sidebar()
try:
    page.run()
except StoreError as err:  # a run folder the store refused: say which, keep the app usable
    st.error(f"A run this page needs cannot be read: {err}\n\n"
             "Delete or rebuild that run (Runs page), or pick another source in the sidebar.",
             icon=":material/error:")
