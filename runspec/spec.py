"""The run spec: one immutable, validated description of a training run.

A spec serialises to canonical JSON (sorted keys, defaults included) for spec.json. The
run id hashes only the fields that differ from their defaults, plus SPEC_VERSION: adding
a defaulted field keeps every id, and changing a default (which changes what an omitted
field means) bumps the version and so every id. The same spec is the same run, and a
finished run is a cache hit.

This module is the ground layer: no torch, no dataset loaders.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from runspec import bounds
from runspec.datasets import DATASET_NAMES

# Bump when a default changes meaning: every run id changes with it.
SPEC_VERSION = 1
RUN_ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")

Activation = Literal["relu", "sigmoid", "tanh", "prelu", "identity"]
# "mse" on classes sums the squared error of the softmax over the classes; "mse-class-mean"
# averages it (torch's nn.MSELoss, as Yang et al. train): the same minimiser, 1/C the gradient.
Loss = Literal["cross-entropy", "mse", "mae", "mse-class-mean"]
# A model (and data) trained in the user's own loop and recorded through reglab: the spec
# describes it (custom_repr, hparams) but the lab cannot build or retrain it.
CUSTOM = "custom"


class SpecError(ValueError):
    """A spec that cannot be built; the message names each bad field and value."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSpec(_Frozen):
    name: str = "fashion-mnist"
    n_train: int | None = Field(default=None, ge=1, le=bounds.MAX_EXAMPLES, description="training subset size; None = all")
    n_test: int | None = Field(default=None, ge=1, le=bounds.MAX_EXAMPLES, description="test subset size; None = all")
    label_noise: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of training labels replaced at random")
    normalize: Literal["none", "unit", "standardize"] = "unit"
    resample_seed: int = Field(default=0, ge=0, description="seeds subset sampling and label noise")
    degree: int = Field(default=20, ge=0, le=30, description="polynomial: highest power of x in the features")
    n_features: int = Field(default=200, ge=1, le=bounds.MAX_FEATURES, description="linear-highdim: input dimension")
    noise_std: float | None = Field(default=None, ge=0.0, description="synthetic problems: noise; None = the textbook's")
    data_dir: str | None = Field(default=None, description="where to look for the dataset first")
    downsample: Literal[1, 2, 4, 7] = Field(default=1, description="images: the mean of each k x k pixel block "
                                            "(Fashion-MNIST 28x28 -> 14x14, 7x7 or 4x4 inputs)")
    validation_fraction: float = Field(default=0.0, ge=0.0, lt=bounds.MAX_VALIDATION_FRACTION,
                                       description="share of the (sub-sampled) training set held out as split 'val', "
                                       "drawn from resample_seed and never trained on")

    @field_validator("name")
    @classmethod
    def _known_dataset(cls, name: str) -> str:
        if name == CUSTOM:   # the user's own data (a custom run); there is no loader for it
            return name
        if name not in DATASET_NAMES:
            raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(sorted(DATASET_NAMES))}")
        return name


