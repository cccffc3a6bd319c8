"""Dropout: our layer from scratch, the textbook model, its sub-networks, rates and co-adaptation."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
import torch

from analysis import dropout as dp
from analysis import dropout_charts as charts
from analysis import palette
from cache import store
from postprocess import subnetworks
from training import presets
from ui import effect_sections, try_it
from ui.charts import cached_spec, show_chart
from ui.code import show_code
from ui.data import latest_run, load_table, runs_named, spec_value
from ui.lesson_runs import command
from ui.lesson_view import show_lesson_chart
from ui.messages import missing_runs
from ui.tables import show_table
from ui.try_it import render_try_it
from ui.url_state import bound, sections

MODELS = {"dropout": presets.core.D2L_DROPOUT.name, "no dropout": presets.core.D2L_NO_DROPOUT.name}
SAMPLES_KEPT = 5
SAMPLES_KEY, SEED_KEY = "dropout_samples", "dropout_sample_seed"


@st.cache_resource(show_spinner=False, max_entries=8)
def trained_model(folder: str, mtime_ns: int):
    """The run's final weights (read-only use: sampling never changes them)."""
    return store.load_model(Path(folder))


@st.cache_resource(show_spinner=False, max_entries=8)
def test_subset(folder: str, mtime_ns: int):
    return subnetworks.load_test_subset(Path(folder))


def _stamp(folder: Path, name: str) -> int:
    path = folder / "checkpoints" / f"{name}.pt"
    return path.stat().st_mtime_ns if path.exists() else 0


def _postprocess_hint(folder: Path, preset: str) -> None:
    missing_runs(f"the sub-network tables of {preset}", f"python -m training subnetworks {folder.name}")


def textbook_runs() -> dict[str, Path | None]:
    return {label: latest_run(name) for label, name in MODELS.items()}


def layer_from_scratch() -> None:
    """Our dropout layer on the textbook's 2x8 check, and E[h'] = h over many masks."""
    st.markdown("The textbook's check: X = 0..15 as a 2x8 tensor through the layer in training mode. "
                "p = 0 is the identity, p = 1 zeroes everything, p = 0.5 keeps about half and doubles them.")
    show_chart(cached_spec(charts.demo_table_chart, dp.dropout_demo()), pd.DataFrame(
        [{"p": p, "row": r, "col": c, "value": float(t[r, c])} for p, t in dp.dropout_demo().items()
         for r in range(2) for c in range(8)]), "dropout-demo")
    p_check = st.slider("p for the expectation check", 0.0, 0.95, 0.5, 0.05, **bound("dropout_p_check"))
    check = dp.expectation_check(p_check, n_masks=2000)
    show_chart(cached_spec(charts.expectation_chart, check), check, "dropout-expectation",
               "Averaged over 2000 masks, each output sits on the diagonal (E[h'] = h); the bars widen as p grows.")
    show_code(dp.dropout_demo, dp.expectation_check)


def textbook_model() -> None:
    """The textbook's 784-256-256-10 with dropout 0.2 / 0.5 vs none, and a variant to train."""
    st.subheader("The textbook model: 784-256-256-10, dropout 0.2 / 0.5 vs none")
    for chart_id in ("dropout-loss", "dropout-accuracy", "dropout-gap"):
        show_lesson_chart(chart_id, "dropout")
    render_try_it(try_it.DROPOUT_RATE, "dropout-rate")


