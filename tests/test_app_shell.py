"""The app shell, the shared ui/ helpers and the Home page, driven through AppTest
against a small demo cache the tests build (tests/conftest.py: app_demo_cache)."""
from __future__ import annotations

import json
import shutil
import time
import subprocess
from pathlib import Path

import altair as alt
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lessons
from cache import store
from tests.conftest import point_app_at
from ui import charts, data, sources

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = tuple(page.path for page in lessons.PAGES)
CHART = "vega_lite_chart"   # the element type st.altair_chart / st.vega_lite_chart produce in Streamlit 1.67


def open_app(monkeypatch, demo: Path, mine: Path) -> AppTest:
    point_app_at(monkeypatch, demo, mine)
    return AppTest.from_file(APP, default_timeout=60)


@pytest.fixture
def app(monkeypatch, app_demo_cache, cache_dir) -> AppTest:
    return open_app(monkeypatch, app_demo_cache, cache_dir)


def test_home_shows_every_page_and_thumbnails_from_the_demo_cache(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Regularization Lab"
    links = {link.proto.label for link in app.get("page_link")}
    assert {page.title for page in lessons.PAGES if page.id != "home"} <= links
    # d2l-mlp (Runs card), d2l-dropout (Dropout card) and polynomial-degree19 are in the test cache
    assert len(app.get(CHART)) == 3
    notes = [c.value for c in app.caption if "needs run(s)" in c.value]
    # the BN and Keras cards, whose runs the test cache lacks, fall back to a note
    assert len(notes) == 2 and "bn-fig1-nobn" in notes[0] and "keras-concrete-nobn" in notes[1]


def test_a_thumbnail_draws_at_most_its_point_budget_through_the_runs_first_and_last_steps():
    """The degree-19 run logs 1,500 steps per split; its thumbnail keeps THUMBNAIL_POINTS of
    them, evenly spread, the run's own values at those steps, from the first step to the last."""
    from ui import thumbnails

    thumb = next(page.thumbnail for page in lessons.PAGES if page.id == "bias-variance")
    keys = thumbnails._demo_keys(thumb)
    _spec, frame = thumbnails._thumbnail_spec(thumb, keys)
    scalars = data.load_table(Path(keys[0][1]), "scalars")
    logged = scalars[scalars["metric"] == thumb.metric]
    assert logged.groupby("split").size().min() > 2 * thumbnails.THUMBNAIL_POINTS   # thinning happens here
    assert list(frame.columns) == ["x", "value", "series"]
    for split, curve in frame.groupby("series"):
        steps = logged[logged["split"] == split].set_index("step")["value"]
        assert len(curve) <= thumbnails.THUMBNAIL_POINTS
        assert curve["x"].iloc[0] == steps.index.min() and curve["x"].iloc[-1] == steps.index.max()
        assert curve.set_index("x")["value"].to_dict() == steps.loc[curve["x"]].to_dict()


def test_the_runs_page_chooses_its_source_and_lessons_stay_on_the_demo_cache(app, app_demo_cache, cache_dir):
    app.switch_page("views/runs.py").run()
    radio = app.radio(key=sources.SOURCE_KEY)
    assert radio.value == sources.BOTH and list(radio.options) == list(sources.SOURCES)
    assert len(app.dataframe[0].value) == 4          # the four demo runs
    radio.set_value(sources.MINE).run()
    assert not app.exception
    assert not app.dataframe and any("No runs in the selected sources" in i.value for i in app.info)
    assert sources.dirs_for(sources.MINE) == [cache_dir]
    assert sources.dirs_for(sources.BOTH) == [app_demo_cache, cache_dir]
    assert sources.lesson_dirs() == [app_demo_cache]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(app, page):
    app.switch_page(page).run()
    assert not app.exception, f"{page}: {app.exception}"


def test_empty_caches_render_with_an_explanation(monkeypatch, tmp_path):
    empty_demo, empty_mine = tmp_path / "demo", tmp_path / "mine"
    app = open_app(monkeypatch, empty_demo, empty_mine).run()
    assert not app.exception
    assert len([c for c in app.caption if "needs run(s)" in c.value]) == sum(p.thumbnail is not None for p in lessons.PAGES)
    app.switch_page("views/runs.py").run()
    assert not app.exception
    assert any("No runs in the selected sources" in i.value for i in app.info)


def test_read_only_from_environment_and_command_line(monkeypatch):
    monkeypatch.delenv("REGLAB_READ_ONLY", raising=False)
    monkeypatch.setattr("sys.argv", ["app.py"])
    assert not sources.read_only()
    monkeypatch.setenv("REGLAB_READ_ONLY", "1")
    assert sources.read_only()
    monkeypatch.setenv("REGLAB_READ_ONLY", "0")
    monkeypatch.setattr("sys.argv", ["app.py", "--read-only"])
    assert sources.read_only()


def test_only_runs_in_my_cache_count_as_mine(monkeypatch, app_demo_cache, cache_dir):
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(app_demo_cache))
    demo_run = next(store.iter_run_folders(app_demo_cache).__iter__())
    assert not sources.is_user_run(demo_run)
    assert sources.is_user_run(cache_dir / "0123456789ab")


