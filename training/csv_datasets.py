"""The Keras course's other two data sets, read from a CSV the user names.

No package ships them, so there is no fallback: the spec field data.data_dir (the file,
or a folder holding it) or an environment variable names the file, and when neither
holds it the message says where to get it. Only numeric input columns are used.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from training import tabular
from training.tabular import DatasetNotFound, Table

COURSE = "the Kaggle 'Intro to Deep Learning' course's dl-course-data"


@dataclass(frozen=True)
class CsvSource:
    name: str                              # the dataset name in specs
    title: str
    filenames: tuple[str, ...]             # looked for inside a named folder
    env_var: str
    features: tuple[str, ...]              # canonical names, matched by normalised name
    target: str
    where: str                             # where to get the file, for the message
    group: str | None = None               # rows sharing this column's value stay on one side of the split
    train_fraction: float = 0.7

    def how_to_get(self, places: list[str]) -> str:
        looked = ", ".join(places) if places else "nowhere (no data.data_dir and no " + self.env_var + ")"
        return (f"The {self.title} data was not found. Looked in: {looked}.\n"
                f"No package ships it: download {self.filenames[0]} ({self.where})\n"
                f"and pass --data-dir FILE_OR_FOLDER (spec field data.data_dir) or set {self.env_var}=FILE")

    def read(self, data_dir: str | None) -> Table:
        paths = tabular.named_csv(data_dir, self.env_var, self.filenames)
        path = next((p for p in paths if p.is_file()), None)
        if path is None:
            raise DatasetNotFound(self.how_to_get([str(p) for p in paths]))
        frame = tabular.read_csv(path)
        table = tabular.table_from_frame(frame, {f: () for f in self.features}, (self.target, ()), str(path),
                                         meta={"source": str(path), "title": self.title})
        if self.group is None:
            return table
        column = tabular.match_columns(list(frame.columns), {self.group: ()}, str(path))[self.group]
        groups = frame[column].fillna("").astype(str).to_numpy()
        return Table(table.x, table.y, table.features, table.target, table.source,
                     {**table.meta, "groups": groups, "group_column": self.group})

    def split(self, table: Table, seed: int):
        groups: np.ndarray | None = table.meta.get("groups")
        if groups is None:
            return tabular.split_indices(len(table), self.train_fraction, seed)
        return tabular.group_split_indices(groups, self.train_fraction, seed)


RED_WINE = CsvSource(
    "red-wine", "red wine quality (Cortez et al. 2009)", ("red-wine.csv", "winequality-red.csv"),
    "REGLAB_RED_WINE_CSV",
    ("fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "free sulfur dioxide",
     "total sulfur dioxide", "density", "pH", "sulphates", "alcohol"),
    "quality", f"{COURSE}, or winequality-red.csv from UCI ML repository id 186, CC BY 4.0")

# The course's 12 numeric audio features (its one-hot playlist_genre is left out), split
# by artist as the course does (its GroupShuffleSplit keeps 75% for training).
SPOTIFY = CsvSource(
    "spotify", "Spotify songs", ("spotify.csv", "spotify_songs.csv"), "REGLAB_SPOTIFY_CSV",
    ("danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness", "instrumentalness",
     "liveness", "valence", "tempo", "duration_ms"),
    "track_popularity", f"{COURSE}, or TidyTuesday 2020-01-21 spotify_songs.csv", group="track_artist",
    train_fraction=0.75)

SOURCES = {s.name: s for s in (RED_WINE, SPOTIFY)}


@functools.lru_cache(maxsize=8)
def _load(name: str, data_dir: str | None, env_value: str | None) -> Table:
    return SOURCES[name].read(data_dir)


def load_table(name: str, data_dir: str | None = None) -> Table:
    """The whole file as a Table, read once per process (per data_dir and environment)."""
    return _load(name, data_dir, os.environ.get(SOURCES[name].env_var))


load_table.cache_clear = _load.cache_clear
