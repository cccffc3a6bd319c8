"""Dropout lesson: sub-network sampling and scoring against hand computations, the stored
analysis tables, the CLI hook, and the page (AppTest) on a tiny cache without the dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from analysis import dropout as dp
from analysis import dropout_charts as charts
from cache import store
from tests.conftest import build_run, tiny
from tests.sections import each_section
from training import fashion_mnist
from postprocess import subnetworks
from nets.models import build_model
from training.presets import SWEEPS, get_preset
from runspec import build_spec

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "dropout.py")


def small_model(rates=(0.2, 0.5), widths=(7, 5), seed=0):
    spec = build_spec({"model": {"widths": list(widths), "dropout": list(rates)}}).model
    return build_model(spec, 4, 3, [seed]).eval()


def manual_thinned(model, x, masks, rescale=True):
    """The thinned network written out with the raw weights: relu(h W^T + b) * keep / (1 - p)."""
    h = x
    for block, mask in zip(model.hidden.values(), masks):
        w, b, p = block.linear.weight[0], block.linear.bias[0, 0], block.dropout.p
        h = torch.relu(h @ w.T + b) * mask.float() / ((1 - p) if rescale else 1.0)
    return h @ model.output.weight[0].T + model.output.bias[0, 0]


def test_mask_sampling_uses_the_runs_per_layer_rates():
    model = small_model(rates=(0.2, 0.7), widths=(400, 300))
    assert dp.layer_rates(model) == [0.2, 0.7] and dp.layer_widths(model) == [400, 300]
    masks = dp.sample_mask(dp.layer_rates(model), dp.layer_widths(model), torch.Generator().manual_seed(1), samples=200)
    assert [tuple(m.shape) for m in masks] == [(200, 400), (200, 300)]
    assert masks[0].float().mean().item() == pytest.approx(0.8, abs=0.01)
    assert masks[1].float().mean().item() == pytest.approx(0.3, abs=0.01)
    single = dp.sample_mask([0.0, 0.5], [10, 10], torch.Generator().manual_seed(0))
    assert single[0].all() and single[0].dtype == torch.bool and single[0].shape == (10,)


def test_thinned_network_equals_full_network_with_units_zeroed():
    model = small_model()
    x = torch.randn(11, 4, generator=torch.Generator().manual_seed(3))
    masks = dp.sample_mask([0.2, 0.5], [7, 5], torch.Generator().manual_seed(4))
    assert not all(m.all() for m in masks)
    torch.testing.assert_close(dp.thinned_forward(model, x, masks), manual_thinned(model, x, masks))
    torch.testing.assert_close(dp.thinned_forward(model, x, masks, rescale=False),
                               manual_thinned(model, x, masks, rescale=False))
    stacked = dp.sample_mask([0.2, 0.5], [7, 5], torch.Generator().manual_seed(5), samples=3)   # [3, U] each
    batched = dp.thinned_forward(model, x, stacked)                                            # [3, B, C]
    for s in range(3):
        torch.testing.assert_close(batched[s], manual_thinned(model, x, [m[s] for m in stacked]))


def test_thinned_network_matches_the_training_forward_pass_it_came_from():
    """One example in train mode draws one mask per unit: the same sub-network, same output."""
    model = small_model().train()
    x = torch.randn(1, 4)
    drawn = []
    for block in model.hidden.values():
        block.dropout.register_forward_hook(lambda mod, inp, out: drawn.append(out[0, 0] != 0))
    torch.manual_seed(7)
    out = model(x)[0]
    torch.testing.assert_close(dp.thinned_forward(model.eval(), x, drawn), out)


def test_mc_average_with_one_subnetwork_is_that_subnetwork():
    model = small_model()
    x = torch.randn(9, 4)
    masks = dp.sample_mask([0.2, 0.5], [7, 5], torch.Generator().manual_seed(0))
    torch.testing.assert_close(dp.mc_average(model, x, [masks]), dp.thinned_forward(model, x, masks).softmax(-1))
    y = torch.randint(0, 3, (9,))
    curve = dp.mc_curve(model, x, y, ks=(1,), repeats=1, generator=torch.Generator().manual_seed(2))
    first = [m[0] for m in dp.sample_mask([0.2, 0.5], [7, 5], torch.Generator().manual_seed(2), samples=1)]
    assert curve["accuracy"].iloc[0] == pytest.approx(float(dp.accuracy(dp.thinned_forward(model, x, first), y)))


def test_averaging_many_subnetworks_of_one_hidden_layer_gives_the_weight_scaled_logits():
    """With one hidden layer the logits are linear in the mask, so E over masks = eval mode."""
    model = small_model(rates=(0.5,), widths=(6,))
    x = torch.randn(5, 4)
    masks = dp.sample_mask([0.5], [6], torch.Generator().manual_seed(0), samples=20_000)
    mean_logits = dp.thinned_forward(model, x, masks).mean(0)
    torch.testing.assert_close(mean_logits, dp.weight_scaled_forward(model, x), atol=0.02, rtol=0.02)


def test_unit_removal_deletes_exact_counts_and_zero_removal_is_the_full_network():
    model = small_model(widths=(10, 20))
    masks = dp.removal_mask(0.3, [10, 20], torch.Generator().manual_seed(0))
    assert [int((~m).sum()) for m in masks] == [3, 6]
    x, y = torch.randn(30, 4), torch.randint(0, 3, (30,))
    frame = dp.unit_removal(model, x, y, (0.0, 0.9), repeats=2, generator=torch.Generator().manual_seed(0))
    full = float(dp.accuracy(dp.weight_scaled_forward(model, x), y))
    assert frame[frame["fraction"] == 0.0]["accuracy"].tolist() == pytest.approx([full, full])


def test_textbook_demo_identity_at_p0_zeros_at_p1_and_doubling_at_half():
    demo = dp.dropout_demo()
    x = torch.arange(16, dtype=torch.float32).reshape(2, 8)
    torch.testing.assert_close(demo[0.0], x)
    assert torch.equal(demo[1.0], torch.zeros(2, 8))
    half = demo[0.5]
    assert torch.all((half == 0) | (half == 2 * x))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_mean_over_many_masks_recovers_the_input(p):
    check = dp.expectation_check(p, n_masks=4000, seed=1)
    error = (check["mean_output"] - check["input"]).abs()
    assert (error <= 4 * check["std_error"] + 1e-6).all()
    # ... while the masks really drop: Var[h'] = h^2 p / (1 - p), so an identity layer cannot pass
    closed_form = check["input"] * (p / (1 - p)) ** 0.5 / 4000 ** 0.5
    np.testing.assert_allclose(check["std_error"], closed_form, rtol=0.1)


def test_sparsity_summary_counts_zeros():
    acts = {"hidden1": torch.tensor([[0.0, 2.0], [0.0, 4.0]])}
    row = dp.sparsity_summary(acts).iloc[0]
    assert row["mean_activation"] == pytest.approx(1.5) and row["frac_zero"] == pytest.approx(0.5)
    assert row["frac_dead_units"] == pytest.approx(0.5)
    hist = dp.sparsity_histograms(acts, bins=4)
    assert hist[hist["kind"] == "activation"]["count"].sum() == 2


def test_sweeps_vary_the_rate_and_put_lower_rates_near_the_input():
    rates = [spec.model.dropout_rates for _, spec in SWEEPS["dropout-rate-sweep"].specs()]
    assert [r[0] for r in rates] == pytest.approx([i / 10 for i in range(10)]) and all(a == b for a, b in rates)
    layered = [spec.model.dropout_rates for _, spec in SWEEPS["dropout-layer-sweep"].specs()]
    assert sum(a < b for a, b in layered) >= 3


# ---------------------------------------------------------------- a tiny demo cache

def tiny_dropout_spec(name: str):
    return tiny(get_preset(name).spec, epochs=2, data__n_train=512, data__n_test=300, probe_every=1000,
                model__widths=[32, 32])


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory) -> Path:
    """Tiny d2l-dropout / d2l-no-dropout runs (same names), post-processed like the demo."""
    root = tmp_path_factory.mktemp("demo")
    for name in ("d2l-dropout", "d2l-no-dropout"):
        folder = build_run(tiny_dropout_spec(name), root)
        assert subnetworks.postprocess(folder)
    return root


def dropout_folder(root: Path) -> Path:
    return root / tiny_dropout_spec("d2l-dropout").run_id


def test_postprocess_stores_tables_and_the_live_test_subset(demo_cache):
    folder = dropout_folder(demo_cache)
    reference = store.read_table(folder, "subnet_reference")["accuracy"].iloc[0]
    assert reference == pytest.approx(store.read_status(folder)["final"]["test_accuracy"])
    assert len(store.read_table(folder, "subnet_samples")) == 200
    curve = store.read_table(folder, "mc_average")
    assert sorted(curve["k"].unique()) == [1, 2, 5, 10, 20, 50, 100, 200] and curve["repeat"].nunique() == 5
    assert set(store.read_table(folder, "sparsity")["layer"]) == {"hidden1", "hidden2"}
    x, y = subnetworks.load_test_subset(folder)
    assert x.shape == (300, 784) and 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and y.shape == (300,)


def test_weight_scaled_network_is_eval_mode_of_the_trained_model(demo_cache):
    folder = dropout_folder(demo_cache)
    model = store.load_model(folder)
    x, _ = subnetworks.load_test_subset(folder)
    state = store.load_checkpoint(folder, "final")["model"]
    h = x
    for layer in ("hidden.hidden1.linear", "hidden.hidden2.linear"):       # no dropout, no scaling
        h = torch.relu(h @ state[f"{layer}.weight"][0].T + state[f"{layer}.bias"][0, 0])
    expected = h @ state["output.weight"][0].T + state["output.bias"][0, 0]
    model.train()
    torch.testing.assert_close(dp.weight_scaled_forward(model, x), expected, atol=1e-5, rtol=1e-5)
    assert model.training                                                  # mode restored
    torch.testing.assert_close(dp.weight_scaled_forward(model, x), model.eval()(x)[0])


def test_analysis_tables_are_replaced_not_appended(demo_cache, tmp_path):
    folder = dropout_folder(demo_cache)
    store.replace_table(folder, "scratch", [{"a": 1}, {"a": 2}])
    store.replace_table(folder, "scratch", [{"a": 3}])
    assert store.read_table(folder, "scratch")["a"].tolist() == [3]


def test_cli_subcommand_scores_a_run(demo_cache, capsys):
    from cli import main

    folder = dropout_folder(demo_cache)
    saved = {t: store.read_table(folder, t) for t in ("subnet_samples", "mc_average", "unit_removal")}
    assert main(["subnetworks", folder.name, "--cache-dir", str(demo_cache), "--samples", "7", "--repeats", "1"]) == 0
    assert "weight-scaled test accuracy" in capsys.readouterr().out
    assert len(store.read_table(folder, "subnet_samples")) == 7
    assert store.read_table(folder, "mc_average")["repeat"].nunique() == 1
    for table, frame in saved.items():                                    # later tests expect the defaults
        store.replace_table(folder, table, frame.to_dict("records"))


def test_postprocess_skips_sweep_runs(tmp_path, monkeypatch):
    """Finished MLP runs with a final checkpoint, so that only the sweep check can skip them:
    one named after a sweep, one a preset-named run whose status says which sweep it is in."""
    scored = []
    monkeypatch.setattr(subnetworks, "evaluate_subnetworks", lambda folder: scored.append(folder) or {"scored": 1})
    cheap = dict(epochs=1, data__n_train=64, data__n_test=32, model__widths=[8, 8], probe_every=1000)
    by_name = build_run(tiny(next(iter(SWEEPS["dropout-rate-sweep"].specs()))[1], **cheap), tmp_path)
    by_status = build_run(tiny(get_preset("d2l-dropout").spec, **cheap), tmp_path)
    for folder in (by_name, by_status):
        assert store.read_status(folder)["state"] == "finished"
        assert (folder / "checkpoints" / "final.pt").exists() and store.read_spec(folder).model.kind == "mlp"
    assert subnetworks.postprocess(by_status) == {"scored": 1}    # the same run outside a sweep is scored
    store.write_status(by_status, sweep="dropout-rate-sweep")
    assert subnetworks.postprocess(by_name) == {} and subnetworks.postprocess(by_status) == {}
    assert scored == [by_status]


def test_subnetwork_diagram_drops_edges_of_dropped_units():
    model = small_model(widths=(7, 5))
    weights, shown = dp.diagram_units(model, per_hidden=4, inputs=2)
    masks = [torch.tensor([False, True, True, True, True, True, True]), torch.ones(5, dtype=torch.bool)]
    nodes, edges = charts.network_layout(weights, masks, shown)
    assert len(nodes) == 2 + 4 + 4 + 3 and (nodes["state"] == "dropped").sum() == 1
    # hidden1 unit 0 is dropped: 2 of its input edges and its 4 output edges are gone
    assert len(edges) == 2 * 3 + 3 * 4 + 4 * 3
    charts.subnetwork_chart(nodes, edges).to_dict()


# ---------------------------------------------------------------- the page

@pytest.fixture
def no_dataset(tmp_path, monkeypatch):
    """Every place Fashion-MNIST could come from is empty, so loading it would fail."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", empty)
    monkeypatch.setattr(fashion_mnist, "DOWNLOAD_DIR", empty)
    monkeypatch.setattr(fashion_mnist, "_try_download", lambda root: False)
    monkeypatch.delenv("REGLAB_DATA_DIR", raising=False)
    fashion_mnist.load_arrays.cache_clear()
    with pytest.raises(fashion_mnist.DatasetNotFound):
        fashion_mnist.load_arrays(None)
    yield
    fashion_mnist.load_arrays.cache_clear()


