"""Classroom walkthroughs: the lesson format and loader, the lesson chart registry, and the
Walkthroughs page walked step by step through AppTest against tiny runs of the presets and
sweeps the lessons show (same names, cheaper fields)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import build_run, tiny
from training.presets import PRESETS, SWEEPS
from ui import lesson_charts
from walkthroughs import loader
from lessons import PAGES, page_path

PAGE_IDS = [page.id for page in PAGES]

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "views/walkthroughs.py"
REQUIRED_LESSONS = {"under-overfitting", "weight-decay", "dropout", "batchnorm", "tuning", "activations",
                    "model-selection"}
SMALL_MNIST = dict(data__n_train=240, data__n_test=120, epochs=1, probe_every=2, probes__weights=False)
NOT_BUILT = "bn-noisy"   # left out on purpose: its chart must say what to build


def _tiny_runs():
    """(spec, postprocess?) for every run the lesson charts read, made cheap."""
    runs = [tiny(PRESETS[name].spec, epochs=3, probe_every=5) for name in
            ("polynomial-degree1", "polynomial-degree3", "polynomial-degree19", "weight-decay-0", "weight-decay-3")]
    no_probes = dict(SMALL_MNIST, probes__activations=False)   # these charts read scores and stored tables only
    runs += [tiny(PRESETS[name].spec, model__widths=[16, 16], **no_probes) for name in ("d2l-dropout", "d2l-no-dropout")]
    runs += [tiny(PRESETS[name].spec, model__widths=[8, 8, 8], **SMALL_MNIST) for name in ("bn-fig1-nobn", "bn-fig1-bn")]
    # the Keras lesson on the synthetic stand-in for the Concrete data (same feature scales)
    runs += [tiny(PRESETS[name].spec, data__name="concrete-synthetic", model__widths=[16, 16, 16], epochs=2,
                  probe_every=4, probes__activations=False)
             for name in ("keras-concrete-nobn", "keras-concrete-bn", "keras-concrete-bn-preact",
                          "keras-concrete-inputbn", "keras-concrete-dropout-bn")]
    runs += [tiny(PRESETS[name].spec, model__widths=[8, 8, 8], **dict(SMALL_MNIST, probes__weights=True)) for name in
             ("deep-sigmoid", "deep-tanh", "deep-relu", "deep-relu-high-lr", "deep-sigmoid-bn", "deep-relu-high-lr-bn",
              "deep-prelu")]
    runs.append(tiny(PRESETS["d2l-mlp"].spec, model__widths=[16], **dict(no_probes, epochs=2)))   # + its two listings
    sweeps = {"dropout-rate-sweep": dict(model__widths=[16, 16]), "bn-lr-sweep": dict(model__widths=[8, 8, 8]),
              "tuning-grid": dict(model__widths=[16]), "tuning-random": dict(model__widths=[16]),
              "tuning-shape": {}}   # its widths are the sweep's point: the first two, 64 and 256 units
    for name, shape in sweeps.items():
        runs += [tiny(spec, **shape, **no_probes) for _, spec in SWEEPS[name].specs()[:2]]
    runs += [tiny(spec, epochs=3, probe_every=5, ensemble=2) for _, spec in SWEEPS["weight-decay-sweep"].specs()[:3]]
    for name in ("width-sweep-rf", "width-sweep-rf-noisy"):   # closed form: three widths, 20 images per member
        runs += [tiny(spec, data__n_train=100, data__n_test=100, probes__eval_max=100)
                 for _, spec in SWEEPS[name].specs()[:3]]
    runs += _tiny_effect_runs(no_probes)
    degree_sweep = SWEEPS["poly-degree-sweep"].specs()
    textbook_size = max(spec.data.n_train for _, spec in degree_sweep)    # 100 points per training set
    for point, spec in degree_sweep:   # 3 least-squares fits per degree instead of 30, three degrees
        if point["data.degree"] in (1, 3, 8) and point["data.noise_std"] == 0.1 and spec.data.n_train == textbook_size:
            runs.append(tiny(spec, ensemble=3, data__n_train=3 * spec.data.n_train // spec.ensemble))
    return runs


def _tiny_effect_runs(no_probes: dict) -> list:
    """Double descent, the autoencoders, the ReLU landscape and the deep linear network, made cheap."""
    dd = [preset for name, preset in PRESETS.items() if name.startswith(("dd-noisy", "dd-clean"))]
    runs = [tiny(p.spec, **dict(no_probes, epochs=3, model__widths=[max(ws)], model__member_widths=ws))
            for p in dd for ws in [[max(1, w // 32) for w in p.spec.model.member_widths]]]
    runs += [tiny(PRESETS[name].spec, model__widths=[16], **SMALL_MNIST) for name in ("ae-no-dropout", "ae-dropout")]
    runs += [tiny(PRESETS[name].spec, model__widths=[8, 8, 8], **SMALL_MNIST)
             for name in ("landscape-relu-nobn", "landscape-relu-bn")]
    runs += [tiny(PRESETS[name].spec, epochs=6, probe_every=2, model__widths=[10] * 4, data__n_train=64)
             for name in ("dln-nobn", "dln-bn")]
    return runs


@pytest.fixture(scope="session")
def lesson_cache(tmp_path_factory) -> Path:
    from postprocess.predictions import store_predictions
    from postprocess.autoencoder import evaluate_autoencoder
    from postprocess.scratch_mlp import compare_versions
    from postprocess.subnetworks import evaluate_subnetworks

    path = tmp_path_factory.getbasetemp() / "lesson-cache"
    for spec in _tiny_runs():
        folder = build_run(spec, path)
        if spec.name in ("d2l-dropout", "d2l-no-dropout"):
            evaluate_subnetworks(folder, n_samples=6, ks=(1, 2), repeats=2)
        if spec.name == "poly-degree-sweep":
            store_predictions(folder)
        if spec.model.kind == "autoencoder":
            evaluate_autoencoder(folder)
        if spec.name == "d2l-mlp":
            compare_versions(folder)
    return path


# ---------------------------------------------------------------- the shipped lessons

def _sentences(markdown: str) -> int:
    """Sentence count that does not split 'e.g.', 'et al.', 'Fig. 8' or decimals like 0.350."""
    text = re.sub(r"\b(e\.g|i\.e|et al|Fig|vs)\.", "", markdown)
    return len(re.findall(r"[.!?](?:\)|\*+)?(?=\s|$)", text))


def test_every_shipped_lesson_loads_and_every_chart_resolves():
    lessons, problems = loader.load_lessons(lesson_charts.CHART_IDS, PAGE_IDS)
    assert problems == []
    assert REQUIRED_LESSONS <= {lesson.id for lesson in lessons}
    for lesson in lessons:
        assert lesson.title and lesson.summary and len(lesson.steps) >= 3, lesson.id
        for step in lesson.steps:
            where = f"{lesson.path.name}:{step.line}"
            assert set(step.charts) <= set(lesson_charts.CHARTS), where
            assert step.question and step.try_it and step.page in PAGE_IDS, where
            assert 2 <= _sentences(step.explanation) <= 4, f"{where}: {step.explanation!r}"
            assert step.options and 0 <= step.answer < len(step.options), where


def test_the_format_documentation_lists_every_chart_id():
    readme = (Path(loader.__file__).parent / "README.md").read_text()
    ids = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", readme))
    assert set(lesson_charts.CHARTS) <= ids, set(lesson_charts.CHARTS) - ids


GOOD = """---
id: sample
title: A sample lesson
summary: Two steps.
---

