"""One visual language for every chart: a colour per concept, a line style per split, human
labels for column names, and the chart config (fonts, sizes) shared by screen and export.

Colours are Okabe & Ito's colour-blind-safe set (Okabe & Ito 2008, "Color Universal Design"),
plus a grey for reference marks. Each concept keeps its colour on every page, lesson step,
Home thumbnail and export:

    train orange, test blue (and the train-test gap black);
    without a regularizer vermillion, with it bluish green (no BN / BN, no dropout / dropout),
    noisy BN sky blue;
    bias^2 sky blue, variance vermillion, noise grey, measured test error black;
    the runs of a comparison take RUNS in order.

Pairs that share a chart stay apart for deuteranopes too (train/test, no BN/BN/noisy BN,
bias^2/variance/noise, the first runs of a comparison); tests/test_palette.py simulates it.

Train is always dashed and test solid, so the split reads without colour too (a run
comparison colours by run and dashes by split). Reference marks (chance level, zero,
thresholds, the true curve) are grey and dotted.

This module holds every colour literal of the code base (hex codes; named CSS colours are
not used anywhere): tests/test_palette.py fails on one anywhere else. Pure: no streamlit.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import altair as alt
import numpy as np

BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN = "#000000", "#E69F00", "#56B4E9", "#009E73"
YELLOW, BLUE, VERMILLION, REDDISH_PURPLE = "#F0E442", "#0072B2", "#D55E00", "#CC79A7"
GREY, LIGHT_GREY, DARK_GREY, WHITE = "#999999", "#DDDDDD", "#555555", "#FFFFFF"
OKABE_ITO = (BLACK, ORANGE, SKY_BLUE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE)

COLORS: dict[str, str] = {
    # splits
    "train": ORANGE, "test": BLUE, "gap": BLACK, "val": REDDISH_PURPLE,
    "train error": ORANGE, "test error": BLUE, "train loss": ORANGE, "test loss": BLUE,
    # regularizer off / on
    "no BN": VERMILLION, "BN": BLUISH_GREEN, "noisy BN": SKY_BLUE,
    "BN before": BLUISH_GREEN, "BN after": BLUE,
    "no dropout": VERMILLION, "dropout": BLUISH_GREEN,
    # BN's two modes: running statistics (as at test time) and batch statistics (as in training)
    "eval mode": BLUE, "train mode": ORANGE,
    # label-noise and regularizer sweeps of the width lesson
    "0% label noise": BLACK, "20% label noise": VERMILLION,
    "20% + dropout 0.5": BLUISH_GREEN, "20% + weight decay 5e-4": SKY_BLUE,
    # the decomposition
    "bias^2": SKY_BLUE, "variance": VERMILLION, "noise": GREY, "measured test error": BLACK,
    # fits and references
    "learned": SKY_BLUE, "true": GREY, "weight-scaled": BLACK, "||w||": BLACK,
    "this lab (mean of members)": BLUE, "D2L from scratch": GREY, "D2L concise": DARK_GREY,
    "grid": SKY_BLUE, "random": VERMILLION,
    # model selection: the estimates of the test error that may choose, and the test error itself
    "training error": ORANGE, "validation split (20%)": REDDISH_PURPLE, "5-fold CV": BLUISH_GREEN,
    "10-fold CV": SKY_BLUE,
    # activation functions
    "relu": BLUE, "prelu": SKY_BLUE, "sigmoid": VERMILLION, "tanh": BLUISH_GREEN,
    # the textbook MLP written twice
    "from scratch": REDDISH_PURPLE, "nn.Sequential": BLACK,
    # a sub-network diagram: weight sign, kept and dropped units
    "+": BLUE, "-": VERMILLION, "kept": BLACK, "dropped": WHITE,
}
RUNS = (BLUE, VERMILLION, BLACK, BLUISH_GREEN, SKY_BLUE, ORANGE, REDDISH_PURPLE, YELLOW)
REFERENCE = GREY                                    # rules and curves that are not data
TEXT, TEXT_ON_DARK = BLACK, WHITE                   # labels printed on cells

SOLID, DASHED, DOTTED = [1, 0], [6, 4], [2, 3]
DASHES: dict[str, list[int]] = {"train": DASHED, "test": SOLID, "val": DOTTED, "train error": DASHED, "test error": SOLID,
                                "train loss": DASHED, "test loss": SOLID}
SPLITS = ("train", "test")

LABELS: dict[str, str] = {
    # spec fields a sweep varies (dotted names)
    "optim.lr": "learning rate", "optim.betas": "Adam betas", "optim.weight_decay": "weight decay",
    "optim.momentum": "momentum", "model.widths": "hidden widths", "model.batchnorm": "BN placement",
    "model.dropout": "dropout", "model.activation": "activation", "data.degree": "degree",
    "data.label_noise": "label noise", "data.n_train": "training examples", "data.resample_seed": "resample seed",
    "seed": "seed", "epochs": "epochs",
    "ics_l2": "||G - G'||", "ics_relative": "||G - G'|| / ||G||", "ics_cos": "cos(G, G')",
    "mean_change_in_std": "mean change (in stds)", "mean_change": "mean change", "std_change": "std change",
    "loss_range": "loss range", "grad_change": "gradient change", "beta": "effective beta-smoothness",
    "frac_dead_units": "share of units never active", "frac_zero": "share of zero activations",
    "mean_activation": "mean activation",
    "yang-mse": "MSE (Yang et al.)", "yang-ce": "cross-entropy (Yang et al.)",
    "yang-mse-raw": "MSE on raw outputs (Yang et al.)", "scores": "scores", "classical": "squared error",
    "bias2": "bias^2", "risk": "risk", "ensemble_test_error": "ensemble test error",
    "train_error": "train error", "test_error": "test error",
    "test_accuracy": "test accuracy", "train_accuracy": "train accuracy", "val_accuracy": "validation accuracy", "beta1": "beta1 (Adam)",
    "lr": "learning rate", "width": "hidden units per layer", "layers": "hidden layers",
}


def label(name: str) -> str:
    """The human label of a column or value name (the name itself when it has none)."""
    return LABELS.get(name, name)


def headers(frame):
    """A table with human column headers ("loss_range median" -> "loss range along the gradient median")."""
    def one(column):
        head, _, rest = str(column).partition(" ")
        return label(str(column)) if str(column) in LABELS else " ".join(filter(None, [label(head), rest]))
    return frame.rename(columns=one)


def colors_for(domain: Iterable[str]) -> list[str]:
    """One colour per domain value: a concept's own colour, else the next unused run colour."""
    domain = list(domain)
    taken = {COLORS[d] for d in domain if d in COLORS}
    spare = iter([c for c in RUNS if c not in taken] + list(RUNS) * 4)
    return [COLORS[d] if d in COLORS else next(spare) for d in domain]


