"""Altair chart builders for the dropout lesson (pure: frames or tensors in, chart out)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import torch

from analysis import palette

PALETTE = palette.COLORS
MODELS = ["dropout", "no dropout"]


def _color(domain: list[str], title: str) -> alt.Color:
    return palette.color(title, domain, title=title, symbolType="stroke")


def epoch_curves_chart(curves: pd.DataFrame) -> alt.FacetChart:
    """Train/test loss and accuracy per epoch, with and without dropout.

    curves: [model, epoch, split(train|test), metric(loss|accuracy), value]. Colour: the
    model; train dashed, test solid."""
    return alt.Chart(curves).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=palette.whole_axis()), y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=_color(MODELS, "model"),
        strokeDash=palette.split_dash(),
        tooltip=["model:N", "split:N", "epoch:Q", alt.Tooltip("value:Q", format=".4f")],
    ).properties(width=300, height=220).facet(column=alt.Column("metric:N", title=None)).resolve_scale(y="independent")


def gap_chart(curves: pd.DataFrame) -> alt.Chart:
    """Generalization gap (train accuracy - test accuracy) per epoch for each model."""
    acc = curves[curves["metric"] == "accuracy"].pivot_table(index=["model", "epoch"], columns="split",
                                                            values="value").reset_index()
    acc["gap"] = acc["train"] - acc["test"]
    return alt.Chart(acc).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=palette.whole_axis()), y=alt.Y("gap:Q", title="train acc - test acc"),
        color=_color(MODELS, "model"),
        tooltip=["model:N", "epoch:Q", alt.Tooltip("gap:Q", format=".4f")],
    ).properties(width=300, height=220, title="Generalization gap")


def network_layout(weights: list[torch.Tensor], masks: list[torch.Tensor], shown: list[list[int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and edges of a node-link diagram of a (sub-)network, on a subset of units.

    weights: [out_l, in_l] per layer (input->hidden1, ..., ->output); masks: bool keep mask per
    hidden layer; shown: unit indices drawn per column (input, hidden..., output).
    An edge is drawn only when both of its ends are kept; its width is |weight|."""
    columns = len(shown)
    keep = [None, *masks, None]
    nodes, edges = [], []
    for c, units in enumerate(shown):
        for r, unit in enumerate(units):
            kept = keep[c] is None or bool(keep[c][unit])
            layer = "input" if c == 0 else "output" if c == columns - 1 else f"hidden{c}"
            nodes.append({"column": c, "y": (r + 0.5) / len(units), "layer": layer, "unit": unit,
                          "state": "kept" if kept else "dropped"})
    pos = {(n["column"], n["unit"]): n for n in nodes}
    for c, w in enumerate(weights):
        for target in shown[c + 1]:
            for source in shown[c]:
                a, b = pos[(c, source)], pos[(c + 1, target)]
                if a["state"] == "kept" and b["state"] == "kept":
                    edges.append({"x": c, "x2": c + 1, "y": a["y"], "y2": b["y"],
                                  "weight": float(w[target, source]), "abs_weight": abs(float(w[target, source]))})
    return pd.DataFrame(nodes), pd.DataFrame(edges, columns=["x", "x2", "y", "y2", "weight", "abs_weight"])


def subnetwork_chart(nodes: pd.DataFrame, edges: pd.DataFrame, title: str = "") -> alt.LayerChart:
    """Node-link diagram: rule marks for edges (width ~ |weight|, colour = sign), points for
    units (dropped units hollow and grey, with no edges)."""
    x_scale = alt.Scale(domain=[-0.3, nodes["column"].max() + 0.3])
    edge_layer = alt.Chart(edges).mark_rule(opacity=0.55).encode(
        x=alt.X("x:Q", scale=x_scale, axis=None), x2="x2:Q", y=alt.Y("y:Q", axis=None), y2="y2:Q",
        strokeWidth=alt.StrokeWidth("abs_weight:Q", scale=alt.Scale(range=[0.2, 3.5]), legend=None),
        color=palette.color("sign", ["+", "-"], title="weight"),
        tooltip=[alt.Tooltip("weight:Q", format=".3f")],
    ).transform_calculate(sign="datum.weight >= 0 ? '+' : '-'")
    states = palette.color_scale(["kept", "dropped"])
    node_layer = alt.Chart(nodes).mark_point(size=110, strokeWidth=1.5, filled=True).encode(
        x=alt.X("column:Q", scale=x_scale, axis=None), y=alt.Y("y:Q", axis=None),
        fill=alt.Fill("state:N", scale=states, title="unit"),
        stroke=alt.Stroke("state:N", scale=alt.Scale(domain=["kept", "dropped"], range=[palette.BLACK, palette.GREY]),
                          legend=None),
        tooltip=["layer:N", "unit:Q", "state:N"],
    )
    labels = alt.Chart(nodes.groupby(["column", "layer"], as_index=False).size()).mark_text(dy=-8, fontSize=12).encode(
        x=alt.X("column:Q", scale=x_scale), y=alt.value(0), text="layer:N")
    return alt.layer(edge_layer, node_layer, labels).properties(width=520, height=360, title=title)