def run_page(demo_dir: Path, user_dir: Path, monkeypatch, section: str | None = None):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("REGLAB_DEMO_DIR", str(demo_dir))
    monkeypatch.setenv("REGLAB_CACHE_DIR", str(user_dir))
    at = AppTest.from_file(PAGE, default_timeout=60)
    if section:
        at.query_params["section"] = section
    return at.run()


def test_page_renders_from_the_cache_and_a_click_draws_a_new_subnetwork(demo_cache, no_dataset, tmp_path, monkeypatch):
    at = run_page(demo_cache, tmp_path, monkeypatch, section="One sub-network")
    assert not at.exception, at.exception
    first = at.session_state["dropout_samples"][0]
    assert any("Sub-network #0" in m.value for m in at.markdown)
    at.button(key="dropout_sample").click().run()
    assert not at.exception, at.exception
    samples = at.session_state["dropout_samples"]
    assert samples[0]["sample"] == 1 and samples[0]["masks"] != first["masks"] and samples[1] == first
    assert any("Sub-network #1" in m.value for m in at.markdown)
    infos = [i.value for _, page in each_section(at, "section") for i in page.info]
    assert "dropout-rate-sweep" in " ".join(infos)          # the sweeps are not in this cache: say how to build
    assert not any("d2l-dropout and" in text for text in infos)


