"""Models built from a ModelSpec: an MLP (or a linear model) of K independent members.

Every layer carries a leading member dimension, so an ensemble of K networks is one
model whose forward pass is a batched matmul: x [K, B, d] -> logits [K, B, classes].
A plain run is the K = 1 case. Member k is initialised from its own generator, so a
member of an ensemble is the same network as a single run with that member's seed.

Hidden layers are named hidden1, hidden2, ... and each block is
linear -> [bn] -> act -> [bn] -> dropout, with BN before or after the activation.
The input to `act` is the "pre-activation" site the probes record, its output "post".
"""
from __future__ import annotations

import contextlib

import math

import torch
from torch import nn

from runspec import CUSTOM, ModelSpec, RunSpec, SpecError


class CustomModelError(SpecError):
    """A spec of kind 'custom': a user's own model recorded through reglab, which the lab cannot build."""


def require_lab_model(spec: ModelSpec | RunSpec, action: str = "build") -> None:
    """Refuse a custom model's spec where the lab would build or train a model from it."""
    model = spec.model if isinstance(spec, RunSpec) else spec
    if model.kind == CUSTOM:
        name = f" {spec.name!r}" if isinstance(spec, RunSpec) and spec.name else ""
        raise CustomModelError(
            f"cannot {action} run{name}: its model is of kind 'custom' (the user's own nn.Module, recorded by "
            f"reglab from their own training loop). The lab only has its spec and logs, not the code, model or "
            f"data, so it cannot build or retrain it; rerun the user's script instead")