def subnet_histogram_chart(samples: pd.DataFrame, reference: float) -> alt.LayerChart:
    """Histogram of sampled sub-networks' test accuracies, weight-scaled network as a line."""
    bars = alt.Chart(samples).mark_bar(color=PALETTE["dropout"], opacity=0.8).encode(
        x=alt.X("accuracy:Q", bin=alt.Bin(maxbins=30), title="test accuracy of a sampled sub-network",
                axis=alt.Axis(format=".3f")),
        y=alt.Y("count():Q", title="sub-networks"))
    line = alt.Chart(pd.DataFrame({"accuracy": [reference], "label": ["weight-scaled"]})).mark_rule(
        color=PALETTE["weight-scaled"], strokeWidth=2).encode(x="accuracy:Q", tooltip=["label:N", "accuracy:Q"])
    return alt.layer(bars, line).properties(width=520, height=260)


def mc_chart(curve: pd.DataFrame, reference: float) -> alt.LayerChart:
    """MC-averaged accuracy vs k (log x) with a +-1 std band over repeats, and the weight-scaling line."""
    summary = curve.groupby("k")["accuracy"].agg(["mean", "std"]).fillna(0.0).reset_index()
    summary["lo"], summary["hi"] = summary["mean"] - summary["std"], summary["mean"] + summary["std"]
    x = alt.X("k:Q", scale=alt.Scale(type="log", domain=[1, int(summary["k"].max())], nice=False),
              title="sub-networks averaged (k)", axis=palette.whole_axis())
    band = alt.Chart(summary).mark_area(opacity=0.25, color=PALETTE["dropout"]).encode(
        x=x, y=alt.Y("lo:Q", scale=alt.Scale(zero=False), title="test accuracy"), y2="hi:Q")
    line = alt.Chart(summary).mark_line(point=alt.OverlayMarkDef(color=PALETTE["dropout"]), color=PALETTE["dropout"]).encode(
        x=x, y="mean:Q", tooltip=["k:Q", alt.Tooltip("mean:Q", format=".4f"), alt.Tooltip("std:Q", format=".4f")])
    rule = alt.Chart(pd.DataFrame({"accuracy": [reference]})).mark_rule(
        color=PALETTE["weight-scaled"], strokeDash=palette.DOTTED, strokeWidth=2).encode(
        y="accuracy:Q", tooltip=[alt.Tooltip("accuracy:Q", title="weight-scaled network")])
    return alt.layer(band, line, rule).properties(width=520, height=280)


def rate_sweep_chart(sweep: pd.DataFrame, x_field: str = "rate", x_title: str = "dropout rate p") -> alt.HConcatChart:
    """Final train/test accuracy and their gap vs the dropout setting.

    sweep: [x_field, split(train|test|gap), value]; x_field may be numeric or a label."""
    x_type = "Q" if pd.api.types.is_numeric_dtype(sweep[x_field]) else "N"
    sort = list(dict.fromkeys(sweep[x_field])) if x_type == "N" else None
    base = alt.Chart(sweep).encode(
        x=alt.X(f"{x_field}:{x_type}", title=x_title, sort=sort,
                axis=alt.Axis(labelAngle=0, **({"format": ",.4~r"} if x_type == "Q" else {}))),
        color=palette.color("split", ["train", "test", "gap"], title="split", symbolType="stroke"),
        strokeDash=palette.split_dash(domain=["train", "test", "gap"]),
        tooltip=[f"{x_field}:{x_type}", "split:N", alt.Tooltip("value:Q", format=".4f")])
    acc = base.transform_filter("datum.split != 'gap'").mark_line(point=True).encode(
        y=alt.Y("value:Q", title="final accuracy", scale=alt.Scale(zero=False)))
    gap = base.transform_filter("datum.split == 'gap'").mark_line(point=True).encode(
        y=alt.Y("value:Q", title="gap (train - test)"))
    return alt.hconcat(acc.properties(width=320, height=240), gap.properties(width=300, height=240))


