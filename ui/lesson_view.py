"""Show a lesson chart (ui/lesson_charts.py) on a page or in a walkthrough step: the same
builder on the same runs, so a page section and a lesson step can never drift apart."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ui import charts, code, lesson_charts, messages, sources


def show_lesson_chart(chart_id: str, key: str, dirs: Sequence[Path] | None = None) -> lesson_charts.Shown | None:
    """Draw the chart with its caption and "show the code", or say which runs it needs."""
    result = lesson_charts.render(chart_id, sources.lesson_dirs() if dirs is None else dirs, sources.chosen_runs())
    if isinstance(result, lesson_charts.Missing):
        messages.missing_runs(result.what, result.command)
        return None
    charts.show_chart(result.chart, result.data, key=f"{key}-{chart_id}", caption=result.caption or None)
    code.show_code(*lesson_charts.CHARTS[chart_id].code)
    return result
