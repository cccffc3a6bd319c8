"""The writing side of a run's metrics.sqlite: append-only tables created from the first
row's keys, WAL while a job writes; used through cache.store (the trainer's RunWriter and
the post-processing steps' replace_table / compact)."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

import torch

from cache.run_files import SCHEMA_VERSION

def _sql_type(value: Any) -> str:
    if value is None:  # no affinity: a later REAL or TEXT is stored as given
        return ""
    if isinstance(value, bool) or isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "REAL"
    return "TEXT"


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


class RunWriter:
    """Buffered, append-only writer of the run's tables (used by the trainer only)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.conn = connect(folder / "metrics.sqlite")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._pending: dict[str, list[dict]] = {}
        self._columns: dict[str, list[str]] = {}

    def log(self, table: str, rows: Iterable[dict]) -> None:
        self._pending.setdefault(table, []).extend(rows)

    def log_many(self, tables: dict[str, list[dict]]) -> None:
        for table, rows in tables.items():
            self.log(table, rows)

    def flush(self) -> None:
        """Write everything buffered in one transaction, so readers see whole probes."""
        pending, self._pending = self._pending, {}
        if not any(pending.values()):
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for table, rows in pending.items():
                if rows:
                    self._insert(table, rows)
            self.conn.execute("COMMIT")
        except BaseException:
            rollback(self.conn)
            raise

    def _insert(self, table: str, rows: list[dict]) -> None:
        columns = self._ensure_table(table, rows[0])
        marks = ",".join("?" * len(columns))
        values = [tuple(_plain(row.get(c)) for c in columns) for row in rows]
        self.conn.executemany(f'INSERT INTO "{table}" ({",".join(columns)}) VALUES ({marks})', values)

    def _ensure_table(self, table: str, example: dict) -> list[str]:
        if table not in self._columns:
            cols = ", ".join(f'"{k}" {_sql_type(v)}' for k, v in example.items())
            self.conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')
            if "step" in example:
                self.conn.execute(f'CREATE INDEX IF NOT EXISTS "{table}_step" ON "{table}" (step)')
            self._columns[table] = [r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')]
        return self._columns[table]

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (resume from a checkpoint must not duplicate rows)."""
        self._pending.clear()
        tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cols = [r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')]
            if "step" in cols:
                self.conn.execute(f'DELETE FROM "{table}" WHERE step > ?', (step,))

    def delete_rows(self, table: str, where: str) -> None:
        """DELETE ... WHERE `where` in a table that may not exist yet."""
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone():
            self.conn.execute(f'DELETE FROM "{table}" WHERE {where}')

    def close(self) -> None:
        """Flush and fold the WAL back in, so a finished folder is plain files."""
        self.flush()
        for _ in range(40):   # any open reader makes the switch fail at once (no busy wait)
            try:
                self.conn.execute("PRAGMA journal_mode = DELETE")
                break
            except sqlite3.OperationalError:
                time.sleep(0.05)   # else the WAL stays: readers read it just as well
        self.conn.close()


def rollback(conn: sqlite3.Connection) -> None:
    """ROLLBACK, where sqlite has not rolled back by itself already (it does on a full disk):
    the error that stopped the transaction is the one worth raising, not 'no transaction'."""
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    if isinstance(value, torch.Tensor):
        return value.item()
    return value


def replace_table(folder: Path, table: str, rows: list[dict]) -> None:
    """Write a follow-up analysis table (e.g. sub-network scores) into a finished run's
    metrics.sqlite, replacing any earlier version of that table, in one transaction."""
    if not rows:
        return
    writer = RunWriter(folder)
    try:
        writer.conn.execute("BEGIN IMMEDIATE")
        writer.conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        writer._insert(table, rows)
        writer.conn.execute("COMMIT")
    except BaseException:
        rollback(writer.conn)
        raise
    finally:
        writer.close()


def compact(folder: Path, drop_tables: Iterable[str] = ()) -> None:
    """Compact a finished run's database, dropping whole tables first (demo-cache trimming)."""
    conn = connect(folder / "metrics.sqlite")
    try:
        for table in drop_tables:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        conn.execute("PRAGMA page_size = 1024")  # small pages: most demo tables are a few rows
        conn.execute("VACUUM")
    finally:
        conn.close()