class BatchedLinear(nn.Module):
    """K independent affine maps: weight [K, out, in], bias [K, 1, out]."""

    def __init__(self, members: int, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(members, 1, out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [K, B, in] -> [K, B, out]
        if self.bias is None:
            return torch.bmm(x, self.weight.transpose(1, 2))
        return torch.baddbmm(self.bias, x, self.weight.transpose(1, 2))

    @torch.no_grad()
    def init_member(self, k: int, init_std: float | None, generator: torch.Generator) -> None:
        """N(0, std^2) weights and zero bias, or torch.nn.Linear's default U(+-1/sqrt(in))."""
        fan_in = self.weight.shape[2]
        if init_std is not None:
            self.weight[k].normal_(0.0, init_std, generator=generator)
            if self.bias is not None:
                self.bias[k].zero_()
            return
        bound = 1.0 / math.sqrt(fan_in)
        self.weight[k].uniform_(-bound, bound, generator=generator)
        if self.bias is not None:
            self.bias[k].uniform_(-bound, bound, generator=generator)


class BatchedBatchNorm(nn.Module):
    """BatchNorm1d per member: statistics over the batch dim of [K, B, U].

    Same semantics as torch.nn.BatchNorm1d (biased variance to normalise, unbiased for
    the running average, momentum 0.1, eps 1e-5). `noise` > 0 is Santurkar et al.'s
    "noisy BN": a random per-unit scale and shift, redrawn every training forward pass.
    """

    def __init__(self, members: int, units: int, eps: float = 1e-5, momentum: float = 0.1, noise: float = 0.0):
        super().__init__()
        self.eps, self.momentum, self.noise = eps, momentum, noise
        self.weight = nn.Parameter(torch.ones(members, 1, units))
        self.bias = nn.Parameter(torch.zeros(members, 1, units))
        self.register_buffer("running_mean", torch.zeros(members, 1, units))
        self.register_buffer("running_var", torch.ones(members, 1, units))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean(1, keepdim=True)
            var = x.var(1, keepdim=True, unbiased=False)
            with torch.no_grad():
                n = x.shape[1]
                unbiased = var * n / max(n - 1, 1)
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias
        if self.training and self.noise > 0:
            shape = (x.shape[0], 1, x.shape[2])
            scale = 1.0 + self.noise * torch.randn(shape, device=x.device).abs()
            shift = self.noise * torch.randn(shape, device=x.device)
            out = out * scale + shift
        return out


class InvertedDropout(nn.Module):
    """From scratch: keep each element where U[0,1] > p and rescale by 1/(1-p), so E[h'] = h.

    p = 0 is the identity, p = 1 gives all zeros; off in eval mode.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return torch.zeros_like(x)
        keep = torch.rand_like(x) > self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchedPReLU(nn.Module):
    """One learnable negative slope per member (torch.nn.PReLU's default, 0.25)."""

    def __init__(self, members: int):
        super().__init__()
        self.weight = nn.Parameter(torch.full((members, 1, 1), 0.25))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, self.weight * x)


def make_activation(name: str, members: int) -> nn.Module:
    simple = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}
    if name == "prelu":
        return BatchedPReLU(members)
    return simple[name]()


class HiddenBlock(nn.Module):
    def __init__(self, members: int, in_f: int, out_f: int, spec: ModelSpec, rate: float):
        super().__init__()
        self.linear = BatchedLinear(members, in_f, out_f, bias=spec.bias)
        self.bn_before = BatchedBatchNorm(members, out_f, noise=spec.bn_noise) if spec.batchnorm == "before" else None
        self.act = make_activation(spec.activation, members)
        self.bn_after = BatchedBatchNorm(members, out_f, noise=spec.bn_noise) if spec.batchnorm == "after" else None
        self.dropout = InvertedDropout(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x)
        if self.bn_before is not None:
            h = self.bn_before(h)
        h = self.act(h)
        if self.bn_after is not None:
            h = self.bn_after(h)
        return self.dropout(h)


class MLP(nn.Module):
    """K-member MLP (or linear model when there are no hidden layers)."""

    def __init__(self, spec: ModelSpec, in_features: int, out_features: int, members: int = 1):
        super().__init__()
        self.members = members
        self.input_bn = BatchedBatchNorm(members, in_features) if spec.input_batchnorm else None
        widths = (in_features, *spec.widths)
        self.hidden = nn.ModuleDict({
            f"hidden{i + 1}": HiddenBlock(members, widths[i], widths[i + 1], spec, rate)
            for i, rate in enumerate(spec.dropout_rates)
        })
        self.output = BatchedLinear(members, widths[-1], out_features, bias=spec.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # one input batch shared by all members: [B, d] -> [K, B, d]
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        if self.input_bn is not None:
            x = self.input_bn(x)
        for block in self.hidden.values():
            x = block(x)
        return self.output(x)

    def linear_layers(self) -> dict[str, BatchedLinear]:
        """Named affine layers in order: hidden1..hiddenN, output."""
        layers = {name: block.linear for name, block in self.hidden.items()}
        layers["output"] = self.output
        return layers

    def init_weights(self, init_std: float | None, member_seeds: list[int]) -> None:
        for k, seed in enumerate(member_seeds):
            generator = torch.Generator().manual_seed(seed)
            for layer in self.linear_layers().values():
                layer.init_member(k, init_std, generator)


def build_model(spec: ModelSpec, in_features: int, out_features: int, member_seeds: list[int]) -> MLP:
    require_lab_model(spec, "build a model for")
    model = MLP(spec, in_features, out_features, members=len(member_seeds))
    model.init_weights(spec.init_std, member_seeds)
    return model


def is_bias(name: str) -> bool:
    """Parameters that `optim.decay_bias = False` exempts from weight decay: biases and BN/PReLU."""
    return name.endswith("bias") or ".bn_" in name or name.startswith("input_bn") or ".act." in name


@contextlib.contextmanager
def running_stats_kept(model: nn.Module):
    """BN running averages restored on exit: measurement passes (probes, landscape steps,
    train-mode comparisons) must observe the network without feeding its running statistics."""
    bns = [m for m in model.modules() if isinstance(m, BatchedBatchNorm)]
    saved = [(m.running_mean.clone(), m.running_var.clone()) for m in bns]
    try:
        yield
    finally:
        for m, (mean, var) in zip(bns, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)


@contextlib.contextmanager
def measuring_mode(model: nn.Module, batch_stats: bool):
    """Dropout off; BN on batch statistics (`batch_stats`) or its running averages; running
    averages and the model's train/eval mode restored on exit."""
    was_training = model.training
    with running_stats_kept(model):
        model.train(batch_stats)
        for m in model.modules():
            if isinstance(m, InvertedDropout):
                m.eval()
        try:
            yield model
        finally:
            model.train(was_training)
