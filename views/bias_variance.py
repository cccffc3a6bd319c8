"""Bias-variance: polynomial fits, the measured decomposition, weight decay, double descent."""
from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from analysis import bias_variance as bv
from analysis import bias_variance_charts as charts
from analysis import bias_variance_runs as bvr
from analysis import findings, palette
from cache import store
from training import presets
from training.datasets import load_dataset
from ui import effect_sections, lesson_charts
from ui.charts import cached_spec, show_chart
from ui.code import show_code
from ui.data import fingerprint, latest_run, load_table, runs_named, spec_value
from ui.lesson_runs import command
from ui.lesson_view import show_lesson_chart
from ui.messages import diverged_run, missing_runs
from ui.tables import show_table
from ui.try_it import DEGREE, WEIGHT_DECAY, WIDTH, render_try_it
from ui.url_state import bound, sections

TEXTBOOK = {"degree 3: a good fit": presets.core.POLYNOMIAL_DEGREE3.name, "degree 1: underfitting": presets.core.POLYNOMIAL_DEGREE1.name,
            "degree 19: 20 features": presets.core.POLYNOMIAL_DEGREE19.name}
CUSTOM = "any degree and size (closed form)"
PUBLISHED_NORMS = {0.0: {"D2L from scratch": 13.52, "D2L concise": 14.19},
                   3.0: {"D2L from scratch": 0.350, "D2L concise": 0.440}}
WIDTH_SWEEPS = {presets.bias_variance.WIDTH_SWEEP.name: "0% label noise", presets.bias_variance.WIDTH_SWEEP_NOISY.name: "20% label noise",
                presets.bias_variance.WIDTH_SWEEP_NOISY_DROPOUT.name: "20% + dropout 0.5", presets.bias_variance.WIDTH_SWEEP_NOISY_WD.name: "20% + weight decay 5e-4"}
RF_SWEEPS = {presets.bias_variance.WIDTH_SWEEP_RF.name: "0% label noise", presets.bias_variance.WIDTH_SWEEP_RF_NOISY.name: "20% label noise"}
X_GRID = np.linspace(-3.0, 3.0, 241)


def sweep_command(name: str) -> str:
    return f"python -m training sweep --sweep {name}\npython -m training predictions --name {name}"


def decomposed_sweep(name: str, knobs: dict[str, str]) -> pd.DataFrame:
    """The stored decompositions of a sweep's finished runs, one column per knob (dotted spec field)."""
    runs = runs_named(name)
    runs = runs[runs["state"] == "finished"] if not runs.empty else runs
    # Keyed on each run's (state, rows logged): a rerun of the page reuses the summary.
    key = tuple((str(folder), fingerprint(folder)) for folder in runs["folder"]) if not runs.empty else ()
    return _decomposed(tuple(knobs.items()), key)


@st.cache_data(show_spinner=False, max_entries=64)
def _decomposed(knobs: tuple[tuple[str, str], ...], runs_key: tuple) -> pd.DataFrame:
    points = []
    for folder, _ in runs_key:
        spec = store.read_spec(Path(folder))
        values = {k: spec_value(spec, field) for k, field in knobs}
        values = {k: v[0] if isinstance(v, tuple) else v for k, v in values.items()}
        points.append((values, load_table(folder, "bias_variance")))
    return bvr.sweep_summary(points)


# ---------------------------------------------------------------- 1. polynomial fits

