"""Any sweep at a glance: each varied spec field against a chosen final metric, choosing on
the validation score where the runs have one (analysis.tuning). Pure: specs and finals in,
frames and Altair charts out; the Runs page (ui/sweep_view.py) draws them.

One field: the metric against it; two: a heatmap; more: parallel coordinates (each run a
line across one axis per field, every axis scaled to its own range, coloured by the metric).
"""
from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import pandas as pd

from analysis import palette
from analysis.lesson_charts import grid_heatmap
from analysis.tuning import choose_by_validation
from runspec import changed_fields

SKIPPED = {"name", "probe_every", "probes.eval_max"}   # bookkeeping, not a knob of the sweep


def varied_fields(specs: Sequence) -> list[str]:
    """The dotted spec fields that differ between the runs, in spec order."""
    fields: set[str] = set()
    for spec in specs[1:]:
        fields.update(changed_fields(specs[0], spec))
    order = {name: i for i, name in enumerate(_dotted_fields(specs[0]))} if specs else {}
    return sorted((f for f in fields if f not in SKIPPED), key=lambda f: order.get(f, len(order)))


def _dotted_fields(model, prefix: str = "") -> list[str]:
    """Every leaf field of a spec as a dotted name, in declaration order."""
    names = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        names += _dotted_fields(value, f"{prefix}{name}.") if hasattr(type(value), "model_fields") else [f"{prefix}{name}"]
    return names


def _value(spec, dotted: str) -> Any:
    node = spec
    for part in dotted.split("."):
        node = getattr(node, part)
    if isinstance(node, (tuple, list)):   # widths (256, 256) or betas (0.9, 0.999): one readable cell
        return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in node)
    return node


def sweep_table(specs: Sequence, finals: Sequence[dict]) -> tuple[pd.DataFrame, list[str]]:
    """One row per run: its varied fields and its final metrics; and the varied fields' names."""
    fields = varied_fields(specs)
    rows = [{**{f: _value(s, f) for f in fields}, **{k: v for k, v in (final or {}).items()
                                                      if isinstance(v, (int, float))}}
            for s, final in zip(specs, finals)]
    return pd.DataFrame(rows), fields


def metrics(frame: pd.DataFrame, fields: Sequence[str]) -> list[str]:
    """The metric columns to choose from, validation scores first."""
    numeric = [c for c in frame.columns if c not in fields and pd.api.types.is_numeric_dtype(frame[c])]
    return sorted(numeric, key=lambda c: (not c.startswith("val_"), not c.endswith("accuracy"), c))


def chosen(frame: pd.DataFrame, fields: Sequence[str], metric: str) -> pd.DataFrame:
    """The frame with a `chosen` column: the best run on `metric` when it is a validation
    score (never a test score: analysis.tuning), else no run is marked."""
    out = frame.copy()
    out["chosen"] = False
    if metric.startswith("val_") and out[metric].notna().any():
        out.loc[choose_by_validation(out, list(fields), metric), "chosen"] = True
    return out


def sweep_chart(frame: pd.DataFrame, fields: Sequence[str], metric: str, title: str) -> alt.TopLevelMixin:
    if len(fields) == 1:
        return _one_field(frame, fields[0], metric, title)
    if len(fields) == 2:
        return grid_heatmap(frame, metric, fields[0], fields[1], title)
    return _parallel(frame, fields, metric, title)


def _is_number(frame: pd.DataFrame, field: str) -> bool:
    return pd.api.types.is_numeric_dtype(frame[field]) and not pd.api.types.is_bool_dtype(frame[field])


def _one_field(frame: pd.DataFrame, field: str, metric: str, title: str) -> alt.LayerChart:
    x = alt.X(f"{field}:{'Q' if _is_number(frame, field) else 'O'}", title=palette.label(field),
              scale=alt.Scale(zero=False))
    base = alt.Chart(frame).encode(x=x, y=alt.Y(f"{metric}:Q", title=palette.label(metric), scale=alt.Scale(zero=False)),
                                   tooltip=[field, alt.Tooltip(f"{metric}:Q", format=".4f")])
    layers = [base.mark_line(color=palette.BLUE), base.mark_point(filled=True, size=70, color=palette.BLUE)]
    if "chosen" in frame:
        layers.append(base.transform_filter("datum.chosen").mark_point(size=300, color=palette.BLACK, strokeWidth=2))
    return alt.layer(*layers).properties(height=280, title=title)


def _parallel(frame: pd.DataFrame, fields: Sequence[str], metric: str, title: str) -> alt.Chart:
    """Parallel coordinates: each axis min-max scaled over the runs (categories by their order)."""
    axes = [*fields, metric]
    scaled = pd.DataFrame({"run": range(len(frame))})
    for axis in axes:
        column = frame[axis] if _is_number(frame, axis) else frame[axis].astype("category").cat.codes
        span = float(column.max() - column.min()) or 1.0
        scaled[axis] = (column.to_numpy(dtype=float) - float(column.min())) / span
    scaled["score"] = frame[metric].to_numpy()
    scaled["values"] = [", ".join(f"{palette.label(a)} {frame.iloc[i][a]}" for a in axes) for i in range(len(frame))]
    long = scaled.melt(id_vars=["run", "score", "values"], value_vars=axes, var_name="axis", value_name="position")
    long["axis"] = long["axis"].map(palette.label)
    order = [palette.label(a) for a in axes]
    return alt.Chart(long).mark_line(opacity=0.8, point=True).encode(
        x=alt.X("axis:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("position:Q", title="each axis from its lowest (0) to its highest (1) value"),
        detail="run:N",
        color=alt.Color("score:Q", title=palette.label(metric), scale=alt.Scale(scheme="viridis")),
        tooltip=["values:N"],
    ).properties(height=300, title=title)
