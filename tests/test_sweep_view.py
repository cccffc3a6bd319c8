"""The Runs page's sweep view (analysis/sweep_view.py, ui/sweep_view.py): the varied fields of
any sweep, one chart form per number of fields, the choice made on the validation score only,
and the view on the committed demo cache."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from analysis import sweep_view as sv
from runspec import build_spec
from tests.conftest import point_app_at

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "cache" / "demo"


def _spec(**fields):
    return build_spec({"name": "s", "data": {"name": "polynomial"}, "model": {"kind": "linear", "widths": []},
                       "loss": "mse", **fields})


def test_varied_fields_are_the_fields_that_differ_and_tuples_read_as_one_cell():
    specs = [_spec(optim={"lr": lr, "betas": [b, 0.999], "name": "adam"}) for lr in (0.1, 0.01) for b in (0.8, 0.9)]
    frame, fields = sv.sweep_table(specs, [{"val_accuracy": 0.5, "test_accuracy": 0.4}] * 4)
    assert fields == ["optim.lr", "optim.betas"]
    assert list(frame["optim.betas"]) == ["0.8/0.999", "0.9/0.999"] * 2
    assert sv.metrics(frame, fields) == ["val_accuracy", "test_accuracy"]   # validation first


def test_one_chart_form_per_number_of_fields():
    one = pd.DataFrame({"a": [1.0, 2.0, 3.0], "val_accuracy": [0.5, 0.7, 0.6]})
    two = one.assign(b=["x", "y", "x"])
    three = two.assign(c=[0.1, 0.2, 0.3])
    def marks(spec):
        return {layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
                for layer in spec.get("layer", [spec])}
    assert "line" in marks(sv.sweep_chart(one, ["a"], "val_accuracy", "t").to_dict())
    assert "rect" in marks(sv.sweep_chart(two, ["a", "b"], "val_accuracy", "t").to_dict())
    parallel = sv.sweep_chart(three, ["a", "b", "c"], "val_accuracy", "t")
    assert "line" in marks(parallel.to_dict()) and set(parallel.data["axis"]) == {"a", "b", "c", "validation accuracy"}
    assert parallel.data["position"].between(0, 1).all()   # every axis scaled to its own range


def test_the_choice_reads_the_validation_score_and_never_a_test_score():
    frame = pd.DataFrame({"a": [1, 2, 3], "val_accuracy": [0.5, 0.9, 0.6], "test_accuracy": [0.99, 0.1, 0.2]})
    assert list(sv.chosen(frame, ["a"], "val_accuracy")["chosen"]) == [False, True, False]
    poisoned = frame.assign(test_accuracy=[0.0, 1.0, 0.0])
    assert sv.chosen(poisoned, ["a"], "val_accuracy")["chosen"].equals(sv.chosen(frame, ["a"], "val_accuracy")["chosen"])
    assert not sv.chosen(frame, ["a"], "test_accuracy")["chosen"].any()   # a test score marks nothing


def test_the_runs_page_draws_any_sweep_of_the_demo_cache(monkeypatch, tmp_path):
    point_app_at(monkeypatch, DEMO, tmp_path)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    app.switch_page("views/runs.py").run()
    app.query_params["runs_view"] = "Sweeps"
    app.run()
    assert "tuning-grid" in app.selectbox(key="sweep_view").options
    app.selectbox(key="sweep_view").set_value("tuning-grid").run()
    assert not app.exception
    assert app.selectbox(key="sweep_metric").value == "val_accuracy"
    captions = " ".join(c.value for c in app.caption)
    assert "Chosen on validation accuracy: learning rate 0.01, Adam betas 0.9/0.999 (0.827, best of 9 runs)" in captions
    assert "Its test accuracy, read once after the choice: 0.828." in captions   # as the tuning lesson says
    app.selectbox(key="sweep_view").set_value("bn-placement").run()
    assert not app.exception and app.selectbox(key="sweep_metric").value == "test_accuracy"
    assert any("makes that score optimistic" in c.value for c in app.caption)


def test_the_readme_states_the_sweep_views_choice_on_the_demo_cache():
    import re

    from ui.data import runs_named

    runs = runs_named("tuning-grid", [DEMO])
    frame, fields = sv.sweep_table(list(runs["spec"]), [s.get("final") for s in runs["status"]])
    row = sv.chosen(frame, fields, "val_accuracy").query("chosen").iloc[0]
    readme = re.sub(r"\s+", " ", (REPO / "README.md").read_text())
    assert (f"tuning-grid chooses learning rate {row['optim.lr']:g}, Adam betas {row['optim.betas']} at validation "
            f"accuracy {row['val_accuracy']:.3f}, test {row['test_accuracy']:.3f}") in readme
