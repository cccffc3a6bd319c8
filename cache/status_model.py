"""status.json as a typed model: a reader validates every field it relies on, so one bad
file (valid JSON, wrong types) is reported by its folder's name and never breaks a
listing, a status command or a page that reads the other runs."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cache.run_files import SCHEMA_VERSION, STATES, CorruptRun, read_json, same_process

HEARTBEAT_STALE_S = 30.0
NEVER_STARTED_S = 120.0    # queued without a pid this long: its launcher died before the job began

Seconds = Optional[float]


class RunStatus(BaseModel):
    """The fields the lab writes; unknown extra fields (a newer lab's) are kept as they are."""
    model_config = ConfigDict(extra="allow", strict=True)

    state: Literal[STATES]
    schema_version: int = Field(default=SCHEMA_VERSION, ge=0)
    created: Seconds = None
    queued_at: Seconds = None
    started: Seconds = None
    finished: Seconds = None
    heartbeat: Seconds = None
    pid: Optional[int] = Field(default=None, ge=1)
    pid_start: Optional[int] = Field(default=None, ge=0, description="the job process's start time (clock ticks)")
    token: Optional[str] = Field(default=None, description="names the launch; also in the job's command line")
    owner: Optional[str] = Field(default=None, description="who launched it: cli:USER or app:SESSION")
    slots: Optional[int] = Field(default=None, ge=1)
    sweep: Optional[str] = None
    step: Optional[int] = Field(default=None, ge=0)
    total_steps: Optional[int] = Field(default=None, ge=0)
    epoch: Optional[int] = Field(default=None, ge=0)
    progress: Optional[float] = Field(default=None, ge=0.0, le=1.0)
    elapsed: Seconds = None
    eta: Seconds = None
    error: Optional[str] = None
    reason: Optional[str] = None
    final: Optional[dict[str, float]] = None
    diverged_step: Optional[int] = None
    resumed_from_step: Optional[int] = None
    postprocessed: Optional[bool] = None


def _problem(folder: Path, err: ValidationError) -> str:
    parts = []
    for item in err.errors()[:3]:
        field = ".".join(str(p) for p in item["loc"]) or "status"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r:.40})"
        parts.append(f"{field}: {item['msg']}{shown}")
    return f"{folder}: status.json has wrong types: " + "; ".join(parts)


def validate_status(folder: Path, payload: dict) -> dict:
    version = payload.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise CorruptRun(f"{folder}: written by a newer lab (schema {version}; this lab reads {SCHEMA_VERSION})")
    if payload.get("state") not in STATES:
        raise CorruptRun(f"{folder}: unknown state {payload.get('state')!r:.40}")
    try:
        model = RunStatus.model_validate(payload)
    except ValidationError as err:
        raise CorruptRun(_problem(folder, err)) from None
    return model.model_dump(exclude_unset=True)   # the fields the file has, extras included


def read_status(folder: Path) -> dict:
    """status.json, validated; a running/queued job whose process is gone reads `interrupted`."""
    path = folder / "status.json"
    if not path.exists() and not path.is_symlink():
        raise CorruptRun(f"{folder}: no status.json")
    status = validate_status(folder, read_json(path))
    if status["state"] in ("running", "queued"):
        reason = _gone(status)
        if reason:
            status = {**status, "state": "interrupted", "reason": reason}
    return status


def _gone(status: dict) -> str | None:
    """Why an active-looking status has no job behind it, or None if it may still have one."""
    pid = status.get("pid")
    if pid is None:
        since = status.get("queued_at") or status.get("created") or time.time()
        if status["state"] == "queued" and time.time() - since > NEVER_STARTED_S:
            return "its job never started (the launching process ended first)"
        return None
    if not same_process(pid, status.get("pid_start")):
        return "the job's process is gone"
    stale = time.time() - (status.get("heartbeat") or 0.0) > HEARTBEAT_STALE_S
    if status["state"] == "running" and stale:
        return f"no heartbeat for over {HEARTBEAT_STALE_S:.0f} s"
    return None