def test_a_delete_checks_ownership_against_the_disk_as_it_is_now(monkeypatch, tmp_path):
    """Listing remembers each cache folder's real path; a delete (fresh) resolves it again, so a
    cache link moved elsewhere while the app runs no longer makes the old folder's runs mine."""
    old, new, link = tmp_path / "old", tmp_path / "new", tmp_path / "mine"
    old.mkdir(), new.mkdir(), link.symlink_to(old)
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(link))
    assert sources.is_user_run(old / "0123456789ab")
    link.unlink(), link.symlink_to(new)
    assert sources.is_user_run(old / "0123456789ab")                  # remembered, for listing
    assert not sources.is_user_run(old / "0123456789ab", fresh=True)  # what a delete asks
    assert sources.is_user_run(new / "0123456789ab")


def test_runs_named_reads_only_small_files_and_prefers_finished(app_demo_cache, cache_dir):
    runs = data.runs_named("d2l-mlp", [app_demo_cache, cache_dir])
    assert list(runs.columns[:4]) == ["run_id", "folder", "state", "spec"]
    assert len(runs) == 1 and runs.iloc[0]["state"] == "finished"
    spec = runs.iloc[0]["spec"]
    assert data.spec_value(spec, "model.widths") == (16,) and data.spec_value(spec, "optim.lr") == 0.1
    assert data.latest_run("d2l-mlp", [app_demo_cache]) == runs.iloc[0]["folder"]
    assert data.latest_run("no-such-preset", [app_demo_cache]) is None
    assert data.runs_named("no-such-preset", [app_demo_cache]).empty
    # the same run copied into my cache (interrupted there) is one run: the finished copy wins
    copy = cache_dir / runs.iloc[0]["run_id"]
    shutil.copytree(runs.iloc[0]["folder"], copy)
    store.write_status(copy, state="interrupted")
    both = data.runs_named("d2l-mlp", [cache_dir, app_demo_cache])
    assert len(both) == 1 and both.iloc[0]["folder"] == runs.iloc[0]["folder"]


def test_the_listing_keeps_a_settled_row_until_its_files_change(cache_dir, app_demo_cache):
    source = data.runs_named("d2l-mlp", [app_demo_cache]).iloc[0]["folder"]
    folder = cache_dir / source.name
    shutil.copytree(source, folder)
    first = data.all_runs([cache_dir])[0].iloc[0]
    assert data.all_runs([cache_dir])[0].iloc[0]["status"] is first["status"]   # unchanged files: the kept row
    store.write_status(folder, state="cancelled", reason="a reason")               # twice within one clock tick:
    store.write_status(folder, state="cancelled", reason="another")               # told apart by the bytes
    assert data.all_runs([cache_dir])[0].iloc[0]["status"]["reason"] == "another"
    job = subprocess.Popen(["sleep", "60"])
    store.write_status(folder, state="running", pid=job.pid, pid_start=None, heartbeat=time.time())
    assert data.all_runs([cache_dir])[0].iloc[0]["state"] == "running"
    job.kill()
    job.wait()
    assert data.all_runs([cache_dir])[0].iloc[0]["state"] == "interrupted"   # same files, process gone: read again
    (folder / "status.json").unlink()
    runs, problems = data.all_runs([cache_dir])
    assert runs.empty and len(problems) == 1 and "status.json" in problems[0]


