"""Try it: a lesson section's knob trained for real, from the page, in about ten seconds.

A section with a natural knob (the dropout rate, the learning rate, BN on or off) offers a
small variant of its preset (fewer images and epochs) launched as a background job owned by
this browser session (training.jobs, so bounds, slots, owner and read-only rules hold). While
it trains, a fragment redraws the section's chart every REFRESH_S with the run drawn next to
the demo runs as "yours (...)"; the launched folder is added to the sidebar's "Also draw my
runs" choice (MINE_KEY), so once it ends every chart of the lesson draws it the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from cache import store
from runspec import RunSpec, build_spec
from training.presets import Preset, Sweep, core
from training.presets import bias_variance as bv
from training.presets import covariate_shift as cs
from ui import charts, lesson_charts, lesson_view, messages, sources
from ui.lesson_runs import NOT_TRAINING

REFRESH_S = 1.5
ACTIVE = ("queued", "running")
# Small enough to finish in about 10 s on 2 cores (3,000 images, 10 epochs), big enough to show a curve.
# A variant that short is retrained rather than resumed: no checkpoint each epoch.
NO_RESUME = (("checkpoint_every_epoch", False),)
QUICK = {"data.n_train": 3000, "data.n_test": 1000, "epochs": 10, **dict(NO_RESUME)}


@dataclass(frozen=True)
class Knob:
    preset: Preset | Sweep     # a sweep's knob trains one more point of the sweep, under its name
    field: str                 # the dotted spec field the student turns
    label: str
    choices: tuple[Any, ...]
    default: Any
    chart_id: str              # the lesson chart that draws the run live
    quick: tuple[tuple[str, Any], ...] = tuple(QUICK.items())

    def base(self) -> RunSpec:
        if isinstance(self.preset, Sweep):
            return build_spec({"name": self.preset.name, **self.preset.base})
        return self.preset.spec

    def spec(self, value: Any) -> RunSpec:
        return self.base().with_overrides({**dict(self.quick), self.field: value})


def _launched_key(key: str) -> str:
    return f"try-{key}-folder"


def _launch(knob: Knob, key: str) -> None:
    from training import jobs

    if not sources.allowed("train a variant", needs_owner=False):
        return
    value = knob.choices[st.session_state[f"try-{key}-value"]]
    try:
        run_id = jobs.launch(knob.spec(value), cache_dir=sources.user_dir(), owner=sources.session_owner())
    except (jobs.JobError, store.StoreError, ValueError) as err:
        st.toast(f"Cannot train this variant: {err}", icon=":material/error:")
        return
    folder = str(store.run_folder(sources.user_dir(), run_id))
    st.session_state[_launched_key(key)] = folder
    chosen = list(st.session_state.get(sources.MINE_KEY, []))
    if folder not in chosen:
        st.session_state[sources.MINE_KEY] = [folder, *chosen]   # drawn as "yours" on every chart


def _cancel(folder: str) -> None:
    from training import jobs

    status = _status(folder)
    if not sources.allowed("cancel", status):
        return
    try:
        jobs.cancel(Path(folder).name, cache_dir=Path(folder).parent, wait_s=0.0)   # answer now; the job ends itself
        st.toast("Cancelled.", icon=":material/stop_circle:")
    except store.StoreError as err:
        st.toast(f"Cannot cancel: {err}")


def _status(folder: str | None) -> dict | None:
    try:
        return store.read_status(Path(folder)) if folder else None
    except (store.StoreError, OSError):
        return None


def render_try_it(knob: Knob, key: str) -> None:
    """The "train this variant" control and, while the run trains, its live chart."""
    if sources.read_only():
        return
    with st.container(border=True):
        pick, go = st.columns([3, 1], vertical_alignment="bottom")
        pick.select_slider(f"Try it: {knob.label}", range(len(knob.choices)), value=knob.choices.index(knob.default),
                           key=f"try-{key}-value", format_func=lambda i: _shown(knob.choices[i]),
                           help=f"Trains a small variant of {knob.preset.name}{_quick_note(knob)} in the "
                                "background, about 10 s, drawn next to the demo runs.")
        go.button("Train this variant", key=f"try-{key}-go", icon=":material/play_arrow:", on_click=_launch,
                  args=(knob, key), width="stretch")
        folder = st.session_state.get(_launched_key(key))
        status = _status(folder)
        if status is not None:
            _live(knob, key, folder, active=status["state"] in ACTIVE)


def _live(knob: Knob, key: str, folder: str, active: bool) -> None:
    @st.fragment(run_every=REFRESH_S if active else None)
    def live() -> None:
        status = _status(folder) or {}
        state = status.get("state", "?")
        bar, stop = st.columns([5, 1], vertical_alignment="center")
        bar.progress(float(status.get("progress") or 0.0),
                     text=f"yours: {state} · step {status.get('step') or 0}/{status.get('total_steps') or '?'}")
        if state in ACTIVE:
            stop.button("Cancel", key=f"try-{key}-cancel", icon=":material/stop_circle:", on_click=_cancel,
                        args=(folder,))
        mine = (Path(folder), *[f for f in sources.chosen_runs() if str(f) != folder])
        result = lesson_view.rendered(knob.chart_id, sources.lesson_dirs(), mine)
        if isinstance(result, lesson_charts.Missing):
            messages.missing_runs(result.what, result.command)
        else:
            charts.show_chart(result.chart, result.data, key=f"try-{key}-chart", caption=result.caption or None,
                              export=False)
        if active and state not in ACTIVE:
            st.rerun(scope="app")   # it ended: the whole page (and the sidebar's list) picks it up
    live()


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "/".join(_shown(v) for v in value)
    return value if isinstance(value, str) else f"{value:g}"


def _quick_note(knob: Knob) -> str:
    """What the small variant trains differently from the lesson's run (not what it measures)."""
    trained = [(k, v) for k, v in knob.quick if k not in NOT_TRAINING and not k.startswith("probes.")]
    return f" ({', '.join(f'{k} {_shown(v)}' for k, v in trained)})" if trained else " (as the lesson trains it)"


