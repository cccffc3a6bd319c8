"""BatchNorm lesson: BN's train-mode invariant, the ICS and smoothness probes against
hand computations, the divergence path, the analysis on tiny frames, and the page."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from analysis import covariate_shift as cs
from analysis import covariate_shift_charts as ch
from cache import store
from tests.conftest import build_run, tiny
from tests.sections import each_section
from training import landscape
from training.losses import member_loss
from nets.models import BatchedBatchNorm, build_model
from training.presets import PRESETS, SWEEPS
from runspec import build_spec
from training.trainer import make_optimizer

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "covariate_shift.py")


# ---------------------------------------------------------------- BN itself

def test_bn_train_mode_gives_mean0_var1_per_unit_before_gamma_beta():
    torch.manual_seed(0)
    bn = BatchedBatchNorm(members=3, units=5).train()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    x = 3.0 + 7.0 * torch.randn(3, 64, 5)                    # [K, B, U], far from standard
    normalized = (bn(x) - bn.bias) / bn.weight               # undo gamma/beta
    assert torch.allclose(normalized.mean(1), torch.zeros(3, 5), atol=1e-5)
    assert torch.allclose(normalized.var(1, unbiased=False), torch.ones(3, 5), atol=1e-3)


# ---------------------------------------------------------------- ICS

def tiny_net(momentum=0.0, members=2, dropout=0.0):
    spec = build_spec({"model": {"widths": [4, 3], "activation": "sigmoid", "dropout": dropout},
                       "optim": {"name": "sgd", "lr": 0.3, "momentum": momentum},
                       "loss": "cross-entropy", "probes": {"ics": True, "smoothness": True}})
    model = build_model(spec.model, 5, 3, list(range(members)))
    torch.manual_seed(1)
    xb, yb = torch.randn(members, 8, 5), torch.randint(3, (members, 8))
    return spec, model, make_optimizer(spec, model), xb, yb


def loss_of(model, xb, yb):
    return member_loss(model(xb), yb, "cross-entropy", "classification").sum()


def test_ics_matches_a_direct_two_pass_computation_with_plain_sgd():
    spec, model, optimizer, xb, yb = tiny_net()
    names = [n for n, _ in model.named_parameters()]
    grads = dict(zip(names, torch.autograd.grad(loss_of(model, xb, yb), list(model.parameters()))))
    expected = {}
    for layer, preceding in [("hidden2", ("hidden.hidden1.",)), ("output", ("hidden.hidden1.", "hidden.hidden2."))]:
        stepped = copy.deepcopy(model)
        with torch.no_grad():
            for name, p in stepped.named_parameters():
                if name.startswith(preceding):
                    p -= spec.optim.lr * grads[name]        # plain SGD on layers < i only
        weight = stepped.linear_layers()[layer].weight
        (g_prime,) = torch.autograd.grad(loss_of(stepped, xb, yb), [weight])
        g = grads["hidden.hidden2.linear.weight" if layer == "hidden2" else "output.weight"]
        for k in range(2):
            expected[(layer, k)] = ((g[k] - g_prime[k]).norm().item(),
                                    torch.nn.functional.cosine_similarity(g[k].flatten(), g_prime[k].flatten(), 0).item())
    rows = landscape.measure(model, optimizer, xb, yb, spec, "classification", step=7)["ics"]
    assert {(r["layer"], r["member"]) for r in rows} == set(expected)
    for row in rows:
        l2, cos = expected[(row["layer"], row["member"])]
        assert row["step"] == 7
        assert row["ics_l2"] == pytest.approx(l2, rel=1e-4) and l2 > 0
        assert row["ics_cos"] == pytest.approx(cos, abs=1e-5)


def test_ics_uses_the_optimizer_momentum_and_leaves_training_state_alone():
    spec, model, optimizer, xb, yb = tiny_net(momentum=0.9, dropout=0.3)
    loss_of(model, xb, yb).backward()
    optimizer.step()                                          # momentum buffers now exist
    weights = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    # Hand computation for the output layer: every hidden param takes buf' = 0.9 buf + g, p -= lr buf'.
    params = dict(model.named_parameters())
    seed = spec.seed * 1_000_003 + 3
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        g = dict(zip(params, torch.autograd.grad(loss_of(model, xb, yb), list(params.values()))))
    stepped = copy.deepcopy(model)
    state = optimizer.state
    with torch.no_grad():
        for name, p in stepped.named_parameters():
            if name.startswith("hidden."):
                p -= spec.optim.lr * (0.9 * state[params[name]]["momentum_buffer"] + g[name])
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        (g_prime,) = torch.autograd.grad(loss_of(stepped, xb, yb), [stepped.output.weight])
    rows = landscape.measure(model, optimizer, xb, yb, spec, "classification", step=3)["ics"]
    out = [r for r in rows if r["layer"] == "output" and r["member"] == 0][0]
    assert out["ics_l2"] == pytest.approx((g["output.weight"][0] - g_prime[0]).norm().item(), rel=1e-4)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    after = optimizer.state_dict()["state"]
    assert all(torch.equal(s["momentum_buffer"], after[i]["momentum_buffer"]) for i, s in opt_state["state"].items())
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, model.parameters()))
    assert torch.equal(rng, torch.get_rng_state())


# ---------------------------------------------------------------- smoothness

def test_smoothness_matches_the_closed_form_of_least_squares():
    """Linear model, MSE: g_w = 2/n X^T r, g_b = 2/n sum r with r = Xw + b - y."""
    spec = build_spec({"data": {"name": "polynomial"}, "model": {"kind": "linear", "widths": []},
                       "loss": "mse", "optim": {"lr": 0.05}, "probes": {"smoothness": True, "activations": False}})
    model = build_model(spec.model, 4, 1, [0])
    torch.manual_seed(2)
    x, y = torch.randn(1, 16, 4), torch.randn(1, 16, 1)
    w, b = model.output.weight[0, 0].detach().double(), model.output.bias[0, 0, 0].detach().double()
    xd, yd = x[0].double(), y[0, :, 0].double()

    def loss_and_grad(w, b):
        r = xd @ w + b - yd
        return (r ** 2).mean(), torch.cat([2 / 16 * xd.T @ r, (2 / 16 * r.sum()).view(1)])

    base, g = loss_and_grad(w, b)
    rows = landscape.measure(model, make_optimizer(spec, model), x, y, spec, "regression", step=0)["smoothness"]
    assert len(rows) == len(landscape.ETA_FACTORS) and "ics" not in landscape.measure(
        model, make_optimizer(spec, model), x, y, spec, "regression", step=0)
    for row, factor in zip(rows, landscape.ETA_FACTORS):
        eta = 0.05 * factor
        loss, g_new = loss_and_grad(w - eta * g[:4], b - eta * g[4])
        assert row["eta"] == pytest.approx(eta)
        assert row["base_loss"] == pytest.approx(base.item(), rel=1e-5)
        assert row["loss"] == pytest.approx(loss.item(), rel=1e-4)
        assert row["grad_diff"] == pytest.approx((g - g_new).norm().item(), rel=1e-4)
        assert row["distance"] == pytest.approx(eta * g.norm().item(), rel=1e-5)


# ---------------------------------------------------------------- the presets

def test_presets_and_sweeps_reproduce_the_published_setups():
    for name in ("bn-fig1-nobn", "bn-fig1-bn"):
        spec = PRESETS[name].spec
        assert spec.model.widths == (100, 100, 100) and spec.model.activation == "sigmoid"
        assert spec.batch_size == 60 and spec.optim.name == "sgd" and spec.probes.ics
    assert PRESETS["bn-fig1-bn"].spec.model.batchnorm == "before"
    assert PRESETS["bn-fig1-nobn"].spec.model.batchnorm == "none"
    assert PRESETS["bn-noisy"].spec.model.bn_noise > 0
    lrs = {spec.optim.lr for _, spec in SWEEPS["bn-lr-sweep"].specs()}
    assert min(lrs) <= 0.01 and max(lrs) >= 10


def test_unscaled_concrete_without_bn_is_recorded_as_diverged(tmp_path):
    """The Keras lesson's plain net on raw features, on the synthetic stand-in (same scales)."""
    spec = PRESETS["keras-concrete-nobn"].spec
    assert spec.model.batchnorm == "none" and not spec.model.input_batchnorm and spec.data.normalize == "none"
    folder = build_run(tiny(spec, data__name="concrete-synthetic", epochs=2, probe_every=4), tmp_path)  # no raise
    status = store.read_status(folder)
    assert status["state"] == "diverged"
    assert isinstance(status["diverged_step"], int) and status["diverged_step"] >= 1
    assert "loss became" in status["error"]


