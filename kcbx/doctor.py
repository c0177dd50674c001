"""`kcbx doctor`: is the database sound, consistent and private? A list of findings and a verdict.

Foreign keys and CHECK constraints keep kcbx's own writes honest, but the file may have
been edited by another tool, restored from an old copy, or damaged by a full disk, so
doctor looks again from outside: SQLite's own checks, the schema version, who may read
the files, rows that point at nothing, and children whose stored birth date or gender
disagrees with their ID number. Each finding says what to do next; an error means the
data or its privacy is at risk, a warning that something needs attention soon.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from kcbx import backup, idcard, migrations
from kcbx.errors import DatabaseError

LEVELS = {"ok": "正常", "warn": "提醒", "error": "错误"}
CHECKS = {
    "open": "打开数据库",
    "integrity": "完整性",
    "schema_version": "结构版本",
    "permissions": "文件权限",
    "foreign_keys": "外键",
    "orphan_rows": "孤立记录",
    "birth_mismatch": "出生日期",
    "gender_mismatch": "性别",
    "open_assignments": "包干教师",
    "verdict": "结论",
}
# tables whose rows describe one child: a row without its child is meaningless
CHILD_TABLES = {"status_events": "状态记录", "flags": "标记", "assignments": "包干记录",
                "followups": "帮扶记录"}
GENDERS = {"M": "男", "F": "女"}
RESTORE_HINT = "可用 kcbx backups 查看备份，用 kcbx restore 恢复。"
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One result of one check: level ok/warn/error, a stable code, a Chinese message."""

    level: str
    code: str
    message: str


def examine(db_path: Path) -> list[Finding]:
    """Open the database without migrating it and diagnose it; an unopenable file is a finding."""
    from kcbx import db as kdb

    db_path = Path(db_path)
    if not db_path.is_file():
        raise DatabaseError(f"找不到数据库：{db_path}。请先运行 kcbx init，或用 --db 指定数据库。")
    try:
        conn = kdb.connect(db_path, migrate=False)
    except DatabaseError as exc:
        findings = [Finding("error", "open", f"数据库无法打开（{exc.__cause__ or exc}）。"
                                              f"{RESTORE_HINT}"),
                    *check_permissions(db_path)]
        return [*findings, verdict(findings)]
    with closing(conn):
        return diagnose(conn, db_path)


def diagnose(conn: sqlite3.Connection, db_path: Path) -> list[Finding]:
    """Every check in turn, then the verdict; a check SQLite cannot finish is itself an error."""
    findings = [*check_integrity(conn),
                *_attempt("schema_version", check_schema, conn),
                *check_permissions(Path(db_path))]
    if not any(f.code == "schema_version" and f.level == "error" for f in findings):
        for code, check in (("foreign_keys", check_foreign_keys), ("orphan_rows", check_orphans),
                            ("birth_mismatch", check_id_fields),
                            ("open_assignments", check_open_assignments)):
            findings += _attempt(code, check, conn)
    return [*findings, verdict(findings)]


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error: `kcbx doctor` then exits 1."""
    return any(f.level == "error" for f in findings)


def verdict(findings: list[Finding]) -> Finding:
    """The summary line: healthy, usable with warnings, or not healthy."""
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    if errors:
        return Finding("error", "verdict", f"发现 {errors} 个错误、{warnings} 个提醒，请按上面的说明处理"
                                           "（处理前可先运行 kcbx backup 备份）。")
    if warnings:
        return Finding("warn", "verdict", f"数据库可以使用，有 {warnings} 个提醒。")
    return Finding("ok", "verdict", "数据库健康。")


def _attempt(code: str, check, conn: sqlite3.Connection) -> list[Finding]:
    """Run one check; a damaged file that makes SQLite fail mid-check is reported, not raised."""
    try:
        return check(conn)
    except sqlite3.DatabaseError as exc:
        return [Finding("error", code, f"无法完成{CHECKS[code]}检查（{exc}）。{RESTORE_HINT}")]


def check_integrity(conn: sqlite3.Connection) -> list[Finding]:
    """SQLite's `PRAGMA integrity_check`: damaged pages, broken indexes."""
    try:
        problems = [r[0] for r in conn.execute(f"PRAGMA integrity_check({EXAMPLES})")]
    except sqlite3.DatabaseError as exc:  # pages too damaged for the check to walk them
        problems = [str(exc)]
    if problems == ["ok"]:
        return [Finding("ok", "integrity", "文件完整。")]
    return [Finding("error", "integrity",
                    f"文件已损坏：{'；'.join(problems)}。{RESTORE_HINT}")]


