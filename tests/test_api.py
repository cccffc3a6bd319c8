"""reglab, the API for a user's own model: its probes against hand computations, the run
folder it writes (read by the store, shown by the Runs page), its messages, its promise
never to break the user's loop, the lessons on any model, and the lab's refusals."""
from __future__ import annotations

import ast
import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import reglab
from cache import store
from runspec import SpecError, build_spec
from tests.conftest import point_app_at
from tests.test_runs_page import open_view, opened_exports

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
CHART = "vega_lite_chart"


def small_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.25),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def image_data(n: int = 64, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)


def train(model, rec, x, y, steps: int, batch: int = 16, lr: float = 0.1, seed: int = 2):
    """A plain user loop: the recorder only sees step() and log() calls."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    order = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=order)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if rec is not None:
            rec.step(loss=loss)
    return model


@torch.no_grad()
def accuracy(model, x, y) -> float:
    model.eval()
    try:
        return (model(x).argmax(-1) == y).float().mean().item()
    finally:
        model.train()


def rows(folder: Path, table: str):
    return store.read_table(folder, table)


# ---------------------------------------------------------------- oracles

def test_activation_statistics_match_a_hand_computation(cache_dir):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    x = torch.randn(40, 3)
    rec = reglab.watch(model, name="oracle", cache_dir=cache_dir, probe_input=x, histogram_bins=7)
    rec.close()
    with torch.no_grad():
        pre = model[0](x)
        post = torch.relu(pre)
    act = rows(rec.folder, "activations").set_index(["step", "layer", "site"])
    relu = act.loc[(0, "1", "post")]
    assert relu["mean"] == pytest.approx(post.mean().item(), rel=1e-6)
    assert relu["std"] == pytest.approx(post.std().item(), rel=1e-5)          # unbiased, like the lab's
    assert relu["frac_zero"] == pytest.approx((post == 0).float().mean().item())
    assert relu["q50"] == pytest.approx(post.flatten().quantile(0.5).item(), rel=1e-5)
    assert relu["max"] == pytest.approx(post.max().item())
    assert act.loc[(0, "1", "pre"), "mean"] == pytest.approx(pre.mean().item(), rel=1e-6)   # pre = the input
    assert act.loc[(0, "0", "post"), "min"] == pytest.approx(pre.min().item())               # = Linear's output
    hist = rows(rec.folder, "histograms")
    counts = hist[(hist["layer"] == "1") & (hist["site"] == "post")].sort_values("bin")["count"]
    expected = torch.histc(post, bins=7, min=post.min().item(), max=post.max().item())
    assert counts.tolist() == expected.long().tolist()


def test_conv_units_are_channels_and_sigmoid_saturation_counts(cache_dir):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Sigmoid())
    x = 4 * torch.randn(10, 1, 6, 6)
    rec = reglab.watch(model, name="conv-oracle", cache_dir=cache_dir, probe_input=x, tracked_units=3)
    rec.close()
    with torch.no_grad():
        conv = model[0](x)                                          # [10, 3, 4, 4]
    units = rows(rec.folder, "units")
    sig = units[(units["layer"] == "1") & (units["site"] == "pre")].set_index("unit")
    for c in range(3):
        assert sig.loc[c, "q50"] == pytest.approx(conv[:, c].flatten().quantile(0.5).item(), rel=1e-5)
    act = rows(rec.folder, "activations").set_index(["layer", "site"])
    assert act.loc[("1", "post"), "frac_saturated"] == pytest.approx((conv.abs() > 4.37).float().mean().item())


def test_a_large_site_is_summarised_from_a_random_subset_of_its_rows(cache_dir):
    from reglab.capture import as_units, subsample_rows

    t = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)     # [N, C, H, W]
    units = as_units(t, units_last=False)                                         # [1, N*H*W, C]
    assert units.shape == (1, 40, 3) and torch.equal(units[0, :, 1], t[:, 1].flatten())
    picked = subsample_rows(units, max_values=30, seed=0)
    assert picked.shape == (1, 10, 3) and torch.equal(picked, subsample_rows(units, max_values=30, seed=0))
    assert all(any(torch.equal(row, r) for r in units[0]) for row in picked[0])   # whole rows, none made up
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
    x = torch.randn(32, 1, 16, 16)
    rec = reglab.watch(model, name="subset", cache_dir=cache_dir, probe_input=x, max_values=4096)
    rec.close()
    with torch.no_grad():
        full = torch.relu(model[0](x))
    relu = rows(rec.folder, "activations").set_index(["layer", "site"]).loc[("1", "post")]
    assert relu["mean"] == pytest.approx(full.mean().item(), rel=0.05)
    assert relu["frac_zero"] == pytest.approx((full == 0).float().mean().item(), abs=0.03)


def test_weight_norms_gradients_and_update_ratio_match_torch(cache_dir):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    rec = reglab.watch(model, name="weights-oracle", cache_dir=cache_dir, every=1)
    w0 = model[0].weight.detach().clone()
    loss = F.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    rec.step(loss=loss)
    rec.close()
    w = rows(rec.folder, "weights").set_index(["step", "layer", "param"])
    first = w.loc[(1, "0", "weight")]
    w1 = model[0].weight.detach()
    assert first["norm"] == pytest.approx(torch.linalg.norm(w1).item(), rel=1e-6)
    assert first["spectral_norm"] == pytest.approx(torch.linalg.matrix_norm(w1, ord=2).item(), rel=1e-5)
    assert first["grad_norm"] == pytest.approx(model[0].weight.grad.norm().item(), rel=1e-6)
    assert first["update_ratio"] == pytest.approx(((w1 - w0).norm() / w0.norm()).item(), rel=1e-5)
    assert np.isnan(w.loc[(0, "0", "weight"), "grad_norm"])      # step 0: no gradient yet
    assert w.loc[(1, "0", "bias"), "norm"] == pytest.approx(model[0].bias.norm().item(), rel=1e-6)
    scalars = rows(rec.folder, "scalars")
    assert scalars.iloc[0]["split"] == "train_batch" and scalars.iloc[0]["value"] == pytest.approx(loss.item())


def test_without_a_probe_input_the_training_forward_before_the_probe_step_is_recorded(cache_dir):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = reglab.watch(model, name="capture", cache_dir=cache_dir, every=2)
    seen = {}
    for step in range(1, 5):
        xb = torch.randn(6, 3)
        with torch.no_grad():
            model.eval()
            model(torch.randn(50, 3))      # an evaluation pass in between is not what a probe records
            model.train()
            seen[step] = model[0](xb).clone()
        loss = model(xb).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rec.step(loss=loss)
    rec.close()
    act = rows(rec.folder, "activations").set_index(["step", "layer", "site"])
    assert sorted(act.index.get_level_values("step").unique()) == [2, 4]
    for step in (2, 4):
        # the in-place ReLU overwrote its input, yet "pre" is what went in
        assert act.loc[(step, "1", "pre"), "mean"] == pytest.approx(seen[step].mean().item(), rel=1e-5)
        assert act.loc[(step, "1", "post"), "frac_zero"] == pytest.approx((seen[step] <= 0).float().mean().item())


def test_probes_change_nothing_about_the_users_training():
    x, y = image_data()
    bare = train(small_cnn(), None, x, y, steps=7)
    for probe_input in (None, x[:32]):
        with pytest.MonkeyPatch.context() as mp, __import__("tempfile").TemporaryDirectory() as tmp:
            mp.setenv("REGLAB_CACHE_DIR", tmp)
            model = small_cnn()
            with reglab.watch(model, name="same", every=2, probe_input=probe_input) as rec:
                train(model, rec, x, y, steps=7)
        for (name, a), b in zip(bare.state_dict().items(), model.state_dict().values()):
            assert torch.equal(a, b), name     # weights, BN running statistics and step counters alike


# ---------------------------------------------------------------- the run folder and the Runs page

def record_cnn(cache_dir: Path, steps: int = 6, close: bool = True, name: str = "my-cnn"):
    x, y = image_data()
    model = small_cnn()
    rec = reglab.watch(model, name=name, hparams={"lr": 0.1, "optimizer": "sgd", "momentum": 0.9, "batch": 16},
                       cache_dir=cache_dir, every=2, total_steps=steps)
    for epoch in range(2):
        train(model, rec, x, y, steps=steps // 2, seed=epoch)
        rec.log("train", "accuracy", accuracy(model, x, y), epoch=epoch + 1)
        rec.log("test", "accuracy", accuracy(model, x[:32], y[:32]), epoch=epoch + 1)
        rec.log("test", "loss", 1.0 / (epoch + 1), epoch=epoch + 1)
    if close:
        rec.close()
    return rec, model


def test_a_cnn_in_a_plain_loop_writes_a_run_folder_the_store_reads(cache_dir):
    rec, model = record_cnn(cache_dir)
    spec = store.read_spec(rec.folder)
    assert spec.run_id == rec.folder.name and spec.is_custom and spec.data.name == "custom"
    assert spec.model.custom_repr == repr(model) and spec.hparams["optimizer"] == "sgd" and spec.probe_every == 2
    status = store.read_status(rec.folder)
    assert status["state"] == "finished" and status["step"] == 6 and status["progress"] == 1.0
    assert status["final"]["test_accuracy"] == pytest.approx(accuracy(model, *[t[:32] for t in image_data()]))
    act = rows(rec.folder, "activations")
    assert sorted(act["step"].unique()) == [2, 4, 6]       # the training forward passes; step 0 had none yet
    assert sorted(rows(rec.folder, "weights")["step"].unique()) == [0, 2, 4, 6]
    assert set(act["layer"]) == {"0", "1", "2", "3", "6"}         # conv, BN, ReLU, Dropout, Linear
    assert set(act["site"]) == {"pre", "post"}
    assert set(rows(rec.folder, "weights")["layer"]) == {"0", "1", "6"}
    assert not rows(rec.folder, "histograms").empty and not rows(rec.folder, "units").empty
    scalars = rows(rec.folder, "scalars")
    assert set(scalars["split"]) == {"train_batch", "train", "test"}
    assert sorted(scalars[scalars["kind"] == "epoch"]["epoch"].unique()) == [1, 2]
    listed, problems = store.list_runs([cache_dir])
    assert not problems and listed.iloc[0]["name"] == "my-cnn" and listed.iloc[0]["state"] == "finished"


def test_while_the_loop_runs_the_run_reads_running_with_a_heartbeat(cache_dir):
    rec, _ = record_cnn(cache_dir, close=False)
    status = store.read_status(rec.folder)
    assert status["state"] == "running" and status["pid"] == os.getpid()
    assert status["recorded_by"] == "reglab" and status["step"] == 6
    assert not rows(rec.folder, "activations").empty                  # readable while still open
    rec.close()
    assert store.read_status(rec.folder)["state"] == "finished"


def open_runs_page(monkeypatch, tmp_path, cache_dir):
    from streamlit.testing.v1 import AppTest

    point_app_at(monkeypatch, tmp_path / "demo", cache_dir)
    monkeypatch.setenv("REGLAB_SLOTS", "1")
    return AppTest.from_file(APP, default_timeout=60).switch_page("views/runs.py").run()


def test_the_runs_page_lists_compares_and_manages_the_run_live_and_finished(monkeypatch, tmp_path, cache_dir):
    from ui.run_compare import BANDS, CURVES, HISTOGRAMS, WEIGHTS

    from tests.conftest import build_run, tiny
    from training.presets import get_preset

    lab = build_run(tiny(get_preset("polynomial-degree19").spec, epochs=2), tmp_path / "demo")   # a lab run beside it
    rec, _ = record_cnn(cache_dir, close=False)
    page = open_runs_page(monkeypatch, tmp_path, cache_dir)
    assert not page.exception
    table = page.dataframe[0].value.set_index("name")
    row = table.loc["my-cnn"]
    assert row["state"] == "running" and row["model"] == "custom" and row["dataset"] == "custom"
    assert row["lr"] == 0.1 and row["optimizer"] == "sgd" and row["widths"] == "-" and row["batchnorm"] == ""
    assert table.loc["polynomial-degree19", "optimizer"] == store.read_spec(lab).optim.name   # lab rows as before
    assert not [b for b in page.button if b.key == f"cancel-{rec.run_id}"]    # the lab never stops the user's loop
    rec.close()
    page = open_runs_page(monkeypatch, tmp_path, cache_dir)
    assert page.dataframe[0].value.set_index("name").loc["my-cnn", "state"] == "finished"
    label = next(o for o in page.multiselect(key="compare_runs").options if o.startswith("my-cnn"))
    page.multiselect(key="compare_runs").set_value([label]).run()
    for view, charts in ((CURVES, 2), (WEIGHTS, 1), (BANDS, 1), (HISTOGRAMS, 1)):
        page.session_state["compare_view"] = view
        page.run()
        assert not page.exception and len(page.get(CHART)) == charts, view
        assert {"Data (CSV)", "Chart (PNG)"} <= {b.label for b in opened_exports(page).get("download_button")}
    open_view(page, "One run").selectbox(key="manage_run").set_value(
        next(o for o in page.selectbox(key="manage_run").options if o.startswith("my-cnn"))).run()
    assert not [b for b in page.button if b.key == "resume"]
    assert "Spec (JSON)" in {b.label for b in page.get("download_button")}


# ---------------------------------------------------------------- clear messages

class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 2))

    def forward(self, x):
        return F.relu(x @ self.w)


def test_a_model_without_modules_to_hook_gets_a_clear_message(cache_dir):
    with pytest.raises(reglab.ReglabError, match=r"found no layer to probe in Functional.*F\.relu.*layers="):
        reglab.watch(Functional(), name="functional", cache_dir=cache_dir)
    assert not list(cache_dir.iterdir())    # nothing half-made


@pytest.mark.parametrize("layers, message", [
    (["conv9"], r"no module named 'conv9'; its modules are: 0, 1"),
    (["rnn"], r"cannot probe 'rnn' \(LSTM\): its forward returns a tuple"),
    (["blocks"], r"'blocks' \(ModuleList\): it has no forward of its own"),
    ([], r"names no layer"),
])
def test_an_unknown_or_unsupported_layer_is_named_with_the_reason(cache_dir, layers, message):
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model.add_module("rnn", nn.LSTM(2, 2))
    model.add_module("blocks", nn.ModuleList([nn.Linear(2, 2)]))
    with pytest.raises(reglab.ReglabError, match=message):
        reglab.watch(model, name="bad-layers", cache_dir=cache_dir, layers=layers)


def test_bad_arguments_are_refused_before_any_folder_exists(cache_dir):
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(SpecError, match=r"hparams: 'widths' is a list \(\[64, 32\]\); only JSON scalars"):
        reglab.watch(model, name="x", cache_dir=cache_dir, hparams={"widths": [64, 32]})
    with pytest.raises(reglab.ReglabError, match="lab's own presets"):
        reglab.watch(model, name="d2l-dropout", cache_dir=cache_dir)
    with pytest.raises(reglab.ReglabError, match="every="):
        reglab.watch(model, name="x", cache_dir=cache_dir, every=0)
    assert not list(cache_dir.iterdir())
    rec = reglab.watch(model, name="x", cache_dir=cache_dir, hparams={"lr": np.float64(0.1), "seed": torch.tensor(3)})
    assert rec.spec.hparams == {"lr": 0.1, "seed": 3}
    rec.close()
    with pytest.raises(reglab.ReglabError, match="exists already.*overwrite=True"):
        reglab.watch(model, name="x", cache_dir=cache_dir, hparams={"lr": 0.1, "seed": 3})
    again = reglab.watch(model, name="x", cache_dir=cache_dir, hparams={"lr": 0.1, "seed": 3}, overwrite=True)
    with pytest.raises(reglab.ReglabError, match="being recorded right now"):
        reglab.watch(model, name="x", cache_dir=cache_dir, hparams={"lr": 0.1, "seed": 3}, overwrite=True)
    again.close()


# ---------------------------------------------------------------- the user's loop never breaks

class TupleOut(nn.Module):
    def forward(self, x):
        return x, x.sum()


def test_a_failing_probe_is_a_warning_and_the_loop_goes_on(cache_dir, monkeypatch):
    from reglab import stats

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    model.add_module("pair", TupleOut())
    original, calls = stats.activation_tables, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(stats, "activation_tables", flaky)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(reglab.ReglabWarning) as caught:
        with reglab.watch(model, name="flaky", cache_dir=cache_dir, layers=["0", "1", "pair"], every=2,
                          probe_input=torch.randn(8, 3)) as rec:
            for _ in range(6):
                out, total = model(torch.randn(8, 3))
                optimizer.zero_grad()
                total.backward()
                optimizer.step()
                rec.step(loss=total)
            rec.log("test", "accuracy", "not a number")
    text = "\n".join(str(w.message) for w in caught)
    assert "the activation probe at step 2 failed (RuntimeError: disk on fire); training goes on" in text
    assert "layer 'pair' records no activations: its output is a tuple" in text
    assert "log('test', 'accuracy') failed" in text
    status = store.read_status(rec.folder)
    assert status["state"] == "finished" and status["step"] == 6 and status["probe_failures"] == 2
    act = rows(rec.folder, "activations")
    assert sorted(act["step"].unique()) == [0, 4, 6] and set(act["layer"]) == {"0", "1"}
    assert sorted(rows(rec.folder, "weights")["step"].unique()) == [0, 2, 4, 6]   # the weight probe still ran


def test_the_context_manager_marks_failed_cancelled_and_diverged_runs(cache_dir):
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="my bug"):
        with reglab.watch(model, name="fails", cache_dir=cache_dir) as rec:
            raise ValueError("my bug")
    assert store.read_status(rec.folder)["state"] == "failed"
    assert store.read_status(rec.folder)["error"] == "ValueError: my bug"
    with pytest.raises(KeyboardInterrupt):
        with reglab.watch(model, name="stopped", cache_dir=cache_dir) as rec:
            raise KeyboardInterrupt
    assert store.read_status(rec.folder)["state"] == "cancelled"
    with reglab.watch(model, name="blows-up", cache_dir=cache_dir, every=2, activations=False) as rec:
        for loss in (1.0, 2.0, float("nan"), 3.0):
            rec.step(loss=torch.tensor(loss))
    status = store.read_status(rec.folder)
    assert status["state"] == "diverged" and status["diverged_step"] == 4


# ---------------------------------------------------------------- the lessons on any model

def test_subnetworks_of_a_model_without_dropout_rate_are_the_eval_network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 3))
    x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    frame = reglab.sample_subnetworks(model, x, y, n=5)
    assert frame["accuracy"].nunique() == 1 and (frame["kept_2"].dropna() == 1.0).all()    # p = 0: the identity
    assert model.training                                       # modes as they were


def test_a_subnetwork_is_the_model_with_one_mask_per_dropout_shared_by_all_examples():
    from reglab.analyses import _subnetwork_outputs, dropout_layers

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Dropout2d(0.5), nn.Flatten(), nn.Linear(6 * 4 * 4, 2))
    x = torch.randn(5, 1, 6, 6)
    model.eval()
    with torch.no_grad():
        out, kept = _subnetwork_outputs(model, x, dropout_layers(model), torch.Generator().manual_seed(3), None)
        keep = (torch.rand((6, 1, 1), generator=torch.Generator().manual_seed(3)) > 0.5).float() / 0.5
        expected = model[4](model[3](torch.relu(model[0](x)) * keep))        # whole channels, rescaled by 1/(1-p)
    assert torch.allclose(out, expected, atol=1e-6)
    assert kept["kept_2"] == pytest.approx((keep != 0).float().mean().item())


def test_mc_averaging_converges_to_the_weight_scaled_network():
    # a dropout layer feeding a linear head: E[mask / (1-p)] = 1, so the average of many
    # sub-networks is the eval-mode output; scored against that output its mse falls like 1/k
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 32), nn.Tanh(), nn.Dropout(0.5), nn.Linear(32, 1))
    x = torch.randn(64, 5)
    with torch.no_grad():
        target = model.eval()(x)
    model.train()
    curve = reglab.mc_average(model, x, target, ks=(1, 10, 100), repeats=2)
    mse = curve[curve["network"] == "MC average"].groupby("k")["mse"].mean()
    assert curve[curve["network"] == "eval mode"]["mse"].item() == pytest.approx(0.0, abs=1e-12)
    assert mse[10] < mse[1] / 4 and mse[100] < mse[10] / 4


def test_bn_train_vs_eval_against_batch_and_running_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Dropout(0.5))
    x = 3 + 2 * torch.randn(64, 3)
    target = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)      # BN on this batch's statistics
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frame = reglab.bn_train_vs_eval(model, x, target, batch_sizes=(64, 8)).set_index(["mode", "batch_size"])
    fresh = x / torch.sqrt(torch.tensor(1 + 1e-5))                                # running mean 0, var 1
    assert frame.loc[("train (batch stats)", 64), "mse"] == pytest.approx(0.0, abs=1e-10)
    assert frame.loc[("eval (running stats)", 64), "mse"] == pytest.approx((fresh - target).pow(2).mean().item())
    assert frame.loc[("train (batch stats)", 8), "mse"] > 0.0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())   # running stats untouched


def test_the_lessons_say_what_a_model_lacks():
    plain = nn.Sequential(nn.Linear(2, 2))
    x, y = torch.randn(4, 2), torch.tensor([0, 1, 0, 1])
    with pytest.raises(reglab.ReglabError, match="has no nn.Dropout module"):
        reglab.sample_subnetworks(plain, x, y)
    with pytest.raises(reglab.ReglabError, match="alpha dropout"):
        reglab.mc_average(nn.Sequential(nn.Linear(2, 2), nn.AlphaDropout(0.2)), x, y)
    with pytest.raises(reglab.ReglabError, match="has no BatchNorm module"):
        reglab.bn_train_vs_eval(plain, x, y)


def test_lesson_tables_are_saved_into_the_run(cache_dir):
    x, y = image_data()
    model = small_cnn()
    with reglab.watch(model, name="lessons", cache_dir=cache_dir) as rec:
        train(model, rec, x, y, steps=2)
        rec.save_table("subnet_samples", reglab.sample_subnetworks(model, x, y, n=3))
    rec.save_table("bn_modes", reglab.bn_train_vs_eval(model, x, y, batch_sizes=(8,)))
    assert len(rows(rec.folder, "subnet_samples")) == 4 and len(rows(rec.folder, "bn_modes")) == 2
    with pytest.raises(reglab.ReglabError, match="not a table name"):
        rec.save_table("weights", rows(rec.folder, "bn_modes"))


# ---------------------------------------------------------------- the lab refuses to retrain a custom model

def test_the_lab_refuses_to_build_train_or_run_jobs_for_a_custom_model(cache_dir):
    from training import jobs
    from training.datasets import load_dataset
    from nets.models import CustomModelError, build_model
    from training.runner import execute

    rec, _ = record_cnn(cache_dir, steps=2)
    spec, before = rec.spec, (rec.folder / "status.json").read_text()
    with pytest.raises(CustomModelError, match="kind 'custom'.*cannot build or retrain it"):
        build_model(spec.model, 4, 3, [0])
    with pytest.raises(CustomModelError):
        execute(spec, rec.folder)
    with pytest.raises(SpecError, match="no loader"):
        load_dataset(spec.data)
    for call in (lambda: jobs.launch(spec, cache_dir=cache_dir), lambda: jobs.resume(spec.run_id, cache_dir=cache_dir),
                 lambda: jobs.cancel(spec.run_id, cache_dir=cache_dir)):
        with pytest.raises(jobs.JobError, match="custom model from the user's own training loop"):
            call()
    assert (rec.folder / "status.json").read_text() == before


def test_custom_fields_keep_every_lab_id_and_validate():
    lab = build_spec({"name": "d2l-mlp"})
    assert "custom_repr" not in json.dumps(lab.model_dump(exclude_defaults=True))
    with pytest.raises(SpecError, match="data.name: 'custom'"):
        build_spec({"data": {"name": "custom"}})
    with pytest.raises(SpecError, match="leave the lab MLP's fields"):
        build_spec({"model": {"kind": "custom", "widths": [], "custom_repr": "Net()", "dropout": 0.5}})
    spec = build_spec({"model": {"kind": "custom", "widths": [], "custom_repr": "Net()"}, "hparams": {"lr": 0.1}})
    with pytest.raises(TypeError, match="read-only"):
        spec.hparams["lr"] = 1.0
    assert hash(spec) == hash(build_spec(json.loads(spec.to_json())))


# ---------------------------------------------------------------- packaging, layering, the example

def test_pyproject_packages_reglab_with_requirements_as_its_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    assert {"reglab", "runspec", "cache", "training", "training.*", "analysis"} <= set(
        project["tool"]["setuptools"]["packages"]["find"]["include"])
    assert set(reglab.__all__) >= {"watch", "Recorder", "sample_subnetworks", "mc_average", "bn_train_vs_eval"}


def test_nothing_below_reglab_imports_it():
    offenders = []
    for folder in ("runspec", "cache", "training", "analysis", "ui", "pages"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "reglab"]
    assert not offenders


def test_the_readme_example_runs(cache_dir, monkeypatch, capsys):
    import runpy

    example = runpy.run_path(str(REPO / "examples" / "own_model.py"))
    example["main"](epochs=1, n_train=128, n_test=64)
    out = capsys.readouterr().out
    assert "make app" in out
    (folder,) = store.iter_run_folders(cache_dir)
    assert store.read_status(folder)["state"] == "finished"
    assert {"subnet_samples", "mc_average", "bn_modes"} <= set(store.table_names(folder))
