"""The tuning lesson's sentences, its captions and the README's tuning row, pinned to the
committed demo cache: every choice made on the validation split, the test score read once."""
from __future__ import annotations

from runspec import bounds
from tests.test_claims import DEMO, LESSONS, README, REPO, claim, shown
from training import presets
from ui import lesson_charts

L05 = LESSONS / "05-tuning.md"
SELECTION_PAGE = REPO / "views" / "model_selection.py"
SWEEPS = (presets.tuning.TUNING_GRID, presets.tuning.TUNING_RANDOM, presets.tuning.TUNING_SHAPE)


def _chosen(chart_id: str):
    frame = shown(chart_id)
    return frame[frame["chosen"]]


def test_l05_the_setup_and_the_budgets():
    spec = presets.tuning.TUNING_GRID.specs()[0][1]
    claim(L05, "trained with Adam on 10,000 Fashion-MNIST images for 3 epochs, scored on 2,000 test images",
          (spec.optim.name, spec.data.n_train, spec.epochs, spec.data.n_test) == ("adam", 10_000, 3, 2_000), spec)
    shapes = [bounds.data_shape(s.data)[0] for sweep in SWEEPS for _, s in sweep.specs()]
    held = {bounds.validation_size(s.data.n_train, s.data.validation_fraction) for sweep in SWEEPS for _, s in sweep.specs()}
    claim(L05, "Each run holds out 20% of its training images (2,000 of the 10,000) as a validation split and trains "
               "on the other 8,000.", set(shapes) == {8_000} and held == {2_000}, (set(shapes), held))
    claim(SELECTION_PAGE, "each holds out 20% of its training images as a validation split",
          {s.data.validation_fraction for sweep in SWEEPS for _, s in sweep.specs()} == {0.2}, held)
    plane = shown("tuning-search-plane")
    distinct = plane.groupby("search")["lr"].nunique().to_dict()
    claim(L05, "With 9 runs the grid tests 3 learning rates and the random search 9",
          distinct == {"grid": 3, "random": 9} and plane.groupby("search").size().to_dict() == {"grid": 9, "random": 9},
          distinct)
    shape = shown("tuning-shape")
    claim(L05, "hidden units in {64, 256, 1024} x hidden layers in {1, 2, 3}, 9 runs",
          sorted(set(shape["width"])) == [64, 256, 1024] and sorted(set(shape["layers"])) == [1, 2, 3]
          and len(shape) == 9, shape)


def test_l05_every_choice_is_made_on_validation_and_scored_once_on_test():
    for chart_id in ("tuning-grid", "tuning-search-plane", "tuning-lr-projection", "tuning-shape"):
        frame = shown(chart_id)
        groups = [part for _, part in frame.groupby("search")] if "search" in frame else [frame]
        once = all(part["chosen"].sum() == 1 and part["test_accuracy"].notna().sum() == 1
                   and part.loc[part["chosen"], "val_accuracy"].item() == part["val_accuracy"].max() for part in groups)
        claim(L05, "every run is compared on its **validation** accuracy only, and the best one wins", once, chart_id)
        claim(L05, "the chosen run's test accuracy is read once, afterwards", once, chart_id)
        fields = {enc.get("field") for enc in _encodings(lesson_charts.render(chart_id, DEMO).chart.to_dict())
                  if isinstance(enc, dict)}
        claim(L05, "The charts show validation accuracy", "val_accuracy" in fields and "test_accuracy" not in fields,
              fields)


def _encodings(node):
    """Every encoding channel of a Vega-Lite spec, layers included (tooltips left out: they show
    the chosen run's test score)."""
    if isinstance(node, dict):
        for channel, enc in (node.get("encoding") or {}).items():
            if channel != "tooltip":
                yield enc
        for key, value in node.items():
            if key not in ("encoding", "datasets", "data"):
                yield from _encodings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _encodings(item)