def check_schema(conn: sqlite3.Connection) -> list[Finding]:
    """The schema version against this kcbx, and the presence of every kcbx table."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    known = len(migrations.MIGRATIONS)
    missing = backup.missing_tables(conn)
    if missing:
        return [Finding("error", "schema_version",
                        f"缺少 kcbx 的表：{'、'.join(missing)}。这不是完整的 kcbx 数据库。"
                        f"{RESTORE_HINT}")]
    if version > known:
        return [Finding("error", "schema_version",
                        f"结构版本 {version} 高于本程序认识的 {known}：数据库来自更新版本的 kcbx。"
                        "请升级 kcbx。")]
    if version < known:
        return [Finding("warn", "schema_version",
                        f"结构版本 {version}，本程序为 {known}：下次运行 kcbx 命令时会自动升级"
                        "（升级前自动备份）。")]
    return [Finding("ok", "schema_version", f"结构版本 {version}，与程序一致。")]


def check_permissions(db_path: Path) -> list[Finding]:
    """Database, -wal, -shm and backups readable by the owner only (files 0600, folder 0700)."""
    if os.name == "nt":
        return [Finding("ok", "permissions", "Windows 上由账户权限控制，未检查文件权限位。")]
    files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"),
             *(Path(b["path"]) for b in backup.list_backups(db_path))]
    folder = backup.backups_dir(db_path)
    loose = [(p, _mode(p)) for p in files if p.exists() and _mode(p) & 0o077]
    if folder.is_dir() and _mode(folder) & 0o077:
        loose.append((folder, _mode(folder)))
    if not loose:
        return [Finding("ok", "permissions", "数据库和备份只有本人可读写。")]
    shown = "、".join(f"{p}（{m:o}）" for p, m in loose[:EXAMPLES])
    more = f" 等 {len(loose)} 个" if len(loose) > EXAMPLES else ""
    return [Finding("error", "permissions",
                    f"其他用户也能读取：{shown}{more}。这些文件含未成年人身份证号，"
                    "请改为只有本人可读写：文件 chmod 600，文件夹 chmod 700。")]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_foreign_keys(conn: sqlite3.Connection) -> list[Finding]:
    """`PRAGMA foreign_key_check`, except child references (check_orphans words those)."""
    counts = Counter(
        (r[0], r[2]) for r in conn.execute("PRAGMA foreign_key_check")
        if not (r[2] == "children" and r[0] in CHILD_TABLES)
    )
    if not counts:
        return [Finding("ok", "foreign_keys", "所有引用都指向存在的记录。")]
    shown = "、".join(f"{table} {n} 行指向不存在的 {parent}" for (table, parent), n in counts.items())
    return [Finding("error", "foreign_keys", f"引用不一致：{shown}。数据库可能被其他工具改过。"
                                             f"{RESTORE_HINT}")]


def check_orphans(conn: sqlite3.Connection) -> list[Finding]:
    """Status events, flags, pairings and follow-ups whose child row is missing."""
    counts = {}
    for table in CHILD_TABLES:
        n = conn.execute(f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                         "(SELECT 1 FROM children c WHERE c.id = t.child_id)").fetchone()[0]
        if n:
            counts[table] = n
    if not counts:
        return [Finding("ok", "orphan_rows", "没有孤立记录。")]
    shown = "、".join(f"{n} 条{CHILD_TABLES[t]}（{t}）" for t, n in counts.items())
    return [Finding("error", "orphan_rows", f"{shown}指向不存在的儿童，数据库可能被其他工具改过。"
                                            f"{RESTORE_HINT}")]


def check_id_fields(conn: sqlite3.Connection) -> list[Finding]:
    """Stored birth date and gender against those coded in the ID number (both derived from it)."""
    births, genders = [], []
    for row in conn.execute("SELECT id_number, name, birth_date, gender FROM children ORDER BY id"):
        id_number, name, stored_birth, stored_gender = row
        coded_birth, coded_gender = _coded(id_number)
        label = f"{name}（{idcard.mask(id_number)}）"
        if coded_birth is None or stored_birth != coded_birth:
            births.append(f"{label} 库中 {stored_birth}，身份证号为 {coded_birth or '无效日期'}")
        if coded_gender is None or stored_gender != coded_gender:
            genders.append(f"{label} 库中 {GENDERS.get(stored_gender, stored_gender)}，"
                           f"身份证号为 {GENDERS.get(coded_gender, '无法判断')}")
    hint = "请核对后重新导入该生的花名册，或用 kcbx children set 更正。"
    return [_mismatch("birth_mismatch", "出生日期", births, hint),
            _mismatch("gender_mismatch", "性别", genders, hint)]


def _coded(id_number: object) -> tuple[str | None, str | None]:
    """Birth date (ISO) and gender ('M'/'F') coded in an ID, None where unreadable."""
    id_number = str(id_number)
    born = idcard.birth_date(id_number) if id_number[:14].isdigit() else None
    coded_gender = idcard.gender(id_number) if id_number[16:17].isdigit() else None
    return (born.isoformat() if born else None), coded_gender


def _mismatch(code: str, what: str, cases: list[str], hint: str) -> Finding:
    """One finding for all children whose `what` disagrees with the ID (a few named, masked)."""
    if not cases:
        return Finding("ok", code, f"所有儿童的{what}与身份证号一致。")
    more = f" 等 {len(cases)} 人" if len(cases) > EXAMPLES else ""
    return Finding("error", code, f"{len(cases)} 名儿童的{what}与身份证号不一致："
                                  f"{'；'.join(cases[:EXAMPLES])}{more}。{hint}")


def check_open_assignments(conn: sqlite3.Connection) -> list[Finding]:
    """At most one open teacher pairing per child (a unique index normally enforces it)."""
    rows = conn.execute(
        "SELECT coalesce(c.name, '不存在的儿童'), c.id_number, count(*) FROM assignments a "
        "LEFT JOIN children c ON c.id = a.child_id WHERE a.end_date IS NULL "
        "GROUP BY a.child_id HAVING count(*) > 1").fetchall()
    if not rows:
        return [Finding("ok", "open_assignments", "每名儿童至多一位包干教师。")]
    shown = "；".join(f"{r[0]}（{idcard.mask(r[1])}）{r[2]} 位" for r in rows[:EXAMPLES])
    more = f" 等 {len(rows)} 人" if len(rows) > EXAMPLES else ""
    return [Finding("error", "open_assignments",
                    f"{len(rows)} 名儿童同时有多位包干教师：{shown}{more}。"
                    "请用 kcbx assign end 结束多余的包干。")]
