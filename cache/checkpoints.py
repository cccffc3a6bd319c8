"""A run's checkpoints/: state dicts written atomically, loaded with weights_only=True.

The trainer saves `last` at each epoch end and `final` after the final scores; a resume
takes `final` if present (a kill after it resumes without training again), else `last`.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from cache.run_files import CorruptRun


def save_checkpoint(folder: Path, name: str, state: dict) -> None:
    """Serialise in memory, then write with plain file I/O: torch.save straight to a full
    disk can leave a truncated file without an error, or raise one that hides ENOSPC."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = folder / "checkpoints" / f"{name}.pt"
    tmp = path.with_suffix(".pt.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(folder: Path, name: str = "last") -> dict | None:
    import torch

    path = folder / "checkpoints" / f"{name}.pt"
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CorruptRun(f"{folder}: checkpoint {path.name} cannot be loaded ({err})") from None


def discard_checkpoint(folder: Path, name: str) -> None:
    (folder / "checkpoints" / f"{name}.pt").unlink(missing_ok=True)
