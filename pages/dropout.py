"""Dropout page (not built yet)."""
import streamlit as st

st.title("Dropout")
st.info("This page is not built yet.", icon=":material/construction:")