def test_l05_the_learning_rate_matters_more_than_beta1():
    grid = shown("tuning-grid")
    across_lr = grid.groupby("beta1")["val_accuracy"].agg(lambda v: v.max() - v.min()).min()
    across_beta = grid.groupby("lr")["val_accuracy"].agg(lambda v: v.max() - v.min()).max()
    claim(L05, "the learning rate moves the result a lot, while beta1 between 0.8 and 0.9 moves it little",
          across_lr > 2 * across_beta, f"smallest spread over lr {across_lr:.3f}, largest over beta1 {across_beta:.3f}")
    claim(L05, "Which knob will move the final validation accuracy more: the learning rate or beta1? ### Predict "
               "- [x] The learning rate", across_lr > across_beta, (across_lr, across_beta))


def test_l05_width_helps_and_depth_does_not_within_the_budget():
    val = shown("tuning-shape").set_index(["layers", "width"])["val_accuracy"]
    widest_wins = all(val.loc[layers].idxmax() == 1024 for layers in (1, 2, 3))
    depth_hurts = all(val.loc[(1, w)] > val.loc[(2, w)] > val.loc[(3, w)] for w in (64, 256))
    claim(L05, "At every depth the widest net scores best on validation; at widths 64 and 256 each extra layer "
               "lowers it.", widest_wins and depth_hurts, val.to_dict())
    deeper_wins = any(val.loc[(3, w)] > val.loc[(1, w)] for w in (64, 256, 1024))
    claim(L05, "Which raises the validation accuracy here? ### Predict - [x] More hidden units per layer",
          widest_wins and not deeper_wins, val.to_dict())


def test_l05_bn_widens_the_usable_learning_rates():
    from analysis import covariate_shift as cs
    from ui.lesson_runs import sweep

    runs = sweep(presets.covariate_shift.BN_LR_SWEEP.name, {"lr": "optim.lr", "batchnorm": "model.batchnorm"}, DEMO,
                 states=("finished", "diverged"))
    usable = cs.usable_lr_range(cs.sweep_outcomes(runs)).set_index("batchnorm")
    claim(L05, "For which one is the band of learning rates that train well wider? ### Predict - [x] With BN",
          usable.loc["before", "count"] > usable.loc["none", "count"]
          and usable.loc["before", "highest"] > usable.loc["none", "highest"], usable.to_dict())


def test_captions_name_the_choice_from_the_data():
    grid = _chosen("tuning-grid").iloc[0]
    caption = lesson_charts.render("tuning-grid", DEMO).caption
    assert (f"learning rate {grid['lr']:g}, beta1 {grid['beta1']:g} ({grid['val_accuracy']:.3f}, best of 9 runs). "
            f"Its test accuracy, read once after the choice: {grid['test_accuracy']:.3f}.") in caption
    shape = _chosen("tuning-shape").iloc[0]
    caption = lesson_charts.render("tuning-shape", DEMO).caption
    assert f"of {shape['width']} units ({shape['val_accuracy']:.3f}, best of 9 runs)" in caption


def test_readme_tuning_row():
    plane = _chosen("tuning-search-plane").set_index("search")
    g, r = plane.loc["grid"], plane.loc["random"]
    s = _chosen("tuning-shape").iloc[0]
    layers = f"{s['layers']} layer{'s' if s['layers'] > 1 else ''}"
    claim(README, f"grid: lr {g['lr']:g}, beta1 {g['beta1']:g}, validation {g['val_accuracy']:.3f}, its test accuracy "
                  f"(read once) {g['test_accuracy']:.3f}; random search: lr {r['lr']:g}, beta1 {r['beta1']:g}, "
                  f"{r['val_accuracy']:.3f} / {r['test_accuracy']:.3f}; hidden units x layers: {layers} of "
                  f"{s['width']} units, {s['val_accuracy']:.3f} / {s['test_accuracy']:.3f}", True, (g, r, s))
    claim(README, f"the random search's best (validation accuracy {r['val_accuracy']:.3f}) stays below the grid's "
                  f"({g['val_accuracy']:.3f})", r["val_accuracy"] < g["val_accuracy"], (r, g))
    claim(README, "10,000 images of which 2,000 held out",
          {bounds.validation_size(s.data.n_train, s.data.validation_fraction) for sweep in SWEEPS
           for _, s in sweep.specs()} == {2_000}, None)
