"""Activation sparsity and learned features of a one-hidden-layer autoencoder (Srivastava et
al. 2014, section 7.2, Figs. 7 and 8): pure functions, tensors or frames in, frames out.

The post-processing step (postprocess/autoencoder.py) feeds them the hidden ReLU outputs on
the test images and the trained weights; the page reads back the tables they make.
"""
from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pandas as pd
import torch

# Shared bin edges, so the runs with and without dropout land in the same bars. A value
# above the last edge is counted in the last bar (the chart labels it "and above").
UNIT_MEAN_EDGES = tuple(np.round(np.linspace(0.0, 4.0, 41), 3))
ACTIVATION_EDGES = tuple(np.round(np.linspace(0.0, 10.0, 41), 3))


def sparsity_row(h: torch.Tensor) -> dict:
    """h [n, U] hidden activations -> the numbers the page and the README quote.

    mean_activation: the mean over units of each unit's mean over the images (Srivastava's
    Fig. 8 summary); frac_zero: the share of exact zeros; dead: units that never fire."""
    unit_mean = h.mean(0)
    return {"mean_activation": float(unit_mean.mean()), "median_unit_mean": float(unit_mean.median()),
            "frac_zero": float((h == 0).float().mean()), "frac_dead_units": float((h.amax(0) == 0).float().mean()),
            "units": int(h.shape[1]), "images": int(h.shape[0])}


def histogram_rows(values: torch.Tensor, edges: tuple[float, ...], kind: str) -> list[dict]:
    """Counts of `values` in [edges[i], edges[i+1]); the last bar also holds everything above."""
    inner = torch.tensor(edges[1:-1], dtype=values.dtype)
    counts = torch.bincount(torch.bucketize(values.flatten(), inner, right=True), minlength=len(edges) - 1)
    return [{"kind": kind, "bin": i, "lo": float(edges[i]), "hi": float(edges[i + 1]), "count": int(c)}
            for i, c in enumerate(counts.tolist())]


def activation_histograms(h: torch.Tensor) -> pd.DataFrame:
    """Fig. 8's two panels: each unit's mean activation, and every activation (zeros included)."""
    return pd.DataFrame(histogram_rows(h.mean(0), UNIT_MEAN_EDGES, "unit_mean")
                        + histogram_rows(h, ACTIVATION_EDGES, "activation"))


def filter_mosaic(weights: torch.Tensor, shape: tuple[int, int] = (28, 28), columns: int = 16) -> np.ndarray:
    """weights [U, H*W] (one filter per row) -> a grey uint8 mosaic [rows*(H+1)+1, columns*(W+1)+1].

    Each filter is scaled to its own range (-max|w|..max|w| -> black..white, 0 is mid grey),
    as filter pictures usually are: the shapes matter, not the magnitudes."""
    units, (height, width) = weights.shape[0], shape
    rows = -(-units // columns)
    scale = weights.abs().amax(1, keepdim=True).clamp_min(1e-12)
    grey = ((weights / scale + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).view(units, height, width).numpy()
    mosaic = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1), 255, dtype=np.uint8)
    for u in range(units):
        r, c = divmod(u, columns)
        mosaic[1 + r * (height + 1):1 + r * (height + 1) + height, 1 + c * (width + 1):1 + c * (width + 1) + width] = grey[u]
    return mosaic


def png_data_url(grey: np.ndarray) -> str:
    """A grey uint8 image [H, W] as a data:image/png URL (PNG written by hand: no imaging library)."""
    height, width = grey.shape
    raw = b"".join(b"\x00" + grey[r].tobytes() for r in range(height))   # filter byte 0 per scanline

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)       # 8-bit greyscale
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def mean_activation_over_training(activations: dict[str, pd.DataFrame], layer: str = "hidden1") -> pd.DataFrame:
    """The probes' post-ReLU mean of one layer at each probe step (member 0) -> model, step, mean, frac_zero."""
    parts = [frame[(frame["layer"] == layer) & (frame["site"] == "post") & (frame["member"] == 0)]
             [["step", "epoch", "mean", "frac_zero"]].assign(model=model)
             for model, frame in activations.items() if not frame.empty]
    if not parts:
        return pd.DataFrame(columns=["model", "step", "epoch", "mean", "frac_zero"])
    return pd.concat(parts, ignore_index=True).sort_values(["model", "step"]).reset_index(drop=True)
