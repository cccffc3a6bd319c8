"""Read classroom lessons from markdown files (format: walkthroughs/README.md).

Pure: text in, `Lesson` objects out, no streamlit. Every problem is reported as
`path:line: message`, and one broken file never stops the others from loading:
`load_lessons` returns (lessons, problems).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

LESSON_DIR = Path(__file__).resolve().parent / "lessons"

LESSON_FIELDS = ("id", "title", "summary")
STEP_FIELDS = ("chart", "page", "knob", "compare")
SECTIONS = ("question", "predict", "explanation", "try it")
REQUIRED_SECTIONS = ("question", "explanation", "try it")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z -]*?)\s*:\s*(.*)$")
OPTION_LINE = re.compile(r"^[-*]\s+\[( |x|X)\]\s+(.+)$")


class LessonError(ValueError):
    """A lesson file that cannot be used; str() is `path:line: message`."""

    def __init__(self, path: Path | str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = Path(path), line, message


@dataclass(frozen=True)
class Step:
    title: str
    question: str
    chart: str
    explanation: str
    try_it: str                                # what to change, as markdown
    page: str | None = None                    # page id to link to (lessons.PAGES)
    knob: str | None = None                    # the control to change on that page
    options: tuple[str, ...] = ()              # multiple-choice predictions (may be empty)
    answer: int | None = None                  # index into options
    compare: tuple[tuple[str, str], ...] = ()  # in-place control: (label, chart id) pairs
    line: int = 0                              # where the step starts in its file

    @property
    def charts(self) -> tuple[str, ...]:
        """Every chart id the step can show: its own, then the compare alternatives."""
        return (self.chart, *(chart for _, chart in self.compare if chart != self.chart))


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    intro: str = ""
    path: Path = field(default_factory=Path)


# ---------------------------------------------------------------- parsing

@dataclass
class _RawStep:
    title: str
    line: int
    fields: dict[str, tuple[str, int]] = field(default_factory=dict)
    sections: dict[str, tuple[list[str], int]] = field(default_factory=dict)
    current: str | None = None


def _front_matter(lines: list[str], path: Path) -> tuple[dict[str, tuple[str, int]], int]:
    """`---` / key: value lines / `---` at the top; returns ({key: (value, line)}, next index)."""
    if not lines or lines[0].strip() != "---":
        raise LessonError(path, 1, "a lesson starts with a '---' line, then id:, title:, summary:, then '---'")
    fields: dict[str, tuple[str, int]] = {}
    for index, raw in enumerate(lines[1:], start=1):
        text = raw.strip()
        if text == "---":
            missing = [f for f in LESSON_FIELDS if not fields.get(f, ("",))[0]]
            if missing:
                raise LessonError(path, 1, f"front matter lacks {', '.join(missing)} (needs {', '.join(LESSON_FIELDS)})")
            return fields, index + 1
        if not text:
            continue
        match = FIELD_LINE.match(text)
        key = match.group(1).strip().lower() if match else None
        if key not in LESSON_FIELDS:
            raise LessonError(path, index + 1, f"expected one of {', '.join(LESSON_FIELDS)} as 'key: value', got {text!r}")
        if key in fields:
            raise LessonError(path, index + 1, f"{key} is given twice")
        fields[key] = (match.group(2).strip(), index + 1)
    raise LessonError(path, 1, "the front matter is never closed by a '---' line")


def _split_steps(lines: list[str], start: int, path: Path) -> tuple[str, list[_RawStep]]:
    """Walk the body: text before the first `## ` is the intro; each `## ` starts a step."""
    intro: list[str] = []
    steps: list[_RawStep] = []
    in_fence = False
    for index in range(start, len(lines)):
        raw, number = lines[index], index + 1
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else re.match(r"^(#{2,3})\s+(.*?)\s*#*\s*$", raw)
        if heading and len(heading.group(1)) == 2:
            steps.append(_RawStep(title=heading.group(2), line=number))
        elif not steps:
            intro.append(raw)
        elif heading:
            _open_section(steps[-1], heading.group(2), number, path)
        else:
            _add_line(steps[-1], raw, number, path)
    return "\n".join(intro).strip(), steps


def _open_section(step: _RawStep, title: str, number: int, path: Path) -> None:
    name = title.strip().lower()
    if name not in SECTIONS:
        raise LessonError(path, number, f"unknown section '### {title}'; sections are "
                                        + ", ".join(s.title() for s in SECTIONS))
    if name in step.sections:
        raise LessonError(path, number, f"step '{step.title}' has two '### {title}' sections")
    step.sections[name] = ([], number)
    step.current = name


def _add_line(step: _RawStep, raw: str, number: int, path: Path) -> None:
    if step.current is not None:
        step.sections[step.current][0].append(raw)
        return
    text = raw.strip()
    if not text:
        return
    match = FIELD_LINE.match(text)
    key = match.group(1).strip().lower() if match else None
    if key not in STEP_FIELDS:
        raise LessonError(path, number, f"step '{step.title}': expected 'key: value' with a key from "
                                        f"{', '.join(STEP_FIELDS)}, or a '### Question' section; got {text!r}")
    if key in step.fields:
        raise LessonError(path, number, f"step '{step.title}': {key} is given twice")
    step.fields[key] = (match.group(2).strip(), number)


# ---------------------------------------------------------------- validation

def _section_text(raw: _RawStep, name: str, path: Path) -> str:
    lines, number = raw.sections.get(name, ([], raw.line))
    text = "\n".join(lines).strip()
    if name in REQUIRED_SECTIONS and not text:
        where = "is empty" if name in raw.sections else "is missing"
        raise LessonError(path, number, f"step '{raw.title}': the '### {name.title()}' section {where}")
    return text


def _options(raw: _RawStep, path: Path) -> tuple[tuple[str, ...], int | None]:
    """`- [ ] wrong` / `- [x] right` lines; exactly one ticked, at least two in all."""
    if "predict" not in raw.sections:
        return (), None
    lines, number = raw.sections["predict"]
    options, answers = [], []
    for offset, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = OPTION_LINE.match(line.strip())
        if not match:
            raise LessonError(path, number + offset, f"step '{raw.title}': a prediction option looks like "
                                                     f"'- [ ] text' or '- [x] text' (the answer); got {line.strip()!r}")
        if match.group(1).lower() == "x":
            answers.append(len(options))
        options.append(match.group(2).strip())
    if len(options) < 2 or len(answers) != 1:
        raise LessonError(path, number, f"step '{raw.title}': '### Predict' needs at least two options and exactly "
                                        f"one marked [x]; found {len(options)} options, {len(answers)} marked")
    return tuple(options), answers[0]


def _chart_id(value: str, number: int, chart_ids: set[str], path: Path, title: str) -> str:
    if value not in chart_ids:
        near = [c for c in sorted(chart_ids) if c.split("-")[0] == value.split("-")[0]] or sorted(chart_ids)
        raise LessonError(path, number, f"step '{title}': unknown chart id {value!r}; known: {', '.join(near)}")
    return value


def _compare(raw: _RawStep, chart_ids: set[str], path: Path) -> tuple[tuple[str, str], ...]:
    """`compare: label = chart-id | label = chart-id`."""
    if "compare" not in raw.fields:
        return ()
    value, number = raw.fields["compare"]
    pairs = []
    for part in value.split("|"):
        label, sep, chart = part.rpartition("=")   # the label may itself contain "="
        if not sep or not label.strip() or not chart.strip():
            raise LessonError(path, number, f"step '{raw.title}': compare expects 'label = chart-id | "
                                            f"label = chart-id', got {part.strip()!r}")
        pairs.append((label.strip(), _chart_id(chart.strip(), number, chart_ids, path, raw.title)))
    if len(pairs) < 2:
        raise LessonError(path, number, f"step '{raw.title}': compare needs at least two charts")
    return tuple(pairs)


def _build_step(raw: _RawStep, chart_ids: set[str], page_ids: set[str], path: Path) -> Step:
    if not raw.title:
        raise LessonError(path, raw.line, "a step heading '## ' needs a title")
    if "chart" not in raw.fields:
        raise LessonError(path, raw.line, f"step '{raw.title}' has no 'chart: <chart id>' line")
    chart = _chart_id(*raw.fields["chart"], chart_ids, path, raw.title)
    page = raw.fields.get("page", (None, raw.line))
    if page[0] is not None and page[0] not in page_ids:
        raise LessonError(path, page[1], f"step '{raw.title}': unknown page {page[0]!r}; "
                                         f"known: {', '.join(sorted(page_ids))}")
    options, answer = _options(raw, path)
    return Step(title=raw.title, question=_section_text(raw, "question", path), chart=chart,
                explanation=_section_text(raw, "explanation", path), try_it=_section_text(raw, "try it", path),
                page=page[0], knob=raw.fields.get("knob", (None, 0))[0], options=options, answer=answer,
                compare=_compare(raw, chart_ids, path), line=raw.line)


def parse_lesson(text: str, path: Path | str, chart_ids: Iterable[str],
                 page_ids: Iterable[str]) -> Lesson:
    """One lesson file's text -> Lesson, or LessonError naming the file and line."""
    path = Path(path)
    lines = text.splitlines()
    fields, body_start = _front_matter(lines, path)
    lesson_id, id_line = fields["id"]
    if not ID_PATTERN.match(lesson_id):
        raise LessonError(path, id_line, f"id {lesson_id!r}: use lowercase letters, digits and '-' (it goes in URLs)")
    intro, raw_steps = _split_steps(lines, body_start, path)
    if not raw_steps:
        raise LessonError(path, body_start + 1, "the lesson has no steps (each step starts with '## Step title')")
    steps = tuple(_build_step(raw, set(chart_ids), set(page_ids), path) for raw in raw_steps)
    return Lesson(id=lesson_id, title=fields["title"][0], summary=fields["summary"][0], steps=steps,
                  intro=intro, path=path)


def load_lessons(chart_ids: Iterable[str], page_ids: Iterable[str],
                 folder: Path | str | None = None) -> tuple[list[Lesson], list[LessonError]]:
    """Every `*.md` lesson in `folder` (default LESSON_DIR), in file-name order, and one error
    per file that failed."""
    folder = LESSON_DIR if folder is None else folder
    lessons: list[Lesson] = []
    problems: list[LessonError] = []
    chart_ids, page_ids = set(chart_ids), set(page_ids)
    seen: dict[str, Path] = {}
    for path in sorted(Path(folder).glob("*.md")):
        try:
            lesson = parse_lesson(path.read_text(encoding="utf-8"), path, chart_ids, page_ids)
        except LessonError as err:
            problems.append(err)
            continue
        except (OSError, UnicodeDecodeError) as err:
            problems.append(LessonError(path, 1, f"cannot be read ({err})"))
            continue
        if lesson.id in seen:
            problems.append(LessonError(path, 2, f"id {lesson.id!r} is already used by {seen[lesson.id].name}"))
            continue
        seen[lesson.id] = path
        lessons.append(lesson)
    return lessons, problems