def unit_removal_chart(removal: pd.DataFrame) -> alt.LayerChart:
    """Test accuracy vs the fraction of hidden units deleted at test time, per model (mean +- std)."""
    summary = removal.groupby(["model", "fraction"])["accuracy"].agg(["mean", "std"]).fillna(0.0).reset_index()
    summary["lo"], summary["hi"] = summary["mean"] - summary["std"], summary["mean"] + summary["std"]
    color = _color(MODELS, "model")
    x = alt.X("fraction:Q", title="fraction of hidden units removed", axis=alt.Axis(format="~%"))
    band = alt.Chart(summary).mark_area(opacity=0.2).encode(
        x=x, y="lo:Q", y2="hi:Q", color=palette.color("model", MODELS, show_legend=False))
    line = alt.Chart(summary).mark_line(point=True).encode(
        x=x, y=alt.Y("mean:Q", title="test accuracy"), color=color,
        tooltip=["model:N", alt.Tooltip("fraction:Q", format=".0%"), alt.Tooltip("mean:Q", format=".4f")])
    return alt.layer(line, band).properties(width=520, height=280)   # the line first: the legend draws its strokes


def sparsity_chart(hist: pd.DataFrame, kind: str = "unit_mean") -> alt.FacetChart:
    """Histograms of hidden activations (or of each unit's mean activation) with vs without dropout.

    hist: [model, layer, kind, lo, hi, count]."""
    data = hist[hist["kind"] == kind].copy()
    data["share"] = data["count"] / data.groupby(["model", "layer"])["count"].transform("sum").clip(lower=1)
    title = "mean activation of a unit" if kind == "unit_mean" else "nonzero activation"
    return alt.Chart(data).mark_bar(opacity=0.6, binSpacing=0).encode(
        x=alt.X("lo:Q", title=title), x2="hi:Q", y=alt.Y("share:Q", title="share", stack=None),
        color=palette.color("model", MODELS, title="model"),
        tooltip=["model:N", "layer:N", alt.Tooltip("lo:Q", format=".3f"), alt.Tooltip("share:Q", format=".3f")],
    ).properties(width=280, height=200).facet(column=alt.Column("layer:N", title=None))


def demo_table_chart(demo: dict[float, torch.Tensor]) -> alt.FacetChart:
    """The 2x8 demonstration as heat maps with the values printed, one per p."""
    rows = [{"p": f"p = {p:g}", "row": r, "col": c, "value": float(t[r, c])}
            for p, t in demo.items() for r in range(t.shape[0]) for c in range(t.shape[1])]
    base = alt.Chart(pd.DataFrame(rows)).encode(x=alt.X("col:O", title=None, axis=alt.Axis(labelAngle=0)),
                                                y=alt.Y("row:O", title=None))
    cells = base.mark_rect().encode(color=alt.Color("value:Q", scale=alt.Scale(scheme="blues"), legend=None))
    top = max((r["value"] for r in rows), default=0.0)   # dark text on light cells, white on the darkest
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("value:Q", format=".0f"),
        color=alt.condition(f"datum.value > {0.6 * top!r}", alt.value(palette.TEXT_ON_DARK), alt.value(palette.TEXT)))
    return alt.layer(cells, text).properties(width=320, height=70).facet(row=alt.Row("p:N", title=None))


def expectation_chart(check: pd.DataFrame) -> alt.LayerChart:
    """Mean output over many masks (with +-2 standard errors) against the input: E[h'] = h."""
    check = check.assign(lo=check["mean_output"] - 2 * check["std_error"], hi=check["mean_output"] + 2 * check["std_error"])
    diagonal = alt.Chart(pd.DataFrame({"input": [0.0, 15.0], "mean_output": [0.0, 15.0]})).mark_line(
        color=palette.REFERENCE, strokeDash=palette.DOTTED).encode(x="input:Q", y="mean_output:Q")
    bars = alt.Chart(check).mark_rule(color=PALETTE["dropout"]).encode(x="input:Q", y="lo:Q", y2="hi:Q")
    points = alt.Chart(check).mark_point(filled=True, color=PALETTE["dropout"]).encode(
        x=alt.X("input:Q", title="input h", axis=palette.whole_axis()), y=alt.Y("mean_output:Q", title="mean of h' over masks"),
        tooltip=["element:Q", "input:Q", alt.Tooltip("mean_output:Q", format=".3f")])
    return alt.layer(diagonal, bars, points).properties(width=360, height=260)
