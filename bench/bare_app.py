"""The floor under every page's first chart, for bench_browser: a bare Streamlit app that draws
one small Altair chart, served with the lab's own Streamlit settings."""
import altair as alt
import pandas as pd
import streamlit as st

st.title("One chart")
frame = pd.DataFrame({"x": range(50), "y": [x * x for x in range(50)]})
st.altair_chart(alt.Chart(frame).mark_line().encode(x="x", y="y"))
