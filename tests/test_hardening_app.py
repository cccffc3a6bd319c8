"""The app's actions check read-only mode and ownership inside their callbacks, the queue
cap is on the Runs page, the launch form respects the spec bounds, and a walkthrough URL
with a non-ASCII digit falls back instead of crashing."""
from __future__ import annotations

import fcntl
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cache import store
from tests.conftest import build_run, point_app_at, tiny
from tests.test_jobs import wait_until
from tests.test_runs_page import choose_preset
from training import jobs
from training.presets import get_preset

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("app-demo")
    build_run(tiny(get_preset("polynomial-degree19").spec, epochs=3), path)
    return path


@pytest.fixture
def held_slot(cache_dir):
    """The only slot, held by the test: launched jobs stay queued (alive, holding their run)."""
    (cache_dir / ".slots").mkdir()
    with open(cache_dir / ".slots" / "slot-0.lock", "a") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)
        yield
    for folder in store.iter_run_folders(cache_dir):
        if store.read_status(folder)["state"] in ("queued", "running"):
            jobs.cancel(folder.name, cache_dir)


@pytest.fixture
def cli_job(cache_dir, held_slot) -> str:
    """A job launched from the command line (owner cli:USER), waiting for the slot."""
    run_id = jobs.launch(tiny(get_preset("polynomial-degree1").spec, epochs=3), cache_dir, slots=1)
    wait_until(lambda: "waiting for one of 1 slots" in (cache_dir / run_id / "job.log").read_text())
    return run_id


def runs_page(monkeypatch, demo: Path, mine: Path, owner: bool = False, read_only: bool = False) -> AppTest:
    point_app_at(monkeypatch, demo, mine)
    monkeypatch.setenv("REGLAB_SLOTS", "1")
    for name, on in (("REGLAB_OWNER", owner), ("REGLAB_READ_ONLY", read_only)):
        monkeypatch.setenv(name, "1") if on else monkeypatch.delenv(name, raising=False)
    return AppTest.from_file(APP, default_timeout=90).switch_page("views/runs.py").run()


def call_action(action: str, *args) -> AppTest:
    """Run one action callback inside a Streamlit script run, as a click would."""
    def script(action, args):
        from pathlib import Path

        from ui import run_launch, run_live

        callback = {"cancel": run_live._cancel, "resume": run_live._resume, "delete": run_live._delete,
                    "delete_all": run_live._delete_all, "submit": run_launch._submit}[action]
        callback(*[Path(a) if isinstance(a, str) and a.startswith("/") else a for a in args])

    return AppTest.from_function(script, args=(action, args), default_timeout=60).run()


def test_the_queue_and_its_cap_are_on_the_runs_page(monkeypatch, demo, cache_dir, cli_job):
    page = runs_page(monkeypatch, demo, cache_dir)
    assert not page.exception
    assert "Queue: 1 of at most 32 jobs waiting for a slot (REGLAB_MAX_QUEUED) · 1 slots" in texts(page.caption)


def test_a_job_launched_elsewhere_cannot_be_cancelled_from_a_visitor_session(monkeypatch, demo, cache_dir, cli_job):
    page = runs_page(monkeypatch, demo, cache_dir)
    assert not any(b.label == "Cancel" for b in page.button)
    assert "launched elsewhere" in texts(page.caption)
    folder = cache_dir / cli_job
    call_action("cancel", cli_job, str(folder))            # the callback itself refuses, not just the button
    call_action("delete", str(folder))
    assert folder.exists() and store.read_status(folder)["state"] == "queued"


def test_owner_mode_may_cancel_it(monkeypatch, demo, cache_dir, cli_job):
    page = runs_page(monkeypatch, demo, cache_dir, owner=True)
    next(b for b in page.button if b.label == "Cancel").click().run()
    assert store.read_status(cache_dir / cli_job)["state"] == "cancelled"
    assert not call_action("delete", str(cache_dir / cli_job)).exception   # the same call a visitor is refused
    assert not (cache_dir / cli_job).exists()


def test_read_only_is_checked_inside_every_callback(monkeypatch, demo, cache_dir, cli_job):
    point_app_at(monkeypatch, demo, cache_dir)
    monkeypatch.setenv("REGLAB_OWNER", "1")               # even the owner: read-only wins
    monkeypatch.setenv("REGLAB_READ_ONLY", "1")
    folder = cache_dir / cli_job
    for action, args in (("cancel", (cli_job, str(folder))), ("delete", (str(folder),)),
                         ("delete_all", ([folder],)), ("resume", (cli_job, str(folder)))):
        app = call_action(action, *args)
        assert not app.exception
    app = call_action("submit", "polynomial-degree3", {"epochs": 2})
    assert not app.exception
    assert folder.exists() and store.read_status(folder)["state"] == "queued"
    assert [f.name for f in store.iter_run_folders(cache_dir)] == [cli_job]   # nothing launched


def test_a_session_may_cancel_the_job_it_launched(monkeypatch, demo, cache_dir, held_slot):
    page = runs_page(monkeypatch, demo, cache_dir)
    choose_preset(page, "polynomial-degree3")
    page.number_input(key="launch-polynomial-degree3-epochs").set_value(2)
    next(b for b in page.button if b.label == "Launch").click().run()
    assert "Launched 1 job(s)" in texts(page.success)
    (folder,) = store.iter_run_folders(cache_dir)
    assert store.read_status(folder)["owner"].startswith("app:")
    page.run()
    next(b for b in page.button if b.label == "Cancel").click().run()
    assert store.read_status(folder)["state"] == "cancelled"


def test_the_launch_form_refuses_a_run_too_big_naming_the_limit(monkeypatch, demo, cache_dir):
    page = runs_page(monkeypatch, demo, cache_dir)
    choose_preset(page, "d2l-mlp")
    page.text_input(key="launch-d2l-mlp-model.widths").input("100000000")
    page.number_input(key="launch-d2l-mlp-epochs").set_value(100_000)
    next(b for b in page.button if b.label == "Launch").click().run()
    assert not page.exception
    errors = texts(page.error)
    assert "MAX_WIDTH" in errors and "Not launched" in errors
    assert store.iter_run_folders(cache_dir) == []


@pytest.mark.parametrize("step", ["\u00b2", "\u0663", "1\u00b9", "-1", "x"])
def test_a_walkthrough_step_that_is_not_an_ascii_number_falls_back(monkeypatch, demo, cache_dir, step):
    point_app_at(monkeypatch, demo, cache_dir)
    app = AppTest.from_file(APP, default_timeout=90).switch_page("views/walkthroughs.py")
    app.query_params["step"] = step
    app.run()
    assert not app.exception, [e.value for e in app.exception]
