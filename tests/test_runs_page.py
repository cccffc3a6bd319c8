"""The Runs page through AppTest (table, compare views, launch form, live jobs, manage,
read-only, broken folders) and the pure comparison frames behind its charts."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analysis import compare
from cache import store
from ui import data
from ui.run_compare import BANDS, CURVES, GAP, HISTOGRAMS, WEIGHTS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CHART = "vega_lite_chart"


def open_runs_page(monkeypatch, demo: Path, mine: Path, read_only: bool = False, owner: bool = True) -> AppTest:
    """The Runs page; in owner mode by default (it manages runs this test made by hand),
    tests/test_hardening_app.py covers the other one."""
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(demo))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(mine))
    monkeypatch.setenv("REGLAB_SLOTS", "1")
    if owner:
        monkeypatch.setenv("REGLAB_OWNER", "1")
    else:
        monkeypatch.delenv("REGLAB_OWNER", raising=False)
    if read_only:
        monkeypatch.setenv("REGLAB_READ_ONLY", "1")
    else:
        monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    # switching before the first run renders the Runs page directly (pages keep their file names)
    return AppTest.from_file(APP, default_timeout=60).switch_page("views/runs.py").run()


@pytest.fixture
def page(monkeypatch, app_demo_cache, cache_dir) -> AppTest:
    return open_runs_page(monkeypatch, app_demo_cache, cache_dir)


def demo_folder(demo: Path, name: str) -> Path:
    return data.runs_named(name, [demo]).iloc[0]["folder"]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def opened_exports(page: AppTest) -> AppTest:
    """The page with every chart's Export expander opened (its buttons are drawn only then)."""
    for box in page.expander:
        if box.label == "Export":
            page.session_state[box.key] = True
    return page.run()


def open_view(page: AppTest, label: str) -> AppTest:
    """Open one of the views below the table (Compare, Sweeps, One run), as its tab or a link does."""
    page.query_params["runs_view"] = label
    return page.run()


# ---------------------------------------------------------------- table and compare

def test_table_lists_every_run_with_spec_fields_state_and_final_metrics(page):
    assert not page.exception
    table = page.dataframe[0].value
    assert sorted(table["name"]) == ["d2l-dropout", "d2l-mlp", "polynomial-degree19", "polynomial-degree3"]
    row = table.set_index("name").loc["d2l-dropout"]
    assert row["widths"] == "16-8" and row["dropout"] == "0.2-0.5" and row["state"] == "finished"
    assert row["progress"] == 1.0 and 0.0 <= row["test_accuracy"] <= 1.0
    assert table.set_index("name").loc["polynomial-degree3", "state"] == "diverged"


def test_table_filters_by_name_and_state(page):
    page.multiselect(key="runs_states").set_value(["diverged"]).run()
    assert list(page.dataframe[0].value["name"]) == ["polynomial-degree3"]
    page.multiselect(key="runs_states").set_value([]).run()
    page.text_input(key="runs_search").input("d2l").run()
    assert sorted(page.dataframe[0].value["name"]) == ["d2l-dropout", "d2l-mlp"]


@pytest.mark.parametrize("view, charts", [(CURVES, 2), (GAP, 1), (WEIGHTS, 1), (BANDS, 1), (HISTOGRAMS, 1)])
def test_each_compare_view_draws_its_charts(page, view, charts):
    picked = page.multiselect(key="compare_runs").value
    # by default: finished runs on the first one's dataset (the two Fashion-MNIST MLPs)
    assert [p.split(" · ")[0] for p in picked] == ["d2l-dropout", "d2l-mlp"]
    page.session_state["compare_view"] = view
    page.run()
    assert not page.exception
    assert len(page.get(CHART)) == charts
    exports = {b.label for b in opened_exports(page).get("download_button")}
    assert {"Data (CSV)", "Chart (PNG)", "Chart (SVG)"} <= exports


def test_compare_on_epochs_and_post_activations(page):
    page.radio(key="compare_align").set_value("epoch").run()
    page.radio(key="compare_site").set_value("post")
    page.session_state["compare_view"] = BANDS
    page.run()
    assert not page.exception and len(page.get(CHART)) == 1


# ---------------------------------------------------------------- broken runs

def test_diverged_run_is_explained_not_a_traceback(page):
    label = next(o for o in page.multiselect(key="compare_runs").options if "polynomial-degree3" in o)
    page.multiselect(key="compare_runs").set_value([label]).run()
    assert not page.exception
    assert "diverged at step" in texts(page.warning)
    assert len(page.get(CHART)) == 1   # its loss curve up to the step it blew up (no accuracy: regression)
    manage = open_view(page, "One run").selectbox(key="manage_run")
    manage.set_value(next(o for o in manage.options if "diverged" in o)).run()
    assert "smaller learning rate" in texts(page.warning)


