"""Home: what each page shows, with a small chart from the demo cache."""
import streamlit as st

from ui.thumbnails import Thumbnail, show_thumbnail

PAGES = (
    ("pages/bias_variance.py", "Bias-Variance",
     "Under- and overfitting with polynomial features, weight decay, and the bias-variance "
     "decomposition estimated over resampled training sets.",
     Thumbnail(("polynomial-degree19",), "loss")),
    ("pages/covariate_shift.py", "Covariate Shift & BatchNorm",
     "How each layer's input distribution moves during training, and what BatchNorm (and where it "
     "sits) changes in speed, stability and the loss landscape.",
     Thumbnail(("bn-fig1-nobn", "bn-fig1-bn"), "accuracy")),
    ("pages/dropout.py", "Dropout",
     "Dropout as training a huge ensemble of thinned sub-networks: rates, layers, and how much the "
     "train-test gap closes.",
     Thumbnail(("d2l-no-dropout", "d2l-dropout"), "loss")),
    ("pages/runs.py", "Runs",
     "Every run in the caches: launch presets and sweeps, watch them live, compare curves, weight "
     "norms and activation distributions, export charts and specs.",
     Thumbnail(("d2l-mlp",), "accuracy")),
    ("pages/walkthroughs.py", "Walkthroughs",
     "Classroom lessons, step by step, each pointing at the charts that make its point.", None),
)

st.title("Regularization Lab")
st.markdown("Train small networks on Fashion-MNIST and synthetic problems, and see **why** regularization "
            "works: every chart reads the runs in the caches chosen in the sidebar.")

for row_start in range(0, len(PAGES), 3):
    for column, (path, title, blurb, thumb) in zip(st.columns(3), PAGES[row_start:row_start + 3]):
        with column.container(border=True):
            st.page_link(path, label=title, icon=":material/arrow_forward:")
            st.caption(blurb)
            if thumb is not None:
                show_thumbnail(thumb, key=path.removeprefix("pages/").removesuffix(".py"))
