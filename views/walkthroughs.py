"""Walkthroughs: classroom lessons one step at a time (content: walkthroughs/lessons/*.md).

Lesson, step and presenter view live in the URL (?lesson=dropout&step=3&presenter=1), so a
teacher can share a link to a step. Each step asks a question, takes a prediction, and on
"Reveal" shows the chart from the selected caches, the explanation and what to try next.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ui import lesson_charts
from ui.lesson_view import show_lesson_chart
from lessons import PAGES, page_path
from walkthroughs.loader import Lesson, Step, load_lessons

REPO = Path(__file__).resolve().parent.parent
PAGE_TITLES = {page.id: page.title for page in PAGES}
PRESENTER_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"] {display: none;}
[data-testid="stMainBlockContainer"] {max-width: 1400px;}
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stWidgetLabel"] p, div[role="radiogroup"] label p {font-size: 1.6rem !important; line-height: 1.45;}
[data-testid="stSelectbox"] input, [data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stProgress"] p {font-size: 1.3rem !important; line-height: 1.4;}
h1 {font-size: 3.2rem !important;} h2, h3 {font-size: 2.4rem !important;}
</style>"""


def current_position(lessons: list[Lesson]) -> tuple[Lesson, int]:
    """(lesson, 1-based step) from the URL; unknown values fall back with a note, never an error."""
    by_id = {lesson.id: lesson for lesson in lessons}
    wanted = st.query_params.get("lesson", lessons[0].id)
    lesson = by_id.get(wanted)
    if lesson is None:
        st.warning(f"There is no lesson {wanted!r}; showing *{lessons[0].title}*.", icon=":material/help:")
        lesson = lessons[0]
    raw_step = st.query_params.get("step", "1")
    # isdigit() alone accepts '²' and other digits int() refuses; a URL step is ASCII
    step = int(raw_step) if raw_step.isascii() and raw_step.isdigit() else 1
    if not 1 <= step <= len(lesson.steps):
        st.warning(f"*{lesson.title}* has steps 1 to {len(lesson.steps)}; {raw_step!r} is not one of them.",
                   icon=":material/help:")
        step = min(max(step, 1), len(lesson.steps))
    return lesson, step


def go_to(lesson_id: str, step: int) -> None:
    """Button callback: move to a step by rewriting the URL (the rerun reads it back)."""
    st.query_params["lesson"] = lesson_id
    st.query_params["step"] = str(step)


def reveal(revealed_key: str) -> None:
    st.session_state[revealed_key] = True


def remember(widget_key: str, kept_key: str) -> None:
    """Radio callback: keep the prediction under a key of its own. Streamlit drops a widget's
    state when a rerun does not draw it (another step), so after Previous the step would
    forget what the class predicted."""
    st.session_state[kept_key] = st.session_state.get(widget_key)


def set_presenter() -> None:
    if st.session_state.get("wt-presenter"):
        st.query_params["presenter"] = "1"
    else:
        st.query_params.pop("presenter", None)


def header(lessons: list[Lesson], lesson: Lesson, number: int) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    ids = [item.id for item in lessons]
    titles = {item.id: item.title for item in lessons}
    chosen = left.selectbox("Lesson", ids, index=ids.index(lesson.id), format_func=titles.get,
                            key=f"wt-lesson-{lesson.id}")
    if chosen != lesson.id:
        go_to(chosen, 1)
        st.rerun()
    st.session_state["wt-presenter"] = st.query_params.get("presenter") == "1"   # the URL decides
    right.toggle("Presenter view", key="wt-presenter", on_change=set_presenter,
                 help="Larger text and no sidebar, for a projector. In the URL too.")
    st.caption(lesson.summary)
    st.progress(number / len(lesson.steps), text=f"Step {number} of {len(lesson.steps)}")
    if lesson.intro:
        with st.expander("The setup", expanded=number == 1, icon=":material/science:"):
            st.markdown(lesson.intro)


