"""The trainer against a bare PyTorch loop and the textbook's DataLoader pipeline.

All three train the d2l-dropout setup on real Fashion-MNIST (784-256-256-10 ReLU,
dropout 0.2/0.5, N(0, 0.01^2) init, SGD lr 0.5, batch 256) for the same epochs, and all
three score the test set once per epoch, as the textbook's loop does:
  (a) bare: nn.Sequential with nn.Linear/nn.Dropout on in-memory tensors;
  (b) ours: the same spec through training.runner.execute, every probe at its default
      cadence, metrics written to a run folder;
  (c) textbook: torchvision.datasets.FashionMNIST on the same files + ToTensor +
      DataLoader(batch 256, shuffle, 4 workers).
Seconds per epoch = the whole run's wall time divided by the epochs. (a) and (b) start
from the same uint8 arrays in memory (the file read is not timed; scaling to floats is);
(c) starts from the IDX files. CPU seconds (this process and its finished children, i.e.
the DataLoader workers) are reported too: on a shared machine they vary less than wall time.
"""
from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from bench import alternated, median_row
from training import fashion_mnist, presets
from training.presets import PRESETS

PRESET = presets.core.D2L_DROPOUT.name


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=int, default=2, help="epochs per variant (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda for (a) and (b) (default cpu)")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers for (c) (default 4)")
    parser.add_argument("--trainer-repeats", type=int, default=3, help="alternated passes per variant (default 3)")


def d2l_sequential(dropouts=(0.2, 0.5)) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(dropouts[0]),
                        nn.Linear(256, 256), nn.ReLU(), nn.Dropout(dropouts[1]), nn.Linear(256, 10))
    for layer in net:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)
    return net


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_epoch(net, optimizer, batches, device) -> float:
    """One pass of the textbook's loop; returns the mean mini-batch loss."""
    loss_fn = nn.CrossEntropyLoss()
    net.train()
    total, count = torch.zeros((), device=device), 0
    for x, y in batches:
        x, y = x.to(device, non_blocking=True).view(len(x), -1), y.to(device, non_blocking=True)
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(y)
        count += len(y)
    return (total / count).item()


@torch.no_grad()
def test_accuracy(net, batches, device) -> float:
    net.eval()
    correct, count = 0, 0
    for x, y in batches:
        x, y = x.to(device).view(len(x), -1), y.to(device)
        correct += (net(x).argmax(1) == y).sum().item()
        count += len(y)
    return correct / count


def in_memory_batches(x: torch.Tensor, y: torch.Tensor, batch: int, shuffle: bool):
    order = torch.randperm(len(y), device=x.device) if shuffle else torch.arange(len(y), device=x.device)
    for start in range(0, len(y), batch):
        idx = order[start:start + batch]
        yield x[idx], y[idx]


def bare_loop(epochs: int, device: torch.device) -> dict:
    """(a) The plain loop on tensors already in memory (the same /255 scaling as ours)."""
    x_train, y_train, x_test, y_test = fashion_mnist.load_arrays(None)
    clock = Clock(device)
    x_train, x_test = (x_train.float() / 255).to(device), (x_test.float() / 255).to(device)
    y_train, y_test = y_train.to(device), y_test.to(device)
    torch.manual_seed(0)
    net = d2l_sequential().to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(epochs):
        train_epoch(net, optimizer, in_memory_batches(x_train, y_train, 256, True), device)
        accuracy = test_accuracy(net, in_memory_batches(x_test, y_test, 10_000, False), device)
    return _row("(a) bare PyTorch loop, in-memory tensors", clock.stop(), epochs, accuracy)


def our_trainer(epochs: int, device: torch.device) -> dict:
    """(b) The preset through the lab's runner: probes at the default cadence, a real run folder."""
    from cache import store
    from training.runner import execute

    spec = PRESETS[PRESET].spec.with_overrides({"epochs": epochs, "device": device.type})
    fashion_mnist.load_arrays(None)  # the file read is not what is timed, as for (a)
    with tempfile.TemporaryDirectory() as cache:
        folder = store.create_run_folder(cache, spec)
        clock = Clock(device)
        status = execute(spec, folder)
        elapsed = clock.stop()
        tables = {t: len(store.read_table(folder, t)) for t in store.table_names(folder) if t != "meta"}
    if status["state"] != "finished":
        raise RuntimeError(f"the trainer run ended {status['state']}: {status.get('error')}")
    row = _row(f"(b) our Trainer, all probes every {spec.probe_every} steps", elapsed, epochs,
               status["final"]["test_accuracy"])
    row["rows_logged"] = tables
    return row


