"""Concrete Compressive Strength (I-C. Yeh, 1998; UCI ML repository id 165; CC BY 4.0).

1,030 mixes (25 of them exact repeats, kept, as the Keras course keeps them), 8 inputs on
their own scales: cement, blast furnace slag, fly ash, water, superplasticizer, coarse and
fine aggregate in kg per m^3 of mixture, and age in days (1-365); target: compressive
strength in MPa.

Search order:
1. a `concrete.csv` the user names: the spec field data.data_dir (the file, or a folder
   holding concrete.csv), then $REGLAB_CONCRETE_CSV. Columns are matched by normalised
   name: the Kaggle course's (Cement, BlastFurnaceSlag, ..., Age, CompressiveStrength),
   UCI's long ones ("Cement (component 1)(kg in a m^3 mixture)", ...) or modeldata's.
2. Debian's `r-cran-modeldata`: the `concrete` tibble in modeldata/data/Rdata.rdb under
   an R library folder ($REGLAB_R_LIBS, colon-separated, then the system ones), read
   without R (training/r_lazyload.py).
3. otherwise DatasetNotFound, saying both ways to get it.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from training import tabular
from training.tabular import DatasetNotFound, Table

CSV_ENV, R_LIBS_ENV = "REGLAB_CONCRETE_CSV", "REGLAB_R_LIBS"
R_LIBRARIES = (Path("/usr/lib/R/site-library"), Path("/usr/local/lib/R/site-library"), Path("/usr/lib/R/library"))
TRAIN_FRACTION = 0.7
# canonical name -> other accepted spellings, normalised (see tabular.normalise_name)
FEATURES = {
    "cement": (),
    "blast_furnace_slag": ("slag",),
    "fly_ash": ("ash",),
    "water": (),
    "superplasticizer": ("superplasticiser", "plasticizer"),
    "coarse_aggregate": ("coarseagg",),
    "fine_aggregate": ("fineagg",),
    "age": ("ageday", "agedays"),
}
TARGET = ("compressive_strength", ("concretecompressivestrength", "strength", "csmpa"))
UNITS = {**{name: "kg/m^3" for name in FEATURES}, "age": "days", "compressive_strength": "MPa"}
CREDIT = ("I-C. Yeh, Modeling of strength of high-performance concrete using artificial neural networks, "
          "Cement and Concrete Research 28(12), 1998; UCI Machine Learning Repository (id 165), CC BY 4.0")
HOW_TO_GET = (
    "The Concrete Compressive Strength data was not found. Looked in: {places}.\n"
    "Get it one of these ways:\n"
    "  * Debian/Ubuntu: sudo apt-get install r-cran-modeldata (R itself is not needed;\n"
    "    or set REGLAB_R_LIBS to an R library folder holding modeldata/)\n"
    "  * download concrete.csv (the Kaggle 'Intro to Deep Learning' course's dl-course-data,\n"
    "    or UCI ML repository id 165, https://archive.ics.uci.edu/dataset/165, saved as CSV)\n"
    "    and pass --data-dir FILE_OR_FOLDER (spec field data.data_dir) or set REGLAB_CONCRETE_CSV"
)


def read_csv(path: Path) -> Table:
    return tabular.table_from_frame(tabular.read_csv(path), FEATURES, TARGET, str(path), meta=_meta(path))


def modeldata_dirs() -> list[Path]:
    """modeldata/data under each R library folder, $REGLAB_R_LIBS first."""
    named = [Path(p).expanduser() for p in os.environ.get(R_LIBS_ENV, "").split(os.pathsep) if p]
    return [library / "modeldata" / "data" for library in (*named, *R_LIBRARIES)]


def read_modeldata(data_dir: Path) -> Table:
    """The `concrete` tibble from an installed modeldata package's lazy-load database."""
    from training import r_lazyload   # imports rdata (and xarray): only when the package is there

    frame = r_lazyload.read_object(data_dir, "concrete")
    return tabular.table_from_frame(frame, FEATURES, TARGET, str(data_dir / "Rdata.rdb"), meta=_meta(data_dir))


def _meta(source: Path) -> dict:
    return {"units": UNITS, "credit": CREDIT, "source": str(source)}


@functools.lru_cache(maxsize=4)
def _load(data_dir: str | None, csv_env: str | None, r_libs_env: str | None) -> Table:
    csvs = tabular.named_csv(data_dir, CSV_ENV, ("concrete.csv", "Concrete_Data.csv"))
    for path in csvs:
        if path.is_file():
            return read_csv(path)
    r_dirs = modeldata_dirs()
    for folder in r_dirs:
        if (folder / "Rdata.rdx").is_file() and (folder / "Rdata.rdb").is_file():
            return read_modeldata(folder)
    places = [str(p) for p in csvs] + [str(d / "Rdata.rdb") for d in r_dirs]
    raise DatasetNotFound(HOW_TO_GET.format(places=", ".join(places)))


def load_table(data_dir: str | None = None) -> Table:
    """All 1,030 rows, read once per process (per data_dir and environment)."""
    return _load(data_dir, os.environ.get(CSV_ENV), os.environ.get(R_LIBS_ENV))


load_table.cache_clear = _load.cache_clear   # tests point the environment elsewhere
