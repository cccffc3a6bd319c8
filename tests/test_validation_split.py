"""The validation split (data.validation_fraction): held out of the training draw, never
trained on, scored as split "val"; specs that do not set it keep their run ids."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from cache import store
from nets.models import build_model
from runspec import SpecError, build_spec, bounds
from training.datasets import load_dataset
from training.losses import evaluate
from training.presets import PRESETS
from training.trainer import member_indices, member_seeds
from training.validation import validation_split
from tests.conftest import build_run, tiny


def test_held_out_indices_are_disjoint_from_training_and_fixed_by_the_seed():
    keep, held = validation_split(1_000, 0.2, resample_seed=3)
    assert len(held) == 200 and len(keep) == 800
    assert not set(keep.tolist()) & set(held.tolist())
    assert sorted(keep.tolist() + held.tolist()) == list(range(1_000))
    again_keep, again_held = validation_split(1_000, 0.2, resample_seed=3)
    assert torch.equal(held, again_held) and torch.equal(keep, again_keep)
    assert not torch.equal(held, validation_split(1_000, 0.2, resample_seed=4)[1])


def test_the_loader_moves_the_held_out_examples_out_of_the_training_tensors():
    spec = PRESETS["polynomial-degree3"].spec.data
    whole = load_dataset(spec)
    split = load_dataset(spec.model_copy(update={"validation_fraction": 0.25}))
    keep, held = validation_split(len(whole.y_train), 0.25, spec.resample_seed)
    assert torch.equal(split.x_train, whole.x_train[keep]) and torch.equal(split.y_train, whole.y_train[keep])
    assert torch.equal(split.x_val, whole.x_train[held]) and torch.equal(split.y_val, whole.y_train[held])
    assert torch.equal(split.x_test, whole.x_test)
    assert whole.x_val is None


def test_the_trainer_never_draws_a_batch_from_the_validation_split():
    spec = tiny(PRESETS["polynomial-degree3"].spec, epochs=2, data__validation_fraction=0.3)
    data = load_dataset(spec.data)
    held_rows = {tuple(row.tolist()) for row in data.x_val}
    assert not held_rows & {tuple(row.tolist()) for row in data.x_train}
    indices = member_indices(spec, len(data.y_train))    # what every mini-batch gathers from x_train
    assert int(indices.max()) < len(data.y_train) == 100 - bounds.validation_size(100, 0.3)


def test_val_scores_equal_an_independent_evaluation_of_the_checkpoint(cache_dir):
    spec = tiny(PRESETS["d2l-mlp"].spec, epochs=2, data__n_train=500, data__n_test=200, model__widths=[16],
                probe_every=4, data__validation_fraction=0.2, probes__eval_max=60)
    folder = build_run(spec, cache_dir)
    status = store.read_status(folder)
    assert status["state"] == "finished", status.get("error")
    assert {"val_loss", "val_accuracy"} <= set(status["final"])
    scalars = store.read_table(folder, "scalars")
    assert {"train", "val", "test"} <= set(scalars.loc[scalars["kind"] == "epoch", "split"])
    final = scalars[(scalars["kind"] == "final") & (scalars["split"] == "val")].set_index("metric")["value"]
    data = load_dataset(spec.data)
    assert len(data.y_val) == 100 and len(data.y_train) == 400
    model = build_model(spec.model, data.in_features, data.out_features, member_seeds(spec))
    model.load_state_dict(store.load_checkpoint(folder, "final")["model"])
    x, y = data.x_val[:60], data.y_val[:60]           # eval_max caps val as it caps test
    with torch.no_grad():
        logits = model.eval()(x)[0]
    accuracy = (logits.argmax(-1) == y).float().mean().item()
    loss = torch.nn.functional.cross_entropy(logits, y).item()
    assert final["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert final["loss"] == pytest.approx(loss, rel=1e-5)
    assert status["final"]["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert evaluate(model, x, y, spec.loss, "classification")["accuracy"].item() == pytest.approx(accuracy)


def test_ids_stay_unchanged_for_specs_that_leave_the_field_at_its_default():
    for name, preset in PRESETS.items():
        explicit = preset.spec.with_overrides({"data.validation_fraction": 0.0})
        assert explicit.run_id == preset.spec.run_id, name
    held = PRESETS["d2l-mlp"].spec.with_overrides({"data.validation_fraction": 0.2})
    assert held.run_id != PRESETS["d2l-mlp"].spec.run_id


@pytest.mark.parametrize("bad", [-0.1, 0.5, 0.9])
def test_the_fraction_is_bounded(bad):
    with pytest.raises(SpecError, match="validation_fraction"):
        build_spec({"data": {"validation_fraction": bad}})


def test_bounds_count_the_examples_trained_on():
    spec = build_spec({"data": {"n_train": 10_000, "validation_fraction": 0.2}, "batch_size": 250, "epochs": 1})
    assert bounds.data_shape(spec.data)[0] == 8_000
    assert bounds.total_steps(spec) == 32
    poly = PRESETS["polynomial-degree3"].spec.with_overrides({"data.validation_fraction": 0.3})
    data = load_dataset(poly.data)
    assert bounds.data_shape(poly.data)[:2] == (len(data.y_train), len(data.y_test))
    assert bounds.validation_size(100, 0.3) == len(data.y_val)


def test_the_runs_table_and_curves_carry_the_val_split():
    from analysis import compare, palette, run_charts

    final = compare.final_metrics({"final": {"train_accuracy": 0.9, "val_accuracy": 0.8, "test_accuracy": 0.7}})
    assert final["val_accuracy"] == 0.8 and final["val_loss"] is None
    rows = [{"step": 1, "epoch": 1, "member": 0, "split": split, "metric": "loss", "value": v, "kind": "epoch"}
            for split, v in (("train", 0.1), ("val", 0.2), ("test", 0.3), ("train_batch", 0.15))]
    curves = compare.curves({"a": pd.DataFrame(rows)}, "epoch")
    assert set(curves["split"]) == {"train", "val", "test"}
    spec = run_charts.curve_chart(curves, "loss", "epoch").to_dict()
    dash = spec["encoding"]["strokeDash"]["scale"]
    assert dict(zip(dash["domain"], dash["range"])) == {"train": palette.DASHED, "val": palette.DOTTED,
                                                        "test": palette.SOLID}
    plain = run_charts.curve_chart(curves[curves["split"] != "val"], "loss", "epoch").to_dict()
    assert plain["encoding"]["strokeDash"]["scale"]["domain"] == ["train", "test"]
