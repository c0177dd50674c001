"""A child's status on any date, from its event history (SPEC §4 "History").

Events are snapshots (a census or roster row states the status on the sheet date),
changes (a dated 变动 row) and manual events (`kcbx status set`). The status on date X
is the status of the latest *applied* event on or before X; on one date a snapshot comes
before a change, a change before a manual event, and a later import before an earlier one.
Before a child's first event, its first event decides: a snapshot's status holds back to
the start of the records, a change's 变动前状态 holds before it, and a change with no
变动前状态 (迁入, 转入 from outside) means the child was not in the records yet.

A snapshot that contradicts the status set by the latest earlier change or manual event
is stored with applied = 0: it never counts, and `check` lists it for the clerk.
This module is the one place these rules live; metrics, reports and the importer use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date

# Order of events on one date: snapshot < change < manual, then import order (id).
KIND_RANK = "(CASE {t}kind WHEN 'snapshot' THEN 0 WHEN 'change' THEN 1 ELSE 2 END)"


def _rank(alias: str = "") -> str:
    return KIND_RANK.format(t=f"{alias}." if alias else "")


def status_on_sql(param: str = ":as_of") -> str:
    """A SELECT of (child_id, status, school) on the date bound to `param`.

    Children with no status on that date (not yet in the records) are absent. Use it as
    a CTE: `WITH st AS (<this>) SELECT … FROM children JOIN st ON st.child_id = children.id`.
    """
    return f"""
    SELECT c.id AS child_id,
           COALESCE(
             (SELECT e.status FROM status_events e
               WHERE e.child_id = c.id AND e.applied = 1 AND e.date <= {param}
               ORDER BY e.date DESC, {_rank('e')} DESC, e.id DESC LIMIT 1),
             (SELECT CASE WHEN f.kind = 'snapshot' THEN f.status ELSE f.prev_status END
                FROM status_events f
               WHERE f.child_id = c.id AND f.applied = 1 AND f.date > {param}
               ORDER BY f.date, {_rank('f')}, f.id LIMIT 1)
           ) AS status,
           COALESCE(
             (SELECT e.school FROM status_events e
               WHERE e.child_id = c.id AND e.applied = 1 AND e.date <= {param}
               ORDER BY e.date DESC, {_rank('e')} DESC, e.id DESC LIMIT 1),
             (SELECT CASE WHEN f.kind = 'snapshot' THEN f.school ELSE f.prev_school END
                FROM status_events f
               WHERE f.child_id = c.id AND f.applied = 1 AND f.date > {param}
               ORDER BY f.date, {_rank('f')}, f.id LIMIT 1)
           ) AS school
      FROM children c
     WHERE EXISTS (SELECT 1 FROM status_events x WHERE x.child_id = c.id AND x.applied = 1)
    """


def status_on(conn: sqlite3.Connection, as_of: date) -> dict[int, tuple[str, str | None]]:
    """{child_id: (status, school)} on `as_of` for every child in the records then."""
    rows = conn.execute(
        f"SELECT child_id, status, school FROM ({status_on_sql()}) WHERE status IS NOT NULL",
        {"as_of": as_of.isoformat()},
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def _child_table(conn: sqlite3.Connection, child_ids: Iterable[int]) -> str:
    """Put the ids into a temp table (set-based SQL instead of a query per child)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.touched")
    conn.executemany("INSERT OR IGNORE INTO temp.touched VALUES (?)", ((i,) for i in child_ids))
    return "temp.touched"


def recompute_applied(conn: sqlite3.Connection, child_ids: Iterable[int]) -> None:
    """Re-decide `applied` of every snapshot of these children (call after adding events).

    A snapshot is applied unless the latest change or manual event dated before it set a
    different status. Changes and manual events are always applied.
    """
    touched = _child_table(conn, child_ids)
    conn.execute(f"""
        UPDATE status_events AS s SET applied = CASE
          WHEN (SELECT e.status FROM status_events e
                 WHERE e.child_id = s.child_id AND e.kind IN ('change', 'manual')
                   AND e.date < s.date
                 ORDER BY e.date DESC, {_rank('e')} DESC, e.id DESC LIMIT 1)
               IS NOT NULL
           AND (SELECT e.status FROM status_events e
                 WHERE e.child_id = s.child_id AND e.kind IN ('change', 'manual')
                   AND e.date < s.date
                 ORDER BY e.date DESC, {_rank('e')} DESC, e.id DESC LIMIT 1) <> s.status
          THEN 0 ELSE 1 END
        WHERE s.kind = 'snapshot' AND s.child_id IN (SELECT id FROM {touched})
    """)
    refresh_current(conn, [], _table=touched)


def refresh_current(conn: sqlite3.Connection, child_ids: Iterable[int], *,
                    _table: str | None = None) -> None:
    """Update the cached `children.status` / `status_since` from the events.

    The cache is the status after the latest applied event; `status_since` is the date
    of the first event of the latest unbroken run of that status.
    """
    touched = _table or _child_table(conn, child_ids)
    rows = conn.execute(f"""
        WITH ev AS (
          SELECT child_id, status, date,
                 ROW_NUMBER() OVER (PARTITION BY child_id ORDER BY date, {_rank()}, id) AS n
            FROM status_events
           WHERE applied = 1 AND child_id IN (SELECT id FROM {touched})
        ),
        last AS (
          SELECT child_id, MAX(n) AS n FROM ev GROUP BY child_id
        ),
        last_status AS (
          SELECT ev.child_id, ev.status, ev.n FROM ev JOIN last USING (child_id)
           WHERE ev.n = last.n
        ),
        run_start AS (
          SELECT ls.child_id, ls.status,
                 COALESCE((SELECT MAX(ev.n) FROM ev WHERE ev.child_id = ls.child_id
                            AND ev.status <> ls.status), 0) + 1 AS n
            FROM last_status ls
        )
        SELECT t.id AS child_id, rs.status, ev.date AS since
          FROM {touched} t
          LEFT JOIN run_start rs ON rs.child_id = t.id
          LEFT JOIN ev ON ev.child_id = rs.child_id AND ev.n = rs.n
    """).fetchall()
    conn.executemany(
        "UPDATE children SET status = ?, status_since = ? WHERE id = ?",
        ((r["status"], r["since"], r["child_id"]) for r in rows),
    )
