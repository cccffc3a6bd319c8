"""The batch-normalization lesson's charts drawn as their pictures say: the ridgeline's rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import covariate_shift as cs
from analysis import covariate_shift_charts as ch


def test_the_ridgeline_raises_each_step_to_its_own_row_the_first_on_top():
    hist = pd.DataFrame([{"step": s, "member": 0, "layer": "hidden1", "site": "pre", "bin": b,
                          "lo": b, "hi": b + 1.0, "count": (b + 1) * (s + 1)} for s in range(20) for b in range(3)])
    ridge = cs.ridgeline_frame({"BN": hist, "no BN": hist}, "hidden1", n_steps=5)
    spec = ch.ridgeline_chart(ridge, overlap=1.5).to_dict()
    rows = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    base = rows.groupby("step")["base"].unique().map(lambda b: b.tolist())
    assert base.to_dict() == {0: [4.0], 5: [3.0], 10: [2.0], 14: [1.0], 19: [0.0]}   # one row per step, top down
    assert np.allclose(rows["top"], rows["base"] + 1.5 * rows["density"])
    y = spec["spec"]["encoding"]["y"]
    assert y["axis"]["values"] == [4, 3, 2, 1, 0] and "'4': '0'" in y["axis"]["labelExpr"]
    assert y["scale"]["domain"] == [0, 5.5] and spec["facet"]["column"]["field"] == "variant"   # 2 views, not 10 cells
