"""Where the database lives and how it is opened: pragmas, permissions, migrations.

Every command opens the store through `connect`, which creates the file with mode 0600,
turns on foreign keys, WAL and a busy timeout (so a cron report and an import can run
side by side), and applies pending migrations. Writers use `transaction`, which takes
the write lock up front (BEGIN IMMEDIATE) so two writers queue instead of deadlocking.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

from kcbx.errors import DatabaseError

ENV_VAR = "KCBX_DB"
BUSY_TIMEOUT_MS = 120_000


def default_path() -> Path:
    """The per-user data directory (e.g. ~/.local/share/kcbx/kcbx.db)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("kcbx", appauthor=False)) / "kcbx.db"


def resolve_path(option: str | os.PathLike | None = None) -> Path:
    """`--db`, else $KCBX_DB, else the user data dir."""
    if option:
        return Path(option)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return default_path()


def connect(path: str | os.PathLike, *, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date."""
    os.umask(0o077)  # the file, its -wal/-shm, backups and reports: owner only
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"数据库路径是一个文件夹：{path}。请用 --db 指定一个文件。")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(
            f"无法打开数据库 {path}：{exc}。请检查文件是否完好，或用 kcbx doctor 检查。"
        ) from exc
    if migrate:
        from kcbx.migrations import migrate as run_migrations

        try:
            _backup_before_migration(conn, path)
            run_migrations(conn)
        except sqlite3.OperationalError as exc:
            conn.close()
            raise DatabaseError(f"无法更新数据库 {path}：{exc}") from exc
    return conn


def _backup_before_migration(conn: sqlite3.Connection, path: Path) -> None:
    """Copy a database that holds data before its schema is upgraded (SPEC §7)."""
    from kcbx.migrations import MIGRATIONS

    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if 0 < version < len(MIGRATIONS):
        from kcbx.backup import auto_backup

        auto_backup(conn, path, "migrate")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: all of it lands, or (on any exception, Ctrl-C included) none."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise DatabaseError(
            f"数据库正被其他程序占用，等待超时：{exc}。请稍后再试。"
        ) from exc
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def insert_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence]) -> None:
    """INSERT `rows` in order, up to a hundred per statement.

    `executemany` pays Python's per-row costs (resetting the statement, checking the
    parameters, releasing the GIL around each step) once per row; one statement per
    hundred rows pays them once per hundred. Measured for 100,000 status events:
    0.79 → 0.44 s.
    """
    try:
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11: assume the smallest limit SQLite ever had
        limit = 999
    per = max(1, min(100, limit // len(columns)))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = "(" + ", ".join("?" * len(columns)) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        conn.execute(head + ", ".join([one] * len(chunk)), list(chain.from_iterable(chunk)))


# Below this many new rows, keeping indexes up to date row by row is cheap enough.
BULK_ROWS = 10_000


@contextmanager
def indexes_rebuilt(conn: sqlite3.Connection, table: str, adding: int) -> Iterator[None]:
    """Add `adding` rows to `table` inside this block, rebuilding its indexes once after.

    SQLite updates every index of a table for each row inserted; sorting all entries once
    is cheaper when the rows added are at least as many as those already there, as in a
    first import (measured: 2.9 → 2.1 s for 100,000 children and their events). The
    secondary indexes are dropped and created again from their own SQL inside the
    caller's transaction, so a rollback brings them back unchanged. Nothing inside the
    block may query `table` by those indexes.
    """
    if adding < BULK_ROWS or adding < conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
        yield
        return
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        conn.execute(sql)


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Row count of every kcbx table, for `kcbx info` and `doctor`."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
