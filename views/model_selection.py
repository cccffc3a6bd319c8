"""Model selection: training, validation and test error; a validation split and K-fold CV."""
import streamlit as st

from ui import selection_charts
from ui.lesson_view import show_lesson_chart
from ui.tables import show_table

st.title("Model selection done right")
st.markdown(
    "Three errors, three roles. The **training error** is what the fit minimised, so it always prefers "
    "more capacity. A **validation** error is measured on training data the fit did not see: either one "
    "held-out part (here 20%) or, with **K-fold cross-validation**, the training set cut into K parts, the "
    "model fitted K times on K−1 of them and scored on the one left out, the K scores averaged. The "
    "**test error** is touched once, after the choice: the selection code here is never given the test set.")

st.subheader("Choosing the polynomial degree")
st.markdown("The textbook's cubic (100 training points, noise 0.1, features xⁱ/i!), fitted exactly by least "
            "squares at every degree from 0 to 10. The band around each CV line is ±1 standard deviation of "
            "the validation error over the folds; a ring marks each estimate's choice.")
show_lesson_chart("selection-degree", "model-selection")

st.subheader("Choosing the weight decay")
st.markdown("The same cubic with scarce data: 20 points and every feature up to degree 10, fitted with the "
            "penalty (λ/2)‖w‖² for λ from 10⁻⁶ to 10. Too little λ and the fit chases the noise; too much and "
            "it cannot bend.")
shown = show_lesson_chart("selection-lambda", "model-selection")
if shown is not None:
    with st.expander("All the numbers"):
        frame = selection_charts.selection_frame("lambda")
        show_table(frame.pivot(index="knob", columns="method", values="mean"), hide_index=False)

st.caption("Computed when the page opens, in closed form (ridge least squares, float64) on the lab's synthetic "
           "data; the folds are one fixed random partition of the training points. The tuning lesson's runs "
           "on the Runs page choose the same way: each holds out 20% of its training images as a "
           "validation split, the setting with the best validation accuracy is chosen, and only the "
           "chosen run's test accuracy is reported, once.")
