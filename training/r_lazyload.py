"""Read one object out of an R package's lazy-load database, without R.

An installed R package with `LazyData: true` keeps its data sets in data/Rdata.rdb plus
an index, data/Rdata.rdx:

* Rdata.rdx is an ordinary RDS file (a gzip'd R serialization) of a list:
  `variables` (object name -> c(offset, length) into the .rdb), `references` (saved
  environments; data frames need none) and `compressed` (1 zlib, 2 bzip2, 3 xz).
* Each object in Rdata.rdb is `length` bytes at `offset`: a 4-byte big-endian size of
  the uncompressed serialization, then for type 1 the zlib stream; for types 2 and 3 one
  more byte saying how the rest is packed ('Z' raw LZMA2 as R's xz option writes it,
  '2' bzip2, '1' zlib, '0' stored as is).

What comes out is a plain R serialization ("X\\n" + XDR), which the `rdata` package
parses and converts (data frames and tibbles to pandas DataFrames).
"""
from __future__ import annotations

import bz2
import lzma
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import rdata

LZMA_DICT_SIZE_MIN = 4096   # liblzma's smallest dictionary

# Tibbles are data frames with extra class names; convert them as data frames, quietly.
CLASS_MAP = {**rdata.conversion.DEFAULT_CLASS_MAP,
             "tbl_df": rdata.conversion.dataframe_constructor, "tbl": rdata.conversion.dataframe_constructor}


def read_index(rdx: Path) -> dict[str, Any]:
    """{'variables': {name: [offset, length]}, 'references': {...}, 'compressed': int}."""
    index = rdata.read_rds(rdx)
    compressed = index.get("compressed", 1)
    compressed = int(compressed[0]) if hasattr(compressed, "__len__") else int(compressed)
    variables = {str(name): [int(v) for v in pos] for name, pos in index["variables"].items()}
    return {"variables": variables, "references": index.get("references", {}), "compressed": compressed}


def decompress(blob: bytes, compressed: int) -> bytes:
    """One .rdb record -> the R serialization it holds (R's R_decompress1/2/3; 0 = stored bare)."""
    if compressed == 0:
        return blob
    size = struct.unpack(">I", blob[:4])[0]
    if compressed == 1:
        out = zlib.decompress(blob[4:])
    else:
        kind, body = blob[4:5], blob[5:]
        if kind == b"Z":
            # A raw LZMA2 stream; a dictionary as large as the output always suffices.
            filters = [{"id": lzma.FILTER_LZMA2, "dict_size": max(size, LZMA_DICT_SIZE_MIN)}]
            out = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters).decompress(body)
        elif kind == b"2":
            out = bz2.decompress(body)
        elif kind == b"1":
            out = zlib.decompress(body)
        elif kind == b"0":
            out = bytes(body)
        else:
            raise ValueError(f"unknown R lazy-load compression byte {kind!r}")
    if len(out) != size:
        raise ValueError(f"R lazy-load record decompressed to {len(out)} bytes, its header says {size}")
    return out


def read_object(data_dir: Path, name: str, database: str = "Rdata") -> Any:
    """The object `name` from data_dir/{database}.rdb, converted by rdata (a DataFrame for a data frame)."""
    rdx, rdb = data_dir / f"{database}.rdx", data_dir / f"{database}.rdb"
    index = read_index(rdx)
    if name not in index["variables"]:
        raise KeyError(f"{rdx} has no object {name!r}; it has: {', '.join(sorted(index['variables']))}")
    offset, length = index["variables"][name]
    with open(rdb, "rb") as handle:
        handle.seek(offset)
        blob = handle.read(length)
    if len(blob) != length:
        raise ValueError(f"{rdb} is truncated: wanted {length} bytes at offset {offset}, got {len(blob)}")
    parsed = rdata.parser.parse_data(decompress(blob, index["compressed"]), extension=".rds")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Missing constructor for R class")
        return rdata.conversion.convert(parsed, CLASS_MAP)