Intro text.

## First step
chart: poly-loss-degree3
page: bias-variance
knob: degree
compare: the cubic = poly-loss-degree3 | a line = poly-loss-degree1

### Question
What happens?

### Predict
- [ ] this
- [x] that

### Explanation
Because. Really.

```
## not a step: inside a code block
```

### Try it
Change the degree.

## Second step
chart: wd-norm

### Question
And now?

### Explanation
This. That.

### Try it
Look.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_lesson_parses_into_steps_with_predictions_and_compare():
    lesson = loader.parse_lesson(GOOD, "sample.md", lesson_charts.CHART_IDS, PAGE_IDS)
    assert (lesson.id, lesson.intro, len(lesson.steps)) == ("sample", "Intro text.", 2)
    first, second = lesson.steps
    assert first.options == ("this", "that") and first.answer == 1 and first.line == 9
    assert first.compare == (("the cubic", "poly-loss-degree3"), ("a line", "poly-loss-degree1"))
    assert "not a step" in first.explanation and first.knob == "degree"
    assert second.options == () and second.answer is None and second.page is None


BROKEN = {
    # file name: (text, line the message must name, words it must contain)
    "unknown-chart.md": (GOOD.replace("chart: wd-norm", "chart: wd-nrom"), 33, "unknown chart id 'wd-nrom'"),
    "missing-title.md": (GOOD.replace("title: A sample lesson\n", ""), 1, "lacks title"),
    "missing-question.md": (GOOD.replace("### Question\nAnd now?\n", ""), 32, "'### Question' section is missing"),
    "two-answers.md": (GOOD.replace("- [ ] this", "- [x] this"), 18, "exactly one marked [x]"),
    "bad-option.md": (GOOD.replace("- [ ] this", "* this"), 19, "prediction option looks like"),
    "unknown-field.md": (GOOD.replace("knob: degree", "knobb: degree"), 12, "expected 'key: value'"),
    "unknown-page.md": (GOOD.replace("page: bias-variance", "page: bias"), 11, "unknown page 'bias'"),
}


