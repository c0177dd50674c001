"""Copies of the database: manual and automatic backups, their listing, and restore.

Every copy goes through SQLite's online backup API, so it is consistent even while a
cron report reads or an import writes, and it includes what still sits in the -wal file.
A backup is a single self-contained file (journal mode DELETE), written under a temporary
name and renamed, mode 0600 in a 0700 folder: it holds minors' ID numbers (SPEC §7).

Automatic backups live in `backups/` beside the database, named
`<db stem>-YYYYmmdd-HHMMSS-ffffff-<reason>.db`; the reason is a fixed English word, so a
file name can never carry an ID number. The last KEEP automatic backups are kept; manual
ones are the clerk's and are never deleted here.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from kcbx import migrations
from kcbx.errors import DatabaseError, FileProblem

KEEP = 10
FOLDER = "backups"
# reason word -> how the clerk reads it; "manual" backups are never pruned
REASONS = {
    "manual": "手动备份",
    "import": "导入前",
    "undo": "撤销导入前",
    "restore": "恢复前",
    "migrate": "升级结构前",
}
SQLITE_HEADER = b"SQLite format 3\x00"
_STAMP = "%Y%m%d-%H%M%S-%f"


def backups_dir(db_path: Path) -> Path:
    """The folder of automatic backups: `backups/` beside the database."""
    return Path(db_path).parent / FOLDER


def backup(conn: sqlite3.Connection, dest: Path) -> Path:
    """Copy the open database to `dest` atomically (online backup API, mode 0600)."""
    dest = Path(dest)
    tmp = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".kcbx-", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        tmp = Path(name)
        with closing(sqlite3.connect(tmp)) as target:
            conn.backup(target)
            # the copied header says WAL; a backup must be one file that opens anywhere
            target.execute("PRAGMA journal_mode = DELETE")
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    except (OSError, sqlite3.OperationalError) as exc:
        raise FileProblem(
            f"无法写入备份 {dest}：{exc}。请检查磁盘空间和文件夹权限后再试。"
        ) from exc
    finally:
        if tmp is not None:
            for leftover in (tmp, Path(f"{tmp}-journal")):
                leftover.unlink(missing_ok=True)
    return dest


def auto_backup(conn: sqlite3.Connection, db_path: Path, reason: str) -> Path:
    """Back up before an import, undo, restore or migration; keep the last KEEP of these."""
    dest = backup(conn, _new_backup_path(db_path, reason))
    prune(db_path)
    return dest


def manual_backup(conn: sqlite3.Connection, db_path: Path, dest: Path | None = None) -> Path:
    """`kcbx backup [PATH]`: into the backups folder by default; never overwrites a file."""
    if dest is None:
        return backup(conn, _new_backup_path(db_path, "manual"))
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / _file_name(Path(db_path).stem, "manual", datetime.now())
    if dest.exists():
        raise FileProblem(f"文件已存在：{dest}。请换一个文件名，或先把它移走。")
    return backup(conn, dest)


def list_backups(db_path: Path) -> list[dict]:
    """The backups of this database in its backups folder, newest first."""
    folder = backups_dir(db_path)
    if not folder.is_dir():
        return []
    pattern = re.compile(
        rf"^{re.escape(Path(db_path).stem)}-(\d{{8}}-\d{{6}}-\d{{6}})-([a-z]+)\.db$"
    )
    found = []
    for path in folder.iterdir():
        match = pattern.match(path.name)
        if match and match[2] in REASONS and path.is_file():
            created = datetime.strptime(match[1], _STAMP)
            found.append((created, path, match[2]))
    found.sort(key=lambda item: item[0], reverse=True)
    return [
        {"path": str(path), "created": created.strftime("%Y-%m-%d %H:%M:%S"),
         "size": path.stat().st_size, "reason": reason}
        for created, path, reason in found
    ]


def prune(db_path: Path) -> list[Path]:
    """Delete automatic backups beyond the newest KEEP; return what was deleted."""
    automatic = [b for b in list_backups(db_path) if b["reason"] != "manual"]
    removed = []
    for old in automatic[KEEP:]:
        path = Path(old["path"])
        path.unlink(missing_ok=True)
        Path(f"{path}-wal").unlink(missing_ok=True)  # kept beside a set-aside unreadable file
        removed.append(path)
    return removed


def restore(db_path: Path, source: Path) -> dict:
    """Replace the database with `source` after checking it; the replaced state is backed up.

    The source is checked completely before anything is touched. Its pages are then copied
    into the live file through the backup API (one transaction, so -wal/-shm stay
    consistent and other connections see either the old or the new database), and an
    older source is migrated to the current schema. Old backups are pruned only after the
    source is closed: it may itself be the oldest backup (Windows cannot delete an open file).
    """
    from kcbx import db as kdb

    db_path, source = Path(db_path), Path(source)
    if db_path.is_dir():
        raise DatabaseError(f"数据库路径是一个文件夹：{db_path}。请用 --db 指定一个文件。")
    with closing(_open_source(source, db_path)) as src:
        source_version = check_source(src, source)
        saved = _save_current(db_path)
        with closing(kdb.connect(db_path, migrate=False)) as live:
            src.backup(live)
    prune(db_path)
    with closing(kdb.connect(db_path)) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return {"source": str(source), "saved": str(saved) if saved else None,
            "source_version": source_version, "schema_version": version}


def kcbx_tables() -> list[str]:
    """The tables the first migration creates: every kcbx database has them."""
    return re.findall(r"^CREATE TABLE (\w+)", migrations.schema_sql(), re.MULTILINE)


def missing_tables(conn: sqlite3.Connection) -> list[str]:
    """kcbx tables absent from the database behind `conn`."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [name for name in kcbx_tables() if name not in present]