def one_subnetwork() -> None:
    """One thinned sub-network of the trained model, sampled on demand."""
    folders = textbook_runs()
    dropout_folder = folders["dropout"]
    subset = test_subset(str(dropout_folder), _stamp(dropout_folder, "test_subset")) if dropout_folder else None
    if dropout_folder is None:
        missing_runs(presets.core.D2L_DROPOUT.name, command(presets.core.D2L_DROPOUT.name, sweep=False))
    elif subset is None:
        _postprocess_hint(dropout_folder, presets.core.D2L_DROPOUT.name)
    else:
        model = trained_model(str(dropout_folder), _stamp(dropout_folder, "final"))
        rates, widths = dp.layer_rates(model), dp.layer_widths(model)
        x_sub, y_sub = subset
        stored = st.session_state.get(SAMPLES_KEY)
        if stored and stored[0]["run"] != dropout_folder.name:   # another source was picked: start over
            del st.session_state[SAMPLES_KEY]
        if st.button("Sample a sub-network", icon=":material/casino:", key="dropout_sample") or SAMPLES_KEY not in st.session_state:
            seed = st.session_state.get(SEED_KEY, -1) + 1
            masks = dp.sample_mask(rates, widths, torch.Generator().manual_seed(seed))
            acc = float(dp.accuracy(dp.thinned_forward(model, x_sub, masks), y_sub))
            record = {"run": dropout_folder.name, "sample": seed, "masks": [m.tolist() for m in masks], "accuracy": acc}
            st.session_state[SEED_KEY] = seed
            st.session_state[SAMPLES_KEY] = [record, *st.session_state.get(SAMPLES_KEY, [])][:SAMPLES_KEPT]
        latest = st.session_state[SAMPLES_KEY][0]
        masks = [torch.tensor(m) for m in latest["masks"]]
        full_acc = float(dp.accuracy(dp.weight_scaled_forward(model, x_sub), y_sub))
        kept = ", ".join(f"{int(m.sum())}/{len(m)} units of hidden{i + 1} (p = {p:g})"
                         for i, (m, p) in enumerate(zip(masks, rates)))
        st.markdown(f"**Sub-network #{latest['sample']}** keeps {kept}. Test accuracy on {len(y_sub)} examples: "
                    f"**{latest['accuracy']:.4f}** (the full, weight-scaled network: {full_acc:.4f}).")
        weights, shown = dp.diagram_units(model)
        nodes, edges = charts.network_layout(weights, masks, shown)
        show_chart(cached_spec(charts.subnetwork_chart, nodes, edges, f"Sub-network #{latest['sample']} (a subset of units)"),
                   edges, "dropout-subnetwork",
                   "Hollow units were dropped and lose all their edges; edge width is |weight|.")
        history = pd.DataFrame([{"sample": r["sample"], "test accuracy": r["accuracy"],
                                 **{f"kept hidden{i + 1}": sum(m) for i, m in enumerate(r["masks"])}}
                                for r in st.session_state[SAMPLES_KEY]])
        show_table(history)
        show_code(dp.sample_mask, dp.thinned_forward, dp.weight_scaled_forward)


def many_subnetworks() -> None:
    """Many sampled sub-networks and their Monte-Carlo average vs weight scaling."""
    for chart_id in ("dropout-subnets", "dropout-mc"):
        show_lesson_chart(chart_id, "dropout")


def dropout_rate() -> None:
    """Test error against the drop rate, and lower rates near the input."""
    st.markdown("784-256-256-10 on 2,000 training images for 100 epochs (SGD + momentum), so that the net without "
                "dropout memorises its training set. "
                "Srivastava et al. found test error flat for drop rates of about 0.2-0.6 and underfitting at very "
                "high rates; dropout helped most at intermediate training-set sizes, not at 100-500 examples.")
    show_lesson_chart("dropout-rate-sweep", "dropout")
    layer_sweep = presets.dropout.DROPOUT_LAYER_SWEEP.name
    runs = runs_named(layer_sweep)
    runs = runs[runs["state"] == "finished"] if not runs.empty else runs
    if runs.empty:
        missing_runs(layer_sweep, command(layer_sweep, sweep=True))
    else:
        finals = [(tuple(spec_value(s, "model.dropout_rates")), st_["final"]) for s, st_ in zip(runs["spec"], runs["status"])]
        summary = dp.sweep_summary(finals)
        show_chart(cached_spec(charts.rate_sweep_chart, summary, "label", "rates hidden1/hidden2"), summary, layer_sweep,
                   "Lower rates near the input (left of 0.5/0.5) against the reversed pair 0.5/0.2.")
        show_code(dp.sweep_summary)


def co_adaptation() -> None:
    """Removing units at test time, and the sparsity dropout brings."""
    folders = textbook_runs()
    show_lesson_chart("dropout-removal", "dropout")
    if show_lesson_chart("dropout-sparsity", "dropout") is not None:
        sparsity = pd.concat([load_table(f, "sparsity").assign(model=label) for label, f in folders.items()],
                             ignore_index=True)
        show_table(palette.headers(sparsity))


st.title("Dropout")
st.markdown(
    "Dropout zeroes each hidden unit with probability *p* during training and scales the survivors by "
    "1/(1-p), so every step trains a random **thinned sub-network** and E[h'] = h. At test time dropout is "
    "off: the full network stands in for the average of all the sub-networks.")
sections("section", {"The layer from scratch": layer_from_scratch, "The textbook model": textbook_model,
                             "One sub-network": one_subnetwork, "Many sub-networks": many_subnetworks,
                             "Dropout rate": dropout_rate, "Co-adaptation": co_adaptation,
                             "The paper's autoencoder": effect_sections.autoencoder_sparsity})