# ---------------------------------------------------------------- analysis on tiny frames

def units_frame(medians, q15_offset=1.0, layer="hidden3"):
    return pd.DataFrame({"step": range(len(medians)), "member": 0, "layer": layer, "site": "pre", "unit": 0,
                         "q15": np.array(medians) - q15_offset, "q50": medians,
                         "q85": np.array(medians) + q15_offset})


def test_median_drift_counts_net_and_path_in_units_of_the_spread():
    drift = cs.median_drift({"no BN": units_frame([0.0, 2.0, 1.0, 4.0], q15_offset=2.0),
                             "BN": units_frame([0.0, 0.1, 0.0, 0.1])})
    no_bn = drift[drift["variant"] == "no BN"].iloc[0]
    assert no_bn["net"] == pytest.approx(4.0 / 2.0) and no_bn["path"] == pytest.approx((2 + 1 + 3) / 2.0)
    bn = drift[drift["variant"] == "BN"].iloc[0]
    assert bn["net"] == pytest.approx(0.1) and bn["path"] == pytest.approx(0.3)


def test_layer_drift_is_the_change_between_successive_probes():
    acts = pd.DataFrame({"step": [0, 10, 20], "member": 0, "layer": "hidden1", "site": "pre",
                         "mean": [0.0, 1.0, 3.0], "std": [1.0, 2.0, 2.0], "q15": 0.0, "q50": 0.0, "q85": 0.0})
    drift = cs.layer_drift({"no BN": acts}).set_index(["measure", "step"])["value"]
    assert drift[("mean_change", 10)] == 1.0 and drift[("mean_change", 20)] == 2.0
    assert drift[("std_change", 10)] == 1.0 and drift[("std_change", 20)] == 0.0
    assert drift[("mean_change_in_std", 20)] == pytest.approx(1.0)
    assert 0 not in drift.index.get_level_values("step")