class ModelSpec(_Frozen):
    # "autoencoder": the mlp's hidden layers, then a linear map back to the input (targets = inputs)
    kind: Literal["mlp", "linear", "autoencoder", "custom"] = "mlp"
    widths: tuple[int, ...] = (256,)
    activation: Activation = "relu"
    batchnorm: Literal["none", "before", "after"] = Field(
        default="none", description="BN before or after the activation of each hidden layer")
    input_batchnorm: bool = Field(default=False, description="BN as the first layer: an adaptive input standardiser")
    bn_noise: float = Field(default=0.0, ge=0.0, description="'noisy BN' (Santurkar et al.): i.i.d. scale and "
                            "shift per activation and sample after BN, their distribution redrawn every step; 0.5 = the paper's")
    dropout: tuple[float, ...] | float = Field(default=0.0, description="one rate per hidden layer (or one for all)")
    init_std: float | None = Field(default=None, gt=0.0, description="weights ~ N(0, std^2), biases 0; None = torch default")
    init: Literal["torch", "kaiming"] = Field(
        default="torch", description="without init_std: torch.nn.Linear's default, or Kaiming (He) normal N(0, 2/fan_in), biases 0")
    bias: bool = True
    # A width sweep as one ensemble: member k of a one-hidden-layer net keeps only its first
    # member_widths[k] hidden units (widths = (the largest,)), so every width trains in the same job.
    member_widths: tuple[int, ...] | None = Field(
        default=None, description="one hidden layer: member k uses its first member_widths[k] units (widths = [max])")
    custom_repr: str = Field(default="", description="kind 'custom': repr() of the user's nn.Module")

    @field_validator("widths")
    @classmethod
    def _positive_widths(cls, widths: tuple[int, ...]) -> tuple[int, ...]:
        bad = [w for w in widths if w < 1]
        if bad:
            raise ValueError(f"every hidden width must be >= 1, got {list(widths)}")
        if len(widths) > bounds.MAX_HIDDEN_LAYERS:
            raise ValueError(f"{len(widths)} hidden layers is over the limit of {bounds.MAX_HIDDEN_LAYERS} "
                             f"(runspec.bounds.MAX_HIDDEN_LAYERS)")
        wide = [w for w in widths if w > bounds.MAX_WIDTH]
        if wide:
            raise ValueError(f"width {wide[0]:,} is over the limit of {bounds.MAX_WIDTH:,} units per layer "
                             f"(runspec.bounds.MAX_WIDTH)")
        return widths

    @field_validator("dropout")
    @classmethod
    def _rates_in_range(cls, dropout: tuple[float, ...] | float) -> tuple[float, ...] | float:
        rates = dropout if isinstance(dropout, tuple) else (dropout,)
        bad = [p for p in rates if not 0.0 <= p < 1.0]
        if bad:
            raise ValueError(f"dropout rates must be in [0, 1), got {bad}")
        return dropout

    @model_validator(mode="after")
    def _shape_consistent(self) -> "ModelSpec":
        if self.kind == CUSTOM:
            return self._custom_consistent()
        if self.custom_repr:
            raise ValueError(f"model.custom_repr: only a model of kind 'custom' has one, got kind={self.kind!r}")
        if self.kind in ("mlp", "autoencoder") and not self.widths:
            raise ValueError(f"model.widths: an {self.kind} needs at least one hidden layer, got []; use kind='linear' for none")
        if self.init_std is not None and self.init != "torch":
            raise ValueError(f"model.init: init_std={self.init_std} sets the init already; leave init at 'torch' "
                             f"(got {self.init!r})")
        if self.kind == "linear" and self.widths:
            raise ValueError(f"model.widths: a linear model has no hidden layers, got {list(self.widths)}")
        if self.member_widths is not None:
            self._check_member_widths()
        if isinstance(self.dropout, tuple) and len(self.dropout) != len(self.widths):
            raise ValueError(
                f"model.dropout: {len(self.dropout)} rates for {len(self.widths)} hidden layers; give one per layer")
        return self

    def _check_member_widths(self) -> None:
        widths = list(self.member_widths)
        if len(self.widths) != 1 or not widths or min(widths) < 1 or max(widths) != self.widths[0]:
            raise ValueError(f"model.member_widths: one hidden layer whose width is the largest member's; got "
                             f"widths={list(self.widths)}, member_widths={widths}")
        if self.batchnorm != "none" or self.input_batchnorm:
            raise ValueError("model.member_widths: BN would mix a member's units with the padding; use batchnorm='none'")

    def _custom_consistent(self) -> "ModelSpec":
        """A custom model is described by its repr alone: the MLP's fields stay at their defaults."""
        if not self.custom_repr.strip():
            raise ValueError("model.custom_repr: a custom model needs its repr (the nn.Module printed)")
        if self.widths:
            raise ValueError(f"model.widths: a custom model's layers are in custom_repr; give [], got {list(self.widths)}")
        fields = type(self).model_fields
        set_mlp = [n for n in fields if n not in ("kind", "widths", "custom_repr")
                   and getattr(self, n) != fields[n].get_default()]
        if set_mlp:
            raise ValueError(f"model.{set_mlp[0]}: a custom model's layers are in custom_repr; leave the lab MLP's "
                             f"fields ({', '.join(set_mlp)}) at their defaults")
        return self

    @property
    def dropout_rates(self) -> tuple[float, ...]:
        """One rate per hidden layer."""
        if isinstance(self.dropout, tuple):
            return self.dropout
        return (self.dropout,) * len(self.widths)


