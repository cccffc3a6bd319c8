"""Covariate Shift & BatchNorm page (not built yet)."""
import streamlit as st

st.title("Covariate Shift & BatchNorm")
st.info("This page is not built yet.", icon=":material/construction:")
