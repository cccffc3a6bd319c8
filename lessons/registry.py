"""Pages and lessons, declared once (see lessons/__init__.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from postprocess import autoencoder, predictions, scratch_mlp
from runspec import RunSpec
from training.presets import Preset, Sweep
from training.presets import activations as act, bias_variance as bv, core, covariate_shift as cs, dropout as dp, keras, tuning
from training.presets import double_descent as dd, landscape, sparsity


class LessonError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Thumbnail:
    """Home's small chart for a page: one run -> train vs test, several -> one line each."""
    runs: tuple[str, ...]         # preset names
    metric: str
    split: str = "test"


@dataclass(frozen=True)
class Page:
    id: str                       # the id a walkthrough step's `page:` names
    title: str
    path: str                     # the module st.navigation runs
    icon: str
    blurb: str = ""               # Home's card text
    thumbnail: Thumbnail | None = None


@dataclass(frozen=True)
class Lesson:
    id: str                       # the walkthrough file's `id:`
    title: str
    page: str                     # a Page id
    presets: tuple[Preset, ...] = ()
    sweeps: tuple[Sweep, ...] = ()
    postprocess: Callable[[Path], object] | None = None   # run on each finished run of the lesson
    charts: tuple[str, ...] = ()  # chart ids (ui/lesson_charts.py) its walkthrough and page show
    walkthrough: str | None = None  # file name under walkthroughs/lessons/

    @property
    def run_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.presets) + tuple(s.name for s in self.sweeps)


PAGES: tuple[Page, ...] = (
    Page("home", "Home", "views/home.py", ":material/home:"),
    Page("bias-variance", "Bias-Variance", "views/bias_variance.py", ":material/query_stats:",
         "Under- and overfitting with polynomial features, weight decay, and the bias-variance "
         "decomposition estimated over resampled training sets.",
         Thumbnail((core.POLYNOMIAL_DEGREE19.name,), "loss")),
    Page("covariate-shift", "Covariate Shift & BatchNorm", "views/covariate_shift.py",
         ":material/stacked_line_chart:",
         "How each layer's input distribution moves during training, and what BatchNorm (and where it "
         "sits) changes in speed, stability and the loss landscape.",
         Thumbnail((cs.BN_FIG1_NOBN.name, cs.BN_FIG1_BN.name), "accuracy")),
    Page("dropout", "Dropout", "views/dropout.py", ":material/grain:",
         "Dropout as training a huge ensemble of thinned sub-networks: rates, layers, and how much the "
         "train-test gap closes.",
         Thumbnail((core.D2L_NO_DROPOUT.name, core.D2L_DROPOUT.name), "loss")),
    Page("keras", "BatchNorm on real data", "views/keras_concrete.py", ":material/construction:",
         "The Keras course's exercise on the real Concrete data: unscaled features break a plain deep "
         "net; BatchNormalization layers let it train.",
         Thumbnail((keras.KERAS_CONCRETE_NOBN.name, keras.KERAS_CONCRETE_BN.name), "loss")),
    Page("activations", "Activations & gradients", "views/activations.py", ":material/ssid_chart:",
         "ReLU, pReLU (and the slope it learns), sigmoid and tanh and their derivatives; inside deep nets: "
         "vanishing gradients, dead ReLUs, and what BN does to both; the textbook MLP from scratch and as "
         "nn.Sequential."),
    Page("model-selection", "Model selection", "views/model_selection.py", ":material/rule:",
         "Training, validation and test error; a validation split and K-fold cross-validation choosing the "
         "degree and lambda without ever looking at the test set."),
    Page("runs", "Runs", "views/runs.py", ":material/play_circle:",
         "Every run in the caches: launch presets and sweeps, watch them live, compare curves, weight "
         "norms and activation distributions, export charts and specs.",
         Thumbnail((core.D2L_MLP.name,), "accuracy")),
    Page("walkthroughs", "Walkthroughs", "views/walkthroughs.py", ":material/school:",
         "Classroom lessons, step by step, each pointing at the charts that make its point."),
)