def color_scale(domain: Iterable[str]) -> alt.Scale:
    domain = list(dict.fromkeys(domain))
    return alt.Scale(domain=domain, range=colors_for(domain))


def ordered(domain: Iterable[str]) -> list[str]:
    """Known concepts in the palette's order (train before test, no BN before BN, ...), then the rest as given."""
    domain = list(dict.fromkeys(domain))
    rank = {name: i for i, name in enumerate(COLORS)}
    known = sorted((d for d in domain if d in rank), key=rank.get)
    return known + [d for d in domain if d not in rank]


def legend_pick(field: str, name: str) -> alt.Parameter:
    """Click a legend entry to bring its lines forward: lines that overlap stay findable."""
    return alt.selection_point(fields=[field], bind="legend", name=name)


def picked_opacity(name: str, on: float = 1.0, off: float = 0.12) -> alt.OpacityValue:
    return alt.OpacityValue(off, condition={"param": name, "value": on, "empty": True})


def color(field: str, domain: Sequence[str], title: str | None = None, show_legend: bool = True,
          **legend) -> alt.Color:
    """Colour `field` (nominal) by concept; legend options (orient, symbolType, ...) pass through."""
    domain = ordered(domain)
    if legend.get("symbolType") == "stroke":
        legend = {"symbolSize": 400, "symbolStrokeWidth": 2.5, **legend}
    return alt.Color(f"{field}:N", title=title, sort=domain, scale=color_scale(domain),
                     legend=alt.Legend(**{"labelLimit": 0, **legend}) if show_legend else None)


def run_color(field: str, runs: Sequence[str], title: str | None = "Run", **legend) -> alt.Color:
    """Colour the runs of a comparison in RUNS order (not by concept: any run can be compared)."""
    runs = list(dict.fromkeys(runs))
    scale = alt.Scale(domain=runs, range=[RUNS[i % len(RUNS)] for i in range(len(runs))])
    return alt.Color(f"{field}:N", title=title, sort=runs, scale=scale, legend=alt.Legend(**{"labelLimit": 0, **legend}))


def dash_scale(domain: Iterable[str] = SPLITS) -> alt.Scale:
    domain = list(dict.fromkeys(domain))
    return alt.Scale(domain=domain, range=[DASHES.get(d, SOLID) for d in domain])


