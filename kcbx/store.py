"""Facts about the store as a whole: its version, town name and a summary for `kcbx info`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kcbx import settings
from kcbx.db import table_counts, transaction


def schema_version(conn: sqlite3.Connection) -> int:
    """`PRAGMA user_version`: the number of applied migrations."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def set_town(conn: sqlite3.Connection, town: str) -> None:
    """Name the town (used in report titles and file names)."""
    with transaction(conn):
        settings.put(conn, "town", "".join(town.split()))


def info(conn: sqlite3.Connection, path: Path) -> dict:
    """Path, town, schema version, rows per table and the five latest import batches."""
    last = conn.execute(
        "SELECT id, file_name, sheet, kind, sheet_date, imported_at FROM import_batches "
        "WHERE undone_at IS NULL ORDER BY id DESC LIMIT 5"
    ).fetchall()
    return {
        "path": str(path),
        "town": settings.get(conn, "town"),
        "schema_version": schema_version(conn),
        "counts": table_counts(conn),
        "last_imports": [dict(r) for r in last],
    }
