"""RunSpec: validation messages name the bad field, JSON round-trip, canonical run ids."""
from __future__ import annotations

import json

import pytest

from training.presets import PRESETS
from runspec import RunSpec, SpecError, build_spec, check_run_id, load_spec_json

BAD_FIELDS = [
    ({"optim": {"lr": -1}}, "optim.lr", "-1"),
    ({"model": {"dropout": 1.5}}, "model.dropout", "1.5"),
    ({"model": {"dropout": [0.2, 1.0]}}, "model.dropout", "1.0"),
    ({"model": {"widths": []}}, "model.widths", "[]"),
    ({"model": {"widths": [64, 0]}}, "model.widths", "0"),
    ({"data": {"name": "cifar-11"}}, "data.name", "cifar-11"),
    ({"model": {"activation": "swish"}}, "model.activation", "swish"),
    ({"epochs": 0}, "epochs", "0"),
    ({"batch_size": 0}, "batch_size", "0"),
    ({"data": {"label_noise": 1.5}}, "data.label_noise", "1.5"),
    ({"data": {"normalize": "zscore"}}, "data.normalize", "zscore"),
    ({"model": {"batchnorm": "middle"}}, "model.batchnorm", "middle"),
    ({"optim": {"name": "rmsprop"}}, "optim.name", "rmsprop"),
    ({"optim": {"momentum": 1.0}}, "optim.momentum", "1.0"),
    ({"optim": {"betas": [0.9, 1.2]}}, "optim.betas", "1.2"),
    ({"optim": {"weight_decay": -0.1}}, "optim.weight_decay", "-0.1"),
    ({"loss": "hinge"}, "loss", "hinge"),
    ({"device": "tpu"}, "device", "tpu"),
    ({"probe_every": 0}, "probe_every", "0"),
    ({"model": {"init_std": 0}}, "model.init_std", "0"),
    ({"model": {"widths": [8, 8], "dropout": [0.1]}}, "model.dropout", "1 rates for 2"),
    ({"model": {"kind": "linear", "widths": [8]}}, "model.widths", "[8]"),
    ({"optim": {"learning_rate": 0.1}}, "optim.learning_rate", "0.1"),
]


@pytest.mark.parametrize("tree, field, shown", BAD_FIELDS, ids=[f for _, f, _ in BAD_FIELDS])
def test_bad_field_message_names_field_and_value(tree, field, shown):
    with pytest.raises(SpecError) as err:
        build_spec(tree)
    message = str(err.value)
    assert field in message
    assert shown in message


def test_several_bad_fields_are_all_named():
    with pytest.raises(SpecError) as err:
        build_spec({"optim": {"lr": -1}, "epochs": 0, "model": {"activation": "swish"}})
    for field in ("optim.lr", "epochs", "model.activation"):
        assert field in str(err.value)


def test_json_round_trip_and_canonical_form():
    spec = build_spec({"name": "x", "model": {"widths": [32, 16], "dropout": [0.1, 0.5]}, "optim": {"lr": 0.3}})
    text = spec.to_json()
    again = load_spec_json(text)
    assert again == spec
    assert again.run_id == spec.run_id
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    assert "batch_size" in json.loads(text)  # defaults are part of the identity


def test_run_id_changes_with_any_field_and_ignores_key_order():
    a = build_spec({"optim": {"lr": 0.1, "name": "sgd"}, "seed": 1})
    b = build_spec({"seed": 1, "optim": {"name": "sgd", "lr": 0.1}})
    assert a.run_id == b.run_id
    assert check_run_id(a.run_id) == a.run_id
    assert a.with_overrides({"seed": 2}).run_id != a.run_id
    assert a.with_overrides({"optim.lr": 0.2}).run_id != a.run_id


def test_spec_is_frozen():
    spec = RunSpec()
    with pytest.raises(Exception):
        spec.epochs = 3  # type: ignore[misc]
    with pytest.raises(Exception):
        spec.optim.lr = 3.0  # type: ignore[misc]


def test_with_overrides_validates_and_rejects_unknown_keys():
    spec = RunSpec()
    changed = spec.with_overrides({"optim.lr": 0.5, "model.widths": [64, 32], "model.dropout": [0.2, 0.5]})
    assert changed.optim.lr == 0.5 and changed.model.widths == (64, 32)
    assert changed.model.dropout_rates == (0.2, 0.5)
    assert spec.optim.lr == 0.1  # the original is untouched
    with pytest.raises(SpecError, match="optim.lrate"):
        spec.with_overrides({"optim.lrate": 0.5})
    with pytest.raises(SpecError, match="epochs.x"):
        spec.with_overrides({"epochs.x": 1})
    with pytest.raises(SpecError, match="optim.lr"):
        spec.with_overrides({"optim.lr": -1})


