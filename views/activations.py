"""Activations and their gradients: the functions, their derivatives, and deep nets trained with each;
the textbook MLP written from scratch next to its nn.Sequential version."""
import streamlit as st

from ui.lesson_view import show_lesson_chart

st.title("Activations and their gradients")
st.markdown(
    "Without a nonlinearity a stack of affine layers is still one affine map. The four the lab offers: "
    "**ReLU** max(0, x), **pReLU** max(0, x) + a·min(0, x) with a learned slope a (torch's initial a = 0.25), "
    "**sigmoid** 1/(1 + e⁻ˣ) and **tanh**. Backpropagation multiplies one derivative per layer, so the size "
    "of f′ decides whether a gradient survives the trip to the first layer.")
show_lesson_chart("activation-derivatives", "activations")

st.subheader("What pReLU learns")
st.markdown(
    "pReLU's slope for x < 0 is a parameter like any weight, one per hidden layer here: the gradient decides "
    "whether a layer lets more of its negative inputs through or fewer. The net is the six-layer net below "
    "with pReLU in every hidden layer; the chart reads each layer's slope from its final checkpoint.")
show_lesson_chart("prelu-slopes", "activations")

st.subheader("Inside deep networks")
st.markdown(
    "Six hidden layers of 128 units on Fashion-MNIST (20,000 training images, 3 epochs, SGD, batch 256, "
    "torch's default initialisation), the same for every net but the activation, the learning rate and "
    "BN (between each layer and its activation). The probes log each weight matrix's gradient norm and, "
    "on a fixed probe batch, the fraction of units that output exactly 0 (ReLU) or sit in the flat tails "
    "(sigmoid |z| > 4.37, tanh |z| > 2.19, where f′ is under 5% of its peak).")
show_lesson_chart("deep-grad-norms", "activations")
show_lesson_chart("deep-dead-units", "activations")

st.subheader("The textbook MLP, from scratch and with nn.Sequential")
st.markdown(
    "The textbook writes its first MLP twice (784-256-10 ReLU, SGD lr 0.1, batch 256, 10 epochs, N(0, 0.01²) "
    "init): from scratch, with the parameters, ReLU and the SGD step by hand, and concisely as nn.Sequential "
    "with torch's optimizer. training/scratch_mlp.py holds both; here they train on the full Fashion-MNIST "
    "from the same initial weights on the same batches. They do the same arithmetic in a different order "
    "(x @ W + b against Linear's fused multiply-add, the SGD step by hand against torch's), so float32 rounds "
    "them apart a little, and over the run's steps the difference grows to what the caption reads off the curves; in float64 they agree to 1e-12 (tests/test_scratch_mlp.py). "
    "The lab's own run of this setup is the preset d2l-mlp on the Runs page.")
show_lesson_chart("mlp-scratch-vs-concise", "mlp")