def split_dash(field: str = "split", domain: Sequence[str] = SPLITS, title: str | None = "split",
               legend: bool = True) -> alt.StrokeDash:
    """Train dashed, test solid; the legend draws the strokes so the style is in the key."""
    return alt.StrokeDash(f"{field}:N", title=title, sort=list(domain), scale=dash_scale(domain),
                          legend=stroke_legend(symbolStrokeColor=DARK_GREY) if legend else None)


def stroke_legend(**options) -> alt.Legend:
    """A legend whose symbols are line segments long enough to show a dash pattern."""
    return alt.Legend(**{"symbolType": "stroke", "symbolSize": 500, "symbolStrokeWidth": 2.5,
                         "labelLimit": 0, **options})


def sparse(frame, by: Sequence[str], most: int = 60) -> bool:
    """True when every line has at most `most` points: markers would hide a dash pattern on denser ones."""
    by = [b for b in by if b in frame]
    return len(frame) == 0 or int(frame.groupby(by).size().max() if by else len(frame)) <= most


def whole_axis(**options) -> alt.Axis:
    """Ticks at whole numbers only (epochs, degrees, steps, counts)."""
    return alt.Axis(**{"tickMinStep": 1, "format": ",d", **options})


def log_format(values: Iterable[float]) -> str:
    """One number format for a log axis: plain decimals where they stay short (0.001 to 100,000)."""
    positive = [float(v) for v in values if v is not None and float(v) > 0]
    return ",.4~r" if not positive or (min(positive) >= 1e-3 and max(positive) < 1e6) else "powers"


SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def log_axis(values: Iterable[float], **options) -> alt.Axis:
    """A log axis with ticks (and grid lines) at powers of ten only, in one number format:
    plain decimals from 0.001 to 100,000, else 10\u207b\u00b3 ... 10\u2077 (every other power
    beyond ten decades). Within a decade or two Vega's own ticks stay."""
    values = list(values)
    positive = [float(v) for v in values if v is not None and np.isfinite(v) and float(v) > 0]
    if not positive:
        return alt.Axis(**{"format": ",.4~r", **options})
    low, high = int(math.floor(math.log10(min(positive)))), int(math.ceil(math.log10(max(positive))))
    if high - low <= 2:
        return alt.Axis(**{"format": ",.4~r", **options})
    powers = list(range(low, high + 1, 1 if high - low <= 10 else 2))
    ticks = [float(f"1e{k}") for k in powers]
    if log_format(values) != "powers":
        return alt.Axis(**{"values": ticks, "format": ",.4~r", **options})
    names = {str(k): "10" + str(k).translate(SUPERSCRIPT) for k in powers}
    label = f"{names!r}['' + round(log(datum.value) / LN10)]"   # '' + n: a plain "-3", not d3's "\u22123"
    return alt.Axis(**{"values": ticks, "labelExpr": label, **options})


FONT = '"Source Sans", "Source Sans Pro", sans-serif'   # Streamlit's own


def config(scale: float = 1.0) -> dict:
    """The Vega-Lite config every chart gets, on screen and in exports; `scale` > 1 for a projector."""
    size = lambda px: round(px * scale, 1)  # noqa: E731
    axis = {"labelFontSize": size(12), "titleFontSize": size(13), "titleFontWeight": "normal",
            "labelColor": DARK_GREY, "titleColor": DARK_GREY, "gridColor": LIGHT_GREY, "domainColor": GREY,
            "tickColor": GREY, "labelFont": FONT, "titleFont": FONT}
    return {
        "font": FONT,
        "axis": axis,
        "legend": {"labelFontSize": size(12), "titleFontSize": size(13), "labelFont": FONT, "titleFont": FONT,
                   "labelColor": DARK_GREY, "titleColor": DARK_GREY, "titleFontWeight": "normal",
                   "symbolSize": size(80) * scale},
        "header": {"labelFontSize": size(13), "titleFontSize": size(13), "labelFont": FONT, "titleFont": FONT,
                   "labelColor": DARK_GREY, "titleColor": DARK_GREY},
        "title": {"fontSize": size(15), "subtitleFontSize": size(12.5), "font": FONT, "subtitleFont": FONT,
                  "anchor": "start", "color": BLACK, "subtitleColor": DARK_GREY},
        "text": {"fontSize": size(12), "font": FONT},
        "range": {"category": list(RUNS)},
        "view": {"stroke": LIGHT_GREY},
        "background": WHITE,
    }
