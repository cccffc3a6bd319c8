"""The job queue of one cache: slots, the cap on waiting jobs, the memory a job may use.

Slots are lock files `<cache>/.slots/slot-<i>.lock` and waiting jobs hold tickets
`<cache>/.queue/<run>-<token>.ticket`, all with flock: the kernel releases a lock when
its holder dies, so a killed job never leaks a slot or a place in the queue, and nothing
has to be cleaned up. Light on purpose (os and fcntl only): a waiting job imports this,
not torch.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cache.locks import lock_held
from cache.run_files import StoreError

SLOTS_ENV = "REGLAB_SLOTS"
MAX_QUEUED_ENV = "REGLAB_MAX_QUEUED"
JOB_MEMORY_ENV = "REGLAB_JOB_MEMORY"
DEFAULT_MAX_QUEUED = 32
MEMORY_SHARE = 0.8          # of the machine's memory, split between the slots
SLOT_POLL_S = 0.3


class JobError(StoreError):
    """A job request that cannot be honoured; the message says why."""


def refuse_custom(spec, run_id: str, action: str) -> None:
    """A custom model's run is written by the user's own loop (reglab): no job may train or stop it."""
    if spec.is_custom:
        raise JobError(f"cannot {action} run {run_id}: it records a custom model from the user's own training "
                       f"loop (reglab), which the lab cannot retrain or stop; use the user's script instead")


def _env_int(name: str, minimum: int) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise JobError(f"${name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise JobError(f"${name} must be at least {minimum}, got {value}")
    return value


# ---------------------------------------------------------------- limits

def slot_limit() -> int:
    """The configured number of slots: $REGLAB_SLOTS, else the number of cores."""
    return _env_int(SLOTS_ENV, 1) or os.cpu_count() or 1


def resolve_slots(requested: int | None) -> int:
    """The slots a job waits on: the configured number, or fewer if asked. Never more:
    jobs asking for different counts would otherwise train more at once than configured."""
    limit = slot_limit()
    if requested is None:
        return limit
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise JobError(f"--slots must be a whole number of at least 1, got {requested!r}")
    return min(requested, limit)


def max_queued() -> int:
    """How many jobs may wait for a slot in one cache: $REGLAB_MAX_QUEUED (default 32)."""
    return _env_int(MAX_QUEUED_ENV, 1) or DEFAULT_MAX_QUEUED


def _mem_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def parse_bytes(raw: str) -> int:
    """'3G', '512M', '2000000' -> bytes."""
    text = raw.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1:], 1)
    try:
        return int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise JobError(f"${JOB_MEMORY_ENV} must be a size such as 3G or 512M, got {raw!r}") from None


def job_memory_limit(slots: int) -> tuple[int | None, str]:
    """(bytes one job may use, where the figure comes from); None where it is unknown."""
    raw = os.environ.get(JOB_MEMORY_ENV, "").strip()
    if raw:
        return parse_bytes(raw), f"${JOB_MEMORY_ENV}"
    total = _mem_total()
    if total is None:
        return None, "unknown"
    return int(total * MEMORY_SHARE / slots), (f"{MEMORY_SHARE:.0%} of this machine's {total / 2**30:.1f} GiB "
                                               f"over {slots} slot(s); set ${JOB_MEMORY_ENV} to change it")


# ---------------------------------------------------------------- waiting in the queue

def _queue_dir(cache_dir: Path) -> Path:
    folder = cache_dir / ".queue"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def waiting_jobs(cache_dir: Path) -> int:
    """Jobs holding a ticket (waiting for a slot); tickets nobody holds any more are removed."""
    folder = cache_dir / ".queue"
    if not folder.is_dir():
        return 0
    count = 0
    for path in folder.glob("*.ticket"):
        if lock_held(path):
            count += 1
        else:
            path.unlink(missing_ok=True)
    return count


def take_ticket(cache_dir: Path, run_id: str, token: str) -> int:
    """A locked ticket fd for one more waiting job, or JobError when the queue is full.
    Counting and taking happen under one lock, so two launchers cannot both take the last place."""
    folder = _queue_dir(cache_dir)
    with open(folder / ".admit.lock", "a") as admit:
        fcntl.flock(admit, fcntl.LOCK_EX)
        waiting, cap = waiting_jobs(cache_dir), max_queued()
        if waiting >= cap:
            raise JobError(f"the queue is full: {waiting} jobs already wait for a slot in {cache_dir} (at most {cap}, "
                           f"${MAX_QUEUED_ENV}); wait for some to start, or cancel some")
        fd = os.open(folder / f"{run_id}-{token}.ticket", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd


def queue_info(cache_dir: Path) -> dict:
    """What the app and `status` report: jobs waiting, the cap, and the slots."""
    return {"waiting": waiting_jobs(cache_dir), "max_queued": max_queued(), "slots": slot_limit()}


# ---------------------------------------------------------------- slots

@contextmanager
def hold_slot(cache_dir: Path, slots: int, stop: threading.Event) -> Iterator[int | None]:
    """Wait for one of `slots` lock files; yields its index, or None if stopped first."""
    folder = cache_dir / ".slots"
    folder.mkdir(parents=True, exist_ok=True)
    while not stop.is_set():
        for index in range(slots):
            handle = open(folder / f"slot-{index}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield index
            finally:
                handle.close()   # closing releases the lock
            return
        stop.wait(SLOT_POLL_S)
    yield None
