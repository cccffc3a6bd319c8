"""The committed demo cache matches the code, and fills every page without the dataset.

Run ids are spec hashes, so a preset or sweep whose spec changed has no folder in the
demo cache: `check_demo` names it and the command that rebuilds it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from cache import store
from training import fashion_mnist
from lessons import PAGES as PAGE_ENTRIES, demo_runs
from postprocess.precompute import check_demo
from tests.sections import NESTED, each_section

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "cache" / "demo"
APP = str(REPO / "app.py")
PAGES = tuple(page.path for page in PAGE_ENTRIES)
MISSING = "No finished runs of"   # ui.messages.missing_runs


def test_committed_demo_cache_has_every_preset_and_sweep_finished():
    problems = check_demo(demo_runs(), DEMO)
    assert not problems, "the demo cache is stale:\n" + "\n".join(problems)


def test_a_stale_demo_cache_names_what_to_rebuild(tmp_path):
    run = demo_runs(["polynomial-degree3"])[0]
    problems = check_demo(demo_runs(), tmp_path)
    line = next(p for p in problems if run.spec.run_id in p)
    assert "preset polynomial-degree3" in line
    assert "python -m training precompute --only polynomial-degree3" in line


def test_demo_runs_are_plain_readable_folders():
    """Schema version readable, no WAL left behind, sweep runs carry no checkpoint."""
    sweep_ids = {r.spec.run_id for r in demo_runs() if r.sweep}
    for folder in store.iter_run_folders(DEMO):
        status = store.read_status(folder)
        assert status["state"] in ("finished", "diverged"), folder
        assert not (folder / "metrics.sqlite-wal").exists(), f"{folder}: WAL not folded back"
        assert store.read_spec(folder).run_id == folder.name
        if folder.name in sweep_ids:
            assert not list((folder / "checkpoints").glob("*.pt")), f"{folder}: sweep run keeps a checkpoint"
    assert json.loads((next(iter(store.iter_run_folders(DEMO))) / "spec.json").read_text())


@pytest.fixture
def no_dataset(monkeypatch, tmp_path):
    """Fashion-MNIST unreachable everywhere, as on a fresh machine without the package or network."""
    monkeypatch.delenv("REGLAB_DATA_DIR", raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(fashion_mnist, "DOWNLOAD_DIR", tmp_path / "no-download")
    monkeypatch.setattr(fashion_mnist, "_try_download", lambda root: False)
    fashion_mnist.load_arrays.cache_clear()
    yield
    fashion_mnist.load_arrays.cache_clear()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_is_filled_from_the_demo_cache_without_the_dataset(page, no_dataset, monkeypatch, tmp_path):
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(DEMO))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(tmp_path / "runs"))
    st.cache_data.clear()
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page(page).run()
    for section, shown in each_section(app, nested=NESTED.get(page)):
        assert not shown.exception, (section, [e.value for e in shown.exception])
        missing = [i.value for i in shown.info if MISSING in i.value]
        assert not missing, f"{page} {section} lacks demo runs: {missing}"
        if page not in ("views/walkthroughs.py", "views/runs.py"):
            assert shown.get("vega_lite_chart"), f"{page} {section} drew no chart"


def test_the_keras_page_shows_the_real_concrete_runs_without_the_data(no_dataset, monkeypatch, tmp_path):
    """The Keras lesson's page is filled from the demo runs (trained on the real Concrete data)
    on a machine that has neither the data nor R."""
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(DEMO))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("REGLAB_R_LIBS", str(tmp_path / "no-r"))
    st.cache_data.clear()
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("views/keras_concrete.py").run()
    assert not app.exception, [e.value for e in app.exception]
    table = app.table[0].value
    assert set(table["state"]) == {"finished", "diverged"}
    assert table.set_index("layout").loc["no BN", "state"] == "diverged"
    assert any("published (the course's run): about 4.1" in c.value for c in app.caption)
