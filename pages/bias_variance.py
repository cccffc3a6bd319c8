"""Bias-Variance page (not built yet)."""
import streamlit as st

st.title("Bias-Variance")
st.info("This page is not built yet.", icon=":material/construction:")
