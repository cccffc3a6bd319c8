"""Batched ensemble layers: fused batched matmuls against K members one after another.

One SGD step (forward, cross-entropy, backward, update) of the lessons' width-sweep MLP,
784-width-10 ReLU, batch 128, on random data, for K members:
  (a) baddbmm: the lab's MLP with members = K (BatchedLinear: torch.baddbmm / torch.bmm);
  (b) einsum: the same model with BatchedLinear computed as einsum('kbi,koi->kbo') + bias;
  (c) vmap: the same model with BatchedLinear computed as torch.func.vmap(F.linear);
  (d) bmm-wx: the same model with BatchedLinear computed as bmm(W, x^T)^T + bias;
  (s) sequential: K models with members = 1, stepped one after another (what K runs do).
Timings are wall and CPU seconds per step (CPU: this process's threads; steadier on a
shared machine, and what the CPU goals use): the median over `--repeats` rounds, each round
running every variant once in turn (a, b, c, d, s, a, b, c, d, s, ...).
Every variant starts from the same weights and must give the same loss (to 1e-5).
`python -m bench.bench_batched [--members 8 64] [--widths 8 64 256 1024] [--device cuda]`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from bench import standalone_main
from nets.models import MLP, BatchedLinear, build_model
from runspec import ModelSpec

IN_FEATURES, CLASSES, BATCH = 784, 10, 128


def _einsum(self: BatchedLinear, x: torch.Tensor) -> torch.Tensor:
    out = torch.einsum("kbi,koi->kbo", x, self.weight)
    return out if self.bias is None else out + self.bias


def _vmap(self: BatchedLinear, x: torch.Tensor) -> torch.Tensor:
    if self.bias is None:
        return torch.func.vmap(F.linear)(x, self.weight)
    return torch.func.vmap(F.linear)(x, self.weight, self.bias[:, 0])


def _bmm_wx(self: BatchedLinear, x: torch.Tensor) -> torch.Tensor:
    """(W x^T)^T: the weight's gradient comes out in the weight's own [K, out, in] layout."""
    out = torch.bmm(self.weight, x.transpose(1, 2)).transpose(1, 2)
    return out if self.bias is None else out + self.bias


FORWARDS = {"baddbmm": BatchedLinear.forward, "einsum": _einsum, "vmap": _vmap, "bmm-wx": _bmm_wx}


@contextmanager
def linear_forward(name: str):
    """BatchedLinear computed another way for the duration (benchmark only)."""
    original = BatchedLinear.forward
    BatchedLinear.forward = FORWARDS[name]
    try:
        yield
    finally:
        BatchedLinear.forward = original


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


class Setup:
    """A K-member model, its K single-member copies (same weights) and a fixed batch."""

    def __init__(self, members: int, width: int, device: torch.device):
        spec = ModelSpec(widths=(width,))
        torch.manual_seed(0)
        self.device = device
        self.batched = build_model(spec, IN_FEATURES, CLASSES, list(range(members))).to(device)
        self.singles = []
        for k in range(members):
            single = build_model(spec, IN_FEATURES, CLASSES, [k]).to(device)
            single.load_state_dict({n: t[k:k + 1].clone() for n, t in self.batched.state_dict().items()})
            self.singles.append(single)
        self.x = torch.randn(members, BATCH, IN_FEATURES, device=device)
        self.y = torch.randint(CLASSES, (members, BATCH), device=device)

    def step_batched(self) -> float:
        return _sgd_step(self.batched, self.x, self.y)

    def step_sequential(self) -> float:
        return sum(_sgd_step(m, self.x[k:k + 1], self.y[k:k + 1]) for k, m in enumerate(self.singles))


def _sgd_step(model: MLP, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits = model(x)                                            # [K, B, classes]
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum") / y.shape[1]
    model.zero_grad(set_to_none=True)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(0.01 * p.grad)
    return loss.detach()


def time_steps(step, steps: int, device: torch.device) -> tuple[float, float, float]:
    """Wall and CPU seconds per step over `steps` steps (after one warm-up step), and the
    last loss. On a shared CPU the CPU seconds (this process, all its threads) move less."""
    step()
    _sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        loss = step()
    _sync(device)
    return (time.perf_counter() - start) / steps, (time.process_time() - cpu) / steps, float(loss)


def measure(members: int, width: int, steps: int, repeats: int, device: torch.device,
            variants: list[str] | None = None) -> dict:
    """Median seconds per step of every variant, alternated round by round."""
    names = (*(variants or FORWARDS), "sequential")
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    losses: dict[str, float] = {}
    for _ in range(repeats):
        for name in names:
            setup = Setup(members, width, device)     # the same weights every round and variant
            if name == "sequential":
                seconds, cpu_seconds, losses[name] = time_steps(setup.step_sequential, steps, device)
            else:
                with linear_forward(name):
                    seconds, cpu_seconds, losses[name] = time_steps(setup.step_batched, steps, device)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    spread = max(abs(v - losses["sequential"]) / max(1.0, abs(losses["sequential"])) for v in losses.values())
    return {"members": members, "width": width, "loss_spread": spread,
            "seconds_per_step": {name: statistics.median(values) for name, values in wall.items()},
            "cpu_seconds_per_step": {name: statistics.median(values) for name, values in cpu.items()}}


def run(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    variants = ["baddbmm", *(v for v in args.variants if v != "baddbmm")]
    cases = [measure(k, w, args.steps, args.repeats, device, variants) for k in args.members for w in args.widths]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    ratios, goals = {}, {}
    for case in cases:
        t = case["seconds_per_step"] if device.type == "cuda" else case["cpu_seconds_per_step"]
        label = f"K={case['members']} width={case['width']}"
        ratios[f"{label}: sequential / baddbmm"] = t["sequential"] / t["baddbmm"]
        for variant in variants[1:]:
            ratios[f"{label}: {variant} / baddbmm"] = t[variant] / t["baddbmm"]
        goals[f"{label}: same loss in every variant (1e-5)"] = case["loss_spread"] < 1e-5
        if device.type == "cpu":
            goals[f"{label}: baddbmm no slower than sequential (CPU s)"] = t["baddbmm"] <= t["sequential"]
        elif case["members"] >= 64:
            goals[f"{label}: baddbmm >= 30x faster than sequential"] = t["sequential"] >= 30 * t["baddbmm"]
    return {"title": f"one SGD step of K x MLP 784-width-10, batch {BATCH}, on {name}; median of "
                     f"{args.repeats} alternated rounds of {args.steps} steps", "cases": cases,
            "rows": [], "ratios": ratios, "goals": goals}


def format_result(result: dict) -> str:
    variants = list(result["cases"][0]["seconds_per_step"])
    lines = [result["title"], "ms per step, wall / CPU (this process)",
             f"{'K':>4} {'width':>6}  " + "  ".join(f"{v:>17}" for v in variants) + f"  {'seq/baddbmm wall, CPU':>22}"]
    for case in result["cases"]:
        t, c = case["seconds_per_step"], case["cpu_seconds_per_step"]
        lines.append(f"{case['members']:>4} {case['width']:>6}  "
                     + "  ".join(f"{t[v] * 1e3:8.2f} /{c[v] * 1e3:8.2f}" for v in variants)
                     + f"  {t['sequential'] / t['baddbmm']:9.2f}x, {c['sequential'] / c['baddbmm']:6.2f}x")
    lines += [f"  {goal}: {'yes' if met else 'NO'}" for goal, met in result["goals"].items() if not met]
    met = sum(result["goals"].values())
    lines.append(f"  goals met: {met}/{len(result['goals'])}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    known = parser._option_string_actions
    options = [("--device", {"default": "cpu", "help": "cpu or cuda (default cpu)"}),
               ("--members", {"type": int, "nargs": "+", "default": [8, 64], "help": "K values (default 8 64)"}),
               ("--widths", {"type": int, "nargs": "+", "default": [8, 32, 128, 512, 1024],
                             "help": "hidden widths (default 8 32 128 512 1024)"}),
               ("--variants", {"nargs": "+", "choices": list(FORWARDS), "default": list(FORWARDS),
                               "help": "batched variants besides sequential (default all)"}),
               ("--steps", {"type": int, "default": 10, "help": "timed steps per round (default 10)"}),
               ("--repeats", {"type": int, "default": 5, "help": "alternated rounds (default 5)"})]
    for flag, kwargs in options:
        if flag not in known:
            parser.add_argument(flag, **kwargs)


def main(argv: list[str] | None = None) -> int:
    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