def test_page_names_the_commands_when_runs_are_missing(no_dataset, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    at = run_page(empty, empty, monkeypatch)
    commands = ""
    for label, page in each_section(at, "section"):
        assert not page.exception, (label, page.exception)
        commands += " ".join(c.value for c in page.code)
    assert "python -m training run --preset d2l-dropout" in commands
    assert "python -m training sweep --sweep dropout-rate-sweep" in commands


@pytest.mark.parametrize("extra", [{"activation": "prelu"}, {"batchnorm": "before"}, {"input_batchnorm": True}])
def test_full_mask_without_rescaling_is_eval_mode_for_other_architectures(extra):
    spec = build_spec({"model": {"widths": [6, 5], "dropout": [0.3, 0.3], **extra}}).model
    model = build_model(spec, 4, 3, [0])
    x = torch.randn(32, 4)
    model.train()(x)                      # move the BN running statistics away from their init
    full = [torch.ones(6, dtype=torch.bool), torch.ones(5, dtype=torch.bool)]
    torch.testing.assert_close(dp.thinned_forward(model, x, full, rescale=False), dp.weight_scaled_forward(model, x))


def test_sweep_summary_gives_the_gap_per_setting_and_charts_it():
    finals = [((0.5, 0.5), {"train_accuracy": 0.90, "test_accuracy": 0.87}),
              ((0.0, 0.0), {"train_accuracy": 0.97, "test_accuracy": 0.85}),
              ((0.9, 0.9), {"state": "diverged"})]
    summary = dp.sweep_summary(finals)
    gap = summary[summary["split"] == "gap"]
    assert gap["label"].tolist() == ["0/0", "0.5/0.5"] and gap["value"].tolist() == pytest.approx([0.12, 0.03])
    charts.rate_sweep_chart(summary).to_dict()
    charts.rate_sweep_chart(summary, "label", "rates").to_dict()
