"""BatchNorm on real data: the Keras course's exercise on the Concrete compressive strength data."""
import streamlit as st

from ui import keras_charts
from ui.lesson_view import show_lesson_chart
from ui.sources import lesson_dirs
from ui.tables import show_table

st.title("BatchNorm on real data: the Concrete lesson")
st.markdown(
    "The Keras course's exercise (Kaggle *Intro to Deep Learning*): predict the compressive strength of "
    "concrete (MPa) from 8 mix features, left **unstandardized**: seven amounts in kg/m³ (in the tens to "
    "the hundreds) and the age in days (1 to 365). Yeh 1998, UCI, 1,030 rows; a 70/30 split. The model is "
    "the course's: Dense 512-512-512 ReLU → 1, SGD (lr 0.01), MAE loss, batch 64, 100 epochs. Where the "
    "BatchNormalization layers go is the only difference between the runs.")

shown = show_lesson_chart("keras-concrete-mae", "keras")
if shown is not None:
    show_table(keras_charts.keras_outcomes(lesson_dirs()).round(2))
    st.markdown(
        "**Why BN helps here.** The first layer's inputs are in the hundreds, so its pre-activations and "
        "gradients are huge and one SGD step can throw the weights far away. A BN layer in front of a Dense "
        "layer standardizes each feature over the mini-batch (an *adaptive input standardizer*), and BN inside "
        "the net keeps each layer's inputs at a fixed scale while the weights move. Standardizing the data "
        "once, before training, is the other fix.")
st.caption("Differences from the course, stated: torch's default initialisation (not Glorot), BN momentum 0.1 "
           "and eps 1e-5 (Keras: 0.99 and 1e-3), and in the dropout model dropout after BN. The course reports "
           "validation MAE; this lab's is the 30% test split.")
