"""Finding one child from what the clerk types: an ID number, a 学籍号 or a name (SPEC §5).

Commands that take CHILD (`status set`, `flag add`, `assign set`, `followup add`,
`children show` …) all resolve it here, so the rules and the messages are the same
everywhere. Messages never show a full ID number.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import date

from kcbx import history, idcard
from kcbx.db import transaction
from kcbx.errors import Ambiguous, InvalidValue, NotFound

_SELECT = """
    SELECT c.*, v.name AS village
      FROM children AS c LEFT JOIN units AS v ON v.id = c.village_id
"""


def _describe(row: sqlite3.Row) -> str:
    """One candidate line for an ambiguity message: name, masked ID, village, birth date."""
    village = row["village"] or "未填村（社区）"
    return f"{row['name']}  {idcard.mask(row['id_number'])}  {village}  出生 {row['birth_date']}"


def _shown(text: str) -> str:
    """The typed text as it may appear in a message: masked when it looks like an ID."""
    return idcard.mask(text) if len(text) >= 15 and text[:6].isdigit() else text


def resolve_child(conn: sqlite3.Connection, text: str, village: str | None = None) -> sqlite3.Row:
    """The one child meant by `text` (ID number, 学籍号 or name; `village` narrows a name).

    Raises NotFound when nothing matches and Ambiguous (listing the candidates, masked)
    when a name matches several children.
    """
    typed = "".join(unicodedata.normalize("NFKC", str(text)).split())
    if not typed:
        raise NotFound("请给出孩子的身份证号、学籍号或姓名。")
    id_number = idcard.normalize(typed)
    row = conn.execute(f"{_SELECT} WHERE c.id_number = ?", (id_number,)).fetchone()
    if row is None:
        row = conn.execute(f"{_SELECT} WHERE c.student_no IN (?, ?) ORDER BY c.id",
                           (typed, typed.upper())).fetchone()
    if row is not None:
        return row
    sql, params = f"{_SELECT} WHERE c.name = ?", [typed]
    if village:
        sql += " AND v.name = ?"
        params.append("".join(unicodedata.normalize("NFKC", village).split()))
    matches = conn.execute(sql + " ORDER BY v.id, c.birth_date, c.id", params).fetchall()
    where = f"（{village}）" if village else ""
    if not matches:
        raise NotFound(f"找不到孩子「{_shown(typed)}」{where}。"
                       "请用身份证号、学籍号或姓名（重名时加 --village 村名）。")
    if len(matches) > 1:
        lines = "\n".join(f"  {_describe(r)}" for r in matches)
        raise Ambiguous(f"有 {len(matches)} 个孩子叫「{typed}」{where}，请改用身份证号，"
                        f"或加 --village 村名：\n{lines}")
    return matches[0]


@dataclass(frozen=True)
class StatusSet:
    """What `status set` did: whose status, from what, to what, from which day."""

    name: str
    id_number: str
    status: str
    before: str | None
    on: date


def set_status(conn: sqlite3.Connection, text: str, status: str, on: date, reason: str, *,
               today: date, village: str | None = None) -> StatusSet:
    """Resolve CHILD and record a manual status event on `on`, in one transaction.

    A date after `today` is refused: a mistyped year would otherwise become the child's
    status silently, months later.
    """
    if on > today:
        raise InvalidValue(f"日期 {on} 晚于今天（{today}）。请检查 --date。")
    if not reason.strip():
        raise InvalidValue("请用 --reason 写明理由或依据，例如 --reason 家访核实已返校。")
    with transaction(conn):
        row = resolve_child(conn, text, village)
        before = history.add_manual(conn, row["id"], status, on, reason.strip())
    return StatusSet(row["name"], row["id_number"], status, before, on)