def check_source(src: sqlite3.Connection, source: Path) -> int:
    """Refuse a source that is corrupt, not kcbx's or from a newer kcbx; return its version."""
    untouched = "当前数据库未改动。"
    try:
        problems = [r[0] for r in src.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise FileProblem(f"{source} 已损坏（完整性检查：{'；'.join(problems)}），不能用来恢复。"
                              f"{untouched}请换一个备份（kcbx backups 可列出备份）。")
        missing = missing_tables(src)
        version = src.execute("PRAGMA user_version").fetchone()[0]
        applied = _applied_migrations(src)
    except sqlite3.DatabaseError as exc:
        raise FileProblem(f"{source} 已损坏或无法读取（{exc}），不能用来恢复。{untouched}"
                          "请换一个备份（kcbx backups 可列出备份）。") from exc
    if missing or version < 1:
        shown = "、".join(missing[:5]) or "结构版本为 0"
        raise FileProblem(f"{source} 不是 kcbx 数据库（缺少：{shown}），不能用来恢复。{untouched}")
    known = len(migrations.MIGRATIONS)
    unknown = sorted(set(applied) - {m.__name__ for m in migrations.MIGRATIONS})
    if version > known or unknown:
        detail = (f"结构版本 {version}，本程序只认识到 {known}" if version > known
                  else f"含本程序不认识的结构更新：{'、'.join(unknown)}")
        raise DatabaseError(f"{source} 由更新版本的 kcbx 创建（{detail}），不能用来恢复。"
                            f"{untouched}请升级 kcbx 后再恢复。")
    return version


def _applied_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of kcbx migrations recorded in the database (sqlite-utils' table)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not has_table:
        return []
    return [r[0] for r in conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (migrations.SET_NAME,))]


def _open_source(source: Path, db_path: Path) -> sqlite3.Connection:
    """Open a restore source read-only, after the checks a file name and 16 bytes allow."""
    if not source.exists():
        raise FileProblem(f"找不到文件：{source}。可用 kcbx backups 列出已有的备份。")
    if source.is_dir():
        raise FileProblem(f"{source} 是一个文件夹，请指定备份文件（.db）。")
    if db_path.exists() and source.resolve() == db_path.resolve():
        raise FileProblem(f"{source} 就是当前数据库，不能用它自己来恢复。")
    if source.stat().st_size == 0:
        raise FileProblem(f"{source} 是空文件（0 字节），不能用来恢复。当前数据库未改动。")
    if not _is_sqlite_file(source):
        raise FileProblem(f"{source} 不是 SQLite 数据库文件，不能用来恢复。当前数据库未改动。"
                          "kcbx 的备份是 .db 文件，可用 kcbx backups 列出。")
    return sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)


def _is_sqlite_file(path: Path) -> bool:
    """True when the file starts with SQLite's 16-byte magic header."""
    with open(path, "rb") as f:
        return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _save_current(db_path: Path) -> Path | None:
    """Back up the database a restore is about to replace (None when there is none yet).

    A file that is not SQLite at all (overwritten, or a spreadsheet saved under its name)
    cannot be copied page by page and no connection can be using it, so it is moved into
    the backups folder as it is, with its -wal beside it, and a fresh file takes its place.
    """
    from kcbx import db as kdb

    if not db_path.exists():
        return None
    if _is_sqlite_file(db_path):
        with closing(kdb.connect(db_path, migrate=False)) as conn:
            return backup(conn, _new_backup_path(db_path, "restore"))
    dest = _new_backup_path(db_path, "restore")
    os.replace(db_path, dest)
    os.chmod(dest, 0o600)
    wal = Path(f"{db_path}-wal")
    if wal.exists():
        os.replace(wal, f"{dest}-wal")
    Path(f"{db_path}-shm").unlink(missing_ok=True)
    return dest


def _new_backup_path(db_path: Path, reason: str) -> Path:
    """A fresh name in the backups folder (created 0700), unique to the microsecond."""
    folder = backups_dir(db_path)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as exc:
        raise FileProblem(f"无法建立备份文件夹 {folder}：{exc}。请检查它是不是文件夹、"
                          "有没有写入权限。") from exc
    now = datetime.now()
    while (folder / _file_name(Path(db_path).stem, reason, now)).exists():
        now += timedelta(microseconds=1)  # coarse clocks (Windows) repeat timestamps
    return folder / _file_name(Path(db_path).stem, reason, now)


def _file_name(stem: str, reason: str, now: datetime) -> str:
    """`<stem>-YYYYmmdd-HHMMSS-ffffff-<reason>.db`; the reason is one of REASONS, never data."""
    if reason not in REASONS:
        raise ValueError(f"unknown backup reason {reason!r}")
    return f"{stem}-{now.strftime(_STAMP)}-{reason}.db"
