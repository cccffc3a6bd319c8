"""Covariate shift & BatchNorm: the BN paper's Figure 1, per-layer drift, what BN really
does (Santurkar et al.), BN on unscaled inputs, learning rates, placement and modes."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import covariate_shift as cs
from analysis import covariate_shift_charts as charts
from analysis import findings, palette
from cache import store
from lessons import page_path, page_title
from training import fashion_mnist, presets
from training.datasets import load_dataset
from ui import effect_sections, try_it
from ui.charts import cached_spec, show_chart
from ui.code import show_code
from ui.data import from_tables, latest_run, load_table, runs_named, spec_value
from ui.lesson_view import show_lesson_chart
from ui.messages import missing_runs
from ui.tables import show_table
from ui.try_it import render_try_it
from ui.url_state import bound, sections

FIG1 = {"no BN": presets.covariate_shift.BN_FIG1_NOBN.name, "BN": presets.covariate_shift.BN_FIG1_BN.name}
NOISY = {"noisy BN": presets.covariate_shift.BN_NOISY.name}
LOOK = charts.LOOK_FOR


def preset_command(*names: str) -> str:
    return "\n".join(f"python -m training run --preset {n}" for n in names)


def sweep_command(name: str) -> str:
    return f"python -m training sweep --sweep {name}"


def folders_of(names: dict[str, str]) -> dict[str, Path]:
    """variant -> the run to show; variants without a run are left out."""
    found = {label: latest_run(name) for label, name in names.items()}
    return {label: folder for label, folder in found.items() if folder is not None}


def tables(folders: dict[str, Path], table: str) -> dict[str, pd.DataFrame]:
    return {label: load_table(folder, table) for label, folder in folders.items()}


def sweep_frame(name: str, fields: dict[str, str]) -> pd.DataFrame:
    """One row per run of a sweep: the varied fields (read from each spec), state, final, folder."""
    runs = runs_named(name)
    rows = [{**{col: spec_value(spec, dotted) for col, dotted in fields.items()}, "state": state,
             "final": status.get("final"), "diverged_step": status.get("diverged_step"), "folder": str(folder)}
            for spec, state, status, folder in zip(runs["spec"], runs["state"], runs["status"], runs["folder"])]
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False, max_entries=4)
def mode_comparison(folder: str, mtime_ns: int, n_examples: int = 500) -> pd.DataFrame:
    """Train vs eval mode of the run's final weights on its first test examples, once per
    checkpoint (the page's only model load and forward passes)."""
    model = store.load_model(Path(folder), "final")
    data = load_dataset(store.read_spec(Path(folder)).data)
    return cs.bn_mode_comparison(model, data.x_test[:n_examples], data.y_test[:n_examples])


def figure1() -> None:
    """The BN paper's Figure 1: test accuracy and one unit's input percentiles, with and without BN."""
    fig1 = folders_of(FIG1)
    st.subheader("A sigmoid net with and without BN")
    st.markdown("3 hidden layers of 100 sigmoid units, small Gaussian init, mini-batches of 60, SGD; "
                "BN before every sigmoid vs none (Fashion-MNIST instead of MNIST, ~1.7k steps instead of 50k).")
    if len(fig1) < 2:
        missing_runs("bn-fig1-nobn and bn-fig1-bn", preset_command(*FIG1.values()))
    else:
        show_lesson_chart("bn-fig1-accuracy", "bn")
        render_try_it(try_it.BN_LR, "bn-lr")
        units = tables(fig1, "units")
        layers = sorted(set().union(*(set(u["layer"]) for u in units.values() if not u.empty)))
        left, right = st.columns(2)
        layer = left.selectbox("Layer", layers, index=len(layers) - 1 if layers else 0, **bound("bn_fig1_layer"))
        unit_ids = sorted(set().union(*(set(u.loc[u["layer"] == layer, "unit"]) for u in units.values() if not u.empty)))
        unit = right.selectbox("Unit", unit_ids, **bound("bn_fig1_unit"))
        bands = cs.unit_percentiles(units, layer, unit)
        show_chart(cached_spec(charts.unit_bands_chart, bands), bands, "bn-fig1-unit", findings.percentile_story(bands))
        show_code(cs.accuracy_curves, cs.unit_percentiles)


def per_layer_drift() -> None:
    """How each layer's input distribution moves during training."""
    fig1 = folders_of(FIG1)
    if len(fig1) < 2:
        missing_runs("bn-fig1-nobn and bn-fig1-bn", preset_command(*FIG1.values()))
    else:
        layer_frame = from_tables(cs.layer_bands, fig1, "activations")
        show_chart(cached_spec(charts.layer_bands_chart, layer_frame), layer_frame, "bn-layer-bands", LOOK["layer_bands"])
        ridge_layers = sorted(layer_frame["layer"].unique())
        ridge_layer = st.selectbox("Ridgeline layer", ridge_layers, index=max(len(ridge_layers) - 1, 0),
                                   **bound("bn_ridge_layer"))
        ridge = from_tables(cs.ridgeline_frame, fig1, "histograms", ridge_layer)
        show_chart(cached_spec(charts.ridgeline_chart, ridge), ridge, "bn-ridgeline", LOOK["ridgeline"])
        drift = from_tables(cs.layer_drift, fig1, "activations")
        measure = st.radio("Drift measure", ["mean_change_in_std", "mean_change", "std_change"], horizontal=True,
                           **bound("bn_drift_measure"), format_func=palette.label)
        show_chart(cached_spec(charts.drift_chart, drift, measure), drift, "bn-drift", LOOK["drift"])
        summary = from_tables(cs.median_drift_summary, fig1, "units")
        st.markdown("**How far the tracked units' medians wander**, in units of their spread "
                    "((q85 - q15) / 2): *net* = end minus start, *path* = the sum of every move.")
        show_table(summary)
        show_code(cs.layer_bands, cs.layer_drift, cs.median_drift, cs.ridgeline_frame)


def what_bn_does() -> None:
    """Santurkar et al.'s tests of the explanation: ICS, smoothness, noisy BN, the landscape."""
    fig1 = folders_of(FIG1)
    st.markdown("ICS of layer i: G = the gradient of the loss wrt W_i; G' = the same gradient on the same batch "
                "after layers 1..i-1 took their step. Smoothness: the loss and the gradient along w - eta g for "
                "step sizes around the learning rate. *Noisy BN* multiplies every activation of every sample after each "
                "BN by its own random scale and adds its own random shift, from a distribution redrawn each step.")
    landscape = {**fig1, **folders_of(NOISY)}
    ics = tables(landscape, "ics")
    if not any(not f.empty for f in ics.values()):
        missing_runs("bn-fig1-nobn, bn-fig1-bn and bn-noisy", preset_command(*FIG1.values(), *NOISY.values()))
    else:
        ics_frame = cs.ics_summary(ics)
        scale = st.radio("ICS as", ["ics_l2", "ics_relative"], horizontal=True, **bound("bn_ics_scale"),
                         format_func=palette.label)
        if scale == "ics_l2":
            show_lesson_chart("bn-ics", "bn")
        else:
            show_chart(cached_spec(charts.ics_chart, ics_frame, scale), ics_frame, "bn-ics-relative", LOOK[scale])
        show_chart(cached_spec(charts.ics_chart, ics_frame, "ics_cos"), ics_frame, "bn-ics-cos", LOOK["ics_cos"])
        show_table(palette.headers(cs.ics_table(ics)))
        shown = show_lesson_chart("bn-smoothness", "bn")
        smooth = shown.data if shown is not None else cs.smoothness_summary(tables(landscape, "smoothness"))
        last = int(smooth["step"].max()) if not smooth.empty else 0
        from_step = st.slider("Compare from step", 0, max(last, 1), last // 2, **bound("bn_smooth_from"))
        show_table(palette.headers(cs.smoothness_table(smooth, from_step).round(3)))
        show_code(cs.ics_summary, cs.smoothness_summary, cs.smoothness_table)
        if "noisy BN" in landscape:
            st.markdown("**Noisy BN**: its units' inputs are shaken every step (the drift table counts it), yet it "
                        "learns like BN.")
            show_lesson_chart("bn-noisy-accuracy", "bn")
            show_table(cs.median_drift_summary(tables(landscape, "units")).round(2))

    effect_sections.landscape_and_deep_linear()


def learning_rates() -> None:
    """The learning rates BN makes usable."""
    lr_runs = sweep_frame(presets.covariate_shift.BN_LR_SWEEP.name, {"lr": "optim.lr", "batchnorm": "model.batchnorm"})
    if lr_runs.empty:
        missing_runs("the bn-lr-sweep sweep", sweep_command(presets.covariate_shift.BN_LR_SWEEP.name))
    else:
        sweep = cs.sweep_outcomes(lr_runs)
        show_lesson_chart("bn-lr-sweep", "bn")
        only_bn = cs.lr_only_bn_trains(sweep)
        st.markdown("Learning rates where BN trains and no BN does not: "
                    + (", ".join(f"**{lr:g}**" for lr in only_bn) if only_bn else "none in these runs") + ".")
        show_table(cs.usable_lr_range(sweep).replace({"batchnorm": charts.PLACEMENT}).rename(columns={"batchnorm": "BN"}))
        show_code(cs.sweep_outcomes, cs.lr_only_bn_trains, cs.usable_lr_range)


def placement_and_modes() -> None:
    """BN before or after the activation; train vs eval mode on the same examples."""
    fig1 = folders_of(FIG1)
    placement = sweep_frame(presets.covariate_shift.BN_PLACEMENT.name, {"variant": "model.batchnorm"})
    if placement.empty:
        missing_runs("the bn-placement sweep", sweep_command(presets.covariate_shift.BN_PLACEMENT.name))
    else:
        curves = cs.accuracy_curves({v: load_table(f, "scalars") for v, f in zip(placement["variant"], placement["folder"])})
        show_chart(cached_spec(charts.accuracy_chart, curves), curves, presets.covariate_shift.BN_PLACEMENT.name, LOOK["placement"])
        render_try_it(try_it.BN_PLACEMENT, "bn-placement")
    bn_folder = fig1.get("BN")
    final = bn_folder / "checkpoints" / "final.pt" if bn_folder else None
    if final is None or not final.exists():
        missing_runs("a finished bn-fig1-bn", preset_command(presets.covariate_shift.BN_FIG1_BN.name))
    else:
        st.markdown("The BN net's final weights on the same test examples: BN normalizing with each batch's own "
                    "statistics (train mode) vs the running averages kept for inference (eval mode).")
        try:
            modes = mode_comparison(str(bn_folder), final.stat().st_mtime_ns)
        except fashion_mnist.DatasetNotFound as err:
            st.info(f"The test images are needed for this comparison: {err}", icon=":material/info:")
        else:
            show_chart(cached_spec(charts.modes_chart, modes), modes, "bn-modes", findings.modes_story(modes))
            show_code(cs.bn_mode_comparison)


st.title("Covariate shift & BatchNorm")
st.markdown(
    "Batch normalization standardizes each unit's input over the mini-batch, then scales and shifts it with "
    "learned gamma and beta. Ioffe & Szegedy motivated it by *internal covariate shift*: a layer's input "
    "distribution moves as earlier layers train. This page reproduces their Figure 1, measures the drift layer "
    "by layer, and then tests the explanation with Santurkar et al.'s measurements.")
st.markdown(f"BN also rescues unscaled inputs: the Keras course's Concrete exercise, on the real data, has its "
            f"own page, [{page_title('keras')}](/{Path(page_path('keras')).stem}).")
sections("section", {"Figure 1": figure1, "Per-layer drift": per_layer_drift,
                        "What BN really does": what_bn_does, "Learning rates": learning_rates,
                        "Placement and modes": placement_and_modes})