def textbook_fit(name: str) -> None:
    folder = latest_run(name)
    if folder is None:
        missing_runs(f"preset {name}", command(name, sweep=False))
        return
    spec, status = store.read_spec(Path(folder)), store.read_status(Path(folder))
    if status["state"] == "diverged":
        diverged_run(name, status)
    weights = _learned_weights(Path(folder))
    if weights is None:
        st.info(f"{name} has no final weights (state: {status['state']}); its loss curves follow.")
    else:
        data = load_dataset(spec.data)
        curves = pd.concat([pd.DataFrame({"x": X_GRID, "curve": "true", "y": bv.true_polynomial(X_GRID)}),
                            pd.DataFrame({"x": X_GRID, "curve": f"SGD fit, degree {spec.data.degree}",
                                          "y": bv.polynomial_features(X_GRID, spec.data.degree) @ weights})])
        points = bvr.fit_points(data.x_train_1d, data.y_train, data.x_test_1d, data.y_test)
        show_fit(curves, points, weights, f"fit-{name}", findings.fit_story(status.get("final") or {}))
    degree = {name: d for d, name in lesson_charts.POLY_PRESETS.items()}[name]   # the preset's, not the run's
    show_lesson_chart(f"poly-loss-degree{degree}", "bv")   # the walkthrough's chart for this preset
    render_try_it(DEGREE, "poly-degree")


def _learned_weights(folder: Path) -> np.ndarray | None:
    """Member 0's fitted weights: the stored table, else the final checkpoint, else None."""
    table = load_table(folder, "learned_weights")
    if not table.empty:
        return table[table["member"] == 0].sort_values("feature")["value"].to_numpy()
    final = store.load_checkpoint(folder, "final")
    return None if final is None else final["model"]["output.weight"][0, 0].double().numpy()


def show_fit(curves: pd.DataFrame, points: pd.DataFrame, weights: np.ndarray, key: str, measured: str = "") -> None:
    show_chart(cached_spec(charts.polynomial_fit_chart, curves, points), curves, key,
               caption=f"Look at the fit between and beyond the training points, not on them. {measured}".strip())
    show_code(charts.polynomial_fit_chart, bv.polynomial_features, bv.true_polynomial)
    show_chart(cached_spec(charts.weights_vs_truth_chart, weights, bv.TRUE_POLY_WEIGHTS),
               pd.DataFrame({"learned": weights}), f"{key}-weights",
               caption="Look at the weights beyond index 3: the truth has none there.")
    show_code(charts.weights_vs_truth_chart)


def custom_fit() -> None:
    left, middle, right = st.columns(3)
    degree = left.slider("degree", 1, 20, 3, **bound("bv_degree"))
    n_train = middle.number_input("training points", 1, 1000, 100, **bound("bv_n_train"))
    noise = right.select_slider("noise sd", [0.01, 0.1, 0.5, 1.0], 0.1, **bound("bv_noise"))
    rng = np.random.default_rng(0)
    x, y = bvr.draw_polynomial_data(int(n_train), noise, rng)
    xt, yt = bvr.draw_polynomial_data(100, noise, rng)
    fit = bvr.closed_form_polynomial_fit(x, y, degree, xt, yt)
    if fit["underdetermined"]:
        st.warning(f"n_train = {n_train} is smaller than the {degree + 1} features (degree {degree} + the "
                   "constant): least squares has infinitely many exact fits. Shown is the minimum-norm one, "
                   "which passes through every training point; its test error says nothing good.")
    st.caption(f"Closed-form least squares computed in the page (not an SGD run): train MSE "
               f"{fit['train_mse']:.4g}, test MSE {fit['test_mse']:.4g}.")
    curves = pd.concat([pd.DataFrame({"x": X_GRID, "curve": "true", "y": bv.true_polynomial(X_GRID)}),
                        pd.DataFrame({"x": X_GRID, "curve": f"least squares, degree {degree}",
                                      "y": bv.polynomial_features(X_GRID, degree) @ fit["weights"]})])
    show_fit(curves, bvr.fit_points(x, y, xt, yt), fit["weights"], "fit-custom")
    show_code(bvr.closed_form_polynomial_fit, bv.ridge_fit)


# ---------------------------------------------------------------- 2. capacity sweep

