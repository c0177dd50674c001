"""Teachers: finding one by 学校/姓名, their 包干 load, and taking one out of post.

A teacher is keyed by school + name (one name can teach at two schools), so the clerk
writes `学校/姓名`, or just the name when it is unique. A teacher who leaves post stops
being responsible at once: their open pairings end in the same transaction, and the next
`kcbx assign` gives those children a new teacher.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from datetime import date

from kcbx.db import transaction
from kcbx.errors import Ambiguous, NotFound
from kcbx.units import find_unit

# End reason of pairings whose teacher left post (the importer's full lists say the same).
TEACHER_LEFT = "教师已不在岗"

# The teacher paired with child `c` on :as_of (the latest pairing when two touch that
# day): a lookup through the pairings' index by child (m003).
PAIRED_TEACHER = """(
    SELECT a.teacher_id FROM assignments a
     WHERE a.child_id = c.id AND a.start_date <= :as_of
       AND (a.end_date IS NULL OR a.end_date > :as_of)
     ORDER BY a.id DESC LIMIT 1)"""
# That teacher (alias t) and the teacher's school (ts).
TEACHER_JOIN = f"""
    LEFT JOIN teachers t ON t.id = {PAIRED_TEACHER}
    LEFT JOIN units ts ON ts.id = t.school_id
"""
TEACHER_COLUMNS = "t.name AS teacher, t.phone AS teacher_phone, ts.name AS teacher_school"

_SELECT = """
    SELECT t.*, s.name AS school,
           (SELECT count(*) FROM assignments a
             WHERE a.teacher_id = t.id AND a.end_date IS NULL) AS load
      FROM teachers t JOIN units s ON s.id = t.school_id
"""


def _clean(text: str) -> str:
    """NFKC (full-width ／ becomes /) with all whitespace removed, as names are stored."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def label(school: str, name: str) -> str:
    """How a teacher is written everywhere: 学校/姓名."""
    return f"{school}/{name}"


def resolve_teacher(conn: sqlite3.Connection, text: str) -> sqlite3.Row:
    """The teacher named `学校/姓名` or by a unique name; unknown or ambiguous names are errors."""
    ref = _clean(text)
    school, _, name = ref.rpartition("/")
    if school:
        rows = conn.execute(_SELECT + " WHERE s.name = ? AND t.name = ?", (school, name)).fetchall()
    else:
        rows = conn.execute(_SELECT + " WHERE t.name = ? ORDER BY s.name", (name,)).fetchall()
    if not rows:
        raise NotFound(f"没有找到教师「{text}」。用 kcbx teachers list 查看教师名单，"
                       "写成 学校/姓名，例如 后柳小学/王芳。")
    if len(rows) > 1:
        choices = "、".join(label(r["school"], r["name"]) for r in rows)
        raise Ambiguous(f"有 {len(rows)} 位教师叫「{name}」：{choices}。请写成 学校/姓名。")
    return rows[0]


def _as_dict(row: sqlite3.Row) -> dict:
    return {"school": row["school"], "name": row["name"], "phone": row["phone"],
            "subject": row["subject"], "head_class": row["head_class"],
            "active": bool(row["active"]), "inactive_reason": row["inactive_reason"],
            "load": row["load"]}


def list_teachers(conn: sqlite3.Connection, school: str | None = None) -> list[dict]:
    """Every teacher (of one school when given) with their current load of open pairings."""
    if school is None:
        rows = conn.execute(_SELECT + " ORDER BY s.name, t.active DESC, t.name")
    else:
        school_id = find_unit(conn, school, "school")["id"]
        rows = conn.execute(_SELECT + " WHERE t.school_id = ? ORDER BY t.active DESC, t.name",
                            (school_id,))
    return [_as_dict(r) for r in rows]


def end_pairings_of(conn: sqlite3.Connection, teacher_id: int, on: date, reason: str) -> int:
    """End every open pairing of a teacher on `on` (never before it began); the caller commits."""
    return conn.execute(
        "UPDATE assignments SET end_date = max(?, start_date), end_reason = ? "
        "WHERE teacher_id = ? AND end_date IS NULL", (on.isoformat(), reason, teacher_id)
    ).rowcount


def set_teacher(conn: sqlite3.Connection, text: str, *, today: date, phone: str | None = None,
                active: bool | None = None) -> dict:
    """Change a teacher's phone or post; leaving post ends their pairings. Returns the teacher.

    The result has the keys of `list_teachers` plus `ended`: pairings ended by this change.
    """
    teacher = resolve_teacher(conn, text)
    ended = 0
    with transaction(conn):
        if phone is not None:
            conn.execute("UPDATE teachers SET phone = ? WHERE id = ?",
                         (_clean(phone) or None, teacher["id"]))
        if active is True:
            conn.execute("UPDATE teachers SET active = 1, inactive_reason = NULL WHERE id = ?",
                         (teacher["id"],))
        elif active is False:
            conn.execute("UPDATE teachers SET active = 0, inactive_reason = "
                         "COALESCE(inactive_reason, '手工设为不在岗') WHERE id = ?",
                         (teacher["id"],))
            ended = end_pairings_of(conn, teacher["id"], today, TEACHER_LEFT)
    updated = conn.execute(_SELECT + " WHERE t.id = ?", (teacher["id"],)).fetchone()
    return {**_as_dict(updated), "ended": ended}