def test_scalar_dropout_applies_to_every_layer():
    spec = build_spec({"model": {"widths": [8, 8, 8], "dropout": 0.3}})
    assert spec.model.dropout_rates == (0.3, 0.3, 0.3)


@pytest.mark.parametrize("bad", ["abc", "ABCDEF123456", "../../etc/pa", "0123456789a", "0123456789abc", 12])
def test_check_run_id_rejects_non_ids(bad):
    with pytest.raises(SpecError):
        check_run_id(bad)


def test_load_spec_json_rejects_non_objects():
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec_json("{nope")
    with pytest.raises(SpecError, match="object"):
        load_spec_json("[1, 2]")


def test_required_presets_exist_and_validate():
    for name in ("d2l-dropout", "d2l-no-dropout", "polynomial-degree3", "polynomial-degree1",
                 "polynomial-degree19", "weight-decay-0", "weight-decay-3"):
        spec = PRESETS[name].spec
        assert spec.name == name
    d2l = PRESETS["d2l-dropout"].spec
    assert d2l.model.widths == (256, 256) and d2l.model.dropout_rates == (0.2, 0.5)
    assert d2l.optim.lr == 0.5 and d2l.batch_size == 256 and d2l.epochs == 10
    poly = PRESETS["polynomial-degree3"].spec
    assert (poly.optim.lr, poly.batch_size, poly.epochs, poly.data.degree) == (0.01, 10, 400, 3)
    assert PRESETS["weight-decay-3"].spec.optim.weight_decay == 3.0


# ---------------------------------------------------------------- stable run ids

def _preset_ids() -> dict[str, str]:
    from training.presets import PRESETS, SWEEPS

    ids = {name: preset.spec.run_id for name, preset in PRESETS.items()}
    for name, sweep in SWEEPS.items():
        ids.update({f"{name}:{point}": spec.run_id for point, spec in sweep.specs()})
    return ids


def test_a_new_defaulted_field_keeps_every_preset_id(monkeypatch):
    """Adding a field with a default (here to ProbeSpec and to RunSpec) must not re-key the cache."""
    import runspec.spec as spec_module
    from pydantic import create_model

    before = _preset_ids()
    probes = create_model("ProbeSpec", __base__=spec_module.ProbeSpec, gradient_noise=(bool, False))
    run = create_model("RunSpec", __base__=spec_module.RunSpec, probes=(probes, probes()), warmup_steps=(int, 0))
    monkeypatch.setattr(spec_module, "RunSpec", run)
    assert spec_module.build_spec({}).__class__ is run and "warmup_steps" in run.model_fields
    after = _preset_ids()
    assert after == before
    # ...while setting the new field away from its default is a different run.
    spec = spec_module.build_spec({"name": "x", "warmup_steps": 5})
    assert spec.run_id != spec_module.build_spec({"name": "x"}).run_id


def test_changing_a_default_with_a_version_bump_changes_the_ids(monkeypatch):
    import runspec.spec as spec_module

    before = _preset_ids()
    monkeypatch.setattr(spec_module, "SPEC_VERSION", spec_module.SPEC_VERSION + 1)
    after = _preset_ids()
    assert set(after) == set(before)
    assert all(after[name] != before[name] for name in before)


def test_the_id_ignores_fields_left_at_their_defaults():
    explicit = build_spec({"name": "a", "epochs": 10, "optim": {"lr": 0.1, "momentum": 0.0}})
    assert explicit.run_id == build_spec({"name": "a"}).run_id
    assert build_spec({"name": "a", "epochs": 11}).run_id != explicit.run_id


def test_an_old_spec_json_without_a_new_field_still_reads(tmp_path):
    """A folder written before a field existed: spec.json lacks it, the store still serves it."""
    import json

    from cache import store

    spec = build_spec({"name": "old", "epochs": 3})
    folder = store.create_run_folder(tmp_path, spec)
    tree = json.loads((folder / "spec.json").read_text())
    del tree["probes"]["smoothness"]                      # as if written before `smoothness` existed
    (folder / "spec.json").write_text(json.dumps(tree))
    assert store.read_spec(folder).run_id == spec.run_id
    assert store.create_run_folder(tmp_path, spec) == folder


def test_rekey_renames_folders_named_by_an_older_id_rule(tmp_path):
    from cache import store
    from cache.rekey import rekey_folders

    spec = build_spec({"name": "old", "epochs": 3})
    folder = store.create_run_folder(tmp_path, spec)
    stale = folder.rename(tmp_path / "0123456789ab")
    renamed, problems = rekey_folders(tmp_path)
    assert renamed == [("0123456789ab", spec.run_id)] and problems == []
    assert (tmp_path / spec.run_id / "spec.json").exists() and not stale.exists()
