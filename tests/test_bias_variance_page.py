"""The Bias-Variance page through AppTest, against a small cache of the lesson's real sweeps
(same names, cheaper fields), and its messages for missing runs and degenerate inputs."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import build_run, point_app_at, tiny
from postprocess.predictions import store_predictions
from training.presets import get_preset, get_sweep
from training.presets.double_descent import DD_CLEAN, DD_NOISY

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "bias_variance.py")
CHART = "vega_lite_chart"


def _small_specs():
    for name in ("polynomial-degree3", "polynomial-degree1", "polynomial-degree19"):
        yield tiny(get_preset(name).spec, epochs=3)
    for point, spec in get_sweep("poly-degree-sweep").specs():
        if point["data.degree"] <= 3 and point["data.noise_std"] == 0.1:
            per = point["data.n_train"] // spec.ensemble
            yield tiny(spec, ensemble=5, data__n_train=5 * per, data__n_test=100)
    for point, spec in get_sweep("weight-decay-sweep").specs():
        if point["optim.weight_decay"] in (0.0, 3.0):
            yield tiny(spec, epochs=2)
    for name in ("width-sweep", "width-sweep-noisy"):
        for point, spec in get_sweep(name).specs():
            if point["model.widths"][0] in (2, 8):
                yield tiny(spec, epochs=2, data__n_train=5 * 40, data__n_test=100)
    for preset in (*DD_NOISY, *DD_CLEAN):          # trained to interpolation: narrow groups, a few epochs
        widths = [max(1, w // 16) for w in preset.spec.model.member_widths]
        yield tiny(preset.spec, model__widths=[max(widths)], model__member_widths=widths, epochs=4,
                   data__n_train=100, data__n_test=100)
    for name in ("width-sweep-rf", "width-sweep-rf-noisy"):   # closed form: threshold at 32 per member
        spec = get_sweep(name).specs()[0][1]
        for width in (8, 32, 128):
            yield tiny(spec, model__widths=[width], data__n_train=5 * 32, data__n_test=200)


@pytest.fixture(scope="module")
def lesson_cache(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bias-variance-demo")
    for spec in _small_specs():
        folder = build_run(spec, path)
        if spec.model.member_widths is None:     # a member-widths run's members are not resampled sets
            store_predictions(folder)
    return path


def open_section(monkeypatch, demo: Path, mine: Path, section: str, nested: str | None = None) -> AppTest:
    point_app_at(monkeypatch, demo, mine)
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.query_params["section"] = section
    if nested:
        app.query_params["nn_section"] = nested
    return app.run()


def every_section(monkeypatch, demo: Path, mine: Path) -> list[AppTest]:
    """The page with each section (and each nested network section) open in turn."""
    shown = [open_section(monkeypatch, demo, mine, label)
             for label in ("Polynomial fits", "Capacity sweep", "Weight decay")]
    shown += [open_section(monkeypatch, demo, mine, "Neural networks", nested)
              for nested in ("SGD-trained MLP", "Random features: double descent", "Trained to interpolation")]
    return shown


def test_page_draws_every_section_from_the_cache(monkeypatch, lesson_cache, cache_dir):
    shown = every_section(monkeypatch, lesson_cache, cache_dir)
    for app in shown:
        assert not app.exception, [e.value for e in app.exception]
        assert app.title[0].value == "Bias-Variance"
        assert not [i.value for i in app.info if "No finished runs" in i.value]
    # fit, weights, loss | U-curve, stack, log | lambda loss, norm, published | errors, 2 x Yang | rf: 2
    assert sum(len(app.get(CHART)) for app in shown) >= 14
    captions = " ".join(c.value for app in shown for c in app.caption)
    assert "No peak check: no width value has neighbours at /4 and x4" in captions   # the cache has widths 2, 8
    assert "this lab (mean of members): " in captions and "D2L from scratch: 13.5 -> 0.35" in captions
    # random features: errors and Yang vs width, and the peak table (width 32 vs 8 and 128)
    peaks = [d.value for app in shown for d in app.table if "peak width" in d.value.columns]
    assert peaks and set(peaks[0]["peak width"]) == {32}
    assert "width = 32 = training images" in captions
    fits = shown[0]
    fits.radio(key="bv_case").set_value("degree 19: 20 features").run()
    assert not fits.exception and len(fits.get(CHART)) >= 2


def test_degenerate_inputs_get_clear_messages(monkeypatch, lesson_cache, cache_dir):
    app = open_section(monkeypatch, lesson_cache, cache_dir, "Neural networks", "SGD-trained MLP")
    app.number_input(key="bv_width").set_value(0).run()
    assert any("width of 0" in e.value for e in app.error)
    app = open_section(monkeypatch, lesson_cache, cache_dir, "Capacity sweep")
    app.number_input(key="bv_cf_members").set_value(1).run()
    assert any("K = 1" in e.value for e in app.error)
    app = open_section(monkeypatch, lesson_cache, cache_dir, "Polynomial fits")
    app.radio(key="bv_case").set_value("any degree and size (closed form)").run()
    app.slider(key="bv_degree").set_value(10)
    app.number_input(key="bv_n_train").set_value(5).run()
    assert not app.exception
    assert any("smaller than the 11 features" in w.value for w in app.warning)


def test_missing_runs_name_the_command(monkeypatch, tmp_path, cache_dir):
    empty = tmp_path / "empty-demo"
    empty.mkdir()
    shown = every_section(monkeypatch, empty, cache_dir)
    assert not any(app.exception for app in shown)
    codes = " ".join(c.value for app in shown for c in app.code)
    assert "python -m training run --preset polynomial-degree3" in codes
    assert "python -m training sweep --sweep poly-degree-sweep" in codes
    assert "python -m training predictions --name width-sweep-noisy" in codes
    assert "python -m training sweep --sweep width-sweep-rf-noisy" in codes