def test_smoothness_summary_takes_range_max_change_and_beta():
    rows = pd.DataFrame({"step": 5, "member": 0, "eta": [0.1, 0.2, 0.4], "loss": [1.8, 1.5, 2.5],
                         "base_loss": 2.0, "grad_diff": [0.5, 2.0, 3.0], "distance": [0.1, 0.2, 1.0],
                         "grad_norm": 1.0})
    out = cs.smoothness_summary({"BN": rows}).iloc[0]
    assert out["loss_range"] == pytest.approx(2.5 - 1.5)
    assert out["grad_change"] == pytest.approx(3.0)
    assert out["beta"] == pytest.approx(10.0)          # 2.0 / 0.2


def test_lr_sweep_outcomes_find_the_rates_only_bn_can_use():
    runs = pd.DataFrame({
        "lr": [0.1, 0.1, 10.0, 10.0, 30.0, 30.0],
        "batchnorm": ["none", "before"] * 3,
        "state": ["finished", "finished", "finished", "finished", "diverged", "finished"],
        "final": [{"test_accuracy": 0.8}, {"test_accuracy": 0.85}, {"test_accuracy": 0.1},
                  {"test_accuracy": 0.8}, None, {"test_accuracy": 0.3}],
    })
    outcomes = cs.sweep_outcomes(runs)
    assert list(outcomes["outcome"]) == ["trains", "trains", "stuck", "trains", "diverged", "stuck"]
    assert cs.lr_only_bn_trains(outcomes) == [10.0]
    ranges = cs.usable_lr_range(outcomes).set_index("batchnorm")
    assert ranges.loc["before", "highest"] == 10.0 and ranges.loc["none", "highest"] == 0.1