def _torchvision_root(tmp: Path) -> Path:
    """torchvision's layout <root>/FashionMNIST/raw/ holding the same IDX files, so it never downloads
    (.gz files are unpacked: torchvision checks for the unzipped names before reading)."""
    raw = tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for path in fashion_mnist.locate(None, download=False).values():
        target = raw / path.name.removesuffix(".gz")
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            target.symlink_to(path)
    return tmp


def textbook_pipeline(epochs: int, device: torch.device, workers: int) -> dict:
    """(c) torchvision dataset + ToTensor + DataLoader, as in the textbook's load_data_fashion_mnist."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    with tempfile.TemporaryDirectory() as tmp:
        root = _torchvision_root(Path(tmp))
        clock = Clock(device)
        to_tensor = transforms.ToTensor()
        train = datasets.FashionMNIST(str(root), train=True, transform=to_tensor, download=False)
        test = datasets.FashionMNIST(str(root), train=False, transform=to_tensor, download=False)
        train_iter = DataLoader(train, batch_size=256, shuffle=True, num_workers=workers)
        test_iter = DataLoader(test, batch_size=256, shuffle=False, num_workers=workers)
        torch.manual_seed(0)
        net = d2l_sequential().to(device)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
        for _ in range(epochs):
            train_epoch(net, optimizer, train_iter, device)
            accuracy = test_accuracy(net, test_iter, device)
        elapsed = clock.stop()
    return _row(f"(c) torchvision + ToTensor + DataLoader({workers} workers)", elapsed, epochs, accuracy)


class Clock:
    """Wall and CPU seconds from construction to stop(), the device drained at both ends."""

    def __init__(self, device: torch.device):
        self.device = device
        _sync(device)
        self.wall, self.cpu = time.perf_counter(), _cpu_seconds()

    def stop(self) -> tuple[float, float]:
        _sync(self.device)
        return time.perf_counter() - self.wall, _cpu_seconds() - self.cpu


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _row(name: str, seconds: tuple[float, float], epochs: int, accuracy: float) -> dict:
    wall, cpu = seconds
    return {"name": name, "total_seconds": wall, "seconds_per_epoch": wall / epochs,
            "cpu_seconds_per_epoch": cpu / epochs, "epochs": epochs, "test_accuracy": accuracy}


def run(args) -> dict:
    device = torch.device(args.device)
    from torchvision import datasets  # noqa: F401

    import training.runner  # noqa: F401 - imported before any clock starts

    passes = alternated({"a": lambda: bare_loop(args.epochs, device), "b": lambda: our_trainer(args.epochs, device),
                         "c": lambda: textbook_pipeline(args.epochs, device, args.workers)}, args.trainer_repeats)
    a, b, c = (median_row(passes[name]) for name in "abc")   # ratios below are ratios of medians
    b_over_a = b["seconds_per_epoch"] / a["seconds_per_epoch"]
    c_over_b = c["seconds_per_epoch"] / b["seconds_per_epoch"]
    cpu = {f"cpu {x}/{y}": p["cpu_seconds_per_epoch"] / q["cpu_seconds_per_epoch"] for x, y, p, q in
           (("b", "a", b, a), ("c", "b", c, b))}
    return {
        "title": f"trainer: {PRESET} on Fashion-MNIST, {args.epochs} epochs, device {device}, "
                 f"median of {args.trainer_repeats} alternated passes (a, b, c, a, b, c, ...)",
        "rows": [a, b, c],
        "ratios": {"b/a": b_over_a, "c/b": c_over_b, **cpu},
        "goals": {"b/a <= 1.10": b_over_a <= 1.10, "c/b >= 5": c_over_b >= 5.0},
    }
