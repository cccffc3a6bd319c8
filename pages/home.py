import streamlit as st

st.title("Regularization Lab")