def capacity_sweep() -> None:
    name = presets.bias_variance.POLY_DEGREE_SWEEP.name
    summary = decomposed_sweep(name, {"degree": "data.degree", "n_train": "data.n_train",
                                      "noise": "data.noise_std", "members": "ensemble"})
    if summary.empty:
        missing_runs(f"sweep {name} (with its decompositions)", sweep_command(name))
    else:
        summary = summary.assign(per_member=summary["n_train"] // summary["members"])
        left, right = st.columns(2)
        per = left.radio("training points per set", sorted(summary["per_member"].unique(), reverse=True),
                         horizontal=True, **bound("bv_per_member"))
        noise = right.radio("noise sd", sorted(summary["noise"].unique()), horizontal=True, **bound("bv_sweep_noise"))
        part = summary[(summary["per_member"] == per) & (summary["noise"] == noise)]
        st.caption(f"{int(part['members'].iloc[0])} least-squares fits per degree, each on its own "
                   f"{per}-point training set, scored on the same 500 test inputs.")
        show_degree_sweep(part, "degree-sweep")
    closed_form_sweep()


def show_degree_sweep(part: pd.DataFrame, key: str) -> None:
    curve = bvr.train_test_frame(part, "degree", "train_loss", "test_loss")
    show_chart(cached_spec(charts.train_test_curve_chart, curve, "degree"), curve, f"{key}-u",
               caption=findings.u_shape(curve, "degree"))
    show_code(bvr.train_test_frame)
    comps = bvr.components_frame(part, "degree", "classical")
    total = bvr.total_frame(part, "degree", "classical", "measured_test_mse")
    cap = 1.5 * float(total[total["degree"] <= 3]["value"].max())
    show_chart(cached_spec(charts.stacked_decomposition_chart, comps, "degree", total, y_max=cap), comps, f"{key}-stack",
               caption=f"Look at the black line riding on the stack; the axis is cut at {cap:.3g}, above which "
                       "the variance runs off the chart.")
    show_code(bvr.decompose_run, bv.regression_decomposition)
    show_chart(cached_spec(charts.components_log_chart, comps, "degree", total), comps, f"{key}-log",
               caption=findings.capacity_story(comps, total) + " Gaps in the bias^2 line are estimates <= 0 "
                       "(zero within sampling error), which a log axis cannot draw.")
    show_code(charts.components_log_chart)


def closed_form_sweep() -> None:
    with st.expander("Try other sizes in closed form (computed in the page)"):
        left, right = st.columns(2)
        members = left.number_input("training sets K", 1, 200, 30, **bound("bv_cf_members"))
        n_train = right.number_input("points per set", 2, 500, 30, **bound("bv_cf_n"))
        if members < 2:
            st.error("K = 1: one training set gives one fit, and the variance over training sets needs at "
                     "least two of them. Pick K >= 2.")
            return
        x_test = np.random.default_rng(7).normal(0, 1, 200)
        results = bvr.closed_form_degree_sweep(range(1, 13), int(n_train), 0.1, int(members), x_test)
        comps = bv.decomposition_table(results, "degree")
        total = bv.error_table(results, "degree").query("metric == 'measured_test_mse'")
        show_chart(cached_spec(charts.components_log_chart, comps, "degree", total), comps, "degree-closed-form",
                   caption="Look at where the variance takes off: fewer points per set, lower degree.")
        show_code(bvr.closed_form_degree_sweep)


# ---------------------------------------------------------------- 3. weight decay

def weight_decay() -> None:
    runs = runs_named(presets.bias_variance.WEIGHT_DECAY_SWEEP.name)
    runs = runs[runs["state"] == "finished"] if not runs.empty else runs
    if runs.empty:
        missing_runs(f"sweep {presets.bias_variance.WEIGHT_DECAY_SWEEP.name}",
                     command(presets.bias_variance.WEIGHT_DECAY_SWEEP.name, sweep=True))
        return
    show_lesson_chart("wd-lambda-loss", "bv")
    shown = show_lesson_chart("wd-lambda-norm", "bv")
    if shown is None:
        return
    norm = shown.data
    published = pd.DataFrame([{"lambda": lam, "source": src, "norm": val}
                              for lam, by in PUBLISHED_NORMS.items() for src, val in by.items()])
    ours = norm[norm["lambda"].isin(PUBLISHED_NORMS)][["lambda", "value"]].rename(columns={"value": "norm"})
    table = pd.concat([ours.assign(source="this lab (mean of members)"), published])
    ratio = "; ".join(f"{src}: {by[0.0]:.3g} -> {by[3.0]:.3g}" for src, by in bvr.norms_by_source(table).items())
    show_chart(cached_spec(charts.published_norms_chart, table), table, "wd-published",
               caption=f"Look at the drop from lambda 0 to 3 in each source ({ratio}).")
    show_code(charts.published_norms_chart)
    render_try_it(WEIGHT_DECAY, "wd-lambda")


# ---------------------------------------------------------------- 4. neural networks

def width_sweeps() -> pd.DataFrame:
    frames = [decomposed_sweep(name, {"width": "model.widths"}).assign(variant=label)
              for name, label in WIDTH_SWEEPS.items()]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def neural_networks() -> None:
    summary = width_sweeps()
    if summary.empty or "20% label noise" not in set(summary["variant"]):
        missing_runs("sweeps width-sweep and width-sweep-noisy (with their decompositions)",
                     sweep_command(presets.bias_variance.WIDTH_SWEEP.name) + "\n" + sweep_command(presets.bias_variance.WIDTH_SWEEP_NOISY.name))
        if summary.empty:
            return
    errors = bvr.estimator_by_variant(summary, "scores", ["train_error", "test_error"])
    errors["series"] = errors["quantity"].map({"train_error": "train error", "test_error": "test error"})
    show_chart(cached_spec(charts.width_chart, errors, "error (1 - accuracy)", "Train and test error vs width"), errors,
               "width-errors", caption=findings.threshold_story(errors) + " A double-descent peak would sit "
                                       "where the training error first reaches zero.")
    show_code(bvr.decompose_run, bvr.classification_errors)
    report_peak(errors)
    for estimator, title in (("yang-mse", "MSE"), ("yang-ce", "cross-entropy")):
        comps = bvr.estimator_by_variant(summary, estimator, ["bias2", "variance"])
        comps["series"] = comps["quantity"].map({"bias2": "bias^2", "variance": "variance"})
        show_chart(cached_spec(charts.width_chart, comps, title, f"Bias^2 and variance vs width ({title}, Yang et al.)"),
                   comps, f"width-{estimator}",
                   caption="Look at the shapes: bias^2 falls with width, variance rises then falls (a bell), "
                           "and label noise lifts the variance.")
        show_code(bv.yang_mse_decomposition if estimator == "yang-mse" else bv.yang_ce_decomposition)
    inspect_width(summary)


def report_peak(errors: pd.DataFrame) -> None:
    noisy = errors[(errors["variant"] == "20% label noise") & (errors["series"] == "test error")]
    try:
        peak = bvr.peak_vs_neighbours(noisy, "width")
    except ValueError as err:
        st.caption(f"No peak check: {err}")
        return
    verdict = "a double-descent peak" if peak["is_peak"] else "not a peak: a neighbour is higher"
    st.caption(f"20% noise: the highest test error with neighbours at /4 and x4 is at width {peak['width']:g} "
               f"({peak['value']:.3f}) vs {peak['left']:.3f} at width {peak['left_knob']:g} and "
               f"{peak['right']:.3f} at width {peak['right_knob']:g}: {verdict}.")
    show_code(bvr.peak_vs_neighbours)


def inspect_width(summary: pd.DataFrame) -> None:
    width = st.number_input("Look up one width", min_value=0, max_value=4096, value=8, **bound("bv_width"))
    if width == 0:
        st.error("A width of 0 leaves no hidden unit, so nothing connects the input to the output (the spec "
                 "refuses model.widths=[0]). For a model without a hidden layer use model.kind = linear.")
        return
    rows = summary[summary["width"] == width]
    if rows.empty:
        st.info(f"No run at width {width}; the sweeps have widths "
                f"{', '.join(f'{w:g}' for w in sorted(summary['width'].unique()))}.")
        return
    rows = rows.assign(estimator=rows["estimator"].map(palette.label), quantity=rows["quantity"].map(palette.label))
    show_table(rows.pivot_table(index=["estimator", "quantity"], columns="variant", values="value"), hide_index=False)


def random_features() -> None:
    """Random ReLU features + minimum-norm least squares: the closed-form double descent."""
    frames = [decomposed_sweep(name, {"width": "model.widths"}).assign(variant=label)
              for name, label in RF_SWEEPS.items()]
    frames = [f for f in frames if not f.empty]
    if not frames:
        missing_runs("sweeps width-sweep-rf and width-sweep-rf-noisy (closed form: seconds)",
                     "\n".join(sweep_command(name) for name in RF_SWEEPS))
        return
    summary = pd.concat(frames, ignore_index=True)
    spec = next(s for name in RF_SWEEPS for s in runs_named(name).get("spec", []))
    per_member = spec.data.n_train // spec.ensemble
    rule = alt.Chart(pd.DataFrame({"width": [per_member]})).mark_rule(
        strokeDash=palette.DOTTED, color=palette.REFERENCE, strokeWidth=1.5).encode(
        x="width:Q", tooltip=[alt.Tooltip("width:Q", title="interpolation threshold")])
    errors = bvr.estimator_by_variant(summary, "scores", ["train_error", "test_error"])
    errors["series"] = errors["quantity"].map({"train_error": "train error", "test_error": "test error"})
    show_chart(charts.width_chart(errors, "error (1 - accuracy)", "Random features: train and test error vs width")
               + rule, errors, "rf-errors",
               caption=f"The dotted rule: width = {per_member} = training images per model. "
                       + findings.threshold_story(errors))
    show_code(bvr.decompose_run, bvr.classification_errors)
    peaks = bvr.peak_table(errors)
    if peaks.empty:
        st.caption("No peak check: no width has neighbours at /4 and x4 in these sweeps.")
    else:
        show_table(peaks)
    estimator = "yang-mse-raw" if "yang-mse-raw" in set(summary["estimator"]) else "yang-mse"
    comps = bvr.estimator_by_variant(summary, estimator, ["bias2", "variance"])
    comps["series"] = comps["quantity"].map({"bias2": "bias^2", "variance": "variance"})
    chart = charts.rf_decomposition_chart(comps, per_member, "Random features: bias^2 and variance vs width (Yang et al.)")
    show_chart(chart, comps, "rf-decomposition",
               caption=findings.variance_story(comps) + " At the threshold the fit is forced through every "
                       "(noisy) label with a huge-norm solution.")
    show_code(bv.yang_mse_decomposition)
    render_try_it(WIDTH, "rf-width")


# ---------------------------------------------------------------- the page

st.title("Bias-Variance")
st.markdown("Test error = bias^2 + variance + noise, **measured**: every decomposition below comes from "
            "models trained on independent training sets and scored on the same test inputs.")
def polynomial_fits() -> None:
    """The textbook's three fits, or any degree and size in closed form."""
    case = st.radio("Case", [*TEXTBOOK, CUSTOM], horizontal=True, **bound("bv_case"))
    if case == CUSTOM:
        custom_fit()
    else:
        textbook_fit(TEXTBOOK[case])


def networks() -> None:
    """Bias and variance of trained networks, and the second descent."""
    def sgd_trained() -> None:
        neural_networks()
        effect_sections.yang_setup()

    sections("nn_section", {"SGD-trained MLP": sgd_trained, "Random features: double descent": random_features,
                           "Trained to interpolation": effect_sections.double_descent})


sections("section", {"Polynomial fits": polynomial_fits, "Capacity sweep": capacity_sweep,
                    "Weight decay": weight_decay, "Neural networks": networks})
