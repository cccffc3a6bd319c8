"""Models built from a ModelSpec: an MLP (a linear model, or an autoencoder) of K independent members.

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
    def init_member(self, k: int, init_std: float | None, generator: torch.Generator, scheme: str = "torch",
                    out_used: int | None = None, in_used: int | None = None) -> None:
        """N(0, std^2) weights and zero bias; Kaiming (He) normal N(0, 2/in) and zero bias, as
        torch.nn.init.kaiming_normal_(nonlinearity="relu"); or torch.nn.Linear's default U(+-1/sqrt(in)).

        `out_used` / `in_used`: member k is a narrower layer [out_used, in_used] padded with zeros,
        drawn exactly as a layer of that size would be (same numbers, same fan-in)."""
        out_used, in_used = out_used or self.weight.shape[1], in_used or self.weight.shape[2]
        weight = torch.empty(out_used, in_used)          # drawn contiguous: the order a plain layer draws in
        bias = torch.zeros(1, out_used)
        if init_std is None and scheme == "kaiming":
            init_std = math.sqrt(2.0 / in_used)
        if init_std is not None:
            weight.normal_(0.0, init_std, generator=generator)
        else:
            bound = 1.0 / math.sqrt(in_used)
            weight.uniform_(-bound, bound, generator=generator)
            if self.bias is not None:
                bias.uniform_(-bound, bound, generator=generator)
        self.weight[k].zero_()
        self.weight[k, :out_used, :in_used] = weight
        if self.bias is not None:
            self.bias[k].zero_()
            self.bias[k, :, :out_used] = bias


class BatchedBatchNorm(nn.Module):
    """BatchNorm1d per member: statistics over the batch dim of [K, B, U].

    Same semantics as torch.nn.BatchNorm1d (biased variance to normalise, unbiased for
    the running average, momentum 0.1, eps 1e-5). `noise` = b > 0 is Santurkar et al.'s
    "noisy BN" (see `santurkar_noise`), in training mode only.
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
            scale, shift = santurkar_noise(out.shape, self.noise, out.device)
            out = out * scale + shift
        return out


def santurkar_noise(shape: torch.Size, b: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy BN's scale s and shift m for activations of `shape` [K, B, U].

    Each call (each training step) first draws this layer's distribution, per member:
    mu_t ~ U(-b, b), sigma_t ~ U(1, 1 + b/2); then every activation of every sample gets its
    own m ~ U(mu_t - b/5, mu_t + b/5) and s ~ N(sigma_t, (b/5)^2), i.i.d. With b = 0.5 these
    are Santurkar et al.'s constants (mu_t in [-0.5, 0.5], sigma_t in [1, 1.25], +-0.1, 0.1).
    A shift that moves from step to step: the covariate shift BN is said to remove, added on purpose.
    """
    members = (shape[0], 1, 1)
    mu = (torch.rand(members, device=device) * 2 - 1) * b
    sigma = 1 + torch.rand(members, device=device) * b / 2
    shift = mu + (torch.rand(shape, device=device) * 2 - 1) * b / 5
    scale = sigma + torch.randn(shape, device=device) * b / 5
    return scale, shift


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
        self.member_widths = spec.member_widths
        if spec.member_widths is not None:   # [K, 1, U]: 1 for the units member k has, 0 for its padding
            mask = torch.arange(spec.widths[0]) < torch.tensor(spec.member_widths)[:, None]
            self.register_buffer("unit_mask", mask.float().unsqueeze(1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # one input batch shared by all members: [B, d] -> [K, B, d]
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        if self.input_bn is not None:
            x = self.input_bn(x)
        for block in self.hidden.values():
            x = block(x)
        if self.member_widths is not None:
            x = x * self.unit_mask    # padding units stay 0 and get no gradient: member k is width member_widths[k]
        return self.output(x)

    def linear_layers(self) -> dict[str, BatchedLinear]:
        """Named affine layers in order: hidden1..hiddenN, output."""
        layers = {name: block.linear for name, block in self.hidden.items()}
        layers["output"] = self.output
        return layers

    def init_weights(self, init_std: float | None, member_seeds: list[int], scheme: str = "torch") -> None:
        for k, seed in enumerate(member_seeds):
            generator = torch.Generator().manual_seed(seed)
            used = None if self.member_widths is None else self.member_widths[k]   # one hidden layer then
            for name, layer in self.linear_layers().items():
                layer.init_member(k, init_std, generator, scheme, out_used=used if name == "hidden1" else None,
                                  in_used=used if name == "output" else None)


def build_model(spec: ModelSpec, in_features: int, out_features: int, member_seeds: list[int]) -> MLP:
    """An mlp or linear model; an autoencoder is the same network with out_features = in_features."""
    require_lab_model(spec, "build a model for")
    model = MLP(spec, in_features, out_features, members=len(member_seeds))
    model.init_weights(spec.init_std, member_seeds, spec.init)
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
