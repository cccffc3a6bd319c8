"""Result tables on lesson pages.

A table of a few rows is drawn as static HTML (st.table). st.dataframe's interactive grid loads
a large script the first time a page shows one: on 2 cores about 0.6 s of the browser's main
thread, paid before the page's charts paint (bench/bench_browser.py). The grid is kept for
tables long enough to need its scrolling and sorting (the Runs table, hundreds of rows, draws
one of its own).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

GRID_ROWS = 25      # longer than a screenful: scroll and sort in the grid
MAX_DECIMALS = 4    # st.table's own precision


def show_table(frame: pd.DataFrame, hide_index: bool = True) -> None:
    """A result table: static up to GRID_ROWS rows, the scrolling grid beyond."""
    if len(frame) > GRID_ROWS:
        st.dataframe(frame, hide_index=hide_index)
    else:
        st.table(static_view(frame), hide_index=hide_index)


def static_view(frame: pd.DataFrame):
    """The frame styled for a static table: each number column with as many decimals as its
    values have (4.01, not st.table's 4.0100; a whole-number column with gaps as 7, not 7.0000),
    a missing value as an empty cell."""
    floats = frame.select_dtypes("float").columns
    return frame.style.format({c: f"{{:.{decimals(frame[c])}f}}" for c in floats}, na_rep="")


def decimals(column: pd.Series) -> int:
    """The fewest decimals (at most MAX_DECIMALS) that show every finite value of the column as it is."""
    values = column[np.isfinite(column)].to_numpy()
    return next((d for d in range(MAX_DECIMALS) if np.allclose(values, values.round(d), rtol=0, atol=1e-9)),
                MAX_DECIMALS)