def test_corrupt_folders_are_listed_by_name_and_the_rest_still_works(page, app_demo_cache, cache_dir):
    source = demo_folder(app_demo_cache, "d2l-mlp")
    garbage_status = cache_dir / "aaaaaaaaaaaa"
    shutil.copytree(source, garbage_status)
    (garbage_status / "status.json").write_text("{not json")
    no_spec = cache_dir / "bbbbbbbbbbbb"
    no_spec.mkdir()
    (no_spec / "status.json").write_text('{"state": "finished"}')
    garbage_db = cache_dir / "cccccccccccc"
    shutil.copytree(source, garbage_db)
    (garbage_db / "metrics.sqlite").write_bytes(b"garbage" * 1000)
    page.run()
    assert not page.exception
    problems = texts(page.markdown)
    assert "aaaaaaaaaaaa: cannot read status.json" in problems and "bbbbbbbbbbbb: no spec.json" in problems
    # a database that is not SQLite at all is caught by the listing too (its header is checked)
    assert "cccccccccccc: metrics.sqlite" in problems
    assert len(page.dataframe[0].value) == 4    # the 4 demo runs, still listed
    page.multiselect(key="compare_runs").set_value([f"d2l-mlp · {source.name}"]).run()
    assert not page.exception and len(page.get(CHART)) >= 1   # the readable run is still compared
    page.checkbox(key="delete-broken-sure").check().run()
    page.button(key="delete-broken").click().run()
    assert not garbage_status.exists() and not no_spec.exists() and not garbage_db.exists()
    assert source.exists()   # the demo run it was copied from is untouched


# ---------------------------------------------------------------- launching and live jobs

def choose_preset(page: AppTest, name: str) -> None:
    """Open the launch form (drawn only once opened) and pick `name` in it."""
    page.session_state["launch_open"] = True
    page.run()
    page.selectbox(key="launch_choice").set_value(name).run()


def submit(page: AppTest) -> None:
    next(b for b in page.button if b.label == "Launch").click().run()


def test_launch_form_rejects_bad_values_naming_the_field(page, cache_dir):
    choose_preset(page, "polynomial-degree3")
    page.number_input(key="launch-polynomial-degree3-optim.lr").set_value(-0.5)
    submit(page)
    assert not page.exception
    assert "optim.lr" in texts(page.error) and "greater than 0" in texts(page.error)
    page.number_input(key="launch-polynomial-degree3-optim.lr").set_value(0.01)
    page.text_input(key="launch-polynomial-degree3-model.dropout").input("half")
    submit(page)
    assert "model.dropout: expected numbers" in texts(page.error)
    assert store.iter_run_folders(cache_dir) == []   # nothing was launched


def test_launched_job_appears_and_finishes(page, cache_dir):
    choose_preset(page, "polynomial-degree3")
    page.number_input(key="launch-polynomial-degree3-epochs").set_value(3)
    submit(page)
    assert not page.exception and "Launched 1 job(s)" in texts(page.success)
    (folder,) = store.iter_run_folders(cache_dir)
    deadline = time.time() + 120
    while store.read_status(folder)["state"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.5)
    assert store.read_status(folder)["state"] == "finished", (folder / "job.log").read_text()
    page.run()
    table = page.dataframe[0].value.set_index("run_id")
    assert table.loc[folder.name, "state"] == "finished" and table.loc[folder.name, "epochs"] == 3
    assert table.loc[folder.name, "source"] == "mine"


def test_live_panel_shows_a_running_job_with_cancel(page, app_demo_cache, cache_dir):
    folder = cache_dir / demo_folder(app_demo_cache, "d2l-mlp").name
    shutil.copytree(demo_folder(app_demo_cache, "d2l-mlp"), folder)
    # a job that is alive (this test's own pid) and half way through
    store.write_status(folder, state="running", pid=os.getpid(), heartbeat=time.time(), progress=0.5,
                       step=3, total_steps=6, eta=12.0)
    page.run()
    bars = page.get("progress")
    assert len(bars) == 1 and "step 3/6" in bars[0].proto.text
    assert any(b.label == "Cancel" for b in page.button)


def test_delete_removes_my_run_but_never_a_demo_run(page, app_demo_cache, cache_dir):
    mine = cache_dir / demo_folder(app_demo_cache, "d2l-dropout").name
    shutil.copytree(demo_folder(app_demo_cache, "d2l-dropout"), mine)
    manage = open_view(page, "One run").selectbox(key="manage_run")
    demo_label = next(o for o in manage.options if "d2l-mlp" in o)
    manage.set_value(demo_label).run()
    assert not any(b.label == "Delete" for b in page.button)
    assert any("d2l-dropout" in o and o.endswith("demo") for o in manage.options)   # both copies listed
    page.selectbox(key="manage_run").set_value(next(o for o in manage.options if o.endswith("mine"))).run()
    page.checkbox(key=f"delete-sure-{mine.name}").check().run()
    next(b for b in page.button if b.label == "Delete").click().run()
    assert not mine.exists() and demo_folder(app_demo_cache, "d2l-dropout").exists()


