"""Dropout as an ensemble of sub-networks: sample them, score them, average them.

Pure functions: a trained MLP and tensors in, tensors or tidy frames out (no disk, no UI).

A sub-network ("thinned network", Srivastava et al. 2014) is the full network with a
subset of hidden units removed: one keep mask per hidden layer, shared by every example.
Our layer is *inverted* dropout: during training a kept unit's output is multiplied by
1/(1-p), so the test-time network needs no weight scaling. The thinned network that
training actually optimised is therefore "zero the dropped units and scale the kept ones
by 1/(1-p)", which is what `thinned_forward` computes. Srivastava's weight-scaling rule
(train unscaled, multiply outgoing weights by the keep probability 1-p at test) is the
same family of networks reparameterised, so the weight-scaled network is simply the
trained model in eval mode (`weight_scaled_forward`).

Shapes: x [B, d]; a mask for a layer of width U is bool [U] (one sub-network) or [S, U]
(S sub-networks at once); logits [B, C] or [S, B, C]. Member 0 of the batched model is used.
"""
from __future__ import annotations

import math

import pandas as pd
import torch

from nets.models import MLP, BatchedBatchNorm, BatchedPReLU, InvertedDropout

Masks = list[torch.Tensor]


def layer_rates(model: MLP) -> list[float]:
    """The dropout rate each hidden layer was trained with."""
    return [block.dropout.p for block in model.hidden.values()]


def layer_widths(model: MLP) -> list[int]:
    return [block.linear.weight.shape[1] for block in model.hidden.values()]


def sample_mask(rates: list[float], widths: list[int], generator: torch.Generator, samples: int | None = None) -> Masks:
    """Keep unit j of layer l where U[0,1] > rates[l] (our layer's rule): bool [U_l], or [samples, U_l]."""
    shape = (lambda w: (w,)) if samples is None else (lambda w: (samples, w))
    return [torch.rand(shape(w), generator=generator) > p for p, w in zip(rates, widths)]


def removal_mask(fraction: float, widths: list[int], generator: torch.Generator) -> Masks:
    """Remove exactly round(fraction * U) random units in every hidden layer (co-adaptation test)."""
    masks = []
    for w in widths:
        keep = torch.ones(w, dtype=torch.bool)
        keep[torch.randperm(w, generator=generator)[: round(fraction * w)]] = False
        masks.append(keep)
    return masks


def _block_activation(block, h: torch.Tensor) -> torch.Tensor:
    """linear -> [bn] -> act -> [bn] of member 0, for any leading dims: [..., in] -> [..., out]."""
    h = h @ block.linear.weight[0].T
    if block.linear.bias is not None:
        h = h + block.linear.bias[0, 0]
    for module in (block.bn_before, block.act, block.bn_after):
        if isinstance(module, BatchedBatchNorm):
            h = _bn_eval(module, h)
        elif isinstance(module, BatchedPReLU):      # member 0's slope, so [B, U] stays [B, U]
            h = torch.where(h >= 0, h, module.weight[0, 0, 0] * h)
        elif module is not None:
            h = module(h)
    return h


def _bn_eval(bn, h: torch.Tensor) -> torch.Tensor:
    """Eval-mode batch norm with the running statistics of member 0."""
    mean, var = bn.running_mean[0, 0], bn.running_var[0, 0]
    return (h - mean) * torch.rsqrt(var + bn.eps) * bn.weight[0, 0] + bn.bias[0, 0]


@torch.no_grad()
def thinned_forward(model: MLP, x: torch.Tensor, masks: Masks, rescale: bool = True) -> torch.Tensor:
    """Logits of the sub-network(s) keeping `masks`: [B, C], or [S, B, C] for masks [S, U].

    rescale=True applies the training-time 1/(1-p) to kept units (the thinned network
    inverted dropout trained); rescale=False just deletes units (the unit-removal test).
    """
    h = x
    if model.input_bn is not None:
        h = _bn_eval(model.input_bn, h)
    for block, mask in zip(model.hidden.values(), masks):
        h = _block_activation(block, h)                               # [B, U] or [S, B, U]
        scale = 1.0 / (1.0 - block.dropout.p) if rescale and block.dropout.p < 1 else 1.0
        keep = mask.to(h.dtype) * scale
        h = h * (keep[:, None, :] if keep.dim() == 2 else keep)          # broadcast S masks over the batch
    logits = h @ model.output.weight[0].T
    return logits + model.output.bias[0, 0] if model.output.bias is not None else logits


