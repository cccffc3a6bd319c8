"""An ensemble of K members trained as one batched model equals K separate runs: member k
of a K-member run with seed s behaves as a single run with seed s + k, on the same data or
on the k-th resampled part. Oracles: separate K=1 runs through the same trainer."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from cache import store
from tests.conftest import build_run
from runspec import build_spec
from training.trainer import Trainer, member_indices

TOL = 1e-5
KEYS = ["step", "epoch", "split", "metric", "kind"]


def small_mlp(**overrides):
    """784-32(BN)-10 on 240 real Fashion-MNIST images; ~20 steps."""
    tree = {"data": {"name": "fashion-mnist", "n_train": 240, "n_test": 200},
            "model": {"widths": [32], "batchnorm": "before"}, "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
            "epochs": 2, "batch_size": 24, "probe_every": 7, "seed": 5,
            "probes": {"probe_batch": 64, "histogram_bins": 5, "tracked_units": 2}}
    return build_spec(tree).with_overrides(overrides)


def member_scalars(folder, member: int) -> pd.DataFrame:
    table = store.read_table(folder, "scalars")
    table = table[table["member"] == member].drop(columns="member")
    return table.sort_values(KEYS).reset_index(drop=True)


def member_weights(folder, member: int) -> dict[str, torch.Tensor]:
    """The final state dict sliced to one member: every batched tensor has K first."""
    state = store.load_checkpoint(folder, "final")["model"]
    return {name: value[member] for name, value in state.items() if value.dim() > 0}


def assert_member_matches(ensemble_folder, member: int, single_folder) -> None:
    got, want = member_scalars(ensemble_folder, member), member_scalars(single_folder, 0)
    pd.testing.assert_frame_equal(got[KEYS], want[KEYS])
    assert (got["value"] - want["value"]).abs().max() < TOL
    single = member_weights(single_folder, 0)
    assert len(single) == 8   # weights, biases, BN affine and running statistics
    for name, value in member_weights(ensemble_folder, member).items():
        assert torch.allclose(value, single[name], atol=TOL), name


def test_same_data_ensemble_equals_separate_runs_with_seed_plus_k(tmp_path):
    ensemble = small_mlp(ensemble=3, ensemble_data="same")
    folder = build_run(ensemble, tmp_path)
    for k in range(3):
        single = build_run(small_mlp(seed=ensemble.seed + k), tmp_path)
        assert_member_matches(folder, k, single)
    # the members really differ (different seeds), so the match above is not vacuous
    assert not torch.allclose(member_weights(folder, 0)["output.weight"],
                              member_weights(folder, 1)["output.weight"])


def test_disjoint_parts_partition_the_training_set():
    spec = small_mlp(ensemble=4, ensemble_data="disjoint")
    parts = member_indices(spec, 1002)
    assert parts.shape == (4, 250)                        # 1002 // 4, the 2 left over are unused
    flat = parts.flatten().tolist()
    assert len(set(flat)) == len(flat) and min(flat) >= 0 and max(flat) < 1002
    assert torch.equal(parts, member_indices(spec, 1002))  # seeded by data.resample_seed
    other = member_indices(spec.with_overrides({"data.resample_seed": 1}), 1002)
    assert not torch.equal(parts, other)
    boot = member_indices(small_mlp(ensemble=4, ensemble_data="bootstrap"), 1002)
    assert boot.shape == (4, 1002) and boot.max() < 1002
    assert all(len(set(row.tolist())) < 1002 for row in boot)  # with replacement: repeats


@pytest.mark.parametrize("rule", ["disjoint", "bootstrap"])
def test_each_member_equals_a_run_on_its_own_part(tmp_path, rule):
    ensemble = small_mlp(ensemble=3, ensemble_data=rule, epochs=1)
    folder = build_run(ensemble, tmp_path)
    parts = member_indices(ensemble, 240)
    k = 2
    single_spec = small_mlp(seed=ensemble.seed + k, epochs=1)
    single_folder = store.create_run_folder(tmp_path, single_spec)
    trainer = Trainer(single_spec, single_folder)
    trainer.indices = parts[k:k + 1]                      # [1, m]: member k's part only
    trainer.steps_per_epoch = -(-parts.shape[1] // single_spec.batch_size)
    trainer.total_steps = trainer.steps_per_epoch * single_spec.epochs
    trainer.run()
    assert_member_matches(folder, k, single_folder)
