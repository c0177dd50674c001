"""Settings kept in the database (town name, thresholds, cut-off), with defaults in code.

Only values a clerk changed are stored; everything else comes from DEFAULTS, so a new
setting needs no migration.
"""

from __future__ import annotations

import sqlite3

from kcbx.errors import InvalidValue

# key -> (default, Chinese description)
DEFAULTS: dict[str, tuple[str, str]] = {
    "town": ("", "乡镇名称"),
    "cutoff": ("08-31", "入学年龄截止日（月-日）"),
    "absences": ("10", "动摇生：缺勤天数阈值（≥）"),
    "score": ("40", "学困生：成绩阈值（<）"),
    "followup_days": ("7", "辍学/疑似辍学：跟进间隔天数"),
    "returned_followup_days": ("14", "劝返复学学生：跟进间隔天数"),
    "max_load": ("15", "教师包干人数上限（督查：超过即提示）"),
}


def get(conn: sqlite3.Connection, key: str) -> str:
    """The stored value of `key`, else its default."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    if row is not None:
        return row[0]
    return DEFAULTS[key][0]


def get_int(conn: sqlite3.Connection, key: str) -> int:
    """An integer setting."""
    return int(get(conn, key))


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Store `value` for `key` (the caller owns the transaction)."""
    if key not in DEFAULTS:
        raise InvalidValue(f"没有名为「{key}」的设置。可用：{'、'.join(DEFAULTS)}")
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, str(value)),
    )
