"""Result tables: a few rows are a static table (no grid script for the browser to load before
the page's charts paint), a long one keeps the scrolling grid, and the static table shows each
number column with the decimals its values have."""
from __future__ import annotations

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from ui import tables


def test_each_number_column_keeps_the_decimals_its_values_have():
    frame = pd.DataFrame({"mae": [4.01, 3.74, np.nan], "step": [7.0, np.nan, np.nan], "ratio": [0.131594, 1.2, 3.0],
                          "ratio_inf": [np.inf, 1.5, np.nan], "name": ["a", "b", "c"], "epoch": [1, 2, 3]})
    assert [tables.decimals(frame[c]) for c in ("mae", "step", "ratio", "ratio_inf")] == [2, 0, tables.MAX_DECIMALS, 1]
    shown = tables.static_view(frame).to_string(delimiter="|").splitlines()
    assert shown[1].split("|")[1:] == ["4.01", "7", "0.1316", "inf", "a", "1"]
    assert shown[3].split("|")[1:] == ["", "", "3.0000", "", "c", "3"]   # a missing value is an empty cell


def show(rows: int) -> AppTest:
    def page(rows):
        import pandas as pd

        from ui.tables import show_table
        show_table(pd.DataFrame({"x": range(rows)}))

    return AppTest.from_function(page, args=(rows,)).run()


def test_a_short_table_is_static_and_a_long_one_a_grid():
    short, long = show(tables.GRID_ROWS), show(tables.GRID_ROWS + 1)
    assert len(short.table) == 1 and not short.dataframe
    assert len(long.dataframe) == 1 and not long.table
    assert list(short.table[0].value["x"]) == list(range(tables.GRID_ROWS))
