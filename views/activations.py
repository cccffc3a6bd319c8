"""Activations and their gradients: the functions, their derivatives, and deep nets trained with each."""
import streamlit as st

from ui.lesson_view import show_lesson_chart

st.title("Activations and their gradients")
st.markdown(
    "Without a nonlinearity a stack of affine layers is still one affine map. The four the lab offers: "
    "**ReLU** max(0, x), **pReLU** max(0, x) + a·min(0, x) with a learned slope a (torch's initial a = 0.25), "
    "**sigmoid** 1/(1 + e⁻ˣ) and **tanh**. Backpropagation multiplies one derivative per layer, so the size "
    "of f′ decides whether a gradient survives the trip to the first layer.")
show_lesson_chart("activation-derivatives", "activations")

st.subheader("Inside deep networks")
st.markdown(
    "Six hidden layers of 128 units on Fashion-MNIST (20,000 training images, 3 epochs, SGD, batch 256, "
    "torch's default initialisation), the same for every net but the activation, the learning rate and "
    "BN (between each layer and its activation). The probes log each weight matrix's gradient norm and, "
    "on a fixed probe batch, the fraction of units that output exactly 0 (ReLU) or sit in the flat tails "
    "(sigmoid |z| > 4.37, tanh |z| > 2.19, where f′ is under 5% of its peak).")
show_lesson_chart("deep-grad-norms", "activations")
show_lesson_chart("deep-dead-units", "activations")

st.caption("The textbook's MLP (784-256-10 ReLU, SGD lr 0.1, batch 256, 10 epochs, N(0, 0.01²) init) is the "
           "preset d2l-mlp on the Runs page. training/scratch_mlp.py writes it twice, from scratch (parameters, "
           "ReLU and SGD by hand) and as nn.Sequential; tests/test_scratch_mlp.py trains both from the same "
           "init on the same batches and checks that losses and weights agree to 1e-5.")