@torch.no_grad()
def weight_scaled_forward(model: MLP, x: torch.Tensor) -> torch.Tensor:
    """The standard test-time network: the trained model in eval mode (dropout off). [B, C]."""
    was_training = model.training
    model.eval()
    try:
        return model(x)[0]
    finally:
        model.train(was_training)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[..., B, C] logits, [B] labels -> accuracy per leading index."""
    return (logits.argmax(-1) == y).float().mean(-1)


@torch.no_grad()
def mc_average(model: MLP, x: torch.Tensor, masks_list: list[Masks]) -> torch.Tensor:
    """Monte-Carlo model averaging: the mean softmax of the given sub-networks, [B, C]."""
    probs = [thinned_forward(model, x, masks).softmax(-1) for masks in masks_list]
    return torch.stack(probs).mean(0)


def subnet_accuracies(model: MLP, x: torch.Tensor, y: torch.Tensor, n_samples: int, generator: torch.Generator,
                      chunk: int = 10) -> pd.DataFrame:
    """Test accuracy of n_samples sampled sub-networks (frame: sample, accuracy, kept per layer)."""
    rates, widths = layer_rates(model), layer_widths(model)
    rows = []
    for start in range(0, n_samples, chunk):
        masks = sample_mask(rates, widths, generator, samples=min(chunk, n_samples - start))
        accs = accuracy(thinned_forward(model, x, masks), y)
        for i, acc in enumerate(accs.tolist()):
            kept = {f"kept_hidden{l + 1}": int(m[i].sum()) for l, m in enumerate(masks)}
            rows.append({"sample": start + i, "accuracy": acc, **kept})
    return pd.DataFrame(rows)


@torch.no_grad()
def mc_curve(model: MLP, x: torch.Tensor, y: torch.Tensor, ks: tuple[int, ...], repeats: int,
             generator: torch.Generator, chunk: int = 10) -> pd.DataFrame:
    """Accuracy of the MC average of the first k of max(ks) sampled sub-networks, per repeat.

    Each repeat draws max(ks) sub-networks and keeps a running sum of their softmax
    outputs [B, C], so every k on the curve costs no extra forward passes.
    """
    rates, widths, k_max = layer_rates(model), layer_widths(model), max(ks)
    rows = []
    for repeat in range(repeats):
        total, done = torch.zeros(x.shape[0], model.output.weight.shape[1]), 0
        while done < k_max:
            masks = sample_mask(rates, widths, generator, samples=min(chunk, k_max - done))
            for probs in thinned_forward(model, x, masks).softmax(-1):    # [B, C] per sub-network
                total += probs
                done += 1
                if done in ks:
                    rows.append({"k": done, "repeat": repeat, "accuracy": float(accuracy(total, y))})
    return pd.DataFrame(rows)


def mc_within_one_std(curve: pd.DataFrame, reference: float) -> int | None:
    """Smallest k whose mean MC accuracy is within one std (over repeats) of `reference`."""
    summary = curve.groupby("k")["accuracy"].agg(["mean", "std"]).fillna(0.0).sort_index()
    close = summary[(summary["mean"] - reference).abs() <= summary["std"]]
    return int(close.index[0]) if len(close) else None


def unit_removal(model: MLP, x: torch.Tensor, y: torch.Tensor, fractions: tuple[float, ...], repeats: int,
                 generator: torch.Generator) -> pd.DataFrame:
    """Accuracy when a random fraction of every hidden layer's units is deleted at test time,
    without any rescaling (frame: fraction, repeat, accuracy)."""
    widths = layer_widths(model)
    rows = []
    for fraction in fractions:
        for repeat in range(repeats):
            masks = removal_mask(fraction, widths, generator)
            acc = accuracy(thinned_forward(model, x, masks, rescale=False), y)
            rows.append({"fraction": fraction, "repeat": repeat, "accuracy": float(acc)})
    return pd.DataFrame(rows)


@torch.no_grad()
def hidden_activations(model: MLP, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Post-activation outputs of every hidden layer in eval mode (dropout off): name -> [B, U]."""
    out, h = {}, x if model.input_bn is None else _bn_eval(model.input_bn, x)
    for name, block in model.hidden.items():
        h = _block_activation(block, h)
        out[name] = h
    return out


