"""Import batches: listing them, and undoing one exactly.

Every row an import inserted or overwrote is in `batch_changes` (with the overwritten
values), so undo deletes what the batch inserted and puts back what it overwrote. When
a later batch touched the same rows, undoing would silently lose that later work, so
undo refuses and names the later batches; `--force` undoes anyway, restoring this
batch's before-values and keeping inserted rows that later work still points at.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from kcbx import history
from kcbx.db import transaction
from kcbx.errors import InvalidValue, NotFound

# child tables first, so deleting inserted rows never breaks a foreign key
DELETE_ORDER = ("followups", "assignments", "flags", "status_events", "teachers", "children",
                "units")
REFERENCES = {
    "children": [("status_events", "child_id"), ("followups", "child_id"), ("flags", "child_id"),
                 ("assignments", "child_id"), ("import_errors", "child_id"),
                 ("child_edits", "child_id")],
    "units": [("children", "village_id"), ("teachers", "school_id"),
              ("import_batches", "unit_id"), ("units", "catchment_primary_id"),
              ("units", "catchment_middle_id")],
    "teachers": [("assignments", "teacher_id"), ("followups", "teacher_id")],
}


def list_batches(conn: sqlite3.Connection) -> list[dict]:
    """Every batch, newest first, with its unit name."""
    rows = conn.execute(
        "SELECT b.id AS batch, b.file_name AS file, COALESCE(b.sheet, '') AS sheet, b.kind, "
        "b.sheet_date, b.date_source, b.iso_week, u.name AS unit, b.rows, b.inserted, b.updated, "
        "b.unchanged, b.rejected, b.imported_at, b.undone_at "
        "FROM import_batches b LEFT JOIN units u ON u.id = b.unit_id ORDER BY b.id DESC")
    return [dict(r) for r in rows]


@dataclass
class UndoResult:
    """What an undo did."""

    batch: int
    deleted: int = 0
    restored: int = 0
    kept: list[str] = field(default_factory=list)


def later_conflicts(conn: sqlite3.Connection, batch_id: int) -> list[int]:
    """Later, not undone batches that touched rows this batch inserted or changed."""
    rows = conn.execute("""
        SELECT DISTINCT later.batch_id
          FROM batch_changes mine
          JOIN batch_changes later
            ON later.table_name = mine.table_name AND later.row_id = mine.row_id
          JOIN import_batches b ON b.id = later.batch_id
         WHERE mine.batch_id = :b AND later.batch_id > :b AND b.undone_at IS NULL
        UNION
        SELECT DISTINCT e.batch_id
          FROM batch_changes mine
          JOIN status_events e ON mine.table_name = 'children' AND e.child_id = mine.row_id
          JOIN import_batches b ON b.id = e.batch_id
         WHERE mine.batch_id = :b AND mine.action = 'insert' AND e.batch_id > :b
           AND b.undone_at IS NULL
        UNION
        SELECT DISTINCT f.batch_id
          FROM batch_changes mine
          JOIN followups f ON mine.table_name = 'children' AND f.child_id = mine.row_id
          JOIN import_batches b ON b.id = f.batch_id
         WHERE mine.batch_id = :b AND mine.action = 'insert' AND f.batch_id > :b
           AND b.undone_at IS NULL
        ORDER BY 1""", {"b": batch_id})
    return [r[0] for r in rows]


def undo(conn: sqlite3.Connection, batch_id: int, *, force: bool = False) -> UndoResult:
    """Undo batch `batch_id` in one transaction."""
    batch = conn.execute("SELECT * FROM import_batches WHERE id = ?", (batch_id,)).fetchone()
    if batch is None:
        raise NotFound(f"没有第 {batch_id} 批导入。用 kcbx imports 查看所有批次。")
    if batch["undone_at"]:
        raise InvalidValue(f"第 {batch_id} 批已于 {batch['undone_at']} 撤销过。")
    conflicts = later_conflicts(conn, batch_id)
    if conflicts and not force:
        raise InvalidValue(
            f"第 {batch_id} 批导入的数据后来又被第 {'、'.join(map(str, conflicts))} 批改动过，"
            "直接撤销会丢失那些改动。请先撤销那些批次，或加 --force 强制撤销。")
    result = UndoResult(batch_id)
    with transaction(conn):
        changes = conn.execute("SELECT * FROM batch_changes WHERE batch_id = ? ORDER BY id DESC",
                               (batch_id,)).fetchall()
        children = _affected_children(conn, changes)
        for change in changes:
            if change["action"] == "update":
                _restore(conn, change)
                result.restored += 1
        inserted = [c for c in changes if c["action"] == "insert"]
        inserted.sort(key=lambda c: DELETE_ORDER.index(c["table_name"]))
        conn.execute("UPDATE import_batches SET unit_id = NULL WHERE id = ?", (batch_id,))
        for change in inserted:
            if _delete_if_free(conn, change, result):
                result.deleted += 1
        conn.execute("UPDATE import_errors SET resolved_at = datetime('now', 'localtime') "
                     "WHERE batch_id = ? AND resolved_at IS NULL", (batch_id,))
        conn.execute("UPDATE import_batches SET undone_at = datetime('now', 'localtime') "
                     "WHERE id = ?", (batch_id,))
        remaining = [c for c in children
                     if conn.execute("SELECT 1 FROM children WHERE id = ?", (c,)).fetchone()]
        history.recompute_applied(conn, remaining)
    return result


def _affected_children(conn: sqlite3.Connection, changes: list[sqlite3.Row]) -> set[int]:
    ids: set[int] = set()
    for change in changes:
        if change["table_name"] == "children":
            ids.add(change["row_id"])
        elif change["table_name"] == "status_events":
            row = conn.execute("SELECT child_id FROM status_events WHERE id = ?",
                               (change["row_id"],)).fetchone()
            if row:
                ids.add(row[0])
    return ids


def _restore(conn: sqlite3.Connection, change: sqlite3.Row) -> None:
    before = json.loads(change["before"])
    sets = ", ".join(f"{k} = ?" for k in before)
    conn.execute(f"UPDATE {change['table_name']} SET {sets} WHERE id = ?",
                 (*before.values(), change["row_id"]))


def _delete_if_free(conn: sqlite3.Connection, change: sqlite3.Row, result: UndoResult) -> bool:
    """Delete an inserted row unless rows outside this batch still point at it (--force)."""
    table, row_id = change["table_name"], change["row_id"]
    for ref_table, column in REFERENCES.get(table, []):
        if conn.execute(f"SELECT 1 FROM {ref_table} WHERE {column} = ? LIMIT 1",
                        (row_id,)).fetchone():
            result.kept.append(f"{table}#{row_id}")
            return False
    conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
    return True
