"""The lab's SGD and Adam (training/optimizers.py) against torch.optim, their oracle: the same
parameters after every step, bit for bit, with weight decay on one group only, as the trainer
builds them; a torch.optim checkpoint resumes in them; and a job imports neither TorchDynamo nor pandas."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training import optimizers

REPO = Path(__file__).resolve().parent.parent


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def _groups(model: torch.nn.Module, decay: float) -> list[dict]:
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    return [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}]


def _train(model, optimizer, steps: int, seed: int = 1) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = torch.randn(8, 12, generator=generator), torch.randint(0, 3, (8,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


CASES = {
    "sgd": (lambda g: torch.optim.SGD(g, lr=0.1), lambda g: optimizers.SGD(g, lr=0.1)),
    "sgd-momentum": (lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9), lambda g: optimizers.SGD(g, lr=0.05, momentum=0.9)),
    "adam": (lambda g: torch.optim.Adam(g, lr=1e-2, betas=(0.8, 0.99), eps=1e-7),
             lambda g: optimizers.Adam(g, lr=1e-2, betas=(0.8, 0.99), eps=1e-7)),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_the_same_parameters_as_torch_optim_after_every_step(case, decay):
    ours, theirs = _model(), _model()
    make_torch, make_ours = CASES[case]
    a, b = make_torch(_groups(theirs, decay)), make_ours(_groups(ours, decay))
    for step in range(12):
        _train(theirs, a, 1, seed=step)
        _train(ours, b, 1, seed=step)
        for (name, p), q in zip(theirs.named_parameters(), ours.parameters()):
            assert torch.equal(p, q), (case, decay, step, name)


@pytest.mark.parametrize("case", CASES)
def test_a_torch_optim_checkpoint_resumes_in_ours_and_back(case):
    make_torch, make_ours = CASES[case]
    reference = _model()
    optimizer = make_torch(_groups(reference, 0.01))
    _train(reference, optimizer, 5)
    resumed = copy.deepcopy(reference)
    ours = make_ours(_groups(resumed, 0.01))
    ours.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    _train(reference, optimizer, 5, seed=2)
    _train(resumed, ours, 5, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(reference.parameters(), resumed.parameters()))
    again = make_ours(_groups(copy.deepcopy(resumed), 0.01))
    again.load_state_dict(ours.state_dict())   # our own format round-trips
    assert ours.state_dict()["param_groups"] == again.state_dict()["param_groups"]


def test_a_training_job_imports_neither_torchdynamo_nor_pandas(tmp_path):
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
print("torch._dynamo" in sys.modules, "pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"   # nor pandas (the readers' library)
