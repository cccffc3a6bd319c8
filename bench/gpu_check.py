"""GPU check: the ensemble benchmark (bench/bench_ensemble.py) at K = 64 on CUDA.

`python bench/gpu_check.py [--members K] [--epochs N] [--data-dir DIR]`
With CUDA: K = 64 bootstrap members of 4,000 Fashion-MNIST examples, 10 epochs, batched
vs one after another, on the GPU. Without CUDA it runs the same comparison small
(K = 4, 1,000 examples, 1 epoch) on the CPU, so the script itself can be checked anywhere.
Prints the device, both timings and the speed-up.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # runnable as a plain script

import torch  # noqa: E402

from bench.bench_ensemble import compare, ensemble_spec, format_result  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=64 if cuda else 4)
    parser.add_argument("--subset", type=int, default=4000 if cuda else 1000)
    parser.add_argument("--epochs", type=int, default=10 if cuda else 1)
    parser.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--probes", action="store_true", help="also log activation/weight probes")
    args = parser.parse_args(argv)
    device = "cuda" if cuda else "cpu"
    print(f"torch {torch.__version__}; device: "
          f"{torch.cuda.get_device_name() if cuda else f'CPU only ({torch.get_num_threads()} threads)'}", flush=True)
    spec = ensemble_spec(args.members, args.subset, args.epochs, "bootstrap", device, args.probes, args.data_dir)
    start = time.perf_counter()
    result = compare(spec)
    print(format_result(result))
    print(f"wall time of the whole check: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