class OptimSpec(_Frozen):
    # "lstsq": the (ridge) least-squares solution in closed form, no SGD: linear models, or a
    # one-hidden-layer mlp whose hidden layer keeps its random init (training/closed_form.py).
    name: Literal["sgd", "adam", "lstsq"] = "sgd"
    lr: float = Field(default=0.1, gt=0.0, le=100.0)
    momentum: float = Field(default=0.0, ge=0.0, lt=1.0)
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = Field(default=1e-8, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0, description="lambda in loss + lambda/2 ||w||^2")
    decay_bias: bool = False
    lr_drop_every: int | None = Field(default=None, ge=1, description="epochs between learning-rate drops (as torch's "
                                      "StepLR); None = a constant rate")
    lr_drop_factor: float = Field(default=0.1, gt=0.0, le=1.0, description="what each drop multiplies the rate by")

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, betas: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be in [0, 1), got {list(betas)}")
        return betas


class ProbeSpec(_Frozen):
    activations: bool = True
    weights: bool = True
    probe_batch: int = Field(default=512, ge=2, le=bounds.MAX_PROBE_BATCH, description="fixed examples the activation probes see")
    tracked_units: int = Field(default=5, ge=0, description="units per layer whose 15/50/85th percentiles are kept")
    histogram_bins: int = Field(default=30, ge=2, le=200)
    eval_max: int = Field(default=10_000, ge=1, le=bounds.MAX_EXAMPLES, description="cap on examples per split when scoring at probe time")
    ics: bool = Field(default=False, description="Santurkar et al.'s internal covariate shift per layer")
    smoothness: bool = Field(default=False, description="loss landscape along the gradient")
    # "log": epochs 1, 2, .., then ~20 per decade, and the last: runs of thousands of epochs stay cheap to score
    score_epochs: Literal["every", "log"] = Field(default="every", description="which epoch ends are scored")


class FrozenParams(dict):
    """The read-only, hashable dict of a spec's hparams (a RunSpec is immutable and hashable)."""

    def _read_only(self, *args, **kwargs):
        raise TypeError("a spec's hparams are read-only; build a new spec with other hparams")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda item: item[0])))

    def __reduce__(self):
        return FrozenParams, (dict(self),)


def _check_hparams(value: Any) -> Any:
    """JSON scalars under non-empty string keys; the message names the key and what it got."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a dict of name -> value, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"every name must be a non-empty string, got {key!r}")
        if item is not None and not isinstance(item, (bool, int, float, str)):
            raise ValueError(f"{key!r} is a {type(item).__name__} ({item!r}); only JSON scalars (str, int, float, "
                             f"bool or None) are recorded, so record it as a string")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{key!r} must be a finite number, got {item!r}")
    return value


HParams = Annotated[dict[str, Any], BeforeValidator(_check_hparams), AfterValidator(FrozenParams)]


class RunSpec(_Frozen):
    spec_version: int = SPEC_VERSION   # kept in spec.json for readers; the id hashes SPEC_VERSION itself
    name: str = Field(default="", description="a human label; part of the id like everything else")
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    optim: OptimSpec = OptimSpec()
    loss: Loss = "cross-entropy"
    epochs: int = Field(default=10, ge=1, le=100_000)
    batch_size: int = Field(default=256, ge=1, le=bounds.MAX_EXAMPLES)
    seed: int = Field(default=0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    probe_every: int = Field(default=50, ge=1, description="steps between probes (also at step 0 and every epoch end)")
    probes: ProbeSpec = ProbeSpec()
    ensemble: int = Field(default=1, ge=1, le=256, description="K members trained together in one job")
    ensemble_data: Literal["same", "disjoint", "bootstrap"] = "disjoint"
    ensemble_init: Literal["different", "same"] = "different"
    checkpoint_every_epoch: bool = True
    hparams: HParams = Field(default=FrozenParams(), description="a custom run's hyper-parameters, as the user named them")

    @model_validator(mode="after")
    def _custom_data_needs_custom_model(self) -> "RunSpec":
        if self.data.name == CUSTOM and self.model.kind != CUSTOM:
            raise ValueError(f"data.name: 'custom' (the user's own data) goes with model.kind 'custom', "
                             f"got model.kind={self.model.kind!r}")
        return self

    @property
    def is_custom(self) -> bool:
        """A model trained in the user's own loop (reglab): recorded here, never trained by the lab."""
        return self.model.kind == CUSTOM

    @model_validator(mode="after")
    def _one_width_per_member(self) -> "RunSpec":
        widths = self.model.member_widths
        if widths is not None and len(widths) != self.ensemble:
            raise ValueError(f"model.member_widths: {len(widths)} widths for ensemble = {self.ensemble}; give one per member")
        return self

    @model_validator(mode="after")
    def _closed_form_needs_linear_mse(self) -> "RunSpec":
        m = self.model
        # An mlp qualifies as random features: one hidden layer kept at its init, nothing stochastic.
        random_features = (m.kind == "mlp" and len(m.widths) == 1 and m.batchnorm == "none"
                           and not m.input_batchnorm and not any(m.dropout_rates))
        if self.optim.name == "lstsq" and (not (m.kind == "linear" or random_features) or self.loss != "mse"):
            raise ValueError(f"optim.name: 'lstsq' solves a linear model, or an mlp with one hidden layer and "
                             f"no BN/dropout (random features), under mse in closed form; got model.kind="
                             f"{m.kind!r}, widths={list(m.widths)}, batchnorm={m.batchnorm!r}, loss={self.loss!r}")
        return self

    @model_validator(mode="after")
    def _within_bounds(self) -> "RunSpec":
        bounds.check_bounds(self)   # sizes and steps a teaching machine can hold (runspec/bounds.py)
        return self

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, every default included."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def run_id(self) -> str:
        return run_id_of(self)

    def with_overrides(self, overrides: dict[str, Any]) -> "RunSpec":
        """A new spec with dotted keys replaced, e.g. {"optim.lr": 0.5}."""
        tree = self.model_dump(mode="json")
        for dotted, value in overrides.items():
            _set_dotted(tree, dotted, value)
        return build_spec(tree)


