"""The parts behind the three reproduced effects, against oracles: torch's own init, loss and
scheduler, numpy's histogram, zlib's PNG stream, closed forms and hand-made frames."""
from __future__ import annotations

import base64
import zlib

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from analysis import double_descent as ddx
from analysis import smoothness as sm
from analysis import sparsity
from nets.models import BatchedBatchNorm, BatchedLinear, santurkar_noise
from runspec import DataSpec, SpecError, build_spec
from tests.conftest import build_run, tiny
from training import datasets
from training.losses import member_loss
from training.presets import PRESETS
from training.schedule import is_scored_epoch, set_epoch_lr
from training.trainer import make_optimizer


# ---------------------------------------------------------------- spec and model pieces

def test_kaiming_init_is_torchs_kaiming_normal_and_zero_bias():
    layer = BatchedLinear(2, 30, 7)
    layer.init_member(1, None, torch.Generator().manual_seed(3), scheme="kaiming")
    expected = torch.empty(7, 30)
    torch.nn.init.kaiming_normal_(expected, nonlinearity="relu", generator=torch.Generator().manual_seed(3))
    assert torch.equal(layer.weight[1], expected) and torch.equal(layer.bias[1], torch.zeros(1, 7))


def test_init_std_and_kaiming_together_are_refused_by_name():
    with pytest.raises(SpecError, match="model.init"):
        build_spec({"model": {"init_std": 0.1, "init": "kaiming"}})


def test_new_defaulted_fields_keep_every_run_id():
    spec = PRESETS["d2l-dropout"].spec
    assert spec.run_id == spec.with_overrides({"model.init": "torch", "optim.lr_drop_every": None,
                                               "probes.score_epochs": "every", "data.downsample": 1}).run_id


def test_noisy_bn_draws_per_activation_and_sample_around_a_per_step_distribution():
    torch.manual_seed(0)
    b = 0.5
    scale, shift = santurkar_noise(torch.Size([2, 4000, 6]), b, torch.device("cpu"))
    # one step: every activation of every sample its own draw, around that step's mu_t / sigma_t
    assert scale.unique().numel() > 0.98 * scale.numel() and shift.unique().numel() > 0.98 * shift.numel()
    centre = shift.mean((1, 2))
    assert (centre.abs() <= b + 0.01).all()
    spread = shift.amax((1, 2)) - shift.amin((1, 2))                                          # U(mu_t -+ b/5)
    assert ((spread <= 2 * b / 5 + 1e-6) & (spread > 0.99 * 2 * b / 5)).all()
    assert scale.std((1, 2)).sub(b / 5).abs().max() < 0.01                                    # N(sigma_t, (b/5)^2)
    assert ((scale.mean((1, 2)) > 1 - 0.01) & (scale.mean((1, 2)) < 1 + b / 2 + 0.01)).all()  # sigma_t in [1, 1 + b/2]
    mus = torch.stack([santurkar_noise(torch.Size([1, 2000, 4]), b, torch.device("cpu"))[1].mean() for _ in range(200)])
    assert mus.min() < -0.4 and mus.max() > 0.4 and mus.abs().max() <= b + 0.02              # mu_t ~ U(-b, b), redrawn


def test_noisy_bn_is_plain_bn_in_eval_mode():
    noisy, plain = BatchedBatchNorm(1, 5, noise=0.5), BatchedBatchNorm(1, 5)
    x = torch.randn(1, 32, 5)
    noisy.train(), plain.train()
    noisy(x), plain(x)                           # the same running statistics
    assert torch.equal(noisy.eval()(x), plain.eval()(x))


def test_mse_class_mean_is_torchs_mse_loss_on_the_softmax():
    torch.manual_seed(0)
    logits, labels = torch.randn(3, 16, 10), torch.randint(10, (3, 16))
    ours = member_loss(logits, labels, "mse-class-mean", "classification")
    oracle = torch.stack([F.mse_loss(logits[k].softmax(-1), F.one_hot(labels[k], 10).float()) for k in range(3)])
    assert torch.allclose(ours, oracle)
    assert torch.allclose(member_loss(logits, labels, "mse", "classification"), 10 * oracle)


def test_lr_drops_follow_torchs_step_lr_as_yang_et_al_call_it():
    spec = build_spec({"optim": {"lr": 0.1, "lr_drop_every": 3, "lr_drop_factor": 0.1}})
    param = torch.nn.Parameter(torch.zeros(1))
    ours, theirs = torch.optim.SGD([param], lr=0.1), torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(theirs, step_size=3, gamma=0.1)
    for epoch in range(8):                       # the rate each epoch trains with
        set_epoch_lr(ours, spec.optim, epoch)
        assert ours.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"]), epoch
        theirs.step(), scheduler.step()


