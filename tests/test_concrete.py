"""The real Concrete data and the course's other CSV data sets: column matching on tiny
files written here, the R lazy-load reader (on a database built here, and on Debian's
r-cran-modeldata where it is installed), the how-to message, the seeded split, and the
Keras presets' layout."""
from __future__ import annotations

import bz2
import lzma
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
import rdata
import torch

from cache import store
from runspec import DataSpec
from tests.conftest import build_run, tiny
from training import concrete, csv_datasets, datasets, fashion_mnist, r_lazyload, tabular
from nets.models import BatchedBatchNorm, BatchedLinear, InvertedDropout, build_model
from training.presets import PRESETS

KAGGLE = ["Cement", "BlastFurnaceSlag", "FlyAsh", "Water", "Superplasticizer", "CoarseAggregate", "FineAggregate",
          "Age", "CompressiveStrength"]
UCI = ["Cement (component 1)(kg in a m^3 mixture)", "Blast Furnace Slag (component 2)(kg in a m^3 mixture)",
       "Fly Ash (component 3)(kg in a m^3 mixture)", "Water  (component 4)(kg in a m^3 mixture)",
       "Superplasticizer (component 5)(kg in a m^3 mixture)", "Coarse Aggregate  (component 6)(kg in a m^3 mixture)",
       "Fine Aggregate (component 7)(kg in a m^3 mixture)", "Age (day)",
       "Concrete compressive strength(MPa, megapascals) "]
# The first two rows of the UCI file (and of modeldata's tibble).
ROWS = [[540.0, 0.0, 0.0, 162.0, 2.5, 1040.0, 676.0, 28, 79.99],
        [540.0, 0.0, 0.0, 162.0, 2.5, 1055.0, 676.0, 28, 61.89]]
FIRST_ROW = ROWS[0]


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No R library, no env vars: only what a test names is found."""
    monkeypatch.setattr(concrete, "R_LIBRARIES", (tmp_path / "no-r-library",))
    for var in (concrete.CSV_ENV, concrete.R_LIBS_ENV, "REGLAB_RED_WINE_CSV", "REGLAB_SPOTIFY_CSV"):
        monkeypatch.delenv(var, raising=False)
    concrete.load_table.cache_clear()
    csv_datasets.load_table.cache_clear()
    yield tmp_path
    concrete.load_table.cache_clear()
    csv_datasets.load_table.cache_clear()


def write_concrete_csv(path, columns, rows=ROWS):
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def synthetic_rows(n=1030):
    """The synthetic stand-in's rows, raw, as CSV rows: real ranges, no real data needed."""
    data = datasets.load_dataset(DataSpec(name="concrete-synthetic", normalize="none", n_train=n - 309))
    x = torch.cat([data.x_train, data.x_test]).numpy()
    y = torch.cat([data.y_train, data.y_test]).numpy()
    return np.hstack([x, y]).tolist()


# ------------------------------------------------------------------ CSV files

@pytest.mark.parametrize("columns", [KAGGLE, UCI], ids=["kaggle", "uci"])
def test_csv_columns_are_matched_by_normalised_name(nowhere, columns):
    path = write_concrete_csv(nowhere / "concrete.csv", columns)
    table = concrete.load_table(str(path))
    assert table.features == tuple(concrete.FEATURES) and len(table.features) == 8
    np.testing.assert_allclose(table.x[0], FIRST_ROW[:8])
    assert table.y[0] == pytest.approx(79.99) and table.x.dtype == np.float32


def test_csv_column_order_does_not_matter_and_a_folder_or_env_var_finds_it(nowhere, monkeypatch):
    frame = pd.DataFrame(ROWS, columns=KAGGLE)[list(reversed(KAGGLE))]
    (nowhere / "data").mkdir()
    frame.to_csv(nowhere / "data" / "concrete.csv", index=False)
    np.testing.assert_allclose(concrete.load_table(str(nowhere / "data")).x[1], ROWS[1][:8])
    monkeypatch.setenv(concrete.CSV_ENV, str(nowhere / "data" / "concrete.csv"))
    concrete.load_table.cache_clear()
    assert concrete.load_table().y[1] == pytest.approx(61.89)


def test_a_csv_missing_a_column_names_it(nowhere):
    path = nowhere / "concrete.csv"
    pd.DataFrame(ROWS, columns=KAGGLE).drop(columns="FlyAsh").to_csv(path, index=False)
    with pytest.raises(ValueError, match="no column for fly_ash"):
        concrete.load_table(str(path))


def test_normalise_name_drops_units_case_and_punctuation():
    assert tabular.normalise_name("Water  (component 4)(kg in a m^3 mixture)") == "water"
    assert tabular.normalise_name("blast_furnace_slag") == tabular.normalise_name("BlastFurnaceSlag")


# ------------------------------------------------------------------ R lazy-load database

def pack_record(serialized: bytes, compressed: int, kind: bytes = b"Z") -> bytes:
    """One .rdb record as R's R_compress1/2/3 write it."""
    header = struct.pack(">I", len(serialized))
    if compressed == 1:
        return header + zlib.compress(serialized)
    body = {b"Z": lambda s: lzma.compress(s, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}]),
            b"2": bz2.compress, b"1": zlib.compress, b"0": bytes}[kind](serialized)
    return header + kind + body