def non_default_tree(model: BaseModel) -> dict[str, Any]:
    """The fields that differ from their defaults, nested models as sub-dicts (empty ones left out)."""
    tree: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            sub = non_default_tree(value)
            if sub:
                tree[name] = sub
        elif value != info.get_default(call_default_factory=True):
            tree[name] = value
    return tree


def changed_fields(base: BaseModel, other: BaseModel, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """{dotted field: (base value, other value)} for every field where two specs differ."""
    changes: dict[str, tuple[Any, Any]] = {}
    for name in type(base).model_fields:
        a, b = getattr(base, name), getattr(other, name)
        if isinstance(a, BaseModel) and isinstance(b, BaseModel):
            changes.update(changed_fields(a, b, f"{prefix}{name}."))
        elif a != b:
            changes[f"{prefix}{name}"] = (a, b)
    return changes


def run_id_of(spec: "RunSpec") -> str:
    """12 hex digits of SHA-256 over {version, non-default fields} in canonical JSON."""
    fields = non_default_tree(spec)
    fields.pop("spec_version", None)   # the version that counts is this code's, below
    payload = json.dumps({"fields": fields, "version": SPEC_VERSION}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _set_dotted(tree: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for i, key in enumerate(parents):
        if not isinstance(node.get(key), dict):
            raise SpecError(f"unknown spec field {dotted!r}: {'.'.join(parents[:i + 1])!r} has no fields")
        node = node[key]
    if leaf not in node:
        raise SpecError(f"unknown spec field {dotted!r}; known here: {', '.join(sorted(node))}")
    node[leaf] = value


def build_spec(tree: dict[str, Any]) -> RunSpec:
    """Validate a plain dict into a RunSpec, or raise SpecError naming every bad field."""
    try:
        return RunSpec.model_validate(tree)
    except ValidationError as err:
        raise SpecError(format_validation_error(err)) from None


def load_spec_json(text: str) -> RunSpec:
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"spec is not valid JSON: {err}") from None
    if not isinstance(tree, dict):
        raise SpecError("spec JSON must be an object")
    return build_spec(tree)


def format_validation_error(err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        field = ".".join(str(part) for part in item["loc"])
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        message = item["msg"].removeprefix("Value error, ")
        # a whole-spec check names its own field(s) first, e.g. "epochs: ... steps is over the limit"
        lines.append(f"{field}: {message}{shown}" if field else message)
    return "invalid spec:\n  " + "\n  ".join(lines)


def check_run_id(run_id: str) -> str:
    """Run ids reach file paths; only 12 lowercase hex digits are accepted."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise SpecError(f"not a run id: {run_id!r} (expected 12 hex digits)")
    return run_id
