"""Browser timings: per page, navigation -> first chart painted, timed in the page from its
navigation start (cold: a fresh server and an empty browser cache; warm: the same server and browser again, so the app's scripts come from
the browser's cache as they do for a returning reader; link: a click on the page's sidebar link
in the app already open on another page, as a reader moves between pages) and knob change ->
redrawn chart (from the input as the page sees it), in headless Chromium.

`python -m bench.bench_browser [--repeat 3]`. Pages alternate within each repeat (a, b, c,
a, b, c, ...), so a noisy neighbour hits every page alike; each figure is the median of the
repeats with its spread (min-max), and each page's warm reload is also given as a ratio to the
floor: a bare Streamlit app with one chart (bench/bare_app.py), measured in the same rounds, as
is a second floor with the lab's sidebar navigation at a lesson page's path (bench/bare_nav_app.py).
Server start-up is not counted.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from test_browser import ARM, SCRIPT_DONE, free_port, launch_chromium, wait_until_serving

VISIBLE_CHART = ".vega-embed >> visible=true"
# The first chart as the reader sees it, timed in the page from its navigation start (the
# driver's own polling would add 0.15-0.25 s here): the frame after a visible chart's canvas or
# SVG appears.
FIRST_PAINT = """(() => { window.__firstChartAt = null;
  const seen = () => [...document.querySelectorAll('.vega-embed')]
    .some(e => e.offsetParent !== null && e.querySelector('canvas, svg.marks'));
  new MutationObserver((_, observer) => {
    if (window.__firstChartAt !== null || !seen()) return;
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__firstChartAt ??= performance.now(); }));
  }).observe(document, {subtree: true, childList: true, attributes: true}); })()"""
# page path -> (how to turn its knob, the URL parameter that says it turned)
KNOBS = {
    "bias_variance": (lambda p: p.get_by_role("radiogroup", name="Case").get_by_text("degree 1: underfitting", exact=True).click(), "bv_case"),
    "covariate_shift?section=Per-layer+drift": (lambda p: p.get_by_role("radiogroup", name="Drift measure").get_by_text("std change", exact=True).click(), "bn_drift_measure"),
    "dropout": (lambda p: (p.get_by_role("slider").first.focus(), p.keyboard.press("ArrowRight")), "dropout_p_check"),
    "runs": (lambda p: p.get_by_role("radiogroup", name="Runs from").get_by_text("Demo cache", exact=True).click(), "runs_source"),
}
# pages without a knob: navigation -> first chart only (Home's thumbnails; Covariate Shift as a
# reader first opens it, on Figure 1; a walkthrough step draws its chart only once the prediction
# is revealed, so it is not timed here)
FIRST_CHART_ONLY = ("", "covariate_shift", "keras_concrete", "activations", "model_selection")
PAGES = (*KNOBS, *FIRST_CHART_ONLY)
# Vega redraws a chart in place, so "redrawn" is read from Streamlit's own run state: the
# rerun the knob started (seen by an observer) has ended and its deltas are painted. The clock
# starts at the reader's input as the page sees it (a pointer or key down), so the time the
# browser driver spends finding the knob on the page is not counted.
MARK_OLD = f"""(() => {{ ({ARM})(); window.__inputAt = null;
  for (const kind of ['pointerdown', 'keydown'])
    document.addEventListener(kind, () => {{ window.__inputAt ??= performance.now(); }}, {{capture: true}}); }})()"""
PAINTED_SINCE_INPUT = ("new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
                       "() => r((performance.now() - window.__inputAt) / 1000))))")
NEW_DRAWN = ("window.__sawRun && document.querySelector('[data-testid=\"stApp\"]')"
             ".getAttribute('data-test-script-state') === 'notRunning'")
# A new page is drawn once its own script has run (seen running, or its title is on screen in
# place of the old page's: a fast run can start and end between two observer callbacks), no
# element of the old page is left stale, and a chart of it is visible.
TITLE = "document.querySelector('[data-testid=\"stMain\"] h1')?.innerText ?? ''"
NEW_PAGE_DRAWN = (f"(window.__sawRun || ({TITLE}) !== window.__oldTitle) && document.querySelector('[data-testid=\"stApp\"]')"
                  ".getAttribute('data-test-script-state') === 'notRunning' && !document.querySelector('[data-stale=\"true\"]')"
                  " && [...document.querySelectorAll('.vega-embed')].some(e => e.offsetParent !== null)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=3, help="repeats per page (default 3)")
    parser.add_argument("--pages", nargs="*", choices=[p or "home" for p in PAGES], default=None,
                        help="only these pages (the floors are always measured); default every page")


# the baseline rows, cold and warm only: bench/bare_app.py at /, and bench/bare_nav_app.py (the
# lab's sidebar navigation, a title, a paragraph, one chart) at a lesson page's path, which costs
# Streamlit's client a failed look for the server under that path first
FLOORS = {"bare Streamlit, one chart": ("bench/bare_app.py", ""),
          "bare Streamlit + the lab's navigation": ("bench/bare_nav_app.py", "bias_variance")}
FLOOR = next(iter(FLOORS))   # the ratios' baseline


def start_server(cache: str, script: str = "app.py") -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
                                "--server.port", str(port), "--server.address", "127.0.0.1",
                                "--browser.gatherUsageStats", "false"], cwd=REPO,
                               env={**os.environ, "REGLAB_CACHE_DIR": cache}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, process)
    return process, url


def first_chart(reader, url: str) -> tuple[float, object]:
    """Navigation -> the first visible chart painted, in `reader` (a browser context made by
    `new_reader`: a fresh one is a first visit, a used one has the app's scripts in its HTTP
    cache, as a returning reader's)."""
    page = reader.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_function("typeof window.__firstChartAt === 'number'", timeout=120_000, polling=100)
    return page.evaluate("window.__firstChartAt") / 1000, page


def new_reader(browser):
    """One reader's browser: a context whose pages time their own first chart."""
    reader = browser.new_context(viewport={"width": 1400, "height": 1400})
    reader.add_init_script(FIRST_PAINT)
    return reader


def quiet_close(page) -> None:
    """Close a page once its script has run and it has drawn what it will, so its leftover work
    (the charts below the first, the server's session) does not share the machine with the next
    load, as it would not for a reader reloading a page."""
    page.wait_for_function(SCRIPT_DONE, timeout=120_000, polling=100)
    page.wait_for_timeout(1000)
    page.close()


def link_first_chart(page, url: str, path: str) -> float:
    """In-app navigation: from a click on the page's sidebar link, in an app already open on
    another page, to the new page's first chart painted (no reload: the app's scripts and
    session stay, as when a reader moves from page to page)."""
    target = path.split("?")[0]
    page.goto(f"{url}/{'runs' if target == '' else ''}", wait_until="commit")
    page.wait_for_selector(VISIBLE_CHART, timeout=120_000)
    page.wait_for_timeout(1500)   # the first render settles
    page.evaluate(MARK_OLD)
    page.evaluate(f"window.__oldTitle = ({TITLE})")
    page.locator(f'[data-testid="stSidebarNav"] a[href="{url}/{target}"]').click()
    page.wait_for_function(f"() => location.pathname.replace(/\\/$/, '') === {('/' + target).rstrip('/')!r} && ({NEW_PAGE_DRAWN})",
                           timeout=120_000, polling="raf")
    return page.evaluate(PAINTED_SINCE_INPUT)


def knob_redraw(page, path: str) -> float:
    turn, param = KNOBS[path]
    page.wait_for_timeout(1500)   # the first render settles
    page.evaluate(MARK_OLD)
    turn(page)
    page.wait_for_function(NEW_DRAWN, timeout=120_000, polling="raf")
    took = page.evaluate(PAINTED_SINCE_INPUT)   # input -> the rerun's deltas painted
    assert param in page.url, f"{path}: the knob did not reach the URL ({page.url})"
    return took


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    pages = PAGES if args.pages is None else tuple(p for p in PAGES if (p or "home") in args.pages)
    times: dict[str, dict[str, list[float]]] = {p: {"cold": [], "warm": [], "link": [], "knob": []}
                                                for p in (*pages, *FLOORS)}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as cache:
        browser = launch_chromium(playwright)
        for _ in range(args.repeat):
            for path in (*pages, *FLOORS):              # alternate pages within each repeat
                if path in FLOORS:
                    for kind, value in zip(("cold", "warm"), floor_first_charts(browser, cache, *FLOORS[path])):
                        times[path][kind].append(value)
                    continue
                server, url = start_server(cache)
                reader = new_reader(browser)
                try:
                    cold, page = first_chart(reader, f"{url}/{path}")   # fresh server, empty browser cache
                    quiet_close(page)
                    warm, page = first_chart(reader, f"{url}/{path}")   # the same again: both warm
                    knob = knob_redraw(page, path) if path in KNOBS else None
                    link = link_first_chart(page, url, path)
                    page.close()
                finally:
                    reader.close()
                    server.terminate()
                    server.wait(timeout=10)
                for kind, value in (("cold", cold), ("warm", warm), ("link", link), ("knob", knob)):
                    if value is not None:
                        times[path][kind].append(value)
        browser.close()
    floor = statistics.median(times[FLOOR]["warm"])
    rows = [{"page": path or "home", "warm_vs_floor": statistics.median(kinds["warm"]) / floor, **{f"{kind}_median_s": statistics.median(v) for kind, v in kinds.items() if v},
             **{f"{kind}_spread_s": [min(v), max(v)] for kind, v in kinds.items() if v}, "samples": kinds}
            for path, kinds in times.items()]
    return {"title": f"browser: navigation -> first chart (cold, warm reload, in-app link), knob -> redrawn chart "
                      f"(median of {args.repeat})",
            "rows": rows}


def floor_first_charts(browser, cache: str, script: str, path: str) -> tuple[float, float]:
    """Cold and warm first chart of a floor app at `path`: what Streamlit itself takes here."""
    server, url = start_server(cache, script)
    reader = new_reader(browser)
    try:
        cold, page = first_chart(reader, f"{url}/{path}")
        quiet_close(page)
        warm, page = first_chart(reader, f"{url}/{path}")
        page.close()
        return cold, warm
    finally:
        reader.close()
        server.terminate()
        server.wait(timeout=10)


def format_result(result: dict) -> str:
    lines = [result["title"], f"{'page':<40} {'cold s':>16} {'warm s':>16} {'link s':>16} {'knob s':>16} "
                              f"{'warm / floor':>12}"]
    for row in result["rows"]:
        cells = [f"{row[f'{k}_median_s']:.2f} ({row[f'{k}_spread_s'][0]:.2f}-{row[f'{k}_spread_s'][1]:.2f})"
                 if f"{k}_median_s" in row else "-" for k in ("cold", "warm", "link", "knob")]
        lines.append(f"{row['page'][:40]:<40} " + " ".join(f"{c:>16}" for c in cells) + f" {row['warm_vs_floor']:>12.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_browser", description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args)
    print(format_result(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
