"""The status board: a small Ray actor between the driver and its workers.

It holds the latest report (status, and now and then a snapshot) of each run for the
driver to mirror, and the driver's cancel requests for the workers to read. Kept free of
imports so the actor's process starts in a moment.
"""
from __future__ import annotations


class StatusBoard:
    """Latest status (and snapshot) per run id, from the workers; cancel requests, to them."""

    def __init__(self):
        self.statuses: dict[str, dict] = {}
        self.snapshots: dict[str, bytes] = {}
        self.stops: set[str] = set()

    def report(self, run_id: str, status: dict, snapshot: bytes | None = None) -> bool:
        """A worker's report; the answer says whether the run should stop."""
        self.statuses[run_id] = status
        if snapshot is not None:
            self.snapshots[run_id] = snapshot
        return run_id in self.stops

    def take(self) -> dict:
        """Everything reported since the last take, for the driver to mirror."""
        taken = {"statuses": self.statuses, "snapshots": self.snapshots}
        self.statuses, self.snapshots = {}, {}
        return taken

    def stop(self, run_id: str) -> None:
        self.stops.add(run_id)
