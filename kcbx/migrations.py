"""Schema migrations, applied in order on every open (sqlite-utils `Migrations`).

`PRAGMA user_version` equals the number of applied migrations and is set inside the
migration's own transaction, so a failed migration leaves both schema and version as
they were. A database with a higher version, or with a migration this kcbx does not
know, was written by a newer kcbx and is refused. Never rename or edit a released
migration: add `m00N_<what>` below instead.
"""

from __future__ import annotations

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


MIGRATIONS = [m001_schema, m002_status_spans, m003_report_indexes]


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
