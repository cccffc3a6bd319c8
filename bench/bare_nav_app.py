"""The second floor for bench_browser: bare Streamlit with the lab's navigation (the same pages,
titles and icons in the sidebar, and one sidebar widget), each page a title, a paragraph and one
small Altair chart. What a page of this shape costs before any of the lab's own content."""
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from lessons import PAGES


def one_chart() -> None:
    st.title("One chart")
    st.markdown("A paragraph of text above the chart, as on every lesson page.")
    frame = pd.DataFrame({"x": range(50), "y": [x * x for x in range(50)]})
    st.altair_chart(alt.Chart(frame).mark_line().encode(x="x", y="y"))


st.set_page_config(page_title="Floor", layout="wide")
# the lab's URLs: a page's path is its module's name (views/bias_variance.py -> /bias_variance)
page = st.navigation([st.Page(one_chart, title=p.title, icon=p.icon, url_path=Path(p.path).stem,
                              default=p.id == "home") for p in PAGES])
with st.sidebar:
    st.multiselect("Also draw my runs", ["a", "b"], placeholder="lessons show the demo runs")
page.run()
