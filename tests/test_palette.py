"""One visual language: every chart takes its colours and line styles from analysis/palette.py.

Three kinds of check: no colour literal anywhere but the palette module; one chart per page,
built from the committed demo cache (or a tiny frame where the page builds it inline), whose
Vega-Lite spec gives each concept the palette's colour and each split its dash; and a
simulated deuteranopia view (Machado et al. 2009, severity 1) of the train/test and
BN/no-BN charts in which the two colours stay far apart. The simulated images are saved
under test-artifacts/ (git-ignored) for a look.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import bias_variance_charts as bvc
from analysis import compare, palette, run_charts
from ui import charts, lesson_charts

REPO = Path(__file__).resolve().parent.parent
DEMO = [REPO / "cache" / "demo"]
ARTIFACTS = REPO / "test-artifacts"
ALLOWED = {c.upper() for c in (*palette.OKABE_ITO, palette.GREY, palette.LIGHT_GREY, palette.DARK_GREY,
                               palette.WHITE)}
HEX = re.compile(r"""["']#(?:[0-9a-fA-F]{3}){1,2}["']""")
# Named CSS colours as whole string literals: the palette module uses none, so none may appear.
NAMED = re.compile(r"""["'](?:black|white|gr[ae]y|red|green|blue|orange|yellow|purple|pink|brown|steelblue|"""
                   r"""silver|navy|teal|maroon|olive|lime|aqua|cyan|magenta|fuchsia|darkgr[ae]y|lightgr[ae]y)["']""")


def source_files() -> list[Path]:
    skip = ("cache/demo", ".venv", "tests/", "test-artifacts")
    return [p for p in REPO.rglob("*") if p.suffix in (".py", ".toml", ".css") and p.is_file()
            and not any(part in p.relative_to(REPO).as_posix() for part in skip)
            and p != REPO / "analysis" / "palette.py"]


def test_no_colour_literal_outside_the_palette_module():
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
             for path in source_files()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if HEX.search(line) or NAMED.search(line)]
    assert not found, "colours belong in analysis/palette.py:\n" + "\n".join(found)


# ---------------------------------------------------------------- the specs

def walk(node):
    """Every dict in a spec, data rows left out."""
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in ("data", "datasets"):
                yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def scales(spec: dict, channels: tuple[str, ...]) -> list[dict]:
    return [enc[ch]["scale"] for enc in walk(spec) for ch in channels
            if isinstance(enc.get(ch), dict) and isinstance(enc[ch].get("scale"), dict)
            and "domain" in enc[ch]["scale"] and "range" in enc[ch]["scale"]]


def concept_colours(spec: dict) -> dict[str, str]:
    """domain value -> colour over every colour scale of the spec; a value coloured twice must agree."""
    seen: dict[str, str] = {}
    for scale in scales(spec, ("color", "fill", "stroke")):
        for value, colour in zip(scale["domain"], scale["range"]):
            assert seen.setdefault(value, colour) == colour, f"{value!r} has two colours"
    return seen


def check(spec: dict, expected: set[str] = frozenset()) -> dict[str, str]:
    """The palette's colour for every concept; only palette colours anywhere; train dashed, test solid."""
    colours = concept_colours(spec)
    for value, colour in colours.items():
        assert colour.upper() in ALLOWED, (value, colour)
        if value in palette.COLORS:
            assert colour == palette.COLORS[value], (value, colour, palette.COLORS[value])
    literals = {v.upper() for d in walk(spec) for v in d.values() if isinstance(v, str) and v.startswith("#")}
    assert literals <= ALLOWED, literals - ALLOWED
    for scale in scales(spec, ("strokeDash",)):
        dashes = dict(zip(scale["domain"], scale["range"]))
        assert dashes.get("train", palette.DASHED) == palette.DASHED and dashes.get("test", palette.SOLID) == palette.SOLID
    assert expected <= set(colours), expected - set(colours)
    return colours