def test_load_table_sees_rows_a_running_job_adds(cache_dir, app_demo_cache):
    source = data.runs_named("d2l-mlp", [app_demo_cache]).iloc[0]["folder"]
    folder = cache_dir / source.name
    shutil.copytree(source, folder)
    before = data.load_table(folder, "scalars")
    writer = store.RunWriter(folder)
    writer.log("scalars", [{"step": 999, "epoch": 9, "member": 0, "split": "test", "metric": "loss",
                            "value": 0.5, "kind": "probe"}])
    writer.close()
    after = data.load_table(folder, "scalars")
    assert len(after) == len(before) + 1 and after["step"].max() == 999


def test_corrupt_metrics_raise_a_store_error_naming_the_folder(cache_dir, app_demo_cache):
    source = data.runs_named("d2l-mlp", [app_demo_cache]).iloc[0]["folder"]
    folder = cache_dir / source.name
    shutil.copytree(source, folder)
    (folder / "metrics.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(store.StoreError, match=folder.name):
        data.load_table(folder, "scalars")


def _chart_page():
    import altair as alt
    import pandas as pd

    from ui.charts import show_chart
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 0.25, 0.125]})
    for key in ("first", "second"):
        show_chart(alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q"), frame, key=key)


def test_export_buttons_are_drawn_only_once_their_expander_is_opened():
    app = AppTest.from_function(_chart_page, default_timeout=60).run()
    assert not app.exception and len(app.get(CHART)) == 2
    assert [e.label for e in app.expander] == ["Export", "Export"] and not app.get("download_button")
    app.session_state["export-second"] = True   # the reader opens the second chart's export
    app.run()
    assert [b.label for b in app.expander[1].get("download_button")] == ["Data (CSV)", "Chart (PNG)", "Chart (SVG)"]
    assert not app.expander[0].get("download_button")


def test_chart_export_formats():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 0.25, 0.125], "widths": [(8,), (8,), (16, 8)]})
    chart = alt.Chart(frame[["x", "y"]]).mark_line().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
    assert charts.chart_png(chart).startswith(b"\x89PNG")
    assert charts.chart_svg(chart).lstrip().startswith("<svg")
    spec = charts.vega_lite_spec(chart)
    assert charts.vega_lite_spec(spec) is spec and json.loads(charts.chart_json(chart))["mark"]["type"] == "line"
    csv = charts.data_csv(frame).splitlines()
    assert csv[0] == "x,y,widths" and csv[3] == '3,0.125,"(16, 8)"'


ANALYSED = []


def _analysed_rows(tables: dict, tag: str) -> dict:
    ANALYSED.append(tag)
    return {label: len(table) for label, table in tables.items()}


def test_an_analysis_of_run_tables_runs_once_per_version_of_the_runs(app_demo_cache, cache_dir):
    import streamlit as st

    from cache.run_files import update_status

    st.cache_data.clear()
    folder = cache_dir / Path(data.runs_named("d2l-mlp", [app_demo_cache]).iloc[0]["folder"]).name
    shutil.copytree(data.runs_named("d2l-mlp", [app_demo_cache]).iloc[0]["folder"], folder)
    runs = {"mlp": folder}
    ANALYSED.clear()
    first = data.from_tables(_analysed_rows, runs, "scalars", "a")
    assert first == {"mlp": len(store.read_table(folder, "scalars"))} and first["mlp"] > 0
    assert data.from_tables(_analysed_rows, runs, "scalars", "a") == first and ANALYSED == ["a"]   # a rerun: kept
    data.from_tables(_analysed_rows, runs, "scalars", "b")
    assert ANALYSED == ["a", "b"]                                             # other arguments: computed
    update_status(folder, state="interrupted")                                # the run changed
    data.from_tables(_analysed_rows, runs, "scalars", "a")
    assert ANALYSED == ["a", "b", "a"]
