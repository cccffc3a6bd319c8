"""Run folders as bytes, for training on one machine and keeping the run on another.

    pack(folder)               every file of a settled folder, as one tar (no lock or temp files)
    snapshot(folder)           a consistent copy of a folder still being trained: the epoch
                               checkpoint first, then metrics.sqlite through SQLite's backup API
    apply_snapshot(data, dst)  a snapshot into a placeholder folder, file by file with os.replace
    land(data, dst, **status)  a packed folder into dst as a whole: unpacked beside it under a
                               hidden name, then exchanged with dst in one rename

A snapshot's database is a rollback-journal file (no -wal beside it), so a reader of the
placeholder never pairs it with a stale WAL; its rows may run past the checkpoint, which
is what a resume expects (Trainer.restore drops rows after the checkpoint's step).
"""
from __future__ import annotations

import ctypes
import io
import os
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from cache import store

SKIPPED_SUFFIXES = (".lock", ".tmp", "-wal", "-shm", "-journal")


def pack(folder: Path) -> bytes:
    """A tar of the folder's files, paths relative to it; call it once no writer is left."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            staged = any(part.startswith((".snapshot-", ".landing-")) for part in relative.parts)
            if path.is_file() and not staged and not path.name.endswith(SKIPPED_SUFFIXES):
                tar.add(path, arcname=str(relative))
    return buffer.getvalue()


def unpack(data: bytes, folder: Path) -> Path:
    """Write a pack() or snapshot() into `folder` (created); refuses paths that leave it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "checkpoints").mkdir(exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(folder, filter="data")
    return folder


def snapshot(folder: Path) -> bytes:
    """The files a resume needs, consistent with each other, while the trainer keeps writing."""
    with tempfile.TemporaryDirectory(prefix=".snapshot-", dir=folder) as tmp:
        staged = Path(tmp)
        (staged / "checkpoints").mkdir()
        last = folder / "checkpoints" / "last.pt"
        if last.exists():   # replaced atomically by the trainer: a read sees one whole file
            (staged / "checkpoints" / "last.pt").write_bytes(last.read_bytes())
        if (folder / "metrics.sqlite").exists():
            copy_database(folder / "metrics.sqlite", staged / "metrics.sqlite")
        for name in ("spec.json", "status.json"):
            shutil.copyfile(folder / name, staged / name)
        return pack(staged)


def copy_database(source: Path, target: Path) -> None:
    """Committed rows only, via SQLite's online backup; the copy keeps no WAL."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()


def apply_snapshot(data: bytes, folder: Path) -> None:
    """Refresh a placeholder's database and checkpoint from a snapshot (its status is the caller's)."""
    with tempfile.TemporaryDirectory(prefix=".snapshot-", dir=folder) as tmp:
        staged = unpack(data, Path(tmp))
        for name in ("metrics.sqlite", "checkpoints/last.pt"):
            if (staged / name).exists():
                (folder / name).parent.mkdir(exist_ok=True)
                os.replace(staged / name, folder / name)


def land(data: bytes, folder: Path, **status_fields) -> None:
    """Put a packed run folder at `folder` in one step: readers see the old folder or the new."""
    staging = folder.with_name(f".landing-{folder.name}-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    unpack(data, staging)
    if status_fields:
        store.write_status(staging, **status_fields)
    (staging / ".status.lock").unlink(missing_ok=True)
    if not folder.exists():
        os.rename(staging, folder)
        return
    if not _exchange(staging, folder):
        # no renameat2 here: two renames, with a moment in which the run id is absent
        trash = folder.with_name(f".replaced-{folder.name}-{os.getpid()}")
        os.rename(folder, trash)
        os.rename(staging, folder)
        staging = trash
    shutil.rmtree(staging, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 with RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
