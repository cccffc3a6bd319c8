"""The app in a real browser: `streamlit run app.py` on a free port, in headless Chromium
(Debian's /usr/bin/chromium); every page and section drawn, with screenshots in
test-artifacts/pages/ (git-ignored). The helpers here wait on the page's own signs."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no Chromium at {CHROMIUM} (Debian package 'chromium')")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            log = getattr(server, "log_path", None)
            raise RuntimeError("streamlit exited early" + (f":\n{Path(log).read_text()}" if log else ""))
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@contextlib.contextmanager
def serve_app(env: dict):
    """The app served on a free local port with `env`, for one test or module; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]
    # The server's log goes to a file: a pipe nobody reads fills up and then blocks the server.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"server-{port}.log", "w")   # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log_path = log.name
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def server(app_demo_cache, cache_dir):
    env = {**os.environ, "REGLAB_DEMO_DIR": str(app_demo_cache), "REGLAB_CACHE_DIR": str(cache_dir)}
    with serve_app(env) as url:
        yield url


def launch_chromium(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])


# The page's script has run: its text is on screen, the script state is not "running" and
# Streamlit's running indicator is gone.
SCRIPT_DONE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const shown = [...document.querySelectorAll('[data-testid="stMain"] :is([data-testid="stHeading"], '
                 + '[data-testid="stMarkdown"], [data-testid="stAlert"])')].some(e => e.offsetParent !== null);
  return shown && app && app.getAttribute('data-test-script-state') !== 'running'
         && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def script_state(page) -> str | None:
    """Streamlit's own word on the page's script: initial, running, notRunning, ..."""
    return page.evaluate("document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')")


def settled(page, timeout_ms: int = 90_000) -> None:
    """Wait until the page's script has run after a navigation."""
    try:
        page.wait_for_function(SCRIPT_DONE, timeout=timeout_ms)
    except PlaywrightTimeout as err:
        state = script_state(page)
        raise AssertionError(f"{page.url} did not settle (script state {state}): {err}") from None
    page.wait_for_timeout(100)


# Watches the script state from before a click, so the rerun the click starts cannot be missed.
# The records' old values count too: on a busy machine the browser may apply "running" and
# "done" in one commit, and then the attribute changes only as seen from its old value.
ARM = """() => { const app = document.querySelector('[data-testid="stApp"]'); window.__sawRun = false;
  new MutationObserver(records => {
    if (app.getAttribute('data-test-script-state') === 'running' || records.some(r => r.oldValue === 'running'))
      window.__sawRun = true; })
    .observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']}); }"""
RERUN_DONE = "() => window.__sawRun && (" + SCRIPT_DONE + ")()"
# A tab's own sign that its click was answered: only the open tab's panel is in the page, and
# a section not open before is empty until the rerun the click started has drawn it.
TAB_SHOWN = """(tab) => { const panel = document.querySelector(`[role="tabpanel"][aria-labelledby="${tab}"]`);
  return !!panel && [...panel.querySelectorAll('[data-testid="stMarkdown"], [data-testid="stHeading"], '
                     + '[data-testid="stAlert"], [data-testid="stVegaLiteChart"]')].some(e => e.offsetParent !== null)
         && (""" + SCRIPT_DONE + """)(); }"""


# Reveal's own sign: the rerun it started has drawn the button disabled (a step is revealed once).
REVEALED = ("() => [...document.querySelectorAll('[data-testid=\"stMain\"] button')]"
            ".some(b => b.innerText.includes('Reveal') && b.disabled) && (" + SCRIPT_DONE + ")()")


def clicked(page, target, shown: str | None = None, timeout_ms: int = 90_000) -> None:
    """Click `target` and wait for the rerun it starts to end, or for `shown` (a JS function that
    says the click's result is drawn; a tab's own by default)."""
    if shown is None and target.get_attribute("role") == "tab":
        shown = f"() => ({TAB_SHOWN})({target.get_attribute('id')!r})"
    page.evaluate(ARM)
    target.click()
    try:
        page.wait_for_function(f"() => ({RERUN_DONE})() || ({shown or '() => false'})()", timeout=timeout_ms)
    except PlaywrightTimeout as err:
        state = script_state(page)
        raise AssertionError(f"{page.url}: clicking {target.inner_text()!r} was not answered "
                             f"(script state {state}, tab selected: {target.get_attribute('aria-selected')}): {err}") from None
    page.wait_for_timeout(100)