def test_log_score_schedule_keeps_the_first_epochs_about_twenty_per_decade_and_the_last():
    scored = [e for e in range(1, 2001) if is_scored_epoch(e, 2000, "log")]
    assert scored[:10] == list(range(1, 11)) and scored[-1] == 2000 and 50 <= len(scored) <= 70
    assert all(is_scored_epoch(e, 7, "every") for e in range(1, 8))


# ---------------------------------------------------------------- data

def test_downsampling_is_torchs_average_pooling():
    x = torch.rand(4, 784)
    pooled = datasets._pooled(x, 4)
    assert torch.allclose(pooled, F.avg_pool2d(x.view(-1, 1, 28, 28), 4).flatten(1))


def test_gaussian_linear_targets_are_one_fixed_linear_map():
    a = datasets.load_dataset(DataSpec(name="gaussian-linear", n_features=6, n_train=50, n_test=20))
    b = datasets.load_dataset(DataSpec(name="gaussian-linear", n_features=6, n_train=30, resample_seed=4))
    target = a.meta["target"]
    assert torch.allclose(a.y_train, a.x_train @ target.T) and torch.equal(target, b.meta["target"])
    assert a.out_features == 6 and torch.allclose(b.y_train, b.x_train @ target.T)


def test_an_autoencoder_run_reconstructs_its_inputs(tmp_path):
    spec = tiny(PRESETS["ae-dropout"].spec, model__widths=[8], data__n_train=64, data__n_test=32, epochs=1,
                probe_every=2)
    folder = build_run(spec, tmp_path)
    from cache import store
    from postprocess.autoencoder import evaluate_autoencoder

    model = store.load_model(folder)
    assert model.output.weight.shape == (1, 784, 8)
    data = datasets.load_task(spec)
    assert torch.equal(data.y_test, data.x_test)
    tables = evaluate_autoencoder(folder)
    with torch.no_grad():
        expected = float((model(data.x_test)[0] - data.x_test).pow(2).mean())
    assert tables["ae_sparsity"][0]["reconstruction_mse"] == pytest.approx(expected, rel=1e-5)
    assert "optimizer" not in store.load_checkpoint(folder, "final")        # weights only: the demo cache stays small


# ---------------------------------------------------------------- sparsity analysis

def test_histograms_match_numpy_and_keep_larger_values_in_the_last_bar():
    values = torch.tensor([0.0, 0.0, 0.05, 0.5, 3.99, 4.0, 9.0])
    rows = sparsity.histogram_rows(values, sparsity.UNIT_MEAN_EDGES, "unit_mean")
    counts = [r["count"] for r in rows]
    clipped = np.minimum(values.numpy(), 4.0)
    assert counts == np.histogram(clipped, bins=np.array(sparsity.UNIT_MEAN_EDGES))[0].tolist()
    assert sum(counts) == len(values) and counts[-1] == 3


def test_sparsity_row_by_hand():
    h = torch.tensor([[0.0, 2.0, 0.0], [0.0, 4.0, 1.0]])
    row = sparsity.sparsity_row(h)
    assert row["mean_activation"] == pytest.approx((0 + 3 + 0.5) / 3)
    assert row["frac_zero"] == pytest.approx(3 / 6) and row["frac_dead_units"] == pytest.approx(1 / 3)


