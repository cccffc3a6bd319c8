"""Try it from a lesson page: every knob's small variant is a valid spec within bounds that
changes only its knob (and the small preset's fields); its lesson chart draws a trained run
of it as "yours" next to the demo runs; the Dropout page's "train this variant" launches a
background job owned by the session whose curve grows in over successive live refreshes,
and the Bias-Variance page's weight-decay knob trains one to the end and draws it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from cache import store
from runspec import changed_fields
from runspec.bounds import check_bounds
from training import jobs
from training.runner import execute
from ui import lesson_charts, try_it
from ui.data import spec_value
from ui.sources import MINE_KEY

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "cache" / "demo"
# Each knob's variant cut down further for a test: a few seconds of training at most.
TINY = {"dropout-rate": {"data.n_train": 300, "data.n_test": 100, "epochs": 2},
        "bn-lr": {"data.n_train": 300, "data.n_test": 100, "epochs": 1, "probe_every": 2},
        "bn-placement": {"data.n_train": 300, "data.n_test": 100, "epochs": 1, "probe_every": 2},
        "wd-lambda": {"epochs": 4},
        "poly-degree": {"epochs": 4},
        "rf-width": {"data.n_train": 100, "data.n_test": 100, "probes.eval_max": 100}}
CHART_KEY = "chart-try-dropout-rate-chart"


def yours_points(page: AppTest) -> int:
    """How many data rows of the live chart belong to the student's run."""
    total = 0
    for chart in page.get("vega_lite_chart"):
        for dataset in chart.proto.datasets:   # the chart's data, sent as Arrow next to the spec
            frame = convert_arrow_bytes_to_pandas_df(dataset.data.data)
            text = frame.select_dtypes(include=["object", "string"])
            mine = text.apply(lambda column: column.astype(str).str.startswith("yours")).any(axis=1)
            total = max(total, int(mine.sum()))
    return total


def test_the_quick_variant_is_small_and_changes_only_its_knob():
    spec = try_it.DROPOUT_RATE.spec((0.8, 0.8))
    assert spec.model.dropout == (0.8, 0.8) and spec.epochs == 10 and spec.data.n_train == 3000
    assert spec.run_id != try_it.DROPOUT_RATE.preset.spec.run_id


def launch_from_page(monkeypatch, cache_dir: Path, page_path: str, section: str, key: str) -> tuple[AppTest, Path]:
    """Open the page at the section that offers the knob, press "Train this variant"; the page
    and the launched run's folder."""
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(REPO / "cache" / "demo"))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    st.cache_data.clear()
    page = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    page.query_params["section"] = section
    page = page.switch_page(page_path).run()
    assert not page.exception
    page.button(key=f"try-{key}-go").click().run()
    assert not page.exception
    return page, Path(page.session_state[f"try-{key}-folder"])


def test_a_try_it_run_draws_in_while_it_trains(monkeypatch, cache_dir):
    page, folder = launch_from_page(monkeypatch, cache_dir, "views/dropout.py", "The textbook model", "dropout-rate")
    assert str(folder) in page.session_state[MINE_KEY]           # drawn as "yours" on every chart
    assert store.read_status(folder)["owner"].startswith("app:")  # owned by this session
    # The section alone, as its live fragment redraws it (AppTest has no timer: each run is one refresh).
    section = AppTest.from_function(_try_it_section, default_timeout=60)
    section.session_state["try-dropout-rate-folder"] = str(folder)
    seen, deadline = [], time.time() + 120
    while time.time() < deadline:
        section.run()
        assert not section.exception
        state = store.read_status(folder)["state"]
        seen.append((state, yours_points(section)))
        if state not in try_it.ACTIVE:
            break
        time.sleep(0.3)
    growing = [n for state, n in seen if state == "running" and n > 0]
    assert len(set(growing)) >= 2, seen     # the curve grew across at least two refreshes while it trained
    section.run()                           # the refresh after it ended (the last one may have drawn before)
    seen.append((store.read_status(folder)["state"], yours_points(section)))
    assert seen[-1][0] == "finished" and seen[-1][1] >= max(growing), seen


def _try_it_section():
    from ui import try_it
    try_it.render_try_it(try_it.DROPOUT_RATE, "dropout-rate")


