"""Schema migrations, applied in order on every open (sqlite-utils `Migrations`).

`PRAGMA user_version` equals the number of applied migrations and is set inside the
migration's own transaction, so a failed migration leaves both schema and version as
they were. A database with a higher version, or with a migration this kcbx does not
know, was written by a newer kcbx and is refused. Never rename or edit a released
migration: add `m00N_<what>` below instead.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from kcbx.errors import DatabaseError

SET_NAME = "kcbx"


def schema_sql() -> str:
    """schema.sql: inside the installed package, or at the repository root in a checkout."""
    packaged = resources.files("kcbx").joinpath("schema.sql")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "schema.sql").read_text(encoding="utf-8")


def m001_schema(db) -> None:
    """Every table of SPEC §3."""
    db.executescript(schema_sql())


# The returns of SPEC §2 and the exceptions list of §4 as index predicates: m002's partial
# indexes hold only those events, and a query must repeat the predicate to use them.
RETURN_PREDICATE = (
    "applied = 1 AND status_before IN ('dropout', 'suspected', 'unknown') "
    "AND status IN ('enrolled', 'inclusive', 'special_school', 'home_taught', 'away')"
)
ALERT_PREDICATE = (
    "applied = 1 AND (status IN ('suspected', 'dropout', 'never_enrolled', 'unknown') "
    "OR status_before IN ('suspected', 'dropout', 'never_enrolled', 'unknown'))"
)


def m002_status_spans(db) -> None:
    """Spans on status events (see kcbx.history), so rates read any date in one pass.

    Adds the derived columns, a covering index for the one-pass read, partial indexes for
    returns and for the exceptions list, and fills the columns for existing events.
    """
    from kcbx import history

    for column in ("next_date TEXT", "is_first INTEGER NOT NULL DEFAULT 0",
                   "status_before TEXT", "school_before TEXT", "since TEXT"):
        db.execute(f"ALTER TABLE status_events ADD COLUMN {column}")
    db.execute("CREATE INDEX status_events_span ON status_events "
               "(child_id, applied, next_date, date, is_first, status, status_before)")
    db.execute(f"CREATE INDEX status_events_returns ON status_events (date) "
               f"WHERE {RETURN_PREDICATE}")
    db.execute(f"CREATE INDEX status_events_alerts ON status_events (child_id) "
               f"WHERE {ALERT_PREDICATE}")
    children = [row[0] for row in db.execute("SELECT DISTINCT child_id FROM status_events")]
    history.refresh_current(db.conn, children)


def m003_report_indexes(db) -> None:
    """Indexes for the passes of the weekly report over a county's children.

    The span index also holds each event's school and the school before it, so the
    status *and school* on a date (school rolls, the special-group population, cases,
    人籍比对) come from the index alone: every such pass read the events table as well
    (at 1,000,000 children the report's village and school figures took 3.5 s, now 2.9).
    Pairings get an index by child, so the teacher of a case is a lookup instead of a
    pass over every pairing per query.
    """
    db.execute("DROP INDEX status_events_span")
    db.execute("CREATE INDEX status_events_span ON status_events "
               "(child_id, applied, next_date, date, is_first, status, status_before, "
               "school, school_before)")
    db.execute("CREATE INDEX assignments_child ON assignments "
               "(child_id, start_date, end_date, teacher_id)")


# The tables whose rows an import inserts, child tables first (undo deletes in this order).
INSERTED_BY_IMPORTS = ("followups", "status_events", "teachers", "children", "units")


def m004_batch_of_inserted_rows(db) -> None:
    """A row an import inserts carries the batch id; `batch_changes` keeps only updates.

    Undo deletes a batch's rows by their batch id (status events and follow-ups always
    had it; children, units and teachers get it here), instead of a log row per inserted
    row: a first import of a 100,000-row roster logged 200,000 of them. The column is
    filled from the existing log's 'insert' rows, which are then dropped.
    """
    for table in ("children", "units", "teachers"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN batch_id INTEGER REFERENCES import_batches(id)")
    for table in INSERTED_BY_IMPORTS:
        db.execute(f"""
            UPDATE {table} SET batch_id = log.batch_id
              FROM batch_changes log
             WHERE log.action = 'insert' AND log.table_name = '{table}' AND log.row_id = {table}.id
        """)
    db.execute("DELETE FROM batch_changes WHERE action = 'insert'")


# `column IN ('a', 'b', 'c', …)`: a list of three or more quoted codes
_IN_CODES = re.compile(r"(\w+) IN \(('[^']*'(?:\s*,\s*'[^']*'){2,})\)")


def _as_comparisons(sql: str) -> str:
    """`x IN ('a', 'b', 'c')` → `(x = 'a' OR x = 'b' OR x = 'c')`: true, false or NULL
    exactly when the IN list is."""
    def comparisons(match: re.Match) -> str:
        codes = re.findall(r"'[^']*'", match.group(2))
        return "(" + " OR ".join(f"{match.group(1)} = {code}" for code in codes) + ")"
    return _IN_CODES.sub(comparisons, sql)


def m005_checks_without_in_lists(db) -> None:
    """The CHECK constraints of children and status_events compare with each allowed code.

    SQLite (3.40) fills a temporary index with an IN list's values for every row it
    checks: the status CHECKs cost 0.13 s per 100,000 rows inserted, each, a fifth of
    what SQLite spends storing a roster; a chain of `=` … OR costs nothing measurable.
    The constraints mean the same, so the tables' SQL is rewritten where it is stored,
    by SQLite's documented procedure for such changes (writable_schema, then a new
    schema_version), not copied into new tables; the new text is parsed before the
    migration's transaction commits, so a mistake rolls it back.
    """
    conn = db.conn
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    rewritten = {}
    for table in ("children", "status_events"):
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (table,)).fetchone()[0]
        rewritten[table] = _as_comparisons(sql)
    conn.execute("PRAGMA writable_schema = ON")
    try:
        try:
            for table, sql in rewritten.items():
                conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                             (sql, table))
        except sqlite3.OperationalError:
            # A SQLite built "defensive" (macOS's, some distributions') refuses any write
            # to sqlite_master, from the first, so nothing has changed. The IN lists stay:
            # the same rules, only a slower import on that machine.
            return
        conn.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")
    conn.execute("SELECT * FROM children, status_events LIMIT 0")


def m006_partial_indexes_without_in_lists(db) -> None:
    """The partial indexes of returns and of the exceptions list compare with each code.

    Their WHERE clauses are evaluated for every event inserted and every entry built,
    and pay for IN lists as m005's CHECKs did: building both over 100,000 events took
    0.15 s, with `=` … OR 0.03 s. The queries that use them (history.is_return,
    history.is_alert) write the same comparisons, as SQLite needs to match them.
    Indexes, unlike tables, are simply made again.
    """
    for name in ("status_events_returns", "status_events_alerts"):
        sql = db.conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                              (name,)).fetchone()[0]
        db.execute(f"DROP INDEX {name}")
        db.execute(_as_comparisons(sql))


MIGRATIONS = [m001_schema, m002_status_spans, m003_report_indexes,
              m004_batch_of_inserted_rows, m005_checks_without_in_lists,
              m006_partial_indexes_without_in_lists]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version. Cheap when nothing is pending."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise DatabaseError(
            f"这个数据库由更新版本的 kcbx 创建（结构版本 {version}，本程序只认识到 "
            f"{len(MIGRATIONS)}）。请升级 kcbx 后再打开。"
        )
    if version == len(MIGRATIONS):
        return version
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    db = Database(conn)
    known = {m.__name__ for m in MIGRATIONS}
    migrations = Migrations(SET_NAME)
    unknown = [m.name for m in migrations.applied(db) if m.name not in known]
    if unknown:
        raise DatabaseError(
            f"这个数据库含有本程序不认识的结构更新（{'、'.join(unknown)}），"
            "可能由更新版本的 kcbx 创建。请升级 kcbx 后再打开。"
        )
    for number, fn in enumerate(MIGRATIONS, start=1):

        def step(db, fn=fn, number=number):
            fn(db)
            db.execute(f"PRAGMA user_version = {number}")

        step.__name__ = fn.__name__
        migrations(name=fn.__name__)(step)
    migrations.apply(db)
    return conn.execute("PRAGMA user_version").fetchone()[0]