def test_ridgeline_rows_peak_at_one_and_pick_evenly_spaced_steps():
    hist = pd.DataFrame([{"step": s, "member": 0, "layer": "hidden1", "site": "pre", "bin": b,
                          "lo": b, "hi": b + 1.0, "count": (b + 1) * (s + 1)} for s in range(20) for b in range(3)])
    ridge = cs.ridgeline_frame({"BN": hist}, "hidden1", n_steps=5)
    assert sorted(ridge["step"].unique()) == [0, 5, 10, 14, 19]
    assert np.allclose(ridge.groupby("step")["density"].max(), 1.0)


def test_ics_summary_averages_members_and_divides_by_the_gradient_norm():
    ics = pd.DataFrame({"step": [1, 1], "member": [0, 1], "layer": "output", "ics_l2": [1.0, 3.0],
                        "ics_cos": [0.5, 0.7], "grad_norm": [4.0, 4.0]})
    row = cs.ics_summary({"BN": ics}).iloc[0]
    assert row["ics_l2"] == 2.0 and row["ics_cos"] == pytest.approx(0.6) and row["ics_relative"] == 0.5


def test_bn_modes_agree_on_a_large_batch_after_running_stats_settle():
    spec = build_spec({"model": {"widths": [6], "batchnorm": "before"}})
    model = build_model(spec.model, 4, 3, [0])
    torch.manual_seed(0)
    x, y = 2.0 + 3.0 * torch.randn(400, 4), torch.randint(3, (400,))
    model.train()
    with torch.no_grad():
        for _ in range(200):                                 # running stats converge to the data's
            model(x)
    before = model.hidden["hidden1"].bn_before.running_mean.clone()
    modes = cs.bn_mode_comparison(model, x, y, batch_sizes=(4, 400))
    assert torch.equal(before, model.hidden["hidden1"].bn_before.running_mean)
    assert list(modes["batch_size"]) == [400, 4, 400]
    eval_acc, small_batch, full_batch = modes["accuracy"]
    assert full_batch == pytest.approx(eval_acc, abs=0.01)
    assert 0.0 <= small_batch <= 1.0


# ---------------------------------------------------------------- the page

@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory) -> Path:
    """Cheap runs under the lesson's preset and sweep names (a few sweep points each)."""
    root = tmp_path_factory.mktemp("bn-demo")
    cheap = {"epochs": 1, "data__n_train": 240, "data__n_test": 200, "probe_every": 2, "probes__probe_batch": 64}
    for name in ("bn-fig1-nobn", "bn-fig1-bn", "bn-noisy"):
        build_run(tiny(PRESETS[name].spec, **cheap), root)
    for name in ("landscape-relu-nobn", "landscape-relu-bn"):
        build_run(tiny(PRESETS[name].spec, model__widths=[8, 8, 8], **cheap), root)
    for name in ("dln-nobn", "dln-bn"):
        build_run(tiny(PRESETS[name].spec, epochs=4, probe_every=2, model__widths=[10] * 3, data__n_train=64), root)
    wanted = {"bn-lr-sweep": lambda p: p["optim.lr"] == 30.0, "bn-placement": lambda p: p["model.batchnorm"] != "none"}
    for sweep, keep in wanted.items():
        for point, spec in SWEEPS[sweep].specs():
            if keep(point):
                overrides = cheap if spec.data.name == "fashion-mnist" else {"epochs": 2, "probe_every": 4}
                if point.get("model.batchnorm") == "before" and spec.data.name != "fashion-mnist":
                    overrides = {"epochs": 1, "data__n_train": 128, "probe_every": 2}
                build_run(tiny(spec, **overrides), root)
    return root