def test_broken_lessons_name_their_file_and_line_and_the_others_still_load(tmp_path):
    _write(tmp_path, "00-good.md", GOOD)
    for name, (text, _, _) in BROKEN.items():
        _write(tmp_path, name, text.replace("id: sample", f"id: {name.removesuffix('.md')}"))
    lessons, problems = loader.load_lessons(lesson_charts.CHART_IDS, PAGE_IDS, tmp_path)
    assert [lesson.id for lesson in lessons] == ["sample"]
    by_file = {problem.path.name: problem for problem in problems}
    assert set(by_file) == set(BROKEN)
    for name, (_, line, words) in BROKEN.items():
        assert (by_file[name].line, str(by_file[name]).startswith(f"{tmp_path / name}:{line}: ")) == (line, True), \
            str(by_file[name])
        assert words in by_file[name].message, str(by_file[name])


def test_a_duplicate_lesson_id_is_a_problem_not_a_silent_override(tmp_path):
    _write(tmp_path, "a.md", GOOD)
    _write(tmp_path, "b.md", GOOD)
    lessons, problems = loader.load_lessons(lesson_charts.CHART_IDS, PAGE_IDS, tmp_path)
    assert len(lessons) == 1 and "already used by a.md" in str(problems[0])


# ---------------------------------------------------------------- the chart registry

def test_every_chart_says_what_to_build_when_its_runs_are_missing(tmp_path):
    for chart_id in lesson_charts.CHARTS:
        result = lesson_charts.render(chart_id, [tmp_path])
        if chart_id in lesson_charts.NO_RUNS:
            assert isinstance(result, lesson_charts.Shown), chart_id
            continue
        assert isinstance(result, lesson_charts.Missing), chart_id
        assert "python -m training" in result.command, chart_id


def test_every_chart_renders_from_tiny_runs(lesson_cache):
    for chart_id in lesson_charts.CHARTS:
        result = lesson_charts.render(chart_id, [lesson_cache])
        if chart_id == "bn-noisy-accuracy":
            assert isinstance(result, lesson_charts.Missing) and NOT_BUILT in result.what
            assert f"--preset {NOT_BUILT}" in result.command
            continue
        assert isinstance(result, lesson_charts.Shown), (chart_id, result)
        assert not result.data.empty, chart_id
        result.chart.to_dict()   # a valid Vega-Lite spec


def test_charts_read_the_measured_values(lesson_cache):
    """The weight chart shows the run's final weights; the grid heatmap one cell per grid run."""
    from cache import store
    from ui import data

    folder = data.latest_run("polynomial-degree3", [lesson_cache])
    learned = store.load_checkpoint(folder, "final")["model"]["output.weight"].reshape(-1).tolist()
    shown = lesson_charts.render("poly-weights-degree3", [lesson_cache])
    assert shown.data["learned"].tolist() == pytest.approx(learned)
    assert shown.data["true"].tolist() == [5.0, 1.2, -3.4, 5.6]
    grid = lesson_charts.render("tuning-grid", [lesson_cache]).data
    assert sorted(grid["lr"]) == [0.1, 0.1] and sorted(grid["beta1"]) == [0.8, 0.88]
    assert grid["chosen"].sum() == 1 and grid["test_accuracy"].notna().sum() == 1   # chosen on val, test read once
    shape = lesson_charts.render("tuning-shape", [lesson_cache]).data
    assert sorted(shape["width"]) == [64, 256] and set(shape["layers"]) == {1}


# ---------------------------------------------------------------- the page

@pytest.fixture
def app(monkeypatch, lesson_cache, cache_dir) -> AppTest:
    monkeypatch.setenv("REGLAB_DEMO_DIR", str(lesson_cache))
    st.cache_data.clear()
    return AppTest.from_file(APP, default_timeout=120)


