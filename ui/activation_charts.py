"""Lesson chart builders for the Activations page: the activation functions and their
derivatives (pReLU at the slope the deep pReLU net learned), inside deep nets (gradient norms,
dead and saturated units), and the textbook MLP written twice, from scratch and as
nn.Sequential. Every number in a caption is read from the runs at render time;
ui/lesson_charts.py registers them.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis import activations as act
from analysis import activations_charts as actc
from cache import store
from postprocess.scratch_mlp import TABLE as VERSIONS_TABLE
from training.presets import activations as presets
from training.presets import core
from ui import data
from ui.lesson_runs import Absent, Shown, labelled, run_folders

DEEP_NETS = {   # legend label -> preset (training/presets/activations.py)
    "sigmoid": presets.DEEP_SIGMOID.name,
    "tanh": presets.DEEP_TANH.name,
    "relu": presets.DEEP_RELU.name,
    "sigmoid + BN": presets.DEEP_SIGMOID_BN.name,
    f"relu, lr {presets.HIGH_LR:g}": presets.DEEP_RELU_HIGH_LR.name,
    f"relu, lr {presets.HIGH_LR:g} + BN": presets.DEEP_RELU_HIGH_LR_BN.name,
}
PRELU = presets.DEEP_PRELU.name
MLP = core.D2L_MLP.name


def learned_slopes(dirs: Sequence[Path]) -> pd.DataFrame:
    """The deep pReLU net's slope per hidden layer, from its final checkpoint; or Absent."""
    folder = run_folders([PRELU], dirs)[PRELU]
    checkpoint = store.load_checkpoint(folder, "final")
    if checkpoint is None:
        raise Absent([PRELU])
    return act.prelu_slopes(checkpoint["model"])


def activation_derivatives(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    """pReLU at the mean learned slope of the deep pReLU net; at its initial slope, said so, without that run."""
    try:
        slopes = learned_slopes(dirs)
        slope = float(slopes["slope"].mean())
        where = (f"pReLU is drawn at a = {slope:.3f}, the mean slope the {PRELU} net learned over its "
                 f"{slopes['layer'].nunique()} hidden layers, from a start at {act.PRELU_INITIAL:g}.")
    except Absent:
        slope = act.PRELU_INITIAL
        where = (f"pReLU is drawn at its initial slope a = {slope:g}: train preset {PRELU} "
                 f"(python -m training run --preset {PRELU}) to draw the slope it learns.")
    frame = act.curves(prelu_slope=slope)
    return Shown(actc.derivative_chart(frame), frame,
                 f"{act.derivative_story(frame)} {where} Derivatives by autograd through the lab's own layers.")


def prelu_slopes(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    slopes = learned_slopes(dirs)
    return Shown(actc.slope_chart(slopes, act.PRELU_INITIAL), slopes,
                 f"{act.slope_story(slopes)} Read from the {PRELU} run's final checkpoint; dotted: the initial "
                 f"slope. The net is the ReLU net of the charts below with a learned slope for x < 0.")


def deep_grad_norms(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    tables = labelled(DEEP_NETS, "weights", dirs, mine)
    frame = pd.concat([act.grad_norms(t).assign(net=label) for label, t in tables.items()], ignore_index=True)
    ratio = {net: g.iloc[0]["grad_norm"] / g.iloc[-2]["grad_norm"] for net, g in frame.groupby("net", sort=False)}
    caption = ("First layer's gradient norm over the last hidden layer's, at the first probe step: " +
               "; ".join(f"{net}: {r:.2g}" for net, r in ratio.items()) + ".")
    return Shown(actc.grad_norm_chart(frame), frame, caption)


def deep_dead_units(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    tables = labelled(DEEP_NETS, "activations", dirs, mine)
    rows = []
    for label, table in tables.items():
        states = act.final_states(table)
        measure = "zero" if "relu" in label else "saturated"
        rows.append(states.assign(net=label, measure=measure, fraction=states[measure]))
    frame = pd.concat(rows, ignore_index=True)[["net", "layer", "measure", "fraction"]]
    mean = frame.groupby("net", sort=False)["fraction"].mean()
    caption = ("Mean over the hidden layers at the end: " +
               "; ".join(f"{net}: {v:.0%} {frame[frame['net'] == net]['measure'].iloc[0]}" for net, v in mean.items())
               + ".")
    return Shown(actc.unit_state_chart(frame), frame, caption)


def scratch_vs_concise(dirs: Sequence[Path], mine: Sequence[Path] = ()) -> Shown:
    """The d2l-mlp run's stored table: both textbook listings, same init, same batches."""
    folder = run_folders([MLP], dirs)[MLP]
    table = data.load_table(folder, VERSIONS_TABLE)
    if table.empty:
        raise Absent([MLP], postprocess=f"python -m training --cache-dir {folder.parent} postprocess {folder.name} --again")
    spec = store.read_spec(folder)
    frame = act.version_curves(table)
    steps = store.read_status(folder).get("total_steps")   # the lab's run of the same spec: the same batches
    return Shown(actc.versions_chart(frame), frame,
                 f"{act.version_story(table)} Both start from the same N(0, {spec.model.init_std:g}²) weights "
                 f"and see the same {spec.batch_size}-image batches at lr {spec.optim.lr:g}"
                 + (f", {steps:,} steps" if steps else "") + "; dashed: training, solid: test.")


CHARTS = {
    "activation-derivatives": (activation_derivatives, (act.value_and_derivative, act.curves, act.prelu_slopes,
                                                        actc.derivative_chart)),
    "prelu-slopes": (prelu_slopes, (act.prelu_slopes, act.slope_story, actc.slope_chart)),
    "deep-grad-norms": (deep_grad_norms, (act.grad_norms, actc.grad_norm_chart)),
    "deep-dead-units": (deep_dead_units, (act.unit_states, act.final_states, actc.unit_state_chart)),
    "mlp-scratch-vs-concise": (scratch_vs_concise, (act.version_curves, act.version_story, actc.versions_chart)),
}
