"""Where the database lives and how it is opened: pragmas, permissions, migrations.

Every command opens the store through `connect`, which creates the file with mode 0600,
turns on foreign keys, WAL and a busy timeout (so a cron report and an import can run
side by side), and applies pending migrations. Writers use `transaction`, which takes
the write lock up front (BEGIN IMMEDIATE) so two writers queue instead of deadlocking.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

from kcbx.errors import DatabaseError

ENV_VAR = "KCBX_DB"
BUSY_TIMEOUT_MS = 120_000
PAGE_SIZE = 16384


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


def connect(path: str | os.PathLike, *, migrate: bool = True,
            any_thread: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    `any_thread`: the connection may be used from another thread (one at a time)."""
    os.umask(0o077)  # the file, its -wal/-shm, backups and reports: owner only
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"数据库路径是一个文件夹：{path}。请用 --db 指定一个文件。")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=not any_thread)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # a new file only; ignored after
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        raise explain(exc, path) from exc
    if migrate:
        from kcbx.migrations import MIGRATIONS, migrate as run_migrations

        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != len(MIGRATIONS):
                _backup_before_migration(conn, path)
                # Under the write lock: two first runs (cron and the clerk) must not both
                # create the tables; the second waits, then finds nothing left to do.
                with transaction(conn, counted=False):
                    run_migrations(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise explain(exc, path) from exc
        except BaseException:
            conn.close()
            raise
    return conn


def _backup_before_migration(conn: sqlite3.Connection, path: Path) -> None:
    """Copy a database that holds data before its schema is upgraded (SPEC §7)."""
    from kcbx.migrations import MIGRATIONS

    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if 0 < version < len(MIGRATIONS):
        from kcbx.backup import auto_backup

        auto_backup(conn, path, "migrate")


class _Commits:
    """How many transactions of this process have committed (or were committing)."""

    count = 0


def commits() -> int:
    """Transactions committed so far by this process: did a Ctrl-C come too late?"""
    return _Commits.count


@contextmanager
def transaction(conn: sqlite3.Connection, *, counted: bool = True) -> Iterator[sqlite3.Connection]:
    """One atomic write: all of it lands, or (on any exception, Ctrl-C included) none.

    `counted=False` (migrations) keeps the write out of `commits()`: a schema upgrade is
    not the change the clerk asked for.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise explain(exc, _file_of(conn)) from exc
    before = _Commits.count
    try:
        yield conn
        # Counted before COMMIT: Ctrl-C during it only surfaces after it has landed.
        _Commits.count = before + counted
        conn.execute("COMMIT")  # a full disk can fail the commit itself
    except BaseException as exc:
        # Only an interrupt after COMMIT returned finds the transaction closed and landed.
        landed = not conn.in_transaction and not isinstance(exc, sqlite3.Error)
        # SQLite rolls back by itself after some errors (a full disk, an I/O error); a
        # second ROLLBACK would fail and hide the error that says what happened.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if not landed:
            _Commits.count = before
        raise


@contextmanager
def one_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Every read in the block sees one committed state of the database: on `conn`, and
    on the connections `alongside` gives work to.

    A report, `rates` or `check` is many queries, some on a second connection; an import
    committing between two of them would give figures from two states (a numerator from
    before it, a denominator from after). So `conn` and PARTNERS more connections each
    begin a read transaction (in WAL mode its snapshot is the last commit at its first
    read) while the write lock is held for that moment, so that no commit falls between
    them; the lock is let go at once, and writers go on while the block reads. A block
    inside a transaction, or inside another one_snapshot, already reads one state.
    """
    path = _file_of(conn)
    if not path or conn.in_transaction:
        yield
        return
    partners: list[sqlite3.Connection] = []
    try:
        with _commits_held_off(path):
            _begin_reading(conn)
            for _ in range(PARTNERS):
                partners.append(connect(path, migrate=False, any_thread=True))
                _begin_reading(partners[-1])
        free = _Partners(partners)
        for reader in (conn, *partners):
            _partners[id(reader)] = free
        yield
    finally:
        for reader in (conn, *partners):
            _partners.pop(id(reader), None)
        for other in partners:
            other.close()
        if conn.in_transaction:
            conn.execute("ROLLBACK")  # nothing was written but scratch temp tables


def _begin_reading(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM sqlite_master")  # the first read fixes the snapshot


def reads_one_state(function: Callable) -> Callable:
    """`function(conn, …)` run inside one_snapshot(conn): a command's figures from one state."""
    @functools.wraps(function)
    def reading(conn: sqlite3.Connection, *args, **kwargs):
        with one_snapshot(conn):
            return function(conn, *args, **kwargs)
    return reading


PARTNERS = 2  # the report's 督查 half, and the second half of its counts by school


class _Partners:
    """Connections reading the snapshot of a one_snapshot block, free for `alongside`."""

    def __init__(self, connections: list[sqlite3.Connection]):
        self.free = list(connections)
        self.lock = threading.Lock()

    def take(self) -> sqlite3.Connection | None:
        with self.lock:
            return self.free.pop() if self.free else None

    def give_back(self, conn: sqlite3.Connection) -> None:
        with self.lock:
            self.free.append(conn)


_partners: dict[int, _Partners] = {}  # id of a connection in a one_snapshot -> its partners


@contextmanager
def _commits_held_off(path: str) -> Iterator[None]:
    """Hold the write lock for the block (waiting, as a writer would, for one in progress).

    SQLite grants it in WAL mode even where the file cannot be written (an immutable
    file, a read-only mount: checked), so a read-only database is read as before."""
    lock = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        try:
            lock.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise explain(exc, path) from exc
        yield
    finally:
        lock.close()  # ends the transaction: nothing was written


@contextmanager
def alongside(conn: sqlite3.Connection,
              work: Callable[[sqlite3.Connection], object]) -> Iterator[Future]:
    """Run `work` on a second connection to the same database, in a thread, while the
    block goes on with `conn`; the future gives its result (or raises its error).

    For a report over a county, which spends its time inside SQLite: SQLite releases
    Python's lock while it works and lets two connections read side by side (WAL), so
    two halves of the work take the time of the longer one on two cores. Inside
    `one_snapshot` the second connection is one of its partners, reading the same
    state; with none free, or a database in memory (no second connection), `work` runs
    on `conn` first. An error in the block (Ctrl-C included) stops the other work at
    its next step.
    """
    path = _file_of(conn)
    partners = _partners.get(id(conn))
    other = partners.take() if partners else None
    if not path or (partners and other is None):
        done: Future = Future()
        try:
            done.set_result(work(conn))
        except Exception as exc:  # raised by result(), as it would be from the thread
            done.set_exception(exc)
        yield done
        return
    stop = threading.Event()

    def run() -> object:
        reader = other or connect(path, migrate=False)
        reader.set_progress_handler(stop.is_set, _STEPS_BETWEEN_CHECKS)  # true: interrupted
        try:
            return work(reader)
        finally:
            reader.set_progress_handler(None, 0)
            if other is None:
                reader.close()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kcbx-alongside") as pool:
        future = pool.submit(run)
        try:
            yield future
        except BaseException:
            stop.set()
            future.cancel()
            raise
    if other is not None:
        partners.give_back(other)


# How often (in SQLite virtual-machine steps, well under a millisecond) a query running
# alongside asks whether to stop.
_STEPS_BETWEEN_CHECKS = 100_000


def _file_of(conn: sqlite3.Connection) -> str | None:
    """The file behind `conn`, for messages."""
    try:
        return conn.execute("PRAGMA database_list").fetchone()[2] or None
    except sqlite3.Error:
        return None


# SQLite's primary result codes (Python ≥ 3.11 names them; older ones only give the text)
_CODES = {
    "SQLITE_FULL": "database or disk is full",
    "SQLITE_READONLY": "readonly database",
    "SQLITE_BUSY": "database is locked",
    "SQLITE_LOCKED": "database table is locked",
    "SQLITE_CANTOPEN": "unable to open database file",
    "SQLITE_NOTADB": "file is not a database",
    "SQLITE_CORRUPT": "database disk image is malformed",
    "SQLITE_IOERR": "disk I/O error",
}


def explain(exc: sqlite3.Error, path: str | os.PathLike | None = None) -> DatabaseError:
    """A SQLite error as the clerk reads it: what happened, and what to do next.

    The one place where SQLite's English becomes Chinese: `connect`, `transaction` and the
    CLI's error handler all come here. Every kcbx write is one transaction, so when a
    write fails nothing of it is left in the database.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    code = next((c for c, text in _CODES.items()
                 if name == c or name.startswith(c + "_") or text in str(exc)), None)
    where = f"（{path}）" if path else ""
    untouched = "本次操作已撤销，数据库未改动。"
    messages = {
        "SQLITE_FULL": f"磁盘已满，数据库{where}写不进去。{untouched}"
                       "请清理磁盘空间（或把数据库移到空间更大的磁盘，用 --db 指定）后重试。",
        "SQLITE_READONLY": f"数据库文件{where}是只读的，无法写入。{untouched}"
                           "请检查文件权限（或是否在只读的U盘、光盘上），或把它复制到可写的文件夹后用 --db 指定。",
        "SQLITE_BUSY": f"数据库{where}正被其他程序占用，等待 {BUSY_TIMEOUT_MS // 1000} 秒后仍未释放。"
                       f"{untouched}请等其他导入或报表完成后再试。",
        "SQLITE_LOCKED": f"数据库{where}正被其他程序占用。{untouched}请稍后再试。",
        "SQLITE_CANTOPEN": f"无法打开数据库{where}：请检查文件夹是否存在、是否有读写权限。",
        "SQLITE_NOTADB": f"数据库{where}不是 kcbx 数据库，或已损坏：请检查 --db 指向的文件，"
                         "或用 kcbx backups 查看备份、kcbx restore 恢复。",
        "SQLITE_CORRUPT": f"数据库{where}已损坏：请运行 kcbx doctor 检查，"
                          "并用 kcbx backups 查看备份、kcbx restore 恢复。",
        "SQLITE_IOERR": f"读写数据库{where}时磁盘出错。{untouched}"
                        "请检查磁盘（或U盘是否已拔出）和剩余空间后重试。",
    }
    return DatabaseError(messages.get(code, f"数据库{where}操作失败（{exc}）。请运行 kcbx doctor 检查。"))


def insert_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence]) -> None:
    """INSERT `rows` in order, up to a hundred per statement.

    `executemany` pays Python's per-row costs (resetting the statement, checking the
    parameters, releasing the GIL around each step) once per row; one statement per
    hundred rows pays them once per hundred. Measured for 100,000 status events:
    0.79 → 0.44 s.
    """
    for sql, start, stop in _statements(conn, table, columns, len(rows)):
        conn.execute(sql, list(chain.from_iterable(rows[start:stop])))


def insert_columns(conn: sqlite3.Connection, table: str, names: Sequence[str],
                   columns: Sequence[Sequence]) -> None:
    """INSERT the rows that `columns` (one sequence per name, all as long) make, in order.

    As insert_rows, for data held a column at a time: each statement's parameters are
    filled a column at a time by slice assignment, so no tuple is built per row (0.04 s
    of the 100,000 children of a roster).
    """
    width = len(names)
    for sql, start, stop in _statements(conn, table, names, len(columns[0])):
        params = [None] * (width * (stop - start))
        for j, column in enumerate(columns):
            params[j::width] = column[start:stop]
        conn.execute(sql, params)


def _statements(conn: sqlite3.Connection, table: str, columns: Sequence[str],
                count: int) -> Iterator[tuple[str, int, int]]:
    """(SQL, start, stop): the INSERTs of up to a hundred rows each that add `count` rows.

    Every full statement is the same string, so the statement cache finds it by a hash
    already computed."""
    try:
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11: assume the smallest limit SQLite ever had
        limit = 999
    per = max(1, min(100, limit // len(columns)))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = "(" + ", ".join("?" * len(columns)) + ")"
    full = head + ", ".join([one] * per)
    for start in range(0, count, per):
        stop = min(start + per, count)
        yield (full if stop - start == per else head + ", ".join([one] * (stop - start)),
               start, stop)


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
