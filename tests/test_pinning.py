"""A student's own run never replaces a lesson's data: lesson pages and walkthroughs read the
demo cache, and draw the student's run next to it only when it is chosen in the sidebar."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lessons
from cache import store
from tests.conftest import point_app_at, tiny
from tests.sections import NESTED, each_section
from training import jobs
from training.presets import get_preset
from ui import lesson_charts, sources
from ui.lesson_runs import own_lesson_runs

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "cache" / "demo"
APP = str(REPO / "app.py")
LESSON_PAGES = [page.path for page in lessons.PAGES if page.id not in ("runs", "home")]


@pytest.fixture(scope="module")
def student_run(tmp_path_factory) -> Path:
    """A 1-epoch d2l-dropout variant launched as a real background job into a user cache."""
    mine = tmp_path_factory.mktemp("student-runs")
    spec = tiny(get_preset("d2l-dropout").spec, epochs=1, data__n_train=512, data__n_test=256, probe_every=2,
                optim__lr=0.1)
    run_id = jobs.launch(spec, mine, slots=1)
    rows = jobs.wait([run_id], mine, timeout=240)
    assert rows[run_id]["state"] == "finished", rows
    deadline = time.time() + 120   # the job post-processes after it has marked the run finished
    while not store.read_status(mine / run_id).get("postprocessed") and time.time() < deadline:
        assert not store.read_status(mine / run_id).get("postprocess_error")
        time.sleep(0.5)
    return mine / run_id


def chart_specs(app: AppTest) -> list[str]:
    """Each chart's spec and its data (Streamlit sends the data beside the spec, as Arrow)."""
    import pyarrow as pa

    texts = []
    for element in app.get("vega_lite_chart"):
        tables = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in element.proto.datasets]
        texts.append(element.proto.spec + "".join(t.to_json() for t in tables))
    return texts


def open_page(monkeypatch, mine: Path, page: str, chosen: list[str] | None = None,
              section: str | None = None) -> AppTest:
    point_app_at(monkeypatch, DEMO, mine)
    app = AppTest.from_file(APP, default_timeout=180)
    if chosen is not None:
        app.session_state[sources.MINE_KEY] = chosen
    app.run()
    if section:
        app.query_params["section"] = section
    return app.switch_page(page).run()


def test_the_finished_job_was_post_processed_by_its_lesson(student_run):
    status = store.read_status(student_run)
    assert status.get("postprocessed") is True
    assert not store.read_table(student_run, "subnet_samples").empty   # the dropout lesson's tables


def test_the_sidebar_offers_the_students_run_labelled_with_what_differs(student_run):
    offered = own_lesson_runs(student_run.parent)
    label = offered[str(student_run)]
    assert label.startswith("yours (d2l-dropout: ") and "lr 0.1" in label and "epochs 1" in label and "probe" not in label


@pytest.mark.parametrize("page", LESSON_PAGES)
def test_lesson_pages_show_the_demo_data_by_default(monkeypatch, student_run, page):
    app = open_page(monkeypatch, student_run.parent, page)
    for section, shown in each_section(app, nested=NESTED.get(page)):
        assert not shown.exception, (section, [e.value for e in shown.exception])
        assert not any("No finished runs" in info.value for info in shown.info), (page, section)
        assert not any("yours (" in spec for spec in chart_specs(shown)), f"{page} {section} drew the student's run unasked"


def test_every_lesson_chart_reads_the_demo_runs_whatever_the_user_cache_holds(student_run):
    """The walkthrough steps' charts, through the same path the pages use, are the demo's."""
    for chart_id in lesson_charts.CHARTS:
        pinned = lesson_charts.render(chart_id, [DEMO])
        assert isinstance(pinned, lesson_charts.Shown), chart_id
        assert "yours (" not in pinned.data.to_json(), chart_id


def test_the_dropout_lesson_keeps_its_numbers(monkeypatch, student_run):
    app = open_page(monkeypatch, student_run.parent, "views/dropout.py", section="Many sub-networks")
    captions = " ".join(caption.value for caption in app.caption)
    assert "(0.8580)" in captions          # the demo run's weight-scaled accuracy, not the student's
    walk = open_page(monkeypatch, student_run.parent, "views/walkthroughs.py")
    assert not walk.exception


def test_a_chosen_run_is_drawn_next_to_the_demo_run_and_labelled_as_theirs(monkeypatch, student_run):
    app = open_page(monkeypatch, student_run.parent, "views/dropout.py", chosen=[str(student_run)],
                    section="The textbook model")
    assert not app.exception, [e.value for e in app.exception]
    specs = chart_specs(app)
    drawn = [spec for spec in specs if "yours (d2l-dropout" in spec]
    assert drawn, "the chosen run is not in any chart"
    assert '"dropout"' in drawn[0] and '"no dropout"' in drawn[0]   # the demo pair is still there
    app.query_params["section"] = "Many sub-networks"
    captions = " ".join(caption.value for caption in app.run().caption)
    assert "(0.8580)" in captions          # sections the student's run cannot fill stay on the demo run
