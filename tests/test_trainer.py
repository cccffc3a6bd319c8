"""End to end: tiny real runs through the trainer and the CLI, divergence, bad input, and
the textbook presets against their closed forms."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from cache import store
import cli
from cli.args import parse_overrides
from training.datasets import load_dataset
from nets.models import build_model
from training.presets import PRESETS
from training.probes import PERCENTILES
from training.trainer import member_seeds
from runspec import SpecError, build_spec
from tests.conftest import build_run, tiny

ACTIVATION_COLUMNS = {"step", "epoch", "member", "layer", "site", "mean", "std", "min", "max", "frac_zero",
                      "frac_saturated", *(f"q{p}" for p in PERCENTILES)}
EXPECTED_COLUMNS = {
    "scalars": {"step", "epoch", "member", "split", "metric", "value", "kind"},
    "activations": ACTIVATION_COLUMNS,
    "histograms": {"step", "member", "layer", "site", "bin", "lo", "hi", "count"},
    "units": {"step", "member", "layer", "site", "unit", "q15", "q50", "q85"},
    "weights": {"step", "member", "layer", "param", "norm", "spectral_norm", "grad_norm", "update_ratio"},
}


def _poly_spec(**overrides):
    return tiny(PRESETS["polynomial-degree3"].spec, **overrides)


def test_tiny_fashion_run_logs_every_table(cache_dir):
    spec = tiny(PRESETS["d2l-dropout"].spec, epochs=2, data__n_train=512, data__n_test=300,
                probe_every=1, probes__probe_batch=64, model__batchnorm="before", model__activation="tanh")
    folder = build_run(spec, cache_dir)
    status = store.read_status(folder)
    assert status["state"] == "finished", status.get("error")
    assert status["step"] == status["total_steps"] == 4 and status["progress"] == 1.0
    assert set(status["final"]) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    for table, columns in EXPECTED_COLUMNS.items():
        frame = store.read_table(folder, table)
        assert not frame.empty, table
        assert columns <= set(frame.columns), (table, columns - set(frame.columns))
    scalars = store.read_table(folder, "scalars")
    assert set(scalars["kind"]) == {"probe", "epoch", "final"}
    epoch_rows = scalars[scalars["kind"] == "epoch"]
    assert sorted(set(epoch_rows["epoch"])) == [1, 2]
    assert set(epoch_rows["split"]) == {"train", "test", "train_batch"}
    # The final scores are those of the saved weights: reload them and score with torch's own loss.
    final_rows = scalars[scalars["kind"] == "final"].set_index(["split", "metric"])["value"]
    data = load_dataset(spec.data)
    model = build_model(spec.model, data.in_features, data.out_features, member_seeds(spec))
    model.load_state_dict(store.load_checkpoint(folder, "final")["model"])
    with torch.no_grad():
        logits = model.eval()(data.x_test)[0]                                         # [300, 10]
    assert final_rows[("test", "loss")] == pytest.approx(F.cross_entropy(logits, data.y_test).item(), rel=1e-5)
    accuracy = (logits.argmax(1) == data.y_test).float().mean().item()
    assert final_rows[("test", "accuracy")] == pytest.approx(accuracy) == status["final"]["test_accuracy"]
    acts = store.read_table(folder, "activations")
    assert sorted(set(acts["step"])) == [0, 1, 2, 3, 4]
    assert set(acts["layer"]) == {"hidden1", "hidden2"} and set(acts["site"]) == {"pre", "post"}
    assert (acts["frac_saturated"] >= 0).all() and (acts["q2"] <= acts["q98"]).all()
    weights = store.read_table(folder, "weights")
    assert set(weights["layer"]) == {"hidden1", "hidden2", "output"}
    later = weights[(weights["step"] > 0) & (weights["param"] == "weight")]
    assert later["update_ratio"].notna().all() and (later["update_ratio"] > 0).all()
    hist = store.read_table(folder, "histograms")
    per_probe = hist.groupby(["step", "layer", "site"])["count"].sum()
    assert (per_probe[per_probe.index.get_level_values("layer") == "hidden1"] == 64 * 256).all()
    final = store.load_checkpoint(folder, "final")
    assert "hidden.hidden1.linear.weight" in final["model"]
    assert not (folder / "checkpoints" / "last.pt").exists()


def test_divergence_is_recorded_with_its_step(cache_dir):
    spec = tiny(PRESETS["weight-decay-0"].spec, optim__lr=100.0, epochs=50)
    folder = build_run(spec, cache_dir)
    status = store.read_status(folder)
    assert status["state"] == "diverged"
    assert isinstance(status["diverged_step"], int) and 1 <= status["diverged_step"] < 50 * 4
    assert str(status["diverged_step"]) in status["error"]
    frame, problems = store.list_runs([cache_dir])
    assert problems == [] and frame["state"].tolist() == ["diverged"]
    scalars = store.read_table(folder, "scalars")  # what was logged before is readable
    assert not scalars.empty and scalars["step"].max() < status["diverged_step"]


def test_a_subset_larger_than_the_dataset_fails_the_run_naming_the_folder_and_its_size(cache_dir):
    spec = tiny(PRESETS["d2l-mlp"].spec, epochs=1, data__n_train=100, data__n_test=10**6)
    folder = build_run(spec, cache_dir)                  # more test images than any copy has
    status = store.read_status(folder)
    assert status["state"] == "failed"
    assert "data.n_test=1000000" in status["error"] and "has only" in status["error"]


def _run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_run_twice_is_a_cache_hit_and_list_show_read_it(cache_dir, capsys):
    args = ["run", "--preset", "polynomial-degree3", "--set", "epochs=3", "--quiet", "--cache-dir", str(cache_dir)]
    code, out, _ = _run_cli(capsys, *args)
    assert code == 0 and "finished" in out
    run_id = PRESETS["polynomial-degree3"].spec.with_overrides({"epochs": 3}).run_id
    assert run_id in out
    mtime = (cache_dir / run_id / "metrics.sqlite").stat().st_mtime_ns
    code, out, _ = _run_cli(capsys, *args)
    assert code == 0 and "already finished" in out
    assert (cache_dir / run_id / "metrics.sqlite").stat().st_mtime_ns == mtime  # not retrained
    code, out, _ = _run_cli(capsys, "list", "--json", "--cache-dir", str(cache_dir))
    listing = json.loads(out)
    assert code == 0 and listing["problems"] == []
    runs = [(r["run_id"], r["state"], r["name"]) for r in listing["runs"]]
    assert runs == [(run_id, "finished", "polynomial-degree3")]
    code, out, _ = _run_cli(capsys, "show", run_id, "--json", "--cache-dir", str(cache_dir))
    shown = json.loads(out)
    assert code == 0 and shown["status"]["state"] == "finished" and shown["spec"]["epochs"] == 3
    assert shown["tables"]["scalars"] > 0 and shown["tables"]["weights"] > 0
    code, out, _ = _run_cli(capsys, "show", run_id, "--cache-dir", str(cache_dir))
    assert code == 0 and "scalars" in out and run_id in out
    code, _, err = _run_cli(capsys, "show", "../../etc", "--cache-dir", str(cache_dir))
    assert code == 2 and "not a run id" in err


BAD_INPUT = [
    ("optim.lr=-1", "optim.lr"),
    ("model.dropout=1.5", "model.dropout"),
    ("model.widths=[]", "model.widths"),
    ("data.name=cifar-11", "data.name"),
    ("model.activation=swish", "model.activation"),
    ("epochs=0", "epochs"),
    ("optim.lrate=0.1", "optim.lrate"),
]


@pytest.mark.parametrize("setting, field", BAD_INPUT, ids=[f for _, f in BAD_INPUT])
def test_cli_bad_input_exits_2_before_writing(cache_dir, capsys, setting, field):
    code, out, err = _run_cli(capsys, "run", "--preset", "d2l-dropout", "--set", setting, "--cache-dir", str(cache_dir))
    assert code == 2
    assert field in err and "error" in err
    assert list(cache_dir.iterdir()) == []


def test_cli_bad_spec_file_and_preset(cache_dir, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"optim": {"lr": -1}, "epochs": 0}))
    code, _, err = _run_cli(capsys, "run", "--spec", str(bad), "--cache-dir", str(cache_dir))
    assert code == 2 and "optim.lr" in err and "epochs" in err
    code, _, err = _run_cli(capsys, "run", "--preset", "no-such-preset", "--cache-dir", str(cache_dir))
    assert code == 2 and "no-such-preset" in err
    code, _, err = _run_cli(capsys, "run", "--cache-dir", str(cache_dir))
    assert code == 2 and "--preset" in err
    assert list(cache_dir.iterdir()) == []


def test_set_values_are_json_with_string_fallback():
    parsed = parse_overrides(["optim.lr=0.5", "model.widths=[64, 32]", "data.name=polynomial",
                                  "model.bias=false", "data.n_train=null", "name=a=b"])
    assert parsed == {"optim.lr": 0.5, "model.widths": [64, 32], "data.name": "polynomial",
                      "model.bias": False, "data.n_train": None, "name": "a=b"}
    with pytest.raises(SpecError, match="key=value"):
        parse_overrides(["optim.lr"])


def test_cli_presets_lists_names(capsys):
    code, out, _ = _run_cli(capsys, "presets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"d2l-dropout", "polynomial-degree3", "weight-decay-3"} <= set(names)


def _linear_weights(folder) -> torch.Tensor:
    return store.load_checkpoint(folder, "final")["model"]["output.weight"][0, 0]  # [features]


def test_polynomial_degree3_matches_least_squares_and_the_truth(cache_dir):
    spec = PRESETS["polynomial-degree3"].spec  # the full textbook schedule: 400 epochs of batch 10
    folder = build_run(spec, cache_dir)
    assert store.read_status(folder)["state"] == "finished"
    learned = _linear_weights(folder)
    data = load_dataset(spec.data)
    closed_form = torch.linalg.lstsq(data.x_train.double(), data.y_train.double()).solution[:, 0].float()
    gap = (learned - closed_form).abs()
    assert (gap[:3] <= 0.05).all(), (learned, closed_form)
    # The x^3/3! feature has the largest scale, so SGD's x^3 weight is still moving after 400 epochs.
    assert gap[3] <= 0.1 and gap[3] == gap.max(), (learned, closed_form)
    truth = torch.tensor([5.0, 1.2, -3.4, 5.6])
    assert torch.allclose(learned, truth, atol=0.35), learned


def test_weight_decay_shrinks_the_weights_tenfold(cache_dir):
    """D2L 4.5 publishes ||w|| = 13.52 (lambda 0) and 0.350 (lambda 3); init N(0, 1) in 200-d."""
    norms = {}
    for lam in (0, 3):
        folder = build_run(PRESETS[f"weight-decay-{lam}"].spec, cache_dir)
        assert store.read_status(folder)["state"] == "finished"
        norms[lam] = _linear_weights(folder).norm().item()
    assert norms[3] * 10 <= norms[0], norms
    # Without decay, SGD moves w only within the span of the 20 examples: most of the init stays.
    assert 10 < norms[0] < 16 and norms[3] < 1, norms


def test_presets_build_specs_without_error():
    for preset in PRESETS.values():
        assert build_spec(json.loads(preset.spec.to_json())) == preset.spec