def sparsity_summary(activations: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Per layer: mean activation, fraction of exact zeros, mean over units of each unit's mean."""
    return pd.DataFrame([{"layer": name, "mean_activation": float(h.mean()), "frac_zero": float((h == 0).float().mean()),
                          "frac_dead_units": float((h.amax(0) == 0).float().mean())}
                         for name, h in activations.items()])


def sparsity_histograms(activations: dict[str, torch.Tensor], bins: int = 40) -> pd.DataFrame:
    """Histograms (Srivastava Fig. 8) of the nonzero activations and of each unit's mean
    activation, per layer (frame: layer, kind, bin, lo, hi, count)."""
    rows = []
    for name, h in activations.items():
        for kind, values in (("activation", h[h != 0]), ("unit_mean", h.mean(0))):
            hi = float(values.max()) if values.numel() else 1.0
            counts = torch.histc(values, bins=bins, min=0.0, max=max(hi, 1e-6))
            width = max(hi, 1e-6) / bins
            rows += [{"layer": name, "kind": kind, "bin": b, "lo": b * width, "hi": (b + 1) * width,
                      "count": int(c)} for b, c in enumerate(counts.tolist())]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the layer itself

def dropout_demo(ps: tuple[float, ...] = (0.0, 0.5, 1.0), seed: int = 0) -> dict[float, torch.Tensor]:
    """The textbook's demonstration: X = arange(16).reshape(2, 8) through our layer in training mode."""
    x = torch.arange(16, dtype=torch.float32).reshape(2, 8)
    out = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for p in ps:
            out[p] = InvertedDropout(p).train()(x)
    return out


def expectation_check(p: float, n_masks: int = 2000, seed: int = 0) -> pd.DataFrame:
    """E[h'] = h: the mean of our layer's output over many masks vs its input, per element of
    a 2x8 input (frame: element, input, mean_output, std_error)."""
    x = torch.arange(16, dtype=torch.float32).reshape(2, 8)
    layer = InvertedDropout(p).train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        outputs = layer(x.expand(n_masks, 2, 8)).reshape(n_masks, -1)   # one mask per copy: [n_masks, 16]
    std_error = outputs.std(0) / math.sqrt(n_masks)
    return pd.DataFrame({"element": range(16), "input": x.flatten().tolist(),
                         "mean_output": outputs.mean(0).tolist(), "std_error": std_error.tolist()})


# ---------------------------------------------------------------- page helpers

def diagram_units(model: MLP, per_hidden: int = 12, inputs: int = 6) -> tuple[list[torch.Tensor], list[list[int]]]:
    """What a readable node-link diagram shows: the layers' weight matrices [out, in] and the
    unit indices per column (the inputs with the largest outgoing weights, evenly spaced
    hidden units, every output)."""
    weights = [layer.weight[0].detach() for layer in model.linear_layers().values()]
    hidden = [torch.linspace(0, w - 1, min(per_hidden, w)).round().long().tolist() for w in layer_widths(model)]
    first_shown = weights[0][hidden[0]] if hidden else weights[0]            # [shown hidden1, d]
    top_inputs = first_shown.abs().sum(0).topk(min(inputs, weights[0].shape[1])).indices.sort().values.tolist()
    return weights, [top_inputs, *hidden, list(range(weights[-1].shape[0]))]


def epoch_curves(scalars: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Model label -> a run's `scalars` table, to [model, epoch, split, metric, value]: the
    eval-mode train/test scores at each epoch end (member 0)."""
    frames = []
    for label, table in scalars.items():
        if table.empty:
            continue
        rows = table[(table["kind"] == "epoch") & table["split"].isin(["train", "test"]) & (table["member"] == 0)]
        frames.append(rows[["epoch", "split", "metric", "value"]].assign(model=label))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["model", "epoch", "split", "metric", "value"])


def sweep_summary(finals: list[tuple[tuple[float, ...], dict]]) -> pd.DataFrame:
    """(per-layer rates, status `final` dict) per run -> [rate, label, split, value] with the
    final train/test accuracy and their gap; `rate` is the mean rate over layers."""
    rows = []
    for rates, final in finals:
        if "test_accuracy" not in final:
            continue
        label = "/".join(f"{p:g}" for p in rates)
        train, test = final["train_accuracy"], final["test_accuracy"]
        for split, value in (("train", train), ("test", test), ("gap", train - test)):
            rows.append({"rate": sum(rates) / len(rates), "label": label, "split": split, "value": value})
    frame = pd.DataFrame(rows, columns=["rate", "label", "split", "value"])
    return frame.sort_values(["rate", "label"], kind="stable").reset_index(drop=True)
