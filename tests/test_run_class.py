"""The Runs page for a class: a student's new run comes first in the table with what it
changed, is preselected for comparison next to its preset's demo run, and the legend
names what differs."""
from __future__ import annotations

from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from conftest import APP_DEMO_RUNS, build_run, tiny
from test_runs_page import open_runs_page
from training.presets import get_preset


def test_a_new_run_comes_first_and_is_compared_with_its_demo_run(monkeypatch, app_demo_cache, cache_dir):
    overrides = dict(APP_DEMO_RUNS)["d2l-dropout"]
    mine = build_run(tiny(get_preset("d2l-dropout").spec, **{**overrides, "optim__lr": 0.1}), cache_dir)
    page = open_runs_page(monkeypatch, app_demo_cache, cache_dir)
    assert not page.exception
    table = page.dataframe[0].value
    assert list(table.columns[:2]) == ["name", "differs"]
    assert table.iloc[0]["run_id"] == mine.name and table.iloc[0]["source"] == "mine"
    assert "lr 0.1" in table.iloc[0]["differs"]
    picked = page.multiselect(key="compare_runs").value
    assert picked[0] == f"d2l-dropout · {mine.name}" and len(picked) == 2 and picked[1].startswith("d2l-dropout · ")
    labels = {str(v) for c in page.get("vega_lite_chart") for d in c.proto.datasets
              for v in convert_arrow_bytes_to_pandas_df(d.data.data).astype(str).stack()}
    ours = [label for label in labels if label.startswith(f"d2l-dropout · {mine.name} · yours: ")]
    assert ours and all("lr 0.1" in label for label in ours)    # the legend names what differs