def test_every_knob_is_declared_once_and_its_chart_is_a_lesson_chart():
    assert set(try_it.KNOBS) == set(TINY)
    assert len({id(knob) for knob in try_it.KNOBS.values()}) == len(try_it.KNOBS)
    for key, knob in try_it.KNOBS.items():
        assert knob.chart_id in lesson_charts.CHARTS, key
        assert knob.default in knob.choices and len(knob.choices) >= 3, key


@pytest.mark.parametrize("key", sorted(TINY))
def test_each_variant_is_valid_small_and_changes_only_its_knob(key):
    knob = try_it.KNOBS[key]
    allowed = {knob.field, *(field for field, _ in knob.quick)}
    for value in knob.choices:
        spec = knob.spec(value)
        check_bounds(spec)                                  # raises on a spec too big for a teaching machine
        jobs.check_memory(spec, slots=2)
        assert spec.name == knob.preset.name and spec_value(spec, knob.field) == value   # found as the lesson's run
        assert set(changed_fields(knob.base(), spec)) <= allowed, (key, value)
        assert not spec.checkpoint_every_epoch               # a 10 s variant is retrained, not resumed


def _base_value(knob):
    return spec_value(knob.base(), knob.field)


@pytest.mark.parametrize("key", sorted(TINY))
def test_each_knobs_chart_draws_a_trained_variant_as_yours(key, tmp_path):
    knob = try_it.KNOBS[key]
    value = next(v for v in knob.choices if v != _base_value(knob))
    spec = knob.spec(value).with_overrides(TINY[key])
    folder = store.create_run_folder(tmp_path, spec)
    assert execute(spec, folder)["state"] == "finished"
    shown = lesson_charts.render(knob.chart_id, [DEMO], [folder])
    assert isinstance(shown, lesson_charts.Shown), shown
    label = f"yours ({knob.preset.name}: "
    assert label in shown.data.to_json(), (key, shown.data.head())
    assert label in str(shown.chart.to_dict()), key          # drawn, not only listed
    demo = lesson_charts.render(knob.chart_id, [DEMO])
    assert len(shown.data) > len(demo.data)                 # the demo runs stay, the student's come on top


def test_the_weight_decay_knob_trains_from_the_bias_variance_page(monkeypatch, cache_dir):
    page, folder = launch_from_page(monkeypatch, cache_dir, "views/bias_variance.py", "Weight decay", "wd-lambda")
    spec = store.read_spec(folder)
    assert spec.name == "weight-decay-0" and spec.optim.weight_decay == try_it.WEIGHT_DECAY.default
    assert store.read_status(folder)["owner"].startswith("app:")
    deadline = time.time() + 120
    while store.read_status(folder)["state"] in try_it.ACTIVE and time.time() < deadline:
        time.sleep(0.3)
    assert store.read_status(folder)["state"] == "finished"
    section = AppTest.from_function(_knob_section, args=("wd-lambda",), default_timeout=60)
    section.session_state["try-wd-lambda-folder"] = str(folder)
    section.run()
    assert not section.exception
    assert yours_points(section) > 0                         # the finished run is drawn in the section's chart


def _knob_section(key):
    from ui import try_it
    try_it.render_try_it(try_it.KNOBS[key], key)


def test_cancel_answers_at_once_and_the_job_ends_cancelled(monkeypatch, cache_dir):
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(DEMO))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    section = AppTest.from_function(_knob_section, args=("bn-placement",), default_timeout=60).run()
    section.button(key="try-bn-placement-go").click().run()
    assert not section.exception
    folder = Path(section.session_state["try-bn-placement-folder"])
    assert store.read_spec(folder).model.batchnorm == try_it.BN_PLACEMENT.default
    deadline = time.time() + 60
    while store.read_status(folder)["state"] != "running" and time.time() < deadline:
        time.sleep(0.1)
    section.run()
    start = time.perf_counter()
    section.button(key="try-bn-placement-cancel").click().run()
    answered = time.perf_counter() - start
    assert not section.exception
    assert any(toast.value == "Cancelled." for toast in section.toast), [t.value for t in section.toast]
    assert answered < 5, answered          # the click's rerun (chart included) does not wait for the job to end
    deadline = time.time() + 30
    while store.read_status(folder)["state"] in try_it.ACTIVE and time.time() < deadline:
        time.sleep(0.1)
    assert store.read_status(folder)["state"] == "cancelled"
