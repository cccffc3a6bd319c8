"""Walkthroughs page (not built yet)."""
import streamlit as st

st.title("Walkthroughs")
st.info("This page is not built yet.", icon=":material/construction:")
