"""An ensemble trained as one batched model against its members trained one after another.

K MLPs 784-256-10 (ReLU, SGD lr 0.1, batch 256) on real Fashion-MNIST, each member on its
own 4,000-example part (disjoint parts of K x 4,000 examples, or bootstraps of 4,000):
  (a) batched: one run with ensemble = K, every layer a [K, ...] batched matmul;
  (b) sequential: K runs with ensemble = 1, run k on member k's part with seed + k.
Both go through the lab's Trainer (the same code a job runs), scoring every epoch and
checkpointing; `--probes` adds the activation/weight probes at the default cadence.
Timed: Trainer.run() only (data loading and model building excluded, for both). Member k
of (a) and run k of (b) are the same computation, so their final test accuracies agree.
`python -m bench.bench_ensemble [--epochs N] [--members K] [--device cuda]`.
"""
from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import sys
import time
from pathlib import Path

import torch

from bench import standalone_main
from cache import store
from runspec import RunSpec, build_spec
from training.trainer import Trainer, member_indices


def ensemble_spec(members: int, subset: int, epochs: int, rule: str, device: str, probes: bool,
                  data_dir: str | None = None) -> RunSpec:
    n_train = subset * members if rule == "disjoint" else subset
    probe_tree = {} if probes else {"activations": False, "weights": False}
    return build_spec({
        "name": "bench-ensemble", "data": {"name": "fashion-mnist", "n_train": n_train, "data_dir": data_dir},
        "model": {"widths": [256], "activation": "relu"}, "optim": {"name": "sgd", "lr": 0.1},
        "epochs": epochs, "batch_size": 256, "ensemble": members, "ensemble_data": rule, "device": device,
        "probe_every": 50 if probes else 100_000, "probes": probe_tree})


def _sync(trainer: Trainer) -> None:
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()


def timed_run(trainer: Trainer) -> tuple[float, dict]:
    _sync(trainer)
    start = time.perf_counter()
    outcome = trainer.run()
    _sync(trainer)
    return time.perf_counter() - start, outcome


def member_trainer(spec: RunSpec, parts: torch.Tensor, k: int, root: Path) -> Trainer:
    """A K=1 trainer that is member k: seed + k, trained on part k ([1, m] indices)."""
    single = spec.with_overrides({"ensemble": 1, "seed": spec.seed + k})
    trainer = Trainer(single, store.create_run_folder(root, single))
    trainer.indices = parts[k:k + 1].to(trainer.device)
    trainer.steps_per_epoch = math.ceil(parts.shape[1] / single.batch_size)
    trainer.total_steps = trainer.steps_per_epoch * single.epochs
    return trainer


def compare(spec: RunSpec) -> dict:
    """Time (a) batched and (b) sequential for `spec` (ensemble = K); returns result rows."""
    root = Path(tempfile.mkdtemp(prefix="bench-ensemble-"))
    try:
        warm = member_trainer(spec.with_overrides({"epochs": 1}), member_indices(spec, spec.data.n_train), 0, root)
        timed_run(warm)   # one-time costs (kernels, allocator, lazy imports) stay out of both timings
        batched = Trainer(spec, store.create_run_folder(root, spec))
        parts = batched.indices.cpu()
        batched_s, batched_out = timed_run(batched)
        sequential_s, accuracies = 0.0, []
        for k in range(spec.ensemble):
            seconds, outcome = timed_run(member_trainer(spec, parts, k, root))
            sequential_s += seconds
            accuracies.append(outcome["final"]["test_accuracy"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sequential_acc = sum(accuracies) / len(accuracies)
    return _result(spec, batched_s, sequential_s, batched_out["final"]["test_accuracy"], sequential_acc, batched.device)


def _result(spec: RunSpec, batched_s: float, sequential_s: float, batched_acc: float, sequential_acc: float,
            device: torch.device) -> dict:
    k, epochs = spec.ensemble, spec.epochs
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    return {
        "title": f"ensemble of K={k} MLPs 784-256-10, {spec.data.n_train if spec.ensemble_data == 'bootstrap' else spec.data.n_train // k}"
                 f" examples each ({spec.ensemble_data}), {epochs} epochs, on {name}",
        "rows": [{"name": f"(a) batched: one K={k} run", "seconds_per_epoch": batched_s / epochs,
                  "total_seconds": batched_s, "test_accuracy": batched_acc},
                 {"name": f"(b) sequential: {k} runs of K=1", "seconds_per_epoch": sequential_s / epochs,
                  "total_seconds": sequential_s, "test_accuracy": sequential_acc}],
        "ratios": {"sequential / batched (speed-up)": sequential_s / batched_s},
        "goals": {"batched faster than sequential": sequential_s > batched_s,
                  "same mean member test accuracy (within 1e-4)": abs(batched_acc - sequential_acc) < 1e-4},
    }


def format_result(result: dict) -> str:
    rows = result["rows"]
    width = max(len(r["name"]) for r in rows)
    lines = [result["title"], f"{'variant':<{width}}  {'s/epoch':>8}  {'total s':>8}  {'test acc':>8}"]
    lines += [f"{r['name']:<{width}}  {r['seconds_per_epoch']:8.3f}  {r['total_seconds']:8.2f}  {r['test_accuracy']:8.4f}"
              for r in rows]
    lines += [f"  {name} = {value:.2f}x" for name, value in result["ratios"].items()]
    lines += [f"  {goal}: {'yes' if met else 'NO'}" for goal, met in result["goals"].items()]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser, epochs: int = 10) -> None:
    """Options of this benchmark; ones another benchmark already added (--epochs, --device) are shared."""
    known = parser._option_string_actions
    options = [("--epochs", {"type": int, "default": epochs, "help": f"epochs (default {epochs})"}),
               ("--device", {"default": "cpu", "help": "cpu or cuda (default cpu)"}),
               ("--members", {"type": int, "default": 8, "help": "ensemble size K (default 8)"}),
               ("--subset", {"type": int, "default": 4000, "help": "examples per member (default 4000)"}),
               ("--ensemble-data", {"choices": ["disjoint", "bootstrap"], "default": "disjoint",
                                    "help": "disjoint parts of K x subset examples, or bootstraps of subset"}),
               ("--probes", {"action": "store_true", "help": "also log activation/weight probes (default cadence)"}),
               ("--data-dir", {"default": None, "help": "folder with the Fashion-MNIST IDX files"})]
    for flag, kwargs in options:
        if flag not in known:
            parser.add_argument(flag, **kwargs)


def run(args: argparse.Namespace) -> dict:
    spec = ensemble_spec(args.members, args.subset, args.epochs, args.ensemble_data, args.device, args.probes,
                         getattr(args, "data_dir", None))
    return compare(spec)


def main(argv: list[str] | None = None) -> int:
    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
