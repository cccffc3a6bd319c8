"""A training job imports only what it uses, which keeps a try-it variant's start-up short:
pandas (the table readers' library) is never loaded by a job, nor torch.compile's machinery
(torch._dynamo, a second or more on 2 cores; training/eager_optim.py keeps torch.optim from
loading it)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WATCHED = ("pandas", "torch._dynamo")


@pytest.fixture(scope="module")
def loaded_by_jobs(tmp_path_factory) -> dict[str, bool]:
    """Which of WATCHED a process has loaded after training an SGD and an Adam run."""
    code = f"""
import json, sys
from pathlib import Path
from cache import store
from runspec import build_spec
from training.runner import execute
for optim in ({{"name": "sgd", "lr": 0.01, "momentum": 0.9}}, {{"name": "adam", "lr": 0.01}}):
    spec = build_spec({{"data": {{"name": "polynomial", "degree": 3, "n_train": 40, "n_test": 20}},
                       "model": {{"kind": "mlp", "widths": [8]}}, "loss": "mse",
                       "optim": optim, "batch_size": 10, "epochs": 2}})
    folder = store.create_run_folder(Path({str(tmp_path_factory.mktemp("runs"))!r}), spec)
    assert execute(spec, folder)["state"] == "finished"
print(json.dumps({{name: name in sys.modules for name in {WATCHED!r}}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_training_job_never_imports_pandas(loaded_by_jobs):
    assert loaded_by_jobs["pandas"] is False


def test_a_training_job_never_imports_the_compiler(loaded_by_jobs):
    assert loaded_by_jobs["torch._dynamo"] is False