def lesson_spec(chart_id: str) -> dict:
    result = lesson_charts.render(chart_id, DEMO)
    assert isinstance(result, lesson_charts.Shown), (chart_id, result)
    return charts.styled_spec(charts.vega_lite_spec(result.chart))


@pytest.mark.parametrize("chart_id, concepts", [
    ("poly-loss-degree3", {"train", "test"}),                    # Bias-Variance, lessons 1-2
    ("bn-fig1-accuracy", {"no BN", "BN"}),                       # Covariate Shift, lesson 4
    ("bn-noisy-accuracy", {"no BN", "BN", "noisy BN"}),
    ("dropout-loss", {"dropout", "no dropout"}),                 # Dropout, lesson 3
    ("dropout-rate-sweep", {"train", "test", "gap"}),
    ("poly-decomposition", {"bias^2", "variance", "noise"}),
    ("keras-concrete-mae", {"no BN"}),                           # BatchNorm on real data
    ("tuning-lr-projection", {"grid", "random"}),                # lesson 5
    ("tuning-shape", set()),
])
def test_a_chart_per_page_uses_the_palette(chart_id, concepts):
    check(lesson_spec(chart_id), set(concepts))


def test_every_lesson_chart_uses_the_palette():
    for chart_id in lesson_charts.CHART_IDS:
        result = lesson_charts.render(chart_id, DEMO)
        if isinstance(result, lesson_charts.Shown):
            check(charts.vega_lite_spec(result.chart))


def test_dashes_split_train_from_test_everywhere():
    spec = lesson_spec("dropout-loss")
    (dash,) = scales(spec, ("strokeDash",))
    assert dict(zip(dash["domain"], dash["range"])) == {"train": palette.DASHED, "test": palette.SOLID}
    assert all(enc["strokeDash"]["legend"]["symbolType"] == "stroke" for enc in walk(spec) if "strokeDash" in enc)


def test_home_thumbnail_names_its_runs_by_concept():
    from lessons import PAGES
    from ui import thumbnails

    for page_id, concepts in (("covariate-shift", {"no BN", "BN"}), ("dropout", {"dropout", "no dropout"}),
                              ("bias-variance", {"train", "test"})):
        thumb = next(page.thumbnail for page in PAGES if page.id == page_id)
        spec, _frame = thumbnails._thumbnail_spec(thumb, thumbnails._demo_keys(thumb))
        check(spec, concepts)


def test_runs_compared_take_the_run_colours_in_order():
    from ui import data

    names = ["d2l-dropout", "d2l-no-dropout", "d2l-mlp"]
    tables = {name: data.load_table(data.latest_run(name, DEMO), "scalars") for name in names}
    spec = charts.vega_lite_spec(run_charts.curve_chart(compare.curves(tables, "epoch"), "loss", "epoch"))
    (scale,) = scales(spec, ("color",))
    assert sorted(scale["domain"]) == sorted(names) and scale["range"] == list(palette.RUNS[:3])
    check(spec)


def test_page_built_charts_use_the_palette():
    """Charts the pages build inline: the random-features decomposition and the width sweeps."""
    rows = [{"width": w, "series": s, "variant": v, "value": value}
            for v in ("0% label noise", "20% label noise") for s in ("bias^2", "variance")
            for w, value in ((100, 0.3), (500, -84.0 if s == "bias^2" else 4e5), (1000, 0.3))]
    rf = charts.vega_lite_spec(bvc.rf_decomposition_chart(pd.DataFrame(rows), 500, "rf"))
    check(rf, {"0% label noise", "20% label noise"})
    symlog = [d["scale"] for d in walk(rf) if isinstance(d.get("scale"), dict) and d["scale"].get("type") == "symlog"]
    assert symlog, "bias^2 below 0 needs an axis that shows it"
    errors = pd.DataFrame(rows).assign(series=lambda f: f["series"].map({"bias^2": "train error", "variance": "test error"}))
    check(charts.vega_lite_spec(bvc.width_chart(errors, "error", "errors")), {"0% label noise", "20% label noise"})


