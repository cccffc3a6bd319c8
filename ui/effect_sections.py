"""Page sections for three reproduced effects; each page adds one call line. The charts go
through ui.lesson_view.show_lesson_chart, so the walkthrough steps show the same ones, and
every number in a table here is read from the runs or from the presets' specs."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import double_descent as ddx
from training.presets import bias_variance as bv
from training.presets import double_descent as dd
from training.presets import landscape, sparsity
from ui import sources
from ui.effect_charts import ae_summary
from ui.lesson_view import show_lesson_chart
from ui.tables import show_table

# Yang et al.'s fmnist/train.py (github.com/yaodongyu/Rethink-BiasVariance-Tradeoff), as published
YANG_PUBLISHED = {"training images per split": "12,000 (60,000 / 5)", "test images": "10,000",
                  "loss": "softmax, then MSELoss (mean over the classes)", "optimizer": "SGD lr 0.1, momentum 0.9",
                  "weight decay": "1e-5", "epochs": "200, lr x 0.1 after epoch 100", "batch": "128"}


def double_descent() -> None:
    st.header("Trained to interpolation: double descent")
    spec = dd.DD_NOISY[0].spec
    widths = [w for group in dd.NOISY_GROUPS for w in group]
    st.markdown(
        f"One hidden ReLU layer, width {widths[0]}-{widths[-1]}, Adam lr {spec.optim.lr:g}, no weight "
        f"decay, {spec.epochs} epochs on {spec.data.n_train} training images averaged down to "
        f"{28 // spec.data.downsample}x{28 // spec.data.downsample} pixels (so the threshold falls at a width the "
        "sweep can straddle), with clean labels and with "
        f"{spec.data.label_noise:.0%} of them replaced at random; scored on all 10,000 test images. "
        "Published (Nakkiran et al. 2019, Belkin et al. 2019): the test error peaks where the training error first "
        "reaches zero, clearest with 10-20% label noise, and falls again beyond.")
    shown = show_lesson_chart("dd-widths", "dd")
    if shown is not None:
        rows = [{"labels": label, **ddx.summary(part)} for label, part in shown.data.groupby("labels")]
        show_table(pd.DataFrame(rows).round(3))
    show_lesson_chart("dd-epochs", "dd")


def yang_setup() -> None:
    """The width sweep above against Yang et al.'s code, one row per setting."""
    spec = bv.WIDTH_SWEEP.specs()[0][1]
    ours = {"training images per split": f"{spec.data.n_train // spec.ensemble:,}", "test images": f"{spec.data.n_test:,}",
            "loss": "softmax, squared error averaged over the classes" if spec.loss == "mse-class-mean" else spec.loss,
            "optimizer": f"{spec.optim.name.upper()} lr {spec.optim.lr:g}, momentum {spec.optim.momentum:g}",
            "weight decay": f"{spec.optim.weight_decay:g}",
            "epochs": f"{spec.epochs}" + (f", lr x {spec.optim.lr_drop_factor:g} every {spec.optim.lr_drop_every} epochs"
                                          if spec.optim.lr_drop_every else ""),
            "batch": f"{spec.batch_size}"}
    table = pd.DataFrame({"setting": list(ours), "this lab": list(ours.values()),
                          "Yang et al. (published code)": [YANG_PUBLISHED[k] for k in ours]})
    table["same"] = table["this lab"] == table["Yang et al. (published code)"]
    with st.expander("This sweep against Yang et al.'s setup"):
        show_table(table)
        st.caption("The main difference is the data: 500 images per split where they use 12,000, so that ten widths "
                   "x 5 splits train in minutes. The train error in the first chart says how far from interpolation "
                   "each width ends; the 'Trained to interpolation' tab trains until the training set is fitted.")


def autoencoder_sparsity() -> None:
    st.header("Dropout makes features sparse: the paper's autoencoder")
    spec = sparsity.AE_DROPOUT.spec
    st.markdown(
        f"Srivastava et al.'s section 7.2: an autoencoder 784-{spec.model.widths[0]}-784 with ReLU hidden units, "
        f"trained to reproduce its input (squared error, Adam, {spec.epochs} epochs on the 60,000 training images, "
        f"pixels standardized), without dropout and with p = {spec.model.dropout_rates[0]:g} on the hidden units. "
        "Activations are measured on the 10,000 test images with dropout off.")
    if show_lesson_chart("ae-unit-means", "ae") is not None:
        table = ae_summary(sources.lesson_dirs())
        show_table(table.round(3))
    show_lesson_chart("ae-activations", "ae")
    st.subheader("Learned features")
    for chart_id in ("ae-filters", "ae-decoder-filters", "ae-mean-over-training"):
        show_lesson_chart(chart_id, "ae")


def landscape_and_deep_linear() -> None:
    st.header("Smoothness on a net that learns with and without BN")
    spec = landscape.LANDSCAPE_NOBN.spec
    st.markdown(
        f"{len(spec.model.widths)} x {spec.model.widths[0]} ReLU, Kaiming init, SGD lr {spec.optim.lr:g}, batches of "
        f"{spec.batch_size}, {spec.data.n_train:,} images, {spec.epochs} epochs: both nets learn from the first steps. "
        "At every probe the landscape is walked along the gradient with step sizes from 0.25 to 4 times the "
        "learning rate; each band spans what was met there.")
    shown = show_lesson_chart("bn-landscape-bands", "land")
    if shown is not None and "median_ratio" in shown.data:
        show_table(shown.data.round(3))
    st.markdown(
        "**Not reproduced: the size of the gap.** Santurkar et al. report about 100x early in training (VGG on "
        "CIFAR-10); this small fully connected net gives a single-digit factor. Also tried, not in the demo cache: "
        "`--set optim.lr=0.3` and `--set model.widths=[100,100,100,100,100,100]` on both presets (3.8x and 3.5x in "
        "loss range), and the Figure 1 sigmoid net above, whose no-BN run sits on a plateau. The direction holds in "
        "every one: BN's loss range is the smaller.")
    st.header("A deep linear network")
    dln = landscape.DLN_NOBN.spec
    st.markdown(
        f"Santurkar et al.'s appendix: {len(dln.model.widths) + 1} linear layers of width {dln.model.widths[0]}, "
        f"inputs x ~ N(0, I), targets y = A x, full-batch gradient descent (lr {dln.optim.lr:g}, "
        f"{dln.epochs} steps), BN after every hidden layer or none. Published: ICS is larger with BN, and BN trains "
        "better.")
    for chart_id in ("bn-dln-loss", "bn-dln-ics"):
        show_lesson_chart(chart_id, "land")