# The knobs the lesson pages offer (one per section with a natural one).
DROPOUT_RATE = Knob(core.D2L_DROPOUT, "model.dropout", "dropout per hidden layer",
                    ((0.0, 0.0), (0.2, 0.5), (0.5, 0.5), (0.8, 0.8)), (0.5, 0.5), "dropout-loss")
BN_QUICK = (("data.n_train", 2000), ("data.n_test", 1000), ("epochs", 2), ("probes.ics", False),
            ("probes.smoothness", False), *NO_RESUME)
BN_LR = Knob(cs.BN_FIG1_BN, "optim.lr", "learning rate of the BN net", (0.05, 0.5, 2.0, 5.0), 2.0, "bn-fig1-accuracy",
             quick=BN_QUICK)
BN_PLACEMENT = Knob(cs.BN_FIG1_BN, "model.batchnorm", "BatchNorm: none, before or after the sigmoid",
                    ("none", "before", "after"), "after", "bn-fig1-accuracy", quick=BN_QUICK)
# The weight-decay and polynomial lessons are tiny already (20 and 100 examples): trained as the lesson does
# (their 100 and 400 epochs), without a checkpoint per epoch.
WEIGHT_DECAY = Knob(core.WEIGHT_DECAY_0, "optim.weight_decay", "weight decay lambda",
                    (0.0, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0), 0.3, "wd-norm", quick=NO_RESUME)
DEGREE = Knob(core.POLYNOMIAL_DEGREE3, "data.degree", "polynomial degree", (1, 2, 3, 4, 6, 10, 19), 6,
              "poly-final-by-degree", quick=NO_RESUME)
# One more width of the noisy random-features sweep (closed form: seconds), drawn on the sweep's curve.
WIDTH = Knob(bv.WIDTH_SWEEP_RF_NOISY, "model.widths", "hidden width (random features)",
             tuple((w,) for w in (62, 125, 250, 400, 500, 600, 1000, 2000, 4000)), (400,), "rf-width-errors", quick=())
KNOBS = {"dropout-rate": DROPOUT_RATE, "bn-lr": BN_LR, "bn-placement": BN_PLACEMENT, "wd-lambda": WEIGHT_DECAY,
         "poly-degree": DEGREE, "rf-width": WIDTH}   # key (as the pages pass it) -> knob
