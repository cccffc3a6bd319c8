"""The lesson registry is complete and consistent: every preset, sweep, chart, page and
walkthrough file belongs to exactly one declared place."""
from __future__ import annotations

from pathlib import Path

import pytest

import lessons
from training.presets import PRESETS, SWEEPS
from ui import lesson_charts
from walkthroughs import loader

REPO = Path(__file__).resolve().parent.parent


def test_every_preset_and_sweep_belongs_to_exactly_one_lesson():
    owners: dict[str, list[str]] = {}
    for lesson in lessons.LESSONS:
        for name in lesson.run_names:
            owners.setdefault(name, []).append(lesson.id)
    assert set(owners) == set(PRESETS) | set(SWEEPS), set(PRESETS) | set(SWEEPS) ^ set(owners)
    assert all(len(ids) == 1 for ids in owners.values()), {n: ids for n, ids in owners.items() if len(ids) > 1}


def test_every_chart_is_declared_by_one_lesson_and_has_a_builder():
    declared = [chart for lesson in lessons.LESSONS for chart in lesson.charts]
    assert len(declared) == len(set(declared)), "a chart id is declared by two lessons"
    assert set(declared) == set(lesson_charts.CHARTS)


def test_pages_and_walkthrough_files_exist_and_agree():
    page_ids = {page.id for page in lessons.PAGES}
    assert all((REPO / page.path).is_file() for page in lessons.PAGES)
    assert all(lesson.page in page_ids for lesson in lessons.LESSONS)
    files, problems = loader.load_lessons(lesson_charts.CHART_IDS, page_ids)
    assert not problems
    by_file = {lesson.path.name: lesson.id for lesson in files}
    for lesson in lessons.LESSONS:
        if lesson.walkthrough:
            assert by_file.get(lesson.walkthrough) == lesson.id, (lesson.id, lesson.walkthrough)


def test_each_walkthrough_step_shows_only_its_own_lessons_charts():
    page_ids = {page.id for page in lessons.PAGES}
    files, _ = loader.load_lessons(lesson_charts.CHART_IDS, page_ids)
    declared = {lesson.id: set(lesson.charts) for lesson in lessons.LESSONS}
    shared = {"bn-lr-sweep"}   # the tuning lesson ends on the BN lesson's learning-rate sweep, on purpose
    for lesson in files:
        used = {chart for step in lesson.steps for chart in step.charts}
        assert used - shared <= declared[lesson.id], (lesson.id, used - declared[lesson.id])


def test_demo_runs_cover_every_lesson_and_carry_its_postprocessing():
    runs = lessons.demo_runs()
    # a lesson computed on the spot (model selection: closed form on synthetic data) declares no runs
    assert {run.lesson.id for run in runs} == {lesson.id for lesson in lessons.LESSONS if lesson.run_names}
    dropout = next(run for run in runs if run.spec.name == "d2l-dropout")
    assert dropout.keep_checkpoint and dropout.lesson.postprocess is not None and callable(dropout.lesson.postprocess)
    sweep_run = next(run for run in runs if run.sweep == "width-sweep")
    assert not sweep_run.keep_checkpoint and sweep_run.lesson.id == "width-sweeps"
    assert lessons.lesson_of("no-such-run") is None


def test_unknown_lesson_and_page_ids_are_named():
    with pytest.raises(lessons.LessonError, match="unknown lesson 'nope'"):
        lessons.get_lesson("nope")
    with pytest.raises(lessons.LessonError, match="unknown page 'nope'"):
        lessons.page_path("nope")
