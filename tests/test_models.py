"""Models against torch's own layers: dropout, batch norm, batched linear, member seeding."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nets.models import BatchedBatchNorm, BatchedLinear, InvertedDropout, build_model
from runspec import ModelSpec


# ------------------------------------------------------------------ dropout

def test_dropout_p0_is_identity_and_p1_is_zeros():
    x = torch.randn(3, 50, 20)
    assert InvertedDropout(0.0).train()(x) is x
    assert torch.equal(InvertedDropout(1.0).train()(x), torch.zeros_like(x))
    for p in (0.0, 0.5, 1.0):
        assert torch.equal(InvertedDropout(p).eval()(x), x)  # off in eval mode


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_kept_values_are_scaled_and_drop_rate_is_p(p):
    torch.manual_seed(0)
    x = torch.rand(100_000) + 0.5  # strictly positive, so a zero output means dropped
    out = InvertedDropout(p).train()(x)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    n = x.numel()
    tolerance = 5 * (p * (1 - p) / n) ** 0.5
    assert abs((~kept).float().mean().item() - p) < tolerance


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_statistics_match_torch_dropout(p):
    """Drop fraction, output mean (E[h'] = h) and output variance agree with nn.Dropout."""
    torch.manual_seed(1)
    x = torch.rand(400, 500) + 0.5
    ours = torch.stack([InvertedDropout(p).train()(x) for _ in range(4)])
    theirs = torch.stack([nn.Dropout(p).train()(x) for _ in range(4)])
    assert abs((ours == 0).float().mean() - (theirs == 0).float().mean()) < 0.01
    # Per element, E[h'] = h: average many masks and compare with x.
    torch.testing.assert_close(ours.mean(), x.mean(), atol=0.01, rtol=0)
    torch.testing.assert_close(ours.mean(), theirs.mean(), atol=0.01, rtol=0)
    # Var[h'] = h^2 p / (1 - p) for both.
    expected_var = (x.pow(2) * p / (1 - p)).mean()
    for sample in (ours, theirs):
        var = ((sample - x) ** 2).mean()
        assert abs(var / expected_var - 1) < 0.03


def test_dropout_expectation_per_element():
    torch.manual_seed(2)
    h = torch.linspace(-2, 3, 16)
    layer = InvertedDropout(0.5).train()
    mean = layer(h.expand(40_000, -1)).mean(0)  # 40k independent masks
    torch.testing.assert_close(mean, h, atol=0.06, rtol=0)


def test_dropout_rejects_bad_rates():
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            InvertedDropout(p)


# ------------------------------------------------------------------ batch norm

def _copy_affine(ours: BatchedBatchNorm, theirs: nn.BatchNorm1d, k: int) -> None:
    with torch.no_grad():
        theirs.weight.copy_(ours.weight[k, 0])
        theirs.bias.copy_(ours.bias[k, 0])


def test_batchnorm_matches_torch_in_train_and_eval_with_running_stats():
    torch.manual_seed(3)
    members, units = 3, 7
    ours = BatchedBatchNorm(members, units)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 2.0)
        ours.bias.uniform_(-1.0, 1.0)
    refs = [nn.BatchNorm1d(units) for _ in range(members)]
    for k, ref in enumerate(refs):
        _copy_affine(ours, ref, k)
    for _ in range(5):  # several steps so the running averages move
        x = torch.randn(members, 32, units) * 3 + 2
        out = ours.train()(x)
        for k, ref in enumerate(refs):
            torch.testing.assert_close(out[k], ref.train()(x[k]), atol=1e-5, rtol=1e-5)
    for k, ref in enumerate(refs):
        torch.testing.assert_close(ours.running_mean[k, 0], ref.running_mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours.running_var[k, 0], ref.running_var, atol=1e-5, rtol=1e-5)
    x = torch.randn(members, 9, units)
    out = ours.eval()(x)
    for k, ref in enumerate(refs):
        torch.testing.assert_close(out[k], ref.eval()(x[k]), atol=1e-5, rtol=1e-5)


def test_batchnorm_train_output_is_standardised_per_unit_before_affine():
    torch.manual_seed(4)
    bn = BatchedBatchNorm(2, 5).train()
    x = torch.randn(2, 256, 5) * torch.tensor([0.1, 1, 10, 100, 1000]) + 50
    out = bn(x)
    torch.testing.assert_close(out.mean(1), torch.zeros(2, 5), atol=1e-4, rtol=0)
    var = x.var(1, unbiased=False)
    expected = var / (var + bn.eps)  # 1 up to eps, which matters for the 0.1-scale unit
    torch.testing.assert_close(out.var(1, unbiased=False), expected, atol=1e-4, rtol=1e-4)


def _block_spec(batchnorm: str) -> ModelSpec:
    return ModelSpec(widths=(6,), activation="relu", batchnorm=batchnorm)


def test_batchnorm_placement_before_and_after_activation():
    torch.manual_seed(5)
    x = torch.randn(64, 4)
    for placement in ("before", "after"):
        model = build_model(_block_spec(placement), 4, 3, [0]).train()
        block = model.hidden["hidden1"]
        assert (block.bn_before is not None) == (placement == "before")
        assert (block.bn_after is not None) == (placement == "after")
        h = block.linear(x.unsqueeze(0))[0]
        bn = nn.BatchNorm1d(6).train()
        expected = F.relu(bn(h)) if placement == "before" else bn(F.relu(h))
        torch.testing.assert_close(block(x.unsqueeze(0))[0], expected, atol=1e-5, rtol=1e-5)
    none = build_model(_block_spec("none"), 4, 3, [0]).hidden["hidden1"]
    assert none.bn_before is None and none.bn_after is None


def test_bn_before_makes_preactivation_standardised():
    """The probes' 'pre' site (the input to act) is BN's output when BN is before."""
    torch.manual_seed(6)
    model = build_model(_block_spec("before"), 4, 3, [0]).train()
    seen = {}
    model.hidden["hidden1"].act.register_forward_hook(lambda m, i, o: seen.update(pre=i[0], post=o))
    model(torch.randn(128, 4) * 20 + 7)
    torch.testing.assert_close(seen["pre"][0].mean(0), torch.zeros(6), atol=1e-4, rtol=0)
    assert (seen["post"] >= 0).all()


# ------------------------------------------------------------------ linear and members

def test_batched_linear_matches_functional_linear_per_member():
    torch.manual_seed(7)
    layer = BatchedLinear(4, 5, 3)
    gen = torch.Generator().manual_seed(0)
    for k in range(4):
        layer.init_member(k, None, gen)
    x = torch.randn(4, 10, 5)
    out = layer(x)
    for k in range(4):
        torch.testing.assert_close(out[k], F.linear(x[k], layer.weight[k], layer.bias[k, 0]))
    no_bias = BatchedLinear(2, 5, 3, bias=False)
    no_bias.init_member(0, 0.1, gen)
    no_bias.init_member(1, 0.1, gen)
    torch.testing.assert_close(no_bias(x[:2])[1], F.linear(x[1], no_bias.weight[1]))


def test_init_std_draws_normal_weights_and_zero_bias():
    layer = BatchedLinear(1, 400, 300)
    layer.init_member(0, 0.01, torch.Generator().manual_seed(0))
    assert abs(layer.weight.std().item() - 0.01) < 0.0005
    assert torch.count_nonzero(layer.bias) == 0
    layer.init_member(0, None, torch.Generator().manual_seed(0))
    assert layer.weight.abs().max() <= 1 / 400 ** 0.5


@pytest.mark.parametrize("activation", ["relu", "tanh", "prelu"])
def test_member_k_equals_single_model_with_its_seed(activation):
    spec = ModelSpec(widths=(16, 8), activation=activation, batchnorm="before", dropout=0.0)
    seeds = [11, 12, 13]
    ensemble = build_model(spec, 10, 4, seeds).eval()
    x = torch.randn(20, 10)
    out = ensemble(x)  # [K, B, C]
    assert out.shape == (3, 20, 4)
    for k, seed in enumerate(seeds):
        single = build_model(spec, 10, 4, [seed]).eval()
        torch.testing.assert_close(out[k], single(x)[0])
        for name, param in single.named_parameters():
            torch.testing.assert_close(dict(ensemble.named_parameters())[name][k], param[0])


def test_model_names_layers_and_accepts_member_batches():
    model = build_model(ModelSpec(widths=(8, 8, 8), dropout=[0.1, 0.2, 0.3]), 5, 2, [0, 1])
    assert list(model.linear_layers()) == ["hidden1", "hidden2", "hidden3", "output"]
    assert [b.dropout.p for b in model.hidden.values()] == [0.1, 0.2, 0.3]
    x = torch.randn(2, 7, 5)
    assert model(x).shape == (2, 7, 2)
    linear = build_model(ModelSpec(kind="linear", widths=()), 5, 1, [0])
    assert len(linear.hidden) == 0 and linear(torch.randn(3, 5)).shape == (1, 3, 1)
