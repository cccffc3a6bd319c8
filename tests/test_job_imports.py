"""A training job imports only what it uses: pandas (the table readers' library) is never
loaded by a job, which keeps a try-it variant's start-up short."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_a_training_job_never_imports_pandas(tmp_path):
    code = f"""
import sys
from pathlib import Path
from cache import store
from runspec import build_spec
from training.runner import execute
spec = build_spec({{"data": {{"name": "polynomial", "degree": 3, "n_train": 40, "n_test": 20}},
                   "model": {{"kind": "linear", "widths": [], "bias": False}}, "loss": "mse",
                   "optim": {{"name": "sgd", "lr": 0.01, "momentum": 0.9}}, "batch_size": 10, "epochs": 2}})
folder = store.create_run_folder(Path({str(tmp_path)!r}), spec)
assert execute(spec, folder)["state"] == "finished"
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