def test_read_only_hides_launch_cancel_resume_delete(monkeypatch, app_demo_cache, cache_dir):
    page = open_runs_page(monkeypatch, app_demo_cache, cache_dir, read_only=True)
    assert not page.exception
    labels = {b.label for b in page.button}
    assert not labels & {"Launch", "Cancel", "Resume", "Delete"}
    assert "Read-only" in texts(page.caption)
    open_view(page, "One run")
    assert "Read-only: resume and delete are off." in texts(page.caption)
    assert any(b.label == "Spec (JSON)" for b in page.get("download_button"))   # export still works


def test_spec_download_rebuilds_the_same_run(page, app_demo_cache):
    from runspec import load_spec_json
    from ui.run_live import _spec_json

    assert any(b.label == "Spec (JSON)" for b in open_view(page, "One run").get("download_button"))
    folder = demo_folder(app_demo_cache, "d2l-dropout")
    assert load_spec_json(_spec_json(store.read_spec(folder))).run_id == folder.name


# ---------------------------------------------------------------- comparison frames (pure)

def scalars(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["step", "epoch", "member", "split", "metric", "value", "kind"])


def test_curves_average_members_and_gap_signs():
    table = scalars([
        (0, 0, 0, "train", "loss", 2.0, "probe"), (0, 0, 1, "train", "loss", 4.0, "probe"),
        (0, 0, 0, "test", "loss", 5.0, "probe"), (0, 0, 1, "test", "loss", 5.0, "probe"),
        (10, 1, 0, "train", "accuracy", 0.9, "epoch"), (10, 1, 0, "test", "accuracy", 0.7, "epoch"),
        (10, 1, 0, "train", "accuracy", 0.9, "final"), (10, 1, 0, "train_batch", "loss", 9.0, "epoch"),
        (20, 2, 0, "train", "loss", float("inf"), "probe"),
    ])
    curves = compare.curves({"a": table})
    train_loss = curves[(curves["split"] == "train") & (curves["metric"] == "loss")]
    assert train_loss["value"].tolist() == [3.0]          # mean of members; the inf probe is dropped
    assert set(curves["split"]) == {"train", "test"}       # final and train_batch rows left out
    gap = compare.generalization_gap(curves).set_index("metric")["gap"]
    assert gap["loss"] == pytest.approx(2.0) and gap["accuracy"] == pytest.approx(0.2)
    assert compare.curves({"a": table}, align="epoch")["x"].tolist() == [1, 1]


def test_activation_bands_keep_quantile_order_and_site():
    row = {"step": 0, "epoch": 0, "member": 0, "layer": "hidden1", "site": "post",
           **{q: float(i) for i, q in enumerate(compare.BAND_COLUMNS)}}
    bands = compare.activation_bands({"a": pd.DataFrame([row, {**row, "site": "pre", "q50": 99.0}])}, "post")
    assert len(bands) == 1
    values = bands.iloc[0][compare.BAND_COLUMNS].to_numpy(dtype=float)
    assert (np.diff(values) > 0).all()


def test_histogram_ridges_are_densities_on_the_step_axis():
    rows = [{"step": s, "member": 0, "layer": "hidden1", "site": "pre", "bin": b, "lo": b * 0.5,
             "hi": (b + 1) * 0.5, "count": c} for s in (0, 10) for b, c in enumerate((1, 3, 0, 4))]
    ridges = compare.histogram_ridges({"a": pd.DataFrame(rows)}, "pre")
    one = ridges[ridges["step"] == 10]
    assert (one["density"] * 0.5).sum() == pytest.approx(1.0)        # integrates to 1
    assert (one["base"] == 10).all() and (one["top"] <= one["base"]).all()
    assert compare.pick_steps(np.arange(100), 5).tolist() == [0, 25, 50, 74, 99]


def test_weight_norms_only_weights_mean_over_members():
    table = pd.DataFrame([
        {"step": 0, "member": m, "layer": "hidden1", "param": p, "norm": n, "spectral_norm": n / 2,
         "grad_norm": None, "update_ratio": None}
        for m, p, n in ((0, "weight", 1.0), (1, "weight", 3.0), (0, "bias", 100.0))])
    norms = compare.weight_norms({"a": table})
    assert norms["norm"].tolist() == [2.0] and norms["spectral_norm"].tolist() == [1.0]
    assert json.loads(norms.to_json())  # plain values, ready for a chart
