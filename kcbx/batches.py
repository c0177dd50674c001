"""Import batches: the writes that make them undoable, listing them, undoing one exactly.

A row an import inserted carries its batch id, and every value it overwrote is in
`batch_changes` (migration m004; `Writer` does both), so undo deletes the batch's rows
and puts back what it overwrote. When a later batch touched the same rows, undoing
would silently lose that later work, so undo refuses and names the later batches;
`--force` undoes anyway, restoring this batch's before-values and keeping inserted rows
that later work still points at.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from kcbx import history
from kcbx.db import transaction
from kcbx.errors import InvalidValue, NotFound
from kcbx.migrations import INSERTED_BY_IMPORTS

# the rows that keep an inserted row from being deleted: (table, column pointing at it)
REFERENCES = {
    "children": [("status_events", "child_id"), ("followups", "child_id"), ("flags", "child_id"),
                 ("assignments", "child_id"), ("import_errors", "child_id"),
                 ("child_edits", "child_id")],
    "units": [("children", "village_id"), ("teachers", "school_id"),
              ("import_batches", "unit_id"), ("units", "catchment_primary_id"),
              ("units", "catchment_middle_id")],
    "teachers": [("assignments", "teacher_id"), ("followups", "teacher_id")],
}


class Writer:
    """Inserts and updates that remember, per batch, how to undo them: an inserted row
    carries the batch id, an update leaves the values it overwrote in batch_changes."""

    def __init__(self, conn: sqlite3.Connection, batch_id: int):
        self.conn = conn
        self.batch_id = batch_id

    def insert(self, table: str, values: dict) -> int:
        values = {**values, "batch_id": self.batch_id}
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        return self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                 tuple(values.values())).lastrowid

    def update(self, table: str, row: sqlite3.Row, values: dict) -> bool:
        """Write the values that differ from `row`; return whether anything changed."""
        changed = {k: v for k, v in values.items() if row[k] != v}
        if changed:
            self.write_changes(table, [(row["id"], {k: row[k] for k in changed}, changed)])
        return bool(changed)

    def write_changes(self, table: str, changes: list[tuple[int, dict, dict]]) -> None:
        """Apply (row id, {column: old value}, {column: new value}) changes, keeping the
        old values for undo; rows that change the same columns share one statement."""
        statements: dict[tuple, list] = defaultdict(list)
        for row_id, _, after in changes:
            statements[tuple(after)].append((*after.values(), row_id))
        for columns, params in statements.items():
            sets = ", ".join(f"{k} = ?" for k in columns)
            self.conn.executemany(f"UPDATE {table} SET {sets} WHERE id = ?", params)
        self.conn.executemany(
            "INSERT INTO batch_changes (batch_id, table_name, row_id, action, before) "
            "VALUES (?, ?, ?, 'update', ?)",
            [(self.batch_id, table, row_id, json.dumps(before, ensure_ascii=False))
             for row_id, before, _ in changes])

    def unit(self, kind: str, name: str) -> int:
        """The unit's id, inserting it (undoably) when this is its first sheet."""
        row = self.conn.execute("SELECT id FROM units WHERE kind = ? AND name = ?",
                                (kind, name)).fetchone()
        if row:
            return row[0]
        return self.insert("units", {"kind": kind, "name": name})


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
    """Later, not undone batches that changed rows this batch inserted or changed, or added
    events or follow-ups about children it inserted."""
    changed_later = " UNION ".join(
        f"SELECT later.batch_id FROM batch_changes later JOIN {table} mine "
        f"ON later.table_name = '{table}' AND mine.id = later.row_id "
        f"WHERE mine.batch_id = :b AND later.batch_id > :b"
        for table in INSERTED_BY_IMPORTS)
    about_children = " UNION ".join(
        f"SELECT e.batch_id FROM {table} e JOIN children mine ON mine.id = e.child_id "
        f"WHERE mine.batch_id = :b AND e.batch_id > :b"
        for table in ("status_events", "followups"))
    rows = conn.execute(f"""
        WITH later (batch_id) AS (
          SELECT later.batch_id
            FROM batch_changes mine
            JOIN batch_changes later
              ON later.table_name = mine.table_name AND later.row_id = mine.row_id
           WHERE mine.batch_id = :b AND later.batch_id > :b
          UNION {changed_later}
          UNION {about_children})
        SELECT DISTINCT later.batch_id FROM later
          JOIN import_batches b ON b.id = later.batch_id AND b.undone_at IS NULL
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
        children = _affected_children(conn, batch_id)
        for change in conn.execute("SELECT * FROM batch_changes WHERE batch_id = ? "
                                   "ORDER BY id DESC", (batch_id,)).fetchall():
            _restore(conn, change)
            result.restored += 1
        conn.execute("UPDATE import_batches SET unit_id = NULL WHERE id = ?", (batch_id,))
        for table in INSERTED_BY_IMPORTS:
            _delete_inserted(conn, table, batch_id, result)
        conn.execute("UPDATE import_errors SET resolved_at = datetime('now', 'localtime') "
                     "WHERE batch_id = ? AND resolved_at IS NULL", (batch_id,))
        conn.execute("UPDATE import_batches SET undone_at = datetime('now', 'localtime') "
                     "WHERE id = ?", (batch_id,))
        history.recompute_applied(conn, children)  # a deleted child has nothing to recompute
    return result


def _affected_children(conn: sqlite3.Connection, batch_id: int) -> set[int]:
    """Children the batch inserted or changed, or gave events: their histories change."""
    return {r[0] for r in conn.execute("""
        SELECT row_id FROM batch_changes WHERE batch_id = :b AND table_name = 'children'
        UNION SELECT id FROM children WHERE batch_id = :b
        UNION SELECT child_id FROM status_events WHERE batch_id = :b""", {"b": batch_id})}


def _restore(conn: sqlite3.Connection, change: sqlite3.Row) -> None:
    before = json.loads(change["before"])
    sets = ", ".join(f"{k} = ?" for k in before)
    conn.execute(f"UPDATE {change['table_name']} SET {sets} WHERE id = ?",
                 (*before.values(), change["row_id"]))


def _delete_inserted(conn: sqlite3.Connection, table: str, batch_id: int,
                     result: UndoResult) -> None:
    """Delete the rows of `table` the batch inserted, except those that rows outside it
    still point at (only possible under --force): those are listed in `result.kept`.

    A unit can point at a unit of the same batch (a village at its catchment school), so
    units are deleted again until none is freed."""
    references = REFERENCES.get(table, [])
    free = "".join(f" AND NOT EXISTS (SELECT 1 FROM {ref} r WHERE r.{column} = {table}.id)"
                   for ref, column in references)
    points_at_itself = any(ref == table for ref, _ in references)
    while True:
        deleted = conn.execute(f"DELETE FROM {table} WHERE batch_id = ?{free}",
                               (batch_id,)).rowcount
        result.deleted += deleted
        if not deleted or not points_at_itself:
            break
    result.kept += [f"{table}#{r[0]}" for r in conn.execute(
        f"SELECT id FROM {table} WHERE batch_id = ?", (batch_id,))]
