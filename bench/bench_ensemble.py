"""An ensemble trained as one batched model against its members trained one after another.

K MLPs 784-256-10 (ReLU, SGD lr 0.1, batch 256) on real Fashion-MNIST, each member on its
own 4,000-example part (disjoint parts of K x 4,000 examples, or bootstraps of 4,000):
  (a) batched: one run with ensemble = K, every layer a [K, ...] batched matmul;
  (b) sequential: K runs with ensemble = 1, run k on member k's part with seed + k.
Both go through the lab's Trainer (the same code a job runs), scoring every epoch and
checkpointing; `--probes` adds the activation/weight probes at the default cadence.
Timed: Trainer.run() only (data loading and model building excluded, for both). Member k
of (a) and run k of (b) are the same computation, so their final test accuracies agree.
The variants alternate (a, b, a, b, ...) over `--ensemble-repeats` passes, so a noisy
neighbour slows both alike; each row is a variant's median with its spread (min-max), and
the speed-up is the ratio of the medians.
`python -m bench.bench_ensemble [--epochs N] [--members K] [--ensemble-repeats R] [--device cuda]`.
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

from bench import alternated, format_table, median_row, standalone_main
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


def timed_run(trainer: Trainer) -> tuple[float, float, dict]:
    """Trainer.run() alone: (wall s, process CPU s, outcome)."""
    _sync(trainer)
    start, cpu = time.perf_counter(), time.process_time()
    outcome = trainer.run()
    _sync(trainer)
    return time.perf_counter() - start, time.process_time() - cpu, outcome


def member_trainer(spec: RunSpec, parts: torch.Tensor, k: int, root: Path) -> Trainer:
    """A K=1 trainer that is member k: seed + k, trained on part k ([1, m] indices)."""
    single = spec.with_overrides({"ensemble": 1, "seed": spec.seed + k})
    trainer = Trainer(single, store.create_run_folder(root, single))
    trainer.indices = parts[k:k + 1].to(trainer.device)
    trainer.steps_per_epoch = math.ceil(parts.shape[1] / single.batch_size)
    trainer.total_steps = trainer.steps_per_epoch * single.epochs
    return trainer


def _pass_row(name: str, wall: float, cpu: float, epochs: int, accuracy: float) -> dict:
    return {"name": name, "total_seconds": wall, "seconds_per_epoch": wall / epochs,
            "cpu_seconds_per_epoch": cpu / epochs, "test_accuracy": accuracy}


def _fresh(root: Path) -> Path:
    """A new, empty cache folder for one pass (a run folder is made once per spec)."""
    return Path(tempfile.mkdtemp(dir=root))


def variants(spec: RunSpec, root: Path, label: str = "") -> dict:
    """{name: one timed pass} for `spec` (ensemble = K): (a) batched, (b) its K members in turn."""
    parts = member_indices(spec, spec.data.n_train)
    k, epochs = spec.ensemble, spec.epochs

    def batched() -> dict:
        wall, cpu, outcome = timed_run(Trainer(spec, store.create_run_folder(_fresh(root), spec)))
        return _pass_row(f"{label}(a) batched: one K={k} run", wall, cpu, epochs, outcome["final"]["test_accuracy"])

    def sequential() -> dict:
        where, wall, cpu, accuracies = _fresh(root), 0.0, 0.0, []
        for member in range(k):
            seconds, cpu_seconds, outcome = timed_run(member_trainer(spec, parts, member, where))
            wall, cpu = wall + seconds, cpu + cpu_seconds
            accuracies.append(outcome["final"]["test_accuracy"])
        return _pass_row(f"{label}(b) sequential: {k} runs of K=1", wall, cpu, epochs, sum(accuracies) / k)

    return {f"{label}a": batched, f"{label}b": sequential}


def warm_up(spec: RunSpec, root: Path) -> None:
    """One-time costs (kernels, allocator, lazy imports) stay out of every timed pass."""
    timed_run(member_trainer(spec.with_overrides({"epochs": 1}), member_indices(spec, spec.data.n_train), 0, _fresh(root)))


def compare(spec: RunSpec, repeats: int = 3) -> dict:
    """(a) batched and (b) sequential for `spec`, alternated (a, b, a, b, ...) `repeats` times;
    rows are each variant's median with its spread, the ratio is of the medians."""
    root = Path(tempfile.mkdtemp(prefix="bench-ensemble-"))
    try:
        warm_up(spec, root)
        passes = alternated(variants(spec, root), repeats)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    batched, sequential = median_row(passes["a"]), median_row(passes["b"])
    return _result(spec, batched, sequential, repeats, torch.device(spec.device if spec.device != "auto" else "cpu"))


def _result(spec: RunSpec, batched: dict, sequential: dict, repeats: int, device: torch.device) -> dict:
    k, epochs = spec.ensemble, spec.epochs
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    speedup = sequential["seconds_per_epoch"] / batched["seconds_per_epoch"]
    return {
        "title": f"ensemble of K={k} MLPs 784-256-10, {spec.data.n_train if spec.ensemble_data == 'bootstrap' else spec.data.n_train // k}"
                 f" examples each ({spec.ensemble_data}), {epochs} epochs, on {name}; median of {repeats} "
                 f"alternated passes (a, b, a, b, ...)",
        "rows": [batched, sequential],
        "ratios": {"sequential / batched (speed-up, medians)": speedup},
        "goals": {"batched faster than sequential": speedup > 1,
                  "same mean member test accuracy (within 1e-4)":
                      abs(batched["test_accuracy"] - sequential["test_accuracy"]) < 1e-4},
    }


def format_result(result: dict) -> str:
    return format_table(result)


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
               ("--data-dir", {"default": None, "help": "folder with the Fashion-MNIST IDX files"}),
               ("--ensemble-repeats", {"type": int, "default": 3, "help": "alternated passes per variant (default 3)"})]
    for flag, kwargs in options:
        if flag not in known:
            parser.add_argument(flag, **kwargs)


def run(args: argparse.Namespace) -> dict:
    spec = ensemble_spec(args.members, args.subset, args.epochs, args.ensemble_data, args.device, args.probes,
                         getattr(args, "data_dir", None))
    return compare(spec, args.ensemble_repeats)


def main(argv: list[str] | None = None) -> int:
    return standalone_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    raise SystemExit(main())