def write_lazyload_db(folder, frames: dict[str, pd.DataFrame], compressed: int, kind: bytes = b"Z") -> None:
    """A modeldata-like data/Rdata.rdb + Rdata.rdx holding `frames`."""
    folder.mkdir(parents=True)
    blob, variables = b"", {}
    for name, frame in frames.items():
        rdata.write_rds(folder / "one.rds", frame, compression=None)
        record = pack_record((folder / "one.rds").read_bytes(), compressed, kind)
        variables[name] = np.array([len(blob), len(record)], dtype=np.int32)
        blob += record
    (folder / "one.rds").unlink()
    (folder / "Rdata.rdb").write_bytes(blob)
    rdata.write_rds(folder / "Rdata.rdx", {"variables": variables, "references": {},
                                           "compressed": np.array([compressed], dtype=np.int32)})


MODELDATA_COLUMNS = [c for c in concrete.FEATURES] + ["compressive_strength"]


@pytest.mark.parametrize("compressed, kind", [(1, b""), (2, b"2"), (3, b"Z"), (3, b"0")])
def test_lazyload_reader_unpacks_every_r_compression(tmp_path, compressed, kind):
    frame = pd.DataFrame(ROWS, columns=MODELDATA_COLUMNS)
    other = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    write_lazyload_db(tmp_path / "data", {"other": other, "concrete": frame}, compressed, kind)
    back = r_lazyload.read_object(tmp_path / "data", "concrete")
    np.testing.assert_allclose(back.to_numpy(dtype=float), np.array(ROWS))
    assert list(back.columns) == MODELDATA_COLUMNS
    with pytest.raises(KeyError, match="has no object 'cells'"):
        r_lazyload.read_object(tmp_path / "data", "cells")


def test_an_r_library_named_by_env_var_is_searched(nowhere, monkeypatch):
    write_lazyload_db(nowhere / "lib" / "modeldata" / "data", {"concrete": pd.DataFrame(ROWS, columns=MODELDATA_COLUMNS)}, 3)
    monkeypatch.setenv(concrete.R_LIBS_ENV, str(nowhere / "lib"))
    table = concrete.load_table()
    assert table.source.endswith("Rdata.rdb") and len(table) == 2


def installed_modeldata():
    found = [d for d in concrete.modeldata_dirs() if (d / "Rdata.rdx").is_file()]
    if not found:
        pytest.skip("Debian's r-cran-modeldata is not installed (/usr/lib/R/site-library/modeldata); "
                    "CI installs it, or set REGLAB_R_LIBS to an extracted copy")
    return found[0]


def test_debian_modeldata_concrete_is_the_uci_table():
    table = concrete.read_modeldata(installed_modeldata())
    assert table.x.shape == (1030, 8) and table.y.shape == (1030,)
    np.testing.assert_allclose(table.x[0], FIRST_ROW[:8])
    assert table.y[0] == pytest.approx(79.99)
    assert table.x[:, 7].min() == 1 and table.x[:, 7].max() == 365     # age in days


# ------------------------------------------------------------------ the message

def test_missing_everywhere_says_both_ways_to_get_it(nowhere):
    with pytest.raises(tabular.DatasetNotFound) as err:
        datasets.load_dataset(DataSpec(name="concrete", data_dir=str(nowhere / "mine")))
    message = str(err.value)
    assert "apt-get install r-cran-modeldata" in message and "concrete.csv" in message
    assert "id 165" in message and "Kaggle" in message
    assert concrete.CSV_ENV in message and "--data-dir" in message
    assert str(nowhere / "mine") in message and str(nowhere / "no-r-library") in message
    assert isinstance(err.value, fashion_mnist.DatasetNotFound)     # what the pages already catch


@pytest.mark.parametrize("name, env_var", [("red-wine", "REGLAB_RED_WINE_CSV"), ("spotify", "REGLAB_SPOTIFY_CSV")])
def test_course_csvs_missing_say_where_to_get_them(nowhere, name, env_var):
    with pytest.raises(tabular.DatasetNotFound) as err:
        datasets.load_dataset(DataSpec(name=name))
    assert env_var in str(err.value) and "Kaggle" in str(err.value) and "No package ships it" in str(err.value)


# ------------------------------------------------------------------ split and dataset

def test_split_is_70_30_disjoint_and_drawn_from_resample_seed(nowhere):
    path = write_concrete_csv(nowhere / "concrete.csv", KAGGLE, synthetic_rows())
    first = datasets.load_dataset(DataSpec(name="concrete", normalize="none", data_dir=str(path)))
    again = datasets.load_dataset(DataSpec(name="concrete", normalize="none", data_dir=str(path)))
    other = datasets.load_dataset(DataSpec(name="concrete", normalize="none", data_dir=str(path), resample_seed=1))
    assert first.x_train.shape == (721, 8) and first.x_test.shape == (309, 8)
    assert first.y_train.shape == (721, 1) and first.y_train.dtype == torch.float32
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_test, again.y_test)
    assert not torch.equal(first.x_train, other.x_train)
    rows = {tuple(r) for r in torch.cat([first.x_train, first.x_test]).tolist()}
    assert len(rows) == 1030                                        # every row once, on one side
    assert first.x_train.max() > 300 and first.x_train[:, 7].max() <= 365   # raw scales kept
    assert first.meta["features"] == tuple(concrete.FEATURES) and "CC BY 4.0" in first.meta["credit"]