def test_human_labels_replace_column_names():
    assert palette.label("ics_l2") == "||G - G'||" and palette.label("frac_dead_units") != "frac_dead_units"
    table = palette.headers(pd.DataFrame(columns=["variant", "loss_range median", "beta max"]))
    assert list(table.columns) == ["variant", "loss range median", "effective beta-smoothness max"]
    spec = json.dumps(lesson_spec("bn-smoothness"))
    assert "effective beta-smoothness" in spec and '"beta"' not in spec


def test_presenter_scale_grows_text_and_cells():
    spec = charts.vega_lite_spec(lesson_charts.render("dropout-loss", DEMO).chart)
    normal, big = charts.styled_spec(spec), charts.styled_spec(spec, charts.PRESENTER_SCALE)
    assert big["config"]["axis"]["labelFontSize"] == pytest.approx(12 * charts.PRESENTER_SCALE, abs=0.1)
    assert big["config"]["legend"]["labelFontSize"] > normal["config"]["legend"]["labelFontSize"]
    assert big["spec"]["width"] > normal["spec"]["width"]


# ---------------------------------------------------------------- deuteranopia

MACHADO_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],    # Machado, Oliveira & Fernandes 2009,
                                 [0.280085, 0.672501, 0.047413],     # severity 1.0, on linear RGB
                                 [-0.011820, 0.042940, 0.968881]])


def linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def gamma(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return 255 * np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def deuteranope(rgb: np.ndarray) -> np.ndarray:
    """[..., 3] sRGB 0-255 -> how a deuteranope sees it, same shape."""
    return gamma(linear(rgb) @ MACHADO_DEUTERANOPIA.T)


def lab(rgb: np.ndarray) -> np.ndarray:
    xyz = linear(rgb) @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def rgb_of(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def distance_seen_by_deuteranope(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(lab(deuteranope(a)) - lab(deuteranope(b))))


SAME_CHART = [("train", "test"), ("no BN", "BN"), ("BN", "noisy BN"), ("no BN", "noisy BN"),
              ("no dropout", "dropout"), ("bias^2", "variance"), ("variance", "noise"), ("bias^2", "noise"),
              ("0% label noise", "20% label noise"), ("eval mode", "train mode"), ("grid", "random")]


@pytest.mark.parametrize("a, b", SAME_CHART)
def test_concepts_that_share_a_chart_stay_apart_for_deuteranopes(a, b):
    distance = distance_seen_by_deuteranope(rgb_of(palette.COLORS[a]), rgb_of(palette.COLORS[b]))
    assert distance >= 30, f"{a} / {b}: CIELAB distance {distance:.1f} after deuteranopia simulation"


@pytest.mark.parametrize("chart_id, a, b", [("poly-loss-degree3", "train", "test"),
                                             ("bn-fig1-accuracy", "no BN", "BN")])
def test_the_rendered_chart_stays_readable_for_deuteranopes(chart_id, a, b):
    """Render the chart as the export does, simulate deuteranopia on the PNG, and compare the
    two concepts' pixels: they stay as far apart as the palette promises."""
    png = charts.chart_png(lesson_spec(chart_id))
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)      # [H, W, 3]
    seen = deuteranope(image)
    ARTIFACTS.mkdir(exist_ok=True)
    Image.fromarray(image.astype(np.uint8)).save(ARTIFACTS / f"{chart_id}.png")
    Image.fromarray(seen.round().astype(np.uint8)).save(ARTIFACTS / f"{chart_id}-deuteranopia.png")
    means = []
    for concept in (a, b):
        near = np.linalg.norm(image - rgb_of(palette.COLORS[concept]), axis=-1) < 20   # the concept's own pixels
        assert near.sum() > 200, f"{concept}: only {near.sum()} pixels of its colour in {chart_id}"
        means.append(seen[near].mean(axis=0))
    distance = float(np.linalg.norm(lab(means[0]) - lab(means[1])))
    assert distance >= 40, f"{chart_id}: {a} / {b} at CIELAB distance {distance:.1f} for a deuteranope"
