"""One writer per run: `<folder>/.writer.lock`, held with flock by whoever writes the run.

A launcher takes it before it reads the run's state and hands it to the job it starts
(the job inherits the open lock), so the state check, the queueing and the whole life of
the job are covered by one lock; the kernel frees it when the job dies, however it dies.
A second launch, resume or in-terminal run of the same run finds it taken and is refused.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

WRITER_LOCK = ".writer.lock"


def try_writer_lock(folder: Path, patience_s: float = 0.3) -> int | None:
    """An fd holding the run's writer lock, or None if another process holds it.

    Retries for `patience_s`: a reader probing the lock holds it for microseconds."""
    fd = os.open(folder / WRITER_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + patience_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.02)


def hold_inherited(fd: int) -> bool:
    """True if `fd` (inherited from the launcher) holds the writer lock; it is made
    non-inheritable so nothing this process starts keeps the run locked after it."""
    try:
        os.set_inheritable(fd, False)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # a no-op on the lock this fd already holds
        return True
    except OSError:
        return False


def writer_active(folder: Path) -> bool:
    """Does some process hold the run's writer lock right now? (a job queued or training)"""
    return lock_held(folder / WRITER_LOCK)


def lock_held(path: Path) -> bool:
    """Does some process hold an flock on `path`? Probed with a shared lock, released at once."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False    # no lock file: nothing ever locked it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)    # closing releases the probe's shared lock at once


def release(fd: int | None) -> None:
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