LESSONS: tuple[Lesson, ...] = (
    Lesson("under-overfitting", "Under- and overfitting", "bias-variance",
           presets=(core.POLYNOMIAL_DEGREE1, core.POLYNOMIAL_DEGREE3, core.POLYNOMIAL_DEGREE19),
           sweeps=(bv.POLY_DEGREE_SWEEP,), postprocess=predictions.postprocess,
           charts=("poly-loss-degree1", "poly-loss-degree3", "poly-loss-degree19", "poly-weights-degree1",
                   "poly-weights-degree3", "poly-weights-degree19", "poly-final-by-degree", "poly-decomposition"),
           walkthrough="01-under-overfitting.md"),
    Lesson("weight-decay", "Weight decay", "bias-variance",
           presets=(core.WEIGHT_DECAY_0, core.WEIGHT_DECAY_3), sweeps=(bv.WEIGHT_DECAY_SWEEP,),
           postprocess=predictions.postprocess,
           charts=("wd-loss-0", "wd-loss-3", "wd-final-by-lambda", "wd-lambda-loss", "wd-lambda-norm", "wd-norm"),
           walkthrough="02-weight-decay.md"),
    Lesson("width-sweeps", "Bias and variance of networks, double descent", "bias-variance",
           sweeps=(bv.WIDTH_SWEEP, bv.WIDTH_SWEEP_NOISY, bv.WIDTH_SWEEP_NOISY_DROPOUT, bv.WIDTH_SWEEP_NOISY_WD,
                   bv.WIDTH_SWEEP_RF, bv.WIDTH_SWEEP_RF_NOISY),
           postprocess=predictions.postprocess, charts=("rf-width-errors",)),
    # No post-processing: a run's members are different widths, not resampled training sets.
    Lesson("double-descent", "Double descent in trained networks", "bias-variance",
           presets=(*dd.DD_NOISY, *dd.DD_CLEAN), charts=("dd-widths", "dd-epochs"),
           walkthrough="09-double-descent.md"),
    Lesson("dropout", "Dropout", "dropout",
           presets=(core.D2L_DROPOUT, core.D2L_NO_DROPOUT, sparsity.AE_NO_DROPOUT, sparsity.AE_DROPOUT),
           sweeps=(dp.DROPOUT_RATE_SWEEP, dp.DROPOUT_LAYER_SWEEP),
           postprocess=autoencoder.postprocess,   # sub-networks for the classifiers, sparsity for the autoencoders
           charts=("dropout-loss", "dropout-accuracy", "dropout-gap", "dropout-subnets", "dropout-mc",
                   "dropout-removal", "dropout-sparsity", "dropout-rate-sweep",
                   "ae-unit-means", "ae-activations", "ae-filters", "ae-decoder-filters", "ae-mean-over-training"),
           walkthrough="03-dropout.md"),
    Lesson("batchnorm", "Batch normalization", "covariate-shift",
           presets=(cs.BN_FIG1_NOBN, cs.BN_FIG1_BN, cs.BN_NOISY, landscape.LANDSCAPE_NOBN, landscape.LANDSCAPE_BN,
                    landscape.DLN_NOBN, landscape.DLN_BN),
           sweeps=(cs.BN_LR_SWEEP, cs.BN_PLACEMENT),
           charts=("bn-fig1-accuracy", "bn-fig1-percentiles", "bn-ics", "bn-smoothness", "bn-noisy-accuracy",
                   "bn-lr-sweep", "bn-landscape-bands", "bn-dln-loss", "bn-dln-ics"),
           walkthrough="04-batchnorm.md"),
    Lesson("keras-concrete", "BatchNorm rescues unscaled inputs (the Keras lesson)", "keras",
           presets=(keras.KERAS_CONCRETE_NOBN, keras.KERAS_CONCRETE_BN, keras.KERAS_CONCRETE_BN_PREACT,
                    keras.KERAS_CONCRETE_INPUTBN, keras.KERAS_CONCRETE_DROPOUT_BN),
           charts=("keras-concrete-mae",), walkthrough="06-keras-concrete.md"),
    Lesson("activations", "Activations and their gradients", "activations",
           presets=(act.DEEP_SIGMOID, act.DEEP_TANH, act.DEEP_RELU, act.DEEP_RELU_HIGH_LR, act.DEEP_SIGMOID_BN,
                    act.DEEP_RELU_HIGH_LR_BN, act.DEEP_PRELU),
           charts=("activation-derivatives", "prelu-slopes", "deep-grad-norms", "deep-dead-units"),
           walkthrough="07-activations.md"),
    Lesson("model-selection", "Model selection done right", "model-selection",
           charts=("selection-degree", "selection-lambda"), walkthrough="08-model-selection.md"),
    Lesson("tuning", "Hyperparameter tuning", "runs", sweeps=(tuning.TUNING_GRID, tuning.TUNING_RANDOM, tuning.TUNING_SHAPE),
           charts=("tuning-grid", "tuning-search-plane", "tuning-lr-projection", "tuning-shape"),
           walkthrough="05-tuning.md"),
    # The Activations page shows it: the textbook's two listings of this MLP, trained side by side.
    Lesson("mlp", "The textbook MLP", "activations", presets=(core.D2L_MLP,), postprocess=scratch_mlp.postprocess,
           charts=("mlp-scratch-vs-concise",)),
)


