"""Probes against hand computation on a tiny model."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training import probes
from nets.models import InvertedDropout, build_model
from runspec import ModelSpec


def _tiny(activation="relu", batchnorm="none", members=2, dropout=0.0):
    spec = ModelSpec(widths=(6, 5), activation=activation, batchnorm=batchnorm, dropout=dropout)
    return build_model(spec, 4, 3, list(range(members)))


def _capture(model, x):
    with probes.probe_mode(model), probes.capture_activations(model) as captured:
        model(x)
    return captured


def _by_hand(model, x):
    """Pre/post activations of a tanh/relu MLP without BN or dropout, member by member."""
    out = {}
    for k in range(model.members):
        h = x
        for name, block in model.hidden.items():
            pre = F.linear(h, block.linear.weight[k], block.linear.bias[k, 0])
            h = block.act(pre)
            out[(name, "pre", k)], out[(name, "post", k)] = pre, h
    return out


def test_capture_sees_the_activation_input_and_output():
    torch.manual_seed(0)
    model, x = _tiny("tanh"), torch.randn(32, 4)
    captured = _capture(model, x)
    expected = _by_hand(model, x)
    assert set(captured) == {(f"hidden{i}", s) for i in (1, 2) for s in ("pre", "post")}
    for (layer, site), tensor in captured.items():
        assert tensor.shape == (2, 32, 6 if layer == "hidden1" else 5)
        for k in range(2):
            torch.testing.assert_close(tensor[k], expected[(layer, site, k)])
    assert not model.hidden["hidden1"].act._forward_hooks  # hooks removed afterwards


def test_probe_mode_turns_dropout_off_and_leaves_running_stats_alone():
    torch.manual_seed(1)
    model = _tiny("relu", batchnorm="before", dropout=0.5).train()
    bn = model.hidden["hidden1"].bn_before
    bn.running_mean.fill_(0.3)
    x = torch.randn(64, 4) * 5
    first, second = _capture(model, x), _capture(model, x)
    for key in first:
        torch.testing.assert_close(first[key], second[key])  # no random masks
    torch.testing.assert_close(bn.running_mean, torch.full_like(bn.running_mean, 0.3))
    assert model.training and all(m.training for m in model.modules() if isinstance(m, InvertedDropout))
    pre = first[("hidden1", "pre")]  # BN in train mode: batch statistics of the probe batch
    torch.testing.assert_close(pre.mean(1), torch.zeros(2, 6), atol=1e-5, rtol=0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_activation_rows_against_numpy(activation):
    torch.manual_seed(2)
    model, x = _tiny(activation), torch.randn(200, 4) * 3
    captured = _capture(model, x)
    tables = probes.activation_rows(captured, step=7, epoch=1, activation=activation, bins=12, tracked_units=3)
    rows = tables["activations"]
    assert len(rows) == 2 * 2 * 2  # layers x sites x members
    threshold = probes.SATURATION_THRESHOLD.get(activation)
    for row in rows:
        values = captured[(row["layer"], row["site"])][row["member"]].flatten().double().numpy()
        pre = captured[(row["layer"], "pre")][row["member"]].flatten().double().numpy()
        assert (row["step"], row["epoch"]) == (7, 1)
        assert row["mean"] == pytest.approx(values.mean(), abs=1e-5)
        assert row["std"] == pytest.approx(values.std(ddof=1), abs=1e-5)
        assert (row["min"], row["max"]) == pytest.approx((values.min(), values.max()), abs=1e-6)
        assert row["frac_zero"] == pytest.approx((values == 0).mean())
        for p in probes.PERCENTILES:
            assert row[f"q{p}"] == pytest.approx(np.percentile(values, p), abs=1e-5)
        expected_sat = 0.0 if threshold is None else (np.abs(pre) > threshold).mean()
        assert row["frac_saturated"] == pytest.approx(expected_sat)
    relu_post = [r for r in rows if r["site"] == "post"]
    if activation == "relu":
        assert all(r["frac_zero"] > 0.1 for r in relu_post)
    if activation == "tanh":
        assert any(r["frac_saturated"] > 0 for r in rows)


def test_histograms_and_tracked_units():
    torch.manual_seed(3)
    model, x = _tiny("relu"), torch.randn(100, 4)
    captured = _capture(model, x)
    tables = probes.activation_rows(captured, step=0, epoch=0, activation="relu", bins=10, tracked_units=2)
    hist = tables["histograms"]
    for (layer, site), tensor in captured.items():
        mine = [h for h in hist if (h["layer"], h["site"]) == (layer, site)]
        assert [h["bin"] for h in mine] == list(range(10))
        assert sum(h["count"] for h in mine) == tensor[0].numel()  # member 0 only
        assert all(h["member"] == 0 for h in mine)
        values = tensor[0].flatten().numpy()
        counts, _ = np.histogram(values, bins=10, range=(values.min(), values.max()))
        assert [h["count"] for h in mine] == pytest.approx(counts.tolist(), abs=1)  # edge rounding
        assert mine[0]["lo"] == pytest.approx(values.min()) and mine[-1]["hi"] == pytest.approx(values.max())
    units = tables["units"]
    assert {(u["layer"], u["site"]) for u in units} == {("hidden1", "pre"), ("hidden2", "pre")}
    for u in units:
        column = captured[(u["layer"], "pre")][0, :, u["unit"]].numpy()
        for p in probes.UNIT_PERCENTILES:
            assert u[f"q{p}"] == pytest.approx(np.percentile(column, p), abs=1e-5)
    assert sorted({u["unit"] for u in units}) == [0, 1]


def test_histogram_of_a_constant_tensor_keeps_all_counts():
    rows = probes.histogram_rows(torch.zeros(50), bins=5)
    assert sum(r["count"] for r in rows) == 50


def test_weight_rows_norms_spectral_grad_and_update_ratio():
    torch.manual_seed(4)
    model = _tiny("relu", members=2)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    before = probes.snapshot_weights(model)
    loss = F.cross_entropy(model(x).flatten(0, 1), y.repeat(2))
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    rows = probes.weight_rows(model, step=3, before=before)
    layers = model.linear_layers()
    weight_rows = [r for r in rows if r["param"] == "weight"]
    assert len(weight_rows) == 3 * 2 and len(rows) == 3 * 2 * 2
    for row in weight_rows:
        layer, k = layers[row["layer"]], row["member"]
        w, w0 = layer.weight[k].detach(), before[row["layer"]][k]
        assert row["step"] == 3
        assert row["norm"] == pytest.approx(torch.linalg.norm(w).item(), rel=1e-5)
        assert row["spectral_norm"] == pytest.approx(torch.linalg.svdvals(w)[0].item(), rel=1e-5)
        assert row["grad_norm"] == pytest.approx(layer.weight.grad[k].norm().item(), rel=1e-5)
        ratio = ((w - w0).norm() / w0.norm()).item()
        assert row["update_ratio"] == pytest.approx(ratio, rel=1e-5)
        assert row["update_ratio"] == pytest.approx(0.1 * layer.weight.grad[k].norm().item() / w0.norm().item(),
                                                    rel=1e-4)
    for row in (r for r in rows if r["param"] == "bias"):
        bias = layers[row["layer"]].bias
        assert row["norm"] == pytest.approx(bias[row["member"]].norm().item(), rel=1e-5)
        assert row["grad_norm"] == pytest.approx(bias.grad[row["member"]].norm().item(), rel=1e-5)


def test_weight_rows_without_gradients_or_snapshot():
    rows = probes.weight_rows(_tiny(members=1), step=0, before=None)
    assert rows and all(r["grad_norm"] is None and r["update_ratio"] is None for r in rows)
