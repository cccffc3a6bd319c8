"""The small files of a run folder (status.json, spec.json, lock files), with no heavy import.

A queued job waits with only this module (and cache.locks) loaded, so it costs a bare
interpreter's memory, not torch's. Everything here is plain json and os:

- reads refuse what a run folder never holds (symlinks, pipes, devices, huge files), so a
  bad folder is reported by name instead of hanging or exhausting a listing;
- status.json is merged under a lock file and replaced atomically (write + rename);
- each folder keeps a small reserve file: when the disk is full, the job's last word (its
  failure and the real error) frees the reserve and is still written.
"""
from __future__ import annotations

import enum
import errno
import fcntl
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any, Callable

SCHEMA_VERSION = 1   # of the run folder layout and its tables; readers refuse newer ones


class RunState(str, enum.Enum):
    """A run's state in status.json. A str enum: `RunState.FINISHED == "finished"` holds, so
    frames and JSON keep plain strings."""
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"   # the job's process died (read-time verdict, or written on restart)
    DIVERGED = "diverged"         # the loss became non-finite: a result to show, not an error


STATES = tuple(state.value for state in RunState)
TERMINAL = tuple(s.value for s in (RunState.FINISHED, RunState.FAILED, RunState.CANCELLED, RunState.DIVERGED))
DONE = (RunState.FINISHED.value, RunState.DIVERGED.value)   # trained to the end: a cache hit
MAX_SMALL_FILE = 1 << 20        # spec.json and status.json are a few kB; anything bigger is not ours
RESERVE_NAME = ".reserve"
RESERVE_BYTES = 64 * 1024       # room for status.json's temporary copy when the disk is full


class StoreError(Exception):
    """A run folder or run id the store cannot serve; the message names it."""


class CorruptRun(StoreError):
    pass


# ---------------------------------------------------------------- reading

def read_small_text(path: Path, limit: int = MAX_SMALL_FILE) -> str:
    """A regular file's text; refuses symlinks, fifos, devices and files over `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise CorruptRun(f"{path.parent}: {path.name} is a symbolic link") from None
        raise CorruptRun(f"{path.parent}: cannot read {path.name} ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptRun(f"{path.parent}: {path.name} is not a regular file")
        if info.st_size > limit:
            raise CorruptRun(f"{path.parent}: {path.name} is {info.st_size} bytes (over {limit}): not a run file")
        raw = os.read(fd, limit + 1)
    except OSError as err:
        raise CorruptRun(f"{path.parent}: cannot read {path.name} ({err.strerror})") from None
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptRun(f"{path.parent}: {path.name} is not UTF-8 text") from None


def read_json(path: Path) -> dict:
    """A JSON object from a small file, or CorruptRun naming the folder and file."""
    try:
        payload = json.loads(read_small_text(path))
    except (json.JSONDecodeError, RecursionError) as err:
        raise CorruptRun(f"{path.parent}: cannot read {path.name} ({err})") from None
    if not isinstance(payload, dict):
        raise CorruptRun(f"{path.parent}: {path.name} is not a JSON object")
    return payload


# ---------------------------------------------------------------- writing

def write_json_atomic(path: Path, payload: dict) -> None:
    """Write a temporary file and rename it over `path`; a failure leaves no temporary file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_status_lock = threading.Lock()


def update_status(folder: Path, when: Callable[[dict], bool] | None = None, **fields: Any) -> dict:
    """Merge fields into status.json atomically, only if `when(current)` holds (if given).
    The read-merge-write holds a lock file, as a launcher and its job may write at once."""
    with _status_lock, open(folder / ".status.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or the holder dies)
        path = folder / "status.json"
        current = read_json(path) if path.exists() else {}
        if when is not None and not when(current):
            return current
        current.update(fields)
        write_json_atomic(path, current)
        return current


def write_status(folder: Path, **fields: Any) -> dict:
    return update_status(folder, **fields)


def write_last_word(folder: Path, **fields: Any) -> dict:
    """write_status that still works on a full disk: on ENOSPC it frees the folder's
    reserve and tries again (the job's final state must never be lost to a full disk)."""
    try:
        return write_status(folder, **fields)
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        (folder / RESERVE_NAME).unlink(missing_ok=True)
        return write_status(folder, **fields)


def make_reserve(folder: Path) -> bool:
    """(Re)create the reserve file; False when there is no room for it (nothing left behind)."""
    path = folder / RESERVE_NAME
    try:
        if path.exists() and path.stat().st_size >= RESERVE_BYTES:
            return True
        with open(path, "wb") as handle:
            handle.write(b"\0" * RESERVE_BYTES)   # written, not truncated: a sparse file reserves nothing
        return True
    except OSError:
        path.unlink(missing_ok=True)
        return False


# ---------------------------------------------------------------- errors worth keeping

def describe_error(err: BaseException, folder: Path) -> str:
    """The error as status.json keeps it. A full disk reaches the lab as sqlite's 'disk I/O
    error' or torch's 'file write failed' as often as ENOSPC itself: say so where it is."""
    text = f"{type(err).__name__}: {err}"
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return text
    io_like = isinstance(err, (OSError, RuntimeError)) or type(err).__module__ == "sqlite3"
    if io_like and disk_full(folder):
        return f"{text} ([Errno 28] No space left on device: the disk holding {folder} is full)"
    return text


def disk_full(folder: Path, probe_bytes: int = 16 * 1024) -> bool:
    """No room for a small file next to the run (a write is the surest test)."""
    try:
        info = os.statvfs(folder)
        if info.f_bavail * info.f_frsize < 4 * probe_bytes:
            return True
    except OSError:
        pass
    probe = folder / f".space-probe.{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * probe_bytes)
            handle.flush()
            os.fsync(handle.fileno())
        return False
    except OSError as err:
        return err.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        probe.unlink(missing_ok=True)


# ---------------------------------------------------------------- processes

def process_alive(pid: int | None) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError, OverflowError):
        return False
    try:  # a killed child not yet reaped is a zombie: dead for our purposes
        return _proc_stat(pid)[0] != "Z"
    except OSError:
        return True


def _proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name: [state, ppid, pgrp, ...]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1].split()


def process_start(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, names one process
    for good, as a pid alone is reused once its process is gone."""
    try:
        return int(_proc_stat(pid)[19])
    except (OSError, ValueError, IndexError):
        return None


def same_process(pid: int | None, start: int | None) -> bool:
    """Is `pid` alive and (where a start time was recorded) still the process that had it?"""
    if not process_alive(pid):
        return False
    return start is None or process_start(pid) == start


def process_command(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []
