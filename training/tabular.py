"""Tables of numeric features and one regression target, read from CSV files.

The lab's real tabular data sets (Concrete, red wine, Spotify) arrive as a CSV the user
names or, for Concrete, from a Debian package. Column names are matched after
normalisation (lower case, parenthesised units dropped, only letters and digits kept),
so "Cement (component 1)(kg in a m^3 mixture)", "Cement" and "cement" are one column.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from training.fashion_mnist import DatasetNotFound   # one "data set missing" error for every loader

if TYPE_CHECKING:
    import pandas as pd  # imported where a CSV is read: a job on other data never loads pandas

__all__ = ["DatasetNotFound", "Table", "group_split_indices", "match_columns", "named_csv", "normalise_name",
           "read_csv", "split_indices", "table_from_frame"]

# Splits draw from resample_seed + this offset, so that a split never repeats the stream
# the model's initial weights come from (seed 0 = resample_seed 0).
SPLIT_SEED_OFFSET = 3_000_017


@dataclass(frozen=True)
class Table:
    x: np.ndarray                    # [n, d] float32, in the file's units
    y: np.ndarray                    # [n] float32
    features: tuple[str, ...]        # d canonical names, in column order of x
    target: str
    source: str                      # where the rows came from, for messages and meta
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)


def normalise_name(name: str) -> str:
    """'Water  (component 4)(kg in a m^3 mixture)' -> 'water'; 'blast_furnace_slag' -> 'blastfurnaceslag'."""
    without_units = re.sub(r"\([^)]*\)", "", str(name))
    return re.sub(r"[^a-z0-9]", "", without_units.lower())


def match_columns(columns: list[str], wanted: dict[str, tuple[str, ...]], source: str) -> dict[str, str]:
    """Map each canonical name to the frame's column whose normalised name is one of its aliases.

    `wanted` is canonical -> accepted normalised names. Raises ValueError naming what is
    missing and what the file has.
    """
    by_norm = {normalise_name(c): c for c in columns}
    found, missing = {}, []
    for canonical, aliases in wanted.items():
        hit = next((by_norm[a] for a in (normalise_name(canonical), *aliases) if a in by_norm), None)
        if hit is None:
            missing.append(canonical)
        else:
            found[canonical] = hit
    if missing:
        raise ValueError(f"{source}: no column for {', '.join(missing)}; the file has: {', '.join(map(str, columns))}")
    return found


def table_from_frame(frame: pd.DataFrame, features: dict[str, tuple[str, ...]], target: tuple[str, tuple[str, ...]],
                     source: str, meta: dict | None = None) -> Table:
    """Pick the feature and target columns (by normalised name) as float32 arrays; no NaNs allowed."""
    target_name, target_aliases = target
    columns = match_columns(list(frame.columns), {**features, target_name: target_aliases}, source)
    import pandas as pd

    numeric = frame[[columns[c] for c in (*features, target_name)]].apply(pd.to_numeric, errors="coerce")
    values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    bad_rows = np.flatnonzero(np.isnan(values).any(axis=1))
    if len(bad_rows):
        raise ValueError(f"{source}: {len(bad_rows)} rows have a missing or non-numeric value "
                         f"(first at data row {bad_rows[0] + 1})")
    return Table(values[:, :-1].astype(np.float32), values[:, -1].astype(np.float32), tuple(features),
                 target_name, source, dict(meta or {}))


def read_csv(path: Path) -> pd.DataFrame:
    """Comma- or semicolon-separated (UCI's wine files use ';'), sniffed from the header."""
    import pandas as pd

    return pd.read_csv(path, sep=None, engine="python")


def named_csv(data_dir: str | None, env_var: str, filenames: tuple[str, ...]) -> list[Path]:
    """The CSV files the user points at: data_dir, then $env_var; each a file, or a folder
    holding one of `filenames` (each folder contributes all of them, in order)."""
    paths = []
    for named in (data_dir, os.environ.get(env_var)):
        if named:
            path = Path(named).expanduser()
            paths.extend([path / f for f in filenames] if path.is_dir() else [path])
    return paths


def split_indices(n: int, train_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random train/test split of range(n): round(train_fraction * n) training rows, drawn from `seed`."""
    generator = torch.Generator().manual_seed(seed + SPLIT_SEED_OFFSET)
    order = torch.randperm(n, generator=generator)
    n_train = round(train_fraction * n)
    return order[:n_train].sort().values, order[n_train:].sort().values


def group_split_indices(groups: np.ndarray, train_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole groups (e.g. all songs of one artist) go to one side: groups in random order
    fill the training side until it holds about train_fraction of the rows."""
    codes = np.unique(groups, return_inverse=True)[1].reshape(-1)   # [n] group number of each row
    counts = np.bincount(codes)
    generator = torch.Generator().manual_seed(seed + SPLIT_SEED_OFFSET)
    order = torch.randperm(len(counts), generator=generator).numpy()
    filled = np.cumsum(counts[order])
    train_groups = order[filled <= train_fraction * len(groups)]
    in_train = np.isin(codes, train_groups)
    return torch.from_numpy(np.flatnonzero(in_train)), torch.from_numpy(np.flatnonzero(~in_train))
