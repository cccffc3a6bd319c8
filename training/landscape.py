"""Santurkar et al. (2018) measurements, taken on one mini-batch before the optimizer step.

* ICS of linear layer i: G = dL/dW_i at the current weights; G' = the same gradient on
  the same batch after layers 1..i-1 have taken this step's update. Rows go to the `ics`
  table: ||G - G'||, cos(G, G'), ||G|| per member and layer.
* Smoothness along the gradient: for step sizes eta, the loss L(w - eta g) and the
  gradient change ||g(w) - g(w - eta g)|| over the distance moved eta ||g||. Rows go to
  the `smoothness` table.

Everything runs on deep copies or with torch.autograd.grad, so neither the weights, the
optimizer state, the .grad fields nor BN's running statistics of the training model change.
Dropout stays on and noisy BN stays noisy, as in the step being taken, but every forward
pass here starts from the same forked RNG seed, so the masks and the BN noise are the same
in every pass (G and G' differ only by the weights), and the trainer's RNG stream is untouched.
"""
from __future__ import annotations

import contextlib
import copy

import torch

from training.losses import member_loss
from nets.models import MLP, running_stats_kept
from runspec import RunSpec

ETA_FACTORS = tuple(float(f) for f in torch.logspace(-2, 2, 8, base=2.0))  # lr x 0.25 .. 4


@contextlib.contextmanager
def same_randomness(seed: int, device: torch.device):
    """The same dropout masks / BN noise in every pass; the global RNG is restored after."""
    if device.type == "cuda":
        with torch.random.fork_rng(devices=[device.index or torch.cuda.current_device()]):
            torch.manual_seed(seed)
            yield
        return
    generator = torch.default_generator      # CPU: cheaper than fork_rng + torch.manual_seed
    saved = generator.get_state()
    generator.manual_seed(seed)
    try:
        yield
    finally:
        generator.set_state(saved)


def batch_losses(model: MLP, xb: torch.Tensor, yb: torch.Tensor, spec: RunSpec, task: str,
                 seed: int) -> torch.Tensor:
    """Per-member training loss [K] on the batch, in train mode, with fixed randomness."""
    with same_randomness(seed, xb.device), running_stats_kept(model):
        return member_loss(model(xb), yb, spec.loss, task)


def layer_groups(model: MLP) -> list[tuple[str, list[torch.nn.Parameter]]]:
    """(linear layer name, the parameters updated 'before' it) in forward order.

    Layer i's preceding parameters are the input BN and every hidden block before it
    (linear weights and biases, BN gamma/beta, PReLU slopes).
    """
    groups, before = [], list(model.input_bn.parameters()) if model.input_bn is not None else []
    for name, block in model.hidden.items():
        groups.append((name, list(before)))
        before += list(block.parameters())
    groups.append(("output", list(before)))
    return groups


def ics_rows(model: MLP, optimizer: torch.optim.Optimizer, xb, yb, spec: RunSpec, task: str,
             step: int, seed: int) -> list[dict]:
    """One row per member and linear layer with preceding parameters: layers 2..L (and layer 1
    too when an input BN precedes it). Layer i's update is cumulative: the shadow copy has
    already stepped layers < i-1 for the previous row, so only layer i-1 steps now."""
    linear = model.linear_layers()
    params = list(model.parameters())
    grads = torch.autograd.grad(batch_losses(model, xb, yb, spec, task, seed).sum(), params, allow_unused=True)
    grad_of = {id(p): g for p, g in zip(params, grads)}
    # One deepcopy of both keeps the optimizer's state keyed by the copied parameters.
    shadow, shadow_opt = copy.deepcopy((model, optimizer))
    to_shadow = dict(zip((id(p) for p in params), shadow.parameters()))
    rows, updated = [], set()
    for name, preceding in layer_groups(model):
        if not preceding:
            continue
        fresh = [p for p in preceding if id(p) not in updated]
        for p in shadow.parameters():
            p.grad = None
        for p in fresh:       # this step's gradient G, applied to the preceding layers only
            g = grad_of[id(p)]
            to_shadow[id(p)].grad = None if g is None else g.clone()
        shadow_opt.step()
        updated.update(id(p) for p in fresh)
        weight = shadow.linear_layers()[name].weight
        (g_after,) = torch.autograd.grad(batch_losses(shadow, xb, yb, spec, task, seed).sum(), [weight])
        g_before = grad_of[id(linear[name].weight)]
        rows += _ics_member_rows(g_before.detach(), g_after.detach(), step, name)
    return rows


def _ics_member_rows(g: torch.Tensor, g_prime: torch.Tensor, step: int, layer: str) -> list[dict]:
    """g, g_prime [K, out, in] -> one row per member."""
    flat, flat_prime = g.flatten(1), g_prime.flatten(1)
    l2 = (flat - flat_prime).norm(dim=1)
    cos = torch.nn.functional.cosine_similarity(flat, flat_prime, dim=1, eps=1e-30)
    norm = flat.norm(dim=1)
    return [{"step": step, "member": k, "layer": layer, "ics_l2": float(l2[k]), "ics_cos": float(cos[k]),
             "grad_norm": float(norm[k])} for k in range(flat.shape[0])]


def smoothness_rows(model: MLP, xb, yb, spec: RunSpec, task: str, step: int, seed: int,
                    factors: tuple[float, ...] = ETA_FACTORS) -> list[dict]:
    """Loss and gradient along w - eta g for eta = lr x factors, per member."""
    params = list(model.parameters())
    base = batch_losses(model, xb, yb, spec, task, seed)                       # [K]
    grads = torch.autograd.grad(base.sum(), params, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g.detach() for p, g in zip(params, grads)]
    g_flat = _per_member_flat(grads)                                          # [K, P]
    g_norm = g_flat.norm(dim=1)
    shadow = copy.deepcopy(model)
    moved = list(shadow.parameters())
    rows = []
    for factor in factors:
        eta = spec.optim.lr * factor
        with torch.no_grad():
            for p_new, p, g in zip(moved, params, grads):
                p_new.copy_(p - eta * g)
        loss = batch_losses(shadow, xb, yb, spec, task, seed)
        new_grads = torch.autograd.grad(loss.sum(), moved, allow_unused=True)
        new_flat = _per_member_flat([torch.zeros_like(p) if g is None else g for p, g in zip(moved, new_grads)])
        diff = (g_flat - new_flat).norm(dim=1)
        rows += [{"step": step, "member": k, "eta": eta, "loss": float(loss[k].detach()), "base_loss": float(base[k].detach()),
                  "grad_diff": float(diff[k]), "distance": float(eta * g_norm[k]), "grad_norm": float(g_norm[k])}
                 for k in range(len(base))]
    return rows


def _per_member_flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Parameters all lead with the member dim K: concatenate each member's entries -> [K, P]."""
    return torch.cat([t.detach().flatten(1) for t in tensors], dim=1)


def measure(model: MLP, optimizer: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
            spec: RunSpec, task: str, step: int) -> dict[str, list[dict]]:
    """The trainer's hook: rows for the `ics` and `smoothness` tables at this probe step."""
    seed = spec.seed * 1_000_003 + step
    tables: dict[str, list[dict]] = {}
    if spec.probes.ics and model.hidden:
        tables["ics"] = ics_rows(model, optimizer, xb, yb, spec, task, step, seed)
    if spec.probes.smoothness:
        tables["smoothness"] = smoothness_rows(model, xb, yb, spec, task, step, seed)
    return tables
