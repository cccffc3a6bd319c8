"""The lesson registry: the one place that declares each page and each lesson.

A lesson names its page, its presets and sweeps (the preset modules' constants, so a typo
fails at import), the post-processing its finished runs need (a callable), the chart ids
its page sections and walkthrough steps show (builders in ui/lesson_charts.py), and its
walkthrough file. Navigation, Home, the walkthrough page, precompute, check-demo and the
tests read it. It sits beside the pages and only imports downwards.
"""
from lessons.registry import (LESSONS, PAGES, DemoRun, Lesson, LessonError, Page, Thumbnail, demo_runs, get_lesson,
                              lesson_of, page_path, page_title, postprocess_run)

__all__ = ["LESSONS", "PAGES", "DemoRun", "Lesson", "LessonError", "Page", "Thumbnail", "demo_runs", "get_lesson", "lesson_of",
           "page_path", "page_title", "postprocess_run"]
