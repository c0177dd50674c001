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


MIGRATIONS = [m001_schema]


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
