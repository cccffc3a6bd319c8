"""reglab's overhead on a user's own training loop: probes every N steps vs no probes.

A small CNN (Conv2d-BN-ReLU-pool x2, Dropout, Linear; 1x28x28 inputs, batch 64, SGD with
momentum) trains for S steps per pass on synthetic tensors in a plain PyTorch loop:
  (a) the bare loop;
  (b) the same loop under reglab.watch(every=N): the probes record the training forward
      pass before each probe step (every watched layer's input and output), weights,
      gradients and update ratios, written to a run folder;
  (c) as (b) with probe_input: each probe runs its own forward pass on 256 fixed examples.
watch() and close() (the step-0 and the last probe, the folder, the final status) are
inside the timed pass. The variants alternate (a, b, c, a, b, c, ...) over the repeats,
after one untimed warm-up pass each, so a slow spell on a shared machine hits all of them;
each pass starts from the same initial weights. Reported: the median seconds per pass,
the spread (min-max) over repeats, the ratio of medians (wall and CPU seconds), and the
cost of one probe.
`python -m bench.bench_api [--api-steps S] [--api-every N] [--api-repeats R] [--threads T]`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import torch
from torch import nn
from torch.nn import functional as F

from bench import standalone_main

VARIANTS = ("a", "b", "c")
NAMES = {"a": "(a) bare loop", "b": "(b) reglab.watch, training forward", "c": "(c) reglab.watch, probe_input"}


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 7 * 7, 10))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def one_pass(variant: str, steps: int, every: int, device: torch.device, data: tuple) -> tuple[float, float]:
    """Wall and CPU seconds of `steps` optimizer steps of one variant."""
    import reglab

    x, y, probe = data
    model = cnn().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = torch.Generator().manual_seed(1)
    with tempfile.TemporaryDirectory() as cache:
        _sync(device)
        wall, cpu = time.perf_counter(), time.process_time()
        rec = None if variant == "a" else reglab.watch(
            model, name="bench-api", cache_dir=cache, every=every, total_steps=steps,
            probe_input=probe if variant == "c" else None)
        for _ in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=order).to(device)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if rec is not None:
                rec.step(loss=loss)
        if rec is not None:
            status = rec.close()
            if status["state"] != "finished" or status.get("probe_failures"):
                raise RuntimeError(f"the recorded run ended {status['state']} with {status.get('probe_failures')} "
                                   f"probe failures: {status.get('last_probe_error')}")
        _sync(device)
        return time.perf_counter() - wall, time.process_time() - cpu


def measure(steps: int, every: int, repeats: int, device: torch.device) -> dict[str, list[tuple[float, float]]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4096, 1, 28, 28, generator=g).to(device)
    y = torch.randint(0, 10, (4096,), generator=g).to(device)
    data = (x, y, x[:256])
    for variant in VARIANTS:   # warm-up: kernels, allocator, lazy imports, first sqlite file
        one_pass(variant, min(steps, 2 * every), every, device, data)
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    for _ in range(repeats):
        for variant in VARIANTS:   # alternated: a, b, c, a, b, c, ...
            times[variant].append(one_pass(variant, steps, every, device, data))
    return times


def _row(variant: str, samples: list[tuple[float, float]], steps: int) -> dict:
    wall = [w for w, _ in samples]
    cpu = [c for _, c in samples]
    median = statistics.median(wall)
    return {"name": NAMES[variant], "seconds_per_epoch": median, "total_seconds": sum(wall),
            "cpu_seconds_per_epoch": statistics.median(cpu), "min_seconds": min(wall), "max_seconds": max(wall),
            "ms_per_step": 1000 * median / steps, "passes": wall, "test_accuracy": None}


def run(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    steps, every, repeats = args.api_steps, args.api_every, args.api_repeats
    times = measure(steps, every, repeats, device)
    rows = {v: _row(v, times[v], steps) for v in VARIANTS}
    a = rows["a"]["seconds_per_epoch"]
    probes = len({0, steps, *range(every, steps + 1, every)})
    ratios = {f"{v}/a": rows[v]["seconds_per_epoch"] / a for v in ("b", "c")}
    ratios.update({f"cpu {v}/a": rows[v]["cpu_seconds_per_epoch"] / rows["a"]["cpu_seconds_per_epoch"]
                   for v in ("b", "c")})
    a_cpu = rows["a"]["cpu_seconds_per_epoch"]
    per_probe = {f"ms per probe ({v}), {kind}": 1000 * (rows[v][column] - base) / probes for v in ("b", "c")
                 for kind, column, base in (("wall", "seconds_per_epoch", a), ("cpu", "cpu_seconds_per_epoch", a_cpu))}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    return {
        "title": f"api: CNN 1x28x28, batch 64, {steps} steps per pass ('epoch' below), a probe every {every} "
                 f"steps ({probes} per pass), {repeats} alternated repeats, on {name} ({os.cpu_count()} cores)",
        "rows": list(rows.values()), "ratios": ratios, "per_probe_ms": per_probe,
        # CPU seconds: on a shared machine they move far less than wall time between passes
        "goals": {f"cpu b/a <= 1.10 (probes every {every} steps cost under 10%)": ratios["cpu b/a"] <= 1.10},
    }


def format_result(result: dict) -> str:
    rows = result["rows"]
    width = max(len(r["name"]) for r in rows)
    lines = [result["title"], f"{'variant':<{width}}  {'median s':>8}  {'min-max s':>13}  {'ms/step':>7}  "
                              f"{'cpu s':>6}"]
    lines += [f"{r['name']:<{width}}  {r['seconds_per_epoch']:8.3f}  {r['min_seconds']:6.3f}-{r['max_seconds']:<6.3f}"
              f"  {r['ms_per_step']:7.2f}  {r['cpu_seconds_per_epoch']:6.2f}" for r in rows]
    lines += [f"  {name} = {value:.3f}" for name, value in result["ratios"].items()]
    lines += [f"  {name} = {value:.1f}" for name, value in result["per_probe_ms"].items()]
    lines += [f"  goal {goal}: {'met' if met else 'NOT met'}" for goal, met in result["goals"].items()]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark; --device is shared with the others."""
    if "--device" not in parser._option_string_actions:
        parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--api-steps", type=int, default=200, help="optimizer steps per pass (default 200)")
    parser.add_argument("--api-every", type=int, default=50, help="steps between probes (default 50)")
    parser.add_argument("--api-repeats", type=int, default=5, help="alternated repeats per variant (default 5)")


def main(argv: list[str] | None = None) -> int:
    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