def test_every_chart_builds_a_valid_vega_lite_spec(tiny_cache):
    by_name = {store.read_spec(f).name: f for f in store.iter_run_folders(tiny_cache)}
    runs = {"no BN": by_name["bn-fig1-nobn"], "BN": by_name["bn-fig1-bn"], "noisy BN": by_name["bn-noisy"]}
    table = lambda name: {v: store.read_table(f, name) for v, f in runs.items()}
    ics = cs.ics_summary(table("ics"))
    assert set(ics["variant"]) == set(runs) and set(ics["layer"]) == {"hidden2", "hidden3", "output"}
    sweep = cs.sweep_outcomes(pd.DataFrame({"lr": [0.1, 30.0], "batchnorm": ["none", "before"],
                                            "state": ["diverged", "finished"], "diverged_step": [3, None],
                                            "final": [None, {"test_accuracy": 0.7}]}))
    built = [
        ch.accuracy_chart(cs.accuracy_curves(table("scalars"))),
        ch.unit_bands_chart(cs.unit_percentiles(table("units"), "hidden3", 0)),
        ch.layer_bands_chart(cs.layer_bands(table("activations"))),
        ch.ridgeline_chart(cs.ridgeline_frame(table("histograms"), "hidden3")),
        ch.drift_chart(cs.layer_drift(table("activations"))),
        ch.ics_chart(ics, "ics_l2"), ch.ics_chart(ics, "ics_relative"), ch.ics_chart(ics, "ics_cos"),
        ch.smoothness_chart(cs.smoothness_summary(table("smoothness"))),
        ch.lr_sweep_chart(sweep),
        ch.loss_curves_chart(cs.accuracy_curves(table("scalars"), metric="loss"),
                             diverged=pd.DataFrame({"variant": ["no BN"], "step": [3]})),
        ch.modes_chart(pd.DataFrame({"mode": ["eval", "train"], "batch_size": [8, 8], "accuracy": [0.5, 0.4]})),
    ]
    for chart in built:
        assert chart.to_dict()                                # raises on an invalid spec


def run_page(demo_dir: Path, user_dir: Path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("REGLAB_DEMO_DIR", str(demo_dir))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(user_dir))
    return AppTest.from_file(PAGE, default_timeout=60).run()


def test_page_renders_every_section_from_a_tiny_cache(tiny_cache, tmp_path, monkeypatch):
    at = run_page(tiny_cache, tmp_path, monkeypatch)   # Figure 1, the first section, opens by default
    at.selectbox(key="bn_fig1_layer").set_value("hidden1").run()
    at.selectbox(key="bn_fig1_unit").set_value(3).run()
    assert not at.exception, at.exception
    charts = 0
    for label, page in each_section(at, "section"):
        assert not page.exception, (label, page.exception)
        assert not page.info, (label, [i.value for i in page.info])   # nothing missing
        charts += len(page.get("vega_lite_chart"))
    assert charts >= 12


def test_page_names_the_commands_when_runs_are_missing(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    at = run_page(empty, empty, monkeypatch)
    commands = ""
    for label, page in each_section(at, "section"):
        assert not page.exception, (label, page.exception)
        commands += " ".join(c.value for c in page.code)
    assert "python -m training run --preset bn-fig1-bn" in commands
    assert "python -m training sweep --sweep bn-lr-sweep" in commands


def test_smoothness_table_compares_only_the_later_steps():
    summary = pd.DataFrame({"variant": ["BN"] * 3, "step": [0, 10, 20], "loss_range": [9.0, 1.0, 3.0],
                            "grad_change": [9.0, 2.0, 4.0], "beta": [9.0, 5.0, 1.0]})
    row = cs.smoothness_table(summary, from_step=10).iloc[0]
    assert row["loss_range median"] == 2.0 and row["loss_range max"] == 3.0 and row["beta max"] == 5.0


def test_loss_outcomes():
    runs = pd.DataFrame({"state": ["finished", "finished", "diverged"],
                         "final": [{"test_loss": 0.5}, {"test_loss": 5.0}, None]})
    assert list(cs.sweep_outcomes(runs, "test_loss", stuck_above=1.0)["outcome"]) == ["trains", "stuck", "diverged"]