def navigation(lesson: Lesson, number: int, revealed_key: str) -> None:
    back, middle, forward = st.columns(3)
    back.button("Previous", icon=":material/arrow_back:", disabled=number == 1, on_click=go_to,
                args=(lesson.id, number - 1), key="wt-previous", width="stretch")
    middle.button("Reveal", icon=":material/visibility:", type="primary", key="wt-reveal",
                  disabled=st.session_state.get(revealed_key, False), width="stretch",
                  on_click=reveal, args=(revealed_key,))
    forward.button("Next", icon=":material/arrow_forward:", disabled=number == len(lesson.steps), on_click=go_to,
                   args=(lesson.id, number + 1), key="wt-next", width="stretch")


def verdict(step: Step, prediction: str | None) -> None:
    if not step.options:
        return
    answer = step.options[step.answer]
    if prediction is None:
        st.info(f"No prediction was made. The answer: **{answer}**", icon=":material/lightbulb:")
    elif prediction == answer:
        st.success(f"Right: **{answer}**", icon=":material/check_circle:")
    else:
        st.error(f"Not quite. You predicted *{prediction}*; the answer is **{answer}**", icon=":material/cancel:")


def show_step_chart(step: Step, key: str) -> None:
    """The step's chart, or one of its `compare` alternatives picked in place (the "try it" control)."""
    chart_id = step.chart
    if step.compare:
        labels = {label: chart for label, chart in step.compare}
        default = next((label for label, chart in step.compare if chart == step.chart), step.compare[0][0])
        picked = st.segmented_control("Compare", list(labels), default=default, key=f"{key}-compare")
        chart_id = labels.get(picked, step.chart)
    show_lesson_chart(chart_id, key)


def try_it(step: Step) -> None:
    with st.container(border=True):
        st.markdown("**Try it**" + (f" (change: *{step.knob}*)" if step.knob else ""))
        st.markdown(step.try_it)
        if step.page:
            title = PAGE_TITLES.get(step.page, step.page)
            try:
                st.page_link(page_path(step.page), label=f"Open the {title} page", icon=":material/open_in_new:")
            except StreamlitAPIException:  # the page is not registered (e.g. this file run on its own)
                st.caption(f"Open the {title} page from the navigation.")


def share_link(lesson_id: str, number: int) -> str:
    """This page's address with the step in it (just the query string when the address is unknown)."""
    query = f"?lesson={lesson_id}&step={number}"
    base = (st.context.url or "").split("?")[0]
    return f"{base}{query}" if base.startswith("http") else query


def show_step(lesson: Lesson, number: int) -> None:
    step = lesson.steps[number - 1]
    key = f"wt-{lesson.id}-{number}"
    st.subheader(step.title)
    st.markdown(step.question)
    prediction = None
    if step.options:
        kept = st.session_state.get(f"{key}-prediction")
        prediction = st.radio("Your prediction", step.options, key=f"{key}-predict",
                              index=step.options.index(kept) if kept in step.options else None,
                              on_change=remember, args=(f"{key}-predict", f"{key}-prediction"))
    navigation(lesson, number, f"{key}-revealed")
    if not st.session_state.get(f"{key}-revealed", False):
        st.caption("Discuss, predict, then reveal.")
        return
    verdict(step, prediction)
    show_step_chart(step, key)
    st.markdown(step.explanation)
    try_it(step)
    st.caption(f"Link to this step: `{share_link(lesson.id, number)}`")


def report_problems(problems) -> None:
    for problem in problems:
        where = problem.path.relative_to(REPO) if problem.path.is_relative_to(REPO) else problem.path
        st.warning(f"Lesson file `{where}`, line {problem.line}: {problem.message}", icon=":material/error:")


lessons, problems = load_lessons(lesson_charts.CHART_IDS, PAGE_TITLES)
if st.query_params.get("presenter") == "1":
    st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
st.title("Walkthroughs")
if not lessons:
    st.error("No lesson could be loaded from walkthroughs/lessons/ (see walkthroughs/README.md).")
else:
    lesson, number = current_position(lessons)
    go_to(lesson.id, number)   # the URL always names the step on screen, ready to share
    header(lessons, lesson, number)
    show_step(lesson, number)
report_problems(problems)