def open_step(app: AppTest, lesson: str, step: int, **extra: str) -> AppTest:
    app.query_params.update({"lesson": lesson, "step": str(step), **extra})
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def test_walk_every_step_of_every_lesson(app):
    lessons, _ = loader.load_lessons(lesson_charts.CHART_IDS, PAGE_IDS)
    for lesson in lessons:
        open_step(app, lesson.id, 1)
        for number, step in enumerate(lesson.steps, start=1):
            key = f"wt-{lesson.id}-{number}"
            assert app.subheader[0].value == step.title
            wrong = (step.answer + number % 2) % len(step.options)   # alternate right and wrong guesses
            app.radio(key=f"{key}-predict").set_value(step.options[wrong])
            app.button(key="wt-reveal").click().run()
            assert not app.exception, (lesson.id, number, app.exception)
            verdicts = [e.value for e in app.success] + [e.value for e in app.error]
            assert any(step.options[step.answer] in text for text in verdicts), (lesson.id, number)
            assert any(step.explanation[:40] in m.value for m in app.markdown), (lesson.id, number)
            links = [link.proto.page for link in app.get("page_link")]
            assert Path(page_path(step.page)).stem in links, (lesson.id, number, links)   # the page's URL path
            if step.compare:
                app.segmented_control(key=f"{key}-compare").set_value(step.compare[-1][0]).run()
                assert not app.exception, (lesson.id, number, app.exception)
            if number < len(lesson.steps):
                app.button(key="wt-next").click().run()
                assert app.query_params["step"] == [str(number + 1)] or app.query_params["step"] == str(number + 1)
        app.button(key="wt-previous").click().run()
        assert app.subheader[0].value == lesson.steps[-2].title
        app.query_params.clear()


def test_a_deep_link_opens_the_named_step(app):
    lessons, _ = loader.load_lessons(lesson_charts.CHART_IDS, PAGE_IDS)
    batchnorm = next(lesson for lesson in lessons if lesson.id == "batchnorm")
    open_step(app, "batchnorm", 3)
    assert app.subheader[0].value == batchnorm.steps[2].title
    assert app.selectbox[0].value == "batchnorm"
    assert "Step 3 of" in app.get("progress")[0].proto.text
    app.selectbox[0].set_value("tuning").run()     # another lesson starts at its first step
    assert app.query_params["lesson"] in ("tuning", ["tuning"]) and app.query_params["step"] in ("1", ["1"])
    assert app.subheader[0].value == next(lesson for lesson in lessons if lesson.id == "tuning").steps[0].title


def test_a_bad_link_falls_back_with_a_note(app):
    open_step(app, "no-such-lesson", 99)
    assert any("no lesson 'no-such-lesson'" in w.value for w in app.warning)
    assert any("is not one of them" in w.value for w in app.warning)


def test_a_missing_run_shows_what_to_build_in_the_lesson(app):
    open_step(app, "batchnorm", 5)
    app.button(key="wt-reveal").click().run()
    assert not app.exception
    assert any(NOT_BUILT in i.value for i in app.info)
    assert any(f"--preset {NOT_BUILT}" in c.value for c in app.code)


def test_presenter_view_hides_the_sidebar_and_enlarges_text(app):
    open_step(app, "dropout", 2, presenter="1")
    styles = [m.value for m in app.markdown if "<style>" in m.value]
    assert styles and 'stSidebar"' in styles[0] and "font-size" in styles[0]
    assert app.toggle(key="wt-presenter").value is True
    app.toggle(key="wt-presenter").set_value(False).run()
    assert "presenter" not in app.query_params
    assert not [m.value for m in app.markdown if "<style>" in m.value]


def test_a_broken_lesson_file_is_reported_and_the_others_still_work(app, monkeypatch, tmp_path):
    _write(tmp_path, "00-good.md", GOOD)
    text, line, _ = BROKEN["unknown-chart.md"]
    _write(tmp_path, "broken.md", text.replace("id: sample", "id: broken"))
    monkeypatch.setattr(loader, "LESSON_DIR", tmp_path)
    open_step(app, "sample", 1)
    assert app.subheader[0].value == "First step"
    assert any("broken.md" in w.value and f"line {line}" in w.value for w in app.warning)


def test_previous_shows_the_prediction_that_was_made(app):
    lessons, _ = loader.load_lessons(lesson_charts.CHART_IDS, PAGE_IDS)
    options = next(lesson for lesson in lessons if lesson.id == "dropout").steps[1].options
    open_step(app, "dropout", 2)
    app.radio(key="wt-dropout-2-predict").set_value(options[0]).run()
    app.button(key="wt-next").click().run()
    app.button(key="wt-previous").click().run()
    assert app.radio(key="wt-dropout-2-predict").value == options[0]
    app.button(key="wt-reveal").click().run()
    assert any(options[0] in e.value for e in [*app.success, *app.error])   # judged against what was predicted


def test_presenter_view_scales_the_chart_text(app):
    import json

    from ui.charts import PRESENTER_SCALE

    sizes = {}
    for presenter in ("0", "1"):
        open_step(app, "dropout", 2, presenter=presenter)
        if not app.button(key="wt-reveal").disabled:   # revealed once, it stays revealed
            app.button(key="wt-reveal").click().run()
        spec = json.loads(app.get("vega_lite_chart")[0].proto.spec)
        sizes[presenter] = spec["config"]["axis"]["labelFontSize"]
        app.query_params.clear()
    assert sizes["1"] == pytest.approx(sizes["0"] * PRESENTER_SCALE, abs=0.1)
