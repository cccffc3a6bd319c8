"""Home: what each page shows, with a small chart from the demo cache."""
import streamlit as st

from lessons import PAGES
from ui.thumbnails import show_thumbnail

CARDS = [page for page in PAGES if page.id != "home"]

st.title("Regularization Lab")
st.markdown("Train small networks on Fashion-MNIST and synthetic problems, and see **why** regularization "
            "works: every chart reads the runs in the caches chosen in the sidebar.")

for row_start in range(0, len(CARDS), 3):
    for column, page in zip(st.columns(3), CARDS[row_start:row_start + 3]):
        with column.container(border=True):
            st.page_link(page.path, label=page.title, icon=":material/arrow_forward:")
            st.caption(page.blurb)
            if page.thumbnail is not None:
                show_thumbnail(page.thumbnail, key=page.id)
