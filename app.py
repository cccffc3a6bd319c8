"""Regularization Lab: `streamlit run app.py`."""
import streamlit as st

st.set_page_config(page_title="Regularization Lab", layout="wide")
st.title("Regularization Lab")
st.write("The pages are being assembled.")