def test_red_wine_reads_uci_semicolons_and_spotify_splits_by_artist(nowhere):
    wine_columns = [*csv_datasets.RED_WINE.features, "quality"]
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.random((20, 12)), columns=wine_columns).to_csv(nowhere / "winequality-red.csv", sep=";", index=False)
    wine = datasets.load_dataset(DataSpec(name="red-wine", normalize="none", data_dir=str(nowhere)))
    assert wine.in_features == 11 and len(wine.y_train) == 14 and len(wine.y_test) == 6
    songs = pd.DataFrame(rng.random((40, 12)), columns=csv_datasets.SPOTIFY.features)
    songs["track_popularity"] = rng.integers(0, 100, 40)
    songs["track_artist"] = [f"artist {i % 8}" for i in range(40)]
    songs["track_name"] = "a song"
    songs.to_csv(nowhere / "spotify.csv", index=False)
    table = csv_datasets.load_table("spotify", str(nowhere))
    train_idx, test_idx = csv_datasets.SPOTIFY.split(table, seed=0)
    artists = table.meta["groups"]
    assert not set(artists[train_idx.numpy()]) & set(artists[test_idx.numpy()])
    assert len(train_idx) + len(test_idx) == 40 and 0 < len(test_idx) < 40
    assert datasets.load_dataset(DataSpec(name="spotify", data_dir=str(nowhere))).in_features == 12


# ------------------------------------------------------------------ the Keras presets

def test_keras_presets_are_the_course_setup_and_layout():
    for name in ("keras-concrete-nobn", "keras-concrete-bn", "keras-concrete-bn-preact", "keras-concrete-inputbn",
                 "keras-concrete-dropout-bn"):
        spec = PRESETS[name].spec
        assert spec.data.name == "concrete" and spec.data.normalize == "none"
        assert spec.model.widths == (512, 512, 512) and spec.model.activation == "relu"
        assert (spec.optim.name, spec.optim.lr, spec.optim.momentum) == ("sgd", 0.01, 0.0)
        assert (spec.loss, spec.batch_size, spec.epochs) == ("mae", 64, 100)
    # Keras: BN, Dense(relu), BN, Dense(relu), BN, Dense(relu), BN, Dense(1) = a BN in front of every Dense
    course = PRESETS["keras-concrete-bn"].spec.model
    assert course.input_batchnorm and course.batchnorm == "after"
    assert PRESETS["keras-concrete-nobn"].spec.model.batchnorm == "none"
    assert PRESETS["keras-concrete-dropout-bn"].spec.model.dropout_rates == (0.3, 0.3, 0.3)


def test_raw_concrete_features_diverge_without_bn_and_train_with_it(nowhere, tmp_path):
    path = write_concrete_csv(nowhere / "concrete.csv", KAGGLE, synthetic_rows())
    budget = dict(epochs=1, probe_every=6, probes__activations=False, probes__weights=False, data__data_dir=str(path))
    plain = store.read_status(build_run(tiny(PRESETS["keras-concrete-nobn"].spec, **budget), tmp_path / "runs"))
    assert plain["state"] == "diverged"
    with_bn = store.read_status(build_run(tiny(PRESETS["keras-concrete-bn"].spec, **budget), tmp_path / "runs"))
    assert with_bn["state"] == "finished" and np.isfinite(with_bn["final"]["test_loss"])


def layer_order(model_spec, x: torch.Tensor) -> list[str]:
    """Which affine ("Dense") and BN layers a forward pass runs, in order, plus dropout."""
    order = []
    model = build_model(model_spec, x.shape[1], 1, [0])
    kinds = {BatchedLinear: "Dense", BatchedBatchNorm: "BN", InvertedDropout: "Dropout"}
    for module in model.modules():
        if type(module) in kinds:
            module.register_forward_hook(lambda m, args, out, kind=kinds[type(module)]: order.append(kind))
    model(x)
    return [k for k in order if k != "Dropout" or model_spec.dropout]


def test_the_course_model_has_a_bn_in_front_of_every_dense_layer():
    x = torch.randn(16, 8) * 100
    assert layer_order(PRESETS["keras-concrete-bn"].spec.model, x) == ["BN", "Dense"] * 4
    assert layer_order(PRESETS["keras-concrete-nobn"].spec.model, x) == ["Dense"] * 4
    assert layer_order(PRESETS["keras-concrete-dropout-bn"].spec.model, x) == ["BN"] + ["Dense", "BN", "Dropout"] * 3 + ["Dense"]


def test_every_declared_dataset_name_has_a_loader():
    from runspec import DATASET_DESCRIPTIONS

    assert set(DATASET_DESCRIPTIONS) == set(datasets.DATASETS)