# charts on screen (a tab not shown draws its charts only when it is opened), and no element
# still a placeholder (Streamlit draws a skeleton while an element's script loads)
ALL_PAINTED = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                           .filter(chart => chart.offsetParent !== null)
                           .every(chart => chart.querySelector('canvas, svg'))
                      && ![...document.querySelectorAll('[data-testid="stMain"] [data-testid^="stSkeleton"]')]
                           .some(e => e.offsetParent !== null)"""


def opened(page, url: str) -> None:
    """Navigate and wait for the page's script; a load whose session never starts its script
    (seen now and then on a busy machine: the state stays "initial") is reloaded once."""
    page.goto(url, wait_until="domcontentloaded")
    try:
        settled(page, timeout_ms=45_000)
    except AssertionError:
        page.reload(wait_until="domcontentloaded")
        settled(page)


def checked(page, name: str, shots: Path) -> int:
    """No exception box and every chart drawn on the page as shown; a screenshot. Returns the chart count."""
    errors = page.locator("[data-testid='stException']").all_inner_texts()
    assert not errors, (name, errors)
    try:   # a chart that fails to draw times out
        page.wait_for_function(ALL_PAINTED, timeout=60_000)
    except PlaywrightTimeout as err:
        raise AssertionError(f"{name}: a chart did not draw ({err})") from None
    assert "TypeError" not in page.inner_text("[data-testid='stMain']"), name   # a chart that crashed
    page.screenshot(path=str(shots / f"{re.sub(r'[^A-Za-z0-9_-]+', '-', name)}.png"))
    return page.locator("[data-testid='stVegaLiteChart']").count()


def navigated(page, server: str, path: str) -> None:
    """Move to another page by its sidebar link, as a reader does (the session and the app's
    scripts stay), and wait until the new page's script has run and nothing of the old page
    is left (Streamlit marks what the last run did not redraw as stale)."""
    arrived = (f"() => location.pathname.replace(/\\/$/, '') === {('/' + path).rstrip('/')!r} && ({SCRIPT_DONE})()"
               " && !document.querySelector('[data-testid=\"stMain\"] [data-stale=\"true\"]')")
    clicked(page, page.locator(f'[data-testid="stSidebarNav"] a[href="{server}/{path}"]'), shown=arrived)
    page.wait_for_function(arrived, timeout=30_000)


def test_every_page_draws_its_charts_without_an_error(server):
    """Each page (each of its sections), and a walkthrough step in the presenter view, in Chromium: no exception box,
    no chart that failed to draw (each chart element holds a canvas or svg); screenshots in
    test-artifacts/pages/. The first visit of the fresh server is a deep link (it must still get
    app.py's menu); the other pages are reached by their sidebar links."""
    from playwright.sync_api import sync_playwright

    from lessons import PAGES

    shots = ARTIFACTS / "pages"
    shots.mkdir(parents=True, exist_ok=True)
    paths = {page.id: "" if page.id == "home" else Path(page.path).stem for page in PAGES}
    order = ["runs", *(name for name in paths if name != "runs")]
    drawn = 0
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 3000})   # Streamlit scrolls inside
            opened(page, f"{server}/runs")
            for name in order:
                if name != "runs":
                    navigated(page, server, paths[name])
                if name == "home":
                    assert page.title() == "Regularization Lab"
                    assert page.get_by_role("heading", name="Regularization Lab").is_visible()
                    page.wait_for_function("document.querySelectorAll('.vega-embed').length >= 3", timeout=30_000)
                if name == "walkthroughs":   # a step draws its chart once the prediction is revealed
                    clicked(page, page.get_by_role("button", name="Reveal"), shown=REVEALED)
                drawn += checked(page, name, shots)
                if name == "runs":
                    assert page.get_by_role("heading", name="Runs").first.is_visible()
                    assert page.get_by_role("radiogroup", name="Runs from").is_visible()
                    assert page.get_by_text("Covariate Shift & BatchNorm").first.is_visible()   # the menu
                if name == "dropout":
                    code_opens(page)
                drawn += every_other_section(page, name, shots)
            opened(page, f"{server}/walkthroughs?lesson=dropout&step=2&presenter=1")
            clicked(page, page.get_by_role("button", name="Reveal"), shown=REVEALED)
            drawn += checked(page, "walkthroughs-presenter", shots)
        finally:
            browser.close()
    assert drawn >= 5


def code_opens(page) -> None:
    """"Show the code" draws the source once opened (and only then loads the code highlighter)."""
    assert page.locator('[data-testid="stCode"]').count() == 0
    clicked(page, page.get_by_text("Show the code").first)
    page.wait_for_selector('[data-testid="stCode"] >> visible=true', timeout=30_000)
    assert "def dropout_demo" in page.locator('[data-testid="stCode"]').first.inner_text()


def every_other_section(page, name: str, shots: Path) -> int:
    """Open each section (tab) but the first, nested ones too: only the open one is computed."""
    drawn, tab = 0, 1
    while tab < page.get_by_role("tab").count():
        section = page.get_by_role("tab").nth(tab)
        label = section.inner_text()
        if section.get_attribute("aria-selected") != "true":   # a nested default is open already
            clicked(page, section)
        drawn += checked(page, f"{name}-{label}", shots)
        tab += 1
    return drawn