def test_filter_mosaic_places_each_filter_and_the_png_decodes_to_it():
    weights = torch.zeros(3, 4)
    weights[1] = torch.tensor([-1.0, 1.0, 0.5, 0.0])
    mosaic = sparsity.filter_mosaic(weights, shape=(2, 2), columns=2)
    assert mosaic.shape == (2 * 3 + 1, 2 * 3 + 1)
    assert mosaic[1:3, 4:6].tolist() == [[0, 255], [191, 128]]             # filter 1: row 0, column 1
    png = base64.b64decode(sparsity.png_data_url(mosaic).split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(mosaic.shape[0], mosaic.shape[1] + 1)
    assert (raw[:, 0] == 0).all() and np.array_equal(raw[:, 1:], mosaic)


# ---------------------------------------------------------------- double descent and smoothness analysis

def _errors(widths, train, test) -> pd.DataFrame:
    return pd.DataFrame([{"width": w, "split": "train", "error": e} for w, e in zip(widths, train)]
                        + [{"width": w, "split": "test", "error": e} for w, e in zip(widths, test)])


def test_double_descent_summary_finds_the_peak_at_the_threshold():
    errors = _errors([8, 16, 32, 64, 128], [0.4, 0.2, 0.005, 0.0, 0.0], [0.5, 0.3, 0.45, 0.35, 0.32])
    s = ddx.summary(errors)
    assert s["threshold"] == 32 and s["peak_width"] == 32 and s["is_peak"] and s["at_threshold"]
    assert (s["dip_width"], s["after_width"]) == (16, 128) and s["height"] == pytest.approx(0.45 - 0.32)


def test_a_monotone_test_curve_has_no_peak():
    errors = _errors([8, 16, 32, 64], [0.3, 0.1, 0.0, 0.0], [0.4, 0.3, 0.25, 0.2])
    assert not ddx.summary(errors)["is_peak"] and ddx.interpolation_threshold(errors) == 32


def test_smoothness_bands_and_the_ratio_in_the_learning_window():
    def rows(variant_scale):
        return pd.DataFrame([{"step": step, "member": 0, "eta": eta, "loss": 1 + variant_scale * eta * (1 + step),
                              "base_loss": 1.0, "grad_diff": variant_scale * eta, "distance": eta, "grad_norm": 1.0}
                             for step in (0, 10, 20) for eta in (0.1, 0.4)])
    smooth = {"no BN": rows(3.0), "BN": rows(1.0)}
    bands = sm.smoothness_bands(smooth)
    loss = bands[(bands["measure"] == "loss") & (bands["variant"] == "BN") & (bands["step"] == 10)].iloc[0]
    assert (loss["lo"], loss["hi"]) == pytest.approx((1 + 0.1 * 11, 1 + 0.4 * 11))
    scalars = {v: pd.DataFrame([{"step": s, "kind": "probe", "split": "test", "metric": "accuracy", "value": a, "member": 0}
                                for s, a in ((0, 0.1), (10, 0.6 if v == "BN" else 0.4), (20, 0.7))]) for v in smooth}
    assert sm.learning_window(scalars) == (20, 20)
    ratios = sm.smoothness_ratios(smooth, (0, 20)).set_index("measure")
    assert ratios.loc["loss_range", "median_ratio"] == pytest.approx(3.0)
    assert ratios.loc["grad_change", "median_ratio"] == pytest.approx(3.0)


# ---------------------------------------------------------------- widths as one ensemble

def _plain_and_batched(widths=(3, 5, 8)):
    base = {"model": {"widths": [max(widths)], "member_widths": list(widths)}, "ensemble": len(widths),
            "ensemble_init": "same", "optim": {"name": "adam", "lr": 0.01}}
    batched = build_spec(base)
    plain = [build_spec({"model": {"widths": [w]}, "optim": {"name": "adam", "lr": 0.01}}) for w in widths]
    from nets.models import build_model

    return (build_model(batched.model, 6, 4, [0] * len(widths)), [build_model(p.model, 6, 4, [0]) for p in plain],
            batched, plain)


def test_each_member_is_drawn_as_a_plain_net_of_its_width():
    model, plains, _, _ = _plain_and_batched()
    for k, plain in enumerate(plains):
        w = plain.hidden["hidden1"].linear.weight.shape[1]
        assert torch.equal(model.hidden["hidden1"].linear.weight[k, :w], plain.hidden["hidden1"].linear.weight[0])
        assert torch.equal(model.hidden["hidden1"].linear.bias[k, :, :w], plain.hidden["hidden1"].linear.bias[0])
        assert torch.equal(model.output.weight[k, :, :w], plain.output.weight[0])
        assert torch.equal(model.output.bias[k], plain.output.bias[0])
        assert not model.output.weight[k, :, w:].any()


def test_each_member_trains_exactly_as_a_plain_net_of_its_width():
    model, plains, batched, plain_specs = _plain_and_batched()
    opt = make_optimizer(batched, model)
    opts = [make_optimizer(s, p) for s, p in zip(plain_specs, plains)]
    torch.manual_seed(0)
    for _ in range(5):
        x, y = torch.randn(16, 6), torch.randint(4, (16,))
        loss = member_loss(model(x), y.expand(3, -1), "cross-entropy", "classification").sum()
        opt.zero_grad(), loss.backward(), opt.step()
        for p, o in zip(plains, opts):
            o.zero_grad(), member_loss(p(x), y[None], "cross-entropy", "classification").sum().backward(), o.step()
    for k, plain in enumerate(plains):
        w = plain.hidden["hidden1"].linear.weight.shape[1]
        assert torch.allclose(model(torch.ones(2, 6))[k], plain(torch.ones(2, 6))[0], atol=1e-5)
        assert not model.hidden["hidden1"].linear.weight[k, w:].any()      # the padding never moves


def test_a_member_widths_run_loads_back_from_its_checkpoint(tmp_path):
    from cache import store

    spec = tiny(PRESETS["dd-noisy-w768-1024"].spec, model__widths=[6], model__member_widths=[3, 6], epochs=1,
                data__n_train=64, data__n_test=32)
    model = store.load_model(build_run(spec, tmp_path))
    assert model.member_widths == (3, 6) and not model.output.weight[0, :, 3:].any()


def test_member_widths_must_fit_one_hidden_layer_and_the_ensemble():
    with pytest.raises(SpecError, match="member_widths"):
        build_spec({"model": {"widths": [8], "member_widths": [4, 6]}, "ensemble": 2})
    with pytest.raises(SpecError, match="one per member"):
        build_spec({"model": {"widths": [8], "member_widths": [4, 8]}, "ensemble": 3})