def get_lesson(lesson_id: str) -> Lesson:
    for lesson in LESSONS:
        if lesson.id == lesson_id:
            return lesson
    raise LessonError(f"unknown lesson {lesson_id!r}; known: {', '.join(l.id for l in LESSONS)}")


def get_page(page_id: str) -> Page:
    for page in PAGES:
        if page.id == page_id:
            return page
    raise LessonError(f"unknown page {page_id!r}; known: {', '.join(p.id for p in PAGES)}")


def page_path(page_id: str) -> str:
    return get_page(page_id).path


def page_title(page_id: str) -> str:
    return get_page(page_id).title


def lesson_of(name: str) -> Lesson | None:
    """The lesson whose preset or sweep has this spec name (None for a custom run)."""
    return next((lesson for lesson in LESSONS if name in lesson.run_names), None)


@dataclass(frozen=True)
class DemoRun:
    """One run of the demo cache: its spec, the lesson it serves, and how precompute treats it."""
    spec: RunSpec
    lesson: Lesson
    keep_checkpoint: bool           # presets keep theirs; sweep runs are trimmed to stay small
    sweep: str | None = None

    @property
    def label(self) -> str:
        return f"sweep {self.sweep}" if self.sweep else f"preset {self.spec.name}"

    @property
    def rebuild_name(self) -> str:
        return self.sweep or self.spec.name


def demo_runs(names: list[str] | None = None) -> list[DemoRun]:
    """Every lesson's presets then sweeps (optionally only those named), without duplicate run ids."""
    runs: dict[str, DemoRun] = {}
    for lesson in LESSONS:
        for preset in lesson.presets:
            if names is None or preset.name in names:
                runs.setdefault(preset.spec.run_id, DemoRun(preset.spec, lesson, True))
    for lesson in LESSONS:
        for sweep in lesson.sweeps:
            if names is None or sweep.name in names:
                for _, spec in sweep.specs():
                    runs.setdefault(spec.run_id, DemoRun(spec, lesson, False, sweep=sweep.name))
    return list(runs.values())


def postprocess_run(folder: Path, spec: RunSpec) -> object:
    """Run the post-processing of the run's lesson, if it has one (a custom run has none)."""
    lesson = lesson_of(spec.name)
    if lesson is None or lesson.postprocess is None:
        return None
    return lesson.postprocess(folder)
