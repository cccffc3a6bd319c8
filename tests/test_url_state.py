"""Every page's state is in its link: a knob changed on a lesson page survives a reload, and
a shared link opened in a fresh browser (no cookies, no session) shows the same view.
Real Chromium against `streamlit run app.py` on the committed demo cache."""
from __future__ import annotations

import os
from urllib.parse import parse_qs, urlparse

import pytest

from test_browser import CHROMIUM, REPO, clicked, launch_chromium, serve_app, settled
from ui.url_state import BIND, bound

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")
CHART = ".vega-embed >> visible=true"   # a hidden tab holds charts too


def test_bound_names_the_parameter_after_the_key():
    assert bound("bv_case") == {"key": "bv_case", "bind": BIND}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The app on the committed demo cache, with an empty cache of the user's own."""
    env = {k: v for k, v in os.environ.items() if k not in ("REGLAB_DEMO_DIR", "REGLAB_READ_ONLY")}
    env["REGLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("mine"))
    with serve_app(env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def shown(page, url: str) -> None:
    """Go to `url` and wait until its script has run and a chart is on screen."""
    page.goto(url, wait_until="domcontentloaded")
    settled(page)
    page.wait_for_selector(CHART, timeout=90_000)


def open_page(context, url: str):
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1400})
    shown(page, url)
    return page


def settle(page, param: str, value: str | None = None) -> None:
    """Wait until the URL carries the parameter (the widget wrote it) and the rerun is done."""
    page.wait_for_function(f"new URLSearchParams(location.search).has({param!r})", timeout=30_000)
    settled(page)
    if value is not None:
        assert parse_qs(urlparse(page.url).query)[param] == [value]


def reloaded(page) -> None:
    page.reload(wait_until="domcontentloaded")
    settled(page)
    page.wait_for_selector(CHART, timeout=90_000)


def pick(page, group: str, option: str) -> None:
    page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()


def checked_radio(page, name: str) -> bool:
    return page.get_by_role("radio", name=name, exact=True).is_checked()


def test_a_knob_on_each_page_survives_a_reload(demo_server, browser):
    context = browser.new_context()
    page = open_page(context, f"{demo_server}/bias_variance")
    clicked(page, page.get_by_role("tab", name="Weight decay"))
    settle(page, "section", "Weight decay")
    reloaded(page)
    assert page.get_by_role("tab", name="Weight decay").get_attribute("aria-selected") == "true"
    clicked(page, page.get_by_role("tab", name="Polynomial fits"))
    pick(page, "Case", "degree 1: underfitting")
    settle(page, "bv_case", "degree 1: underfitting")
    reloaded(page)
    assert checked_radio(page, "degree 1: underfitting")

    shown(page, f"{demo_server}/covariate_shift?section=Per-layer+drift")
    pick(page, "Drift measure", "std change")   # the human label (analysis.palette.LABELS)
    settle(page, "bn_drift_measure", "std change")   # the URL keeps the shown label
    reloaded(page)
    assert checked_radio(page, "std change")

    shown(page, f"{demo_server}/dropout")
    page.get_by_role("slider").first.focus()
    page.keyboard.press("ArrowRight")
    settle(page, "dropout_p_check", "0.55")
    reloaded(page)
    assert page.get_by_role("slider").first.get_attribute("aria-valuetext") in ("0.55", None)
    assert page.get_by_text("0.55", exact=True).first.is_visible()

    shown(page, f"{demo_server}/runs")
    pick(page, "Runs from", "Demo cache")
    settle(page, "runs_source", "Demo cache")
    reloaded(page)
    assert checked_radio(page, "Demo cache")
    context.close()


def test_a_shared_link_opens_the_same_view_in_a_fresh_browser(demo_server, browser):
    """A link holds the open section and the knobs shown in it (a section not shown is not
    computed, so its knobs are not part of the view)."""
    context = browser.new_context()
    page = open_page(context, f"{demo_server}/bias_variance")
    pick(page, "Case", "degree 19: 20 features")
    settle(page, "bv_case")
    case_link = page.url
    clicked(page, page.get_by_role("tab", name="Capacity sweep"))
    settle(page, "section", "Capacity sweep")
    section_link = page.url
    context.close()

    fresh = browser.new_context()   # no cookies, no session: only the link
    shared = open_page(fresh, case_link)
    assert shared.get_by_role("tab", name="Polynomial fits").get_attribute("aria-selected") == "true"
    assert checked_radio(shared, "degree 19: 20 features")
    shared.screenshot(path=str(REPO / "test-artifacts" / "shared-link.png"))
    shared = open_page(fresh, section_link)
    assert shared.get_by_role("tab", name="Capacity sweep").get_attribute("aria-selected") == "true"
    fresh.close()
