"""劝返/帮扶 follow-ups (the attempts of 一人一案): recording one, listing them, and the two
follow-up findings of `kcbx check`.

A follow-up is a record of what someone did (a call, a home visit, a 送教上门 lesson) and
what came of it. It never changes a status (SPEC §2): only a dated change or `status set`
does. So a result saying the child is back (已返校, 已劝返复学) with no return in the status
history is a finding for the clerk to confirm with `status set` (`unmatched_returns`),
and a returned child is watched for the rest of the school year: it should see someone
at least every `returned_followup_days` days (`returned_without_followup`).

Follow-ups also arrive in bulk through `kcbx import` (劝返帮扶记录 sheets); this module is
the hand-entered and reading side.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from kcbx import dates, history, idcard, normalize, settings
from kcbx.children import resolve_child, standing, standing_sql
from kcbx.dates import AgeWindow
from kcbx.db import transaction
from kcbx.errors import InvalidValue
from kcbx.teachers import TEACHER_COLUMNS, TEACHER_JOIN, resolve_teacher

# 劝返方式 of domain.md §3.2, plus 约谈 and 送教上门 visits, as the clerk writes them.
METHODS = ("电话", "家访", "约谈", "书面通知", "送教上门", "集中劝返")

# A result that says the child is back: 已返校 / 已经返校 / 已劝返复学 anywhere, or a result
# that begins with 返校 / 劝返复学 ("返校就读"). Wishes and refusals do not count: 暂未返校,
# 同意下周返校, 继续动员返校. Plain 复学 does not either: it is also the return from 休学,
# which is no 劝返 (SPEC §2).
_SAYS_RETURNED = re.compile(r"已(?:经)?(?:返校|劝返复学)|^(?:返校|劝返复学)")
# SQL pre-filter with the same words, so only candidate rows reach the regular expression.
_MAY_SAY_RETURNED = "(f.result LIKE '%返校%' OR f.result LIKE '%劝返复学%')"

# A return event matches a 已返校 follow-up when dated from this many days before it up
# to the reference date: the visit that confirms a return often comes days after the
# 变动 the school recorded, and the clerk may record the 变动 after the visit.
RETURN_MATCH_DAYS = 30
# the statuses a return leads to: a child in one of them is back (SPEC §2)
_BACK = ", ".join(f"'{s}'" for s in history.RETURN_TO)

# `kcbx followup list --format json`: one object per follow-up with these keys.
LIST_KEYS = ("id_number", "name", "date", "by_name", "by_school", "method", "purpose",
             "content", "result", "next_date", "note")


def says_returned(result: str | None) -> bool:
    """True when a follow-up's result states that the child is back at school."""
    text = "".join(normalize.text(result or "").split())
    return bool(_SAYS_RETURNED.search(text))


def parse_method(word: str) -> str:
    """One of METHODS, compared after NFKC and without spaces; anything else is an error."""
    text = "".join(unicodedata.normalize("NFKC", word).split())
    if text not in METHODS:
        raise InvalidValue(f"不认识的方式「{word}」。可用：{'、'.join(METHODS)}")
    return text


# ---------------------------------------------------------------- followup add


@dataclass(frozen=True)
class Visitor:
    """Who made a follow-up: the name as written, and the teacher it names when it does."""

    name: str
    school: str | None = None
    teacher_id: int | None = None


def find_visitor(conn: sqlite3.Connection, by: str, child_school: str | None) -> Visitor:
    """The teacher that `by` names: 学校/姓名, or a name unique among the child's school's
    teachers, else unique in the town. Anyone else (a village cadre, a 镇 official) is
    kept by name only, with no teacher link; a 学校/姓名 that names nobody is an error.
    """
    if "/" in unicodedata.normalize("NFKC", by):
        teacher = resolve_teacher(conn, by)
        return Visitor(teacher["name"], teacher["school"], teacher["id"])
    name = normalize.name(by)
    if not name:
        raise InvalidValue("请用 --by 写明劝返、帮扶人员的姓名。")
    rows = conn.execute("SELECT t.id, s.name AS school FROM teachers t "
                        "JOIN units s ON s.id = t.school_id WHERE t.name = ?", (name,)).fetchall()
    candidates = [r for r in rows if r["school"] == child_school] or rows
    if len(candidates) == 1:
        return Visitor(name, candidates[0]["school"], candidates[0]["id"])
    return Visitor(name)


@dataclass(frozen=True)
class Added:
    """What `followup add` recorded; `unmatched_return` asks the clerk to confirm a return."""

    followup_id: int
    name: str
    id_number: str
    on: date
    method: str
    visitor: Visitor
    unmatched_return: bool


def _checked_dates(on: date, next_date: date | None, today: date) -> None:
    """Refuse a date after today (a mistyped year) and a next visit before this one."""
    if on > today:
        raise InvalidValue(f"日期 {on} 晚于今天（{today}）。请检查 --date。")
    if next_date is not None and next_date < on:
        raise InvalidValue(f"下次跟进日期 {next_date} 早于本次日期 {on}。请检查 --next。")


def add_followup(conn: sqlite3.Connection, text: str, *, method: str, by: str, result: str,
                 on: date, today: date, next_date: date | None = None, note: str | None = None,
                 purpose: str | None = None, content: str | None = None,
                 village: str | None = None) -> Added:
    """Record one follow-up of the child `text` names, in one transaction; no status changes."""
    method = parse_method(method)
    result = normalize.text(result)
    if not result:
        raise InvalidValue("请用 --result 写明结果，例如 --result 家长同意下周一送孩子返校。")
    _checked_dates(on, next_date, today)
    with transaction(conn):
        child = resolve_child(conn, text, village)
        visitor = find_visitor(conn, by, standing(conn, child, on).school)
        followup_id = conn.execute(
            "INSERT INTO followups (child_id, date, by_name, by_school, teacher_id, method, "
            "purpose, content, result, next_date, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (child["id"], on.isoformat(), visitor.name, visitor.school, visitor.teacher_id,
             method, _optional(purpose), _optional(content), result,
             next_date.isoformat() if next_date else None, _optional(note))).lastrowid
    unmatched = any(f.followup_id == followup_id
                    for f in unmatched_returns(conn, today, child_id=child["id"]))
    return Added(followup_id, child["name"], child["id_number"], on, method, visitor, unmatched)


def _optional(value: str | None) -> str | None:
    """Clean optional text; blank is None, as the importer stores it."""
    return (normalize.text(value) or None) if value is not None else None


# ---------------------------------------------------------------- followup list


def list_followups(conn: sqlite3.Connection, child_id: int | None = None,
                   since: date | None = None, *, unmask: bool = False) -> list[dict]:
    """Follow-ups in date order (of one child, from `since`), with the child's name and village.

    Rows have the keys of LIST_KEYS plus `village`; the ID is masked unless `unmask`.
    """
    where, params = ["1"], {}
    if child_id is not None:
        where.append("f.child_id = :child")
        params["child"] = child_id
    if since is not None:
        where.append("f.date >= :since")
        params["since"] = since.isoformat()
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, v.name AS village, f.date, f.by_name, f.by_school,
               f.method, f.purpose, f.content, f.result, f.next_date, f.note
          FROM followups f JOIN children c ON c.id = f.child_id
          LEFT JOIN units v ON v.id = c.village_id
         WHERE {' AND '.join(where)}
         ORDER BY f.date, f.id""", params)
    return [{**dict(r), "id_number": r["id_number"] if unmask else idcard.mask(r["id_number"])}
            for r in rows]


# ---------------------------------------------------------------- check findings


@dataclass(frozen=True)
class UnmatchedReturn:
    """A follow-up saying the child is back, with no return in its status history."""

    followup_id: int
    child_id: int
    id_number: str
    name: str
    village: str | None
    school: str | None
    date: date
    by_name: str
    by_school: str | None
    by_phone: str | None        # the visitor's phone, when the visitor is a known teacher
    method: str | None
    result: str
    status: str | None          # the child's status on the reference date, unchanged

    def as_json(self, unmask: bool = False) -> dict:
        """A JSON object (ID masked unless `unmask`)."""
        return {"id_number": self.id_number if unmask else idcard.mask(self.id_number),
                "name": self.name, "village": self.village, "school": self.school,
                "date": self.date, "by_name": self.by_name, "method": self.method,
                "result": self.result, "status": self.status}


def _born_in(window: AgeWindow | None) -> dict[str, str | None]:
    """SQL parameters :born_from/:born_to of a window, both NULL (no limit) without one."""
    if window is None:
        return {"born_from": None, "born_to": None}
    return {"born_from": window.born_from.isoformat(), "born_to": window.born_to.isoformat()}


_BORN_IN = "(:born_from IS NULL OR c.birth_date BETWEEN :born_from AND :born_to)"


def unmatched_returns(conn: sqlite3.Connection, as_of: date, *, child_id: int | None = None,
                      window: AgeWindow | None = None) -> list[UnmatchedReturn]:
    """Follow-ups of the school year up to `as_of` whose result says 已返校/已劝返复学
    while the history does not have the child back: no return (SPEC §2) dated from
    RETURN_MATCH_DAYS before the follow-up up to `as_of`, and not at school on the day
    of the follow-up after an earlier return. That last is the routine visit of a child
    who came back weeks ago (every returned child is to be seen again, and the visit
    says 已返校 again): nothing to confirm. A child recorded at school all along whose
    record says 已劝返复学 is a finding: its dropout and return are missing. The status
    is left alone: the clerk confirms with `status set`.

    Only the school year containing `as_of` is looked at, like every return figure: an
    old year's record is no longer something to act on. `window` keeps the children born
    in it (`check`: of compulsory age). In date order.
    """
    params = {"as_of": as_of.isoformat(), "start": dates.school_year_start(as_of).isoformat(),
              "child": child_id, "window": f"-{RETURN_MATCH_DAYS} days", **_born_in(window)}
    rows = conn.execute(f"""
        WITH st AS ({standing_sql()})
        SELECT f.id, f.child_id, c.id_number, c.name, v.name AS village,
               coalesce(st.school, c.school) AS school, f.date, f.by_name, f.by_school,
               t.phone AS by_phone, f.method, f.result, st.status
          FROM followups f JOIN children c ON c.id = f.child_id
          LEFT JOIN units v ON v.id = c.village_id
          LEFT JOIN teachers t ON t.id = f.teacher_id
          LEFT JOIN st ON st.child_id = f.child_id
         WHERE f.date BETWEEN :start AND :as_of AND {_MAY_SAY_RETURNED}
           AND (:child IS NULL OR f.child_id = :child) AND {_BORN_IN}
           AND NOT EXISTS (
               SELECT 1 FROM status_events e
                WHERE e.child_id = f.child_id AND {history.is_return('e')}
                  AND e.date BETWEEN date(f.date, :window) AND :as_of)
           AND NOT (EXISTS (
                        SELECT 1 FROM status_events e
                         WHERE e.child_id = f.child_id AND {history.is_return('e')}
                           AND e.date <= f.date)
                    AND EXISTS (
                        SELECT 1 FROM status_events s
                         WHERE s.child_id = f.child_id AND {history.covers('s', 'f.date')}
                           AND {history.status_at('s', 'f.date')} IN ({_BACK})))
         ORDER BY f.date, f.id""", params)
    return [UnmatchedReturn(r["id"], r["child_id"], r["id_number"], r["name"], r["village"],
                            r["school"], date.fromisoformat(r["date"]), r["by_name"],
                            r["by_school"], r["by_phone"], r["method"], r["result"], r["status"])
            for r in rows if says_returned(r["result"])]


@dataclass(frozen=True)
class OverdueReturned:
    """A returned child whom nobody has followed up for longer than the setting allows."""

    child_id: int
    id_number: str
    name: str
    village: str | None
    in_census: bool              # a 户籍 child (else the town answers while it is on a local roll)
    school: str | None
    status: str
    returned_on: date
    last_followup: date | None   # the latest follow-up since the return, if any
    due: date                    # when the next follow-up was due
    teacher: str | None          # the responsible teacher on the reference date
    teacher_school: str | None
    teacher_phone: str | None

    def as_json(self, unmask: bool = False) -> dict:
        """A JSON object (ID masked unless `unmask`)."""
        return {"id_number": self.id_number if unmask else idcard.mask(self.id_number),
                "name": self.name, "village": self.village, "school": self.school,
                "status": self.status, "returned_on": self.returned_on,
                "last_followup": self.last_followup, "due": self.due, "teacher": self.teacher}


def returned_without_followup(conn: sqlite3.Connection, as_of: date, days: int | None = None,
                              *, window: AgeWindow | None = None) -> list[OverdueReturned]:
    """Children returned this school year (by `as_of`) whom no follow-up has reached for
    more than `days` days (default: the `returned_followup_days` setting, 14).

    The clock starts at the latest return (the 劝返 that brought the child back is a
    contact) and restarts at every follow-up since; a child is overdue when `as_of` is
    more than `days` days after the last of them, so a visit exactly `days` days ago is
    still in time. Only children still at school on `as_of` are watched here (a status
    a return leads to, SPEC §2): one who dropped out again, or is 疑似辍学, is a dropout
    case again with its own weekly follow-ups, and one who moved away or finished school
    needs none. `window` keeps the children born in it (`check`: of compulsory age).
    """
    days = settings.get_int(conn, "returned_followup_days") if days is None else days
    params = {"as_of": as_of.isoformat(), "start": dates.school_year_start(as_of).isoformat(),
              "days": days, **_born_in(window)}
    at_school = ", ".join(f"'{code}'" for code in history.RETURN_TO)
    rows = conn.execute(f"""
        WITH ret AS (
            SELECT e.child_id, max(e.date) AS returned_on FROM status_events e
             WHERE {history.is_return('e')} AND e.date BETWEEN :start AND :as_of
             GROUP BY e.child_id
        ),
        seen AS (
            SELECT ret.*, (SELECT max(f.date) FROM followups f
                            WHERE f.child_id = ret.child_id
                              AND f.date BETWEEN ret.returned_on AND :as_of) AS last_followup
              FROM ret
        ),
        st AS ({standing_sql()})
        SELECT c.id, c.id_number, c.name, v.name AS village, c.in_census,
               coalesce(st.school, c.school) AS school, st.status, seen.returned_on,
               seen.last_followup, {TEACHER_COLUMNS}
          FROM seen JOIN children c ON c.id = seen.child_id
          JOIN st ON st.child_id = seen.child_id
          LEFT JOIN units v ON v.id = c.village_id
          {TEACHER_JOIN}
         WHERE st.status IN ({at_school}) AND {_BORN_IN}
           AND julianday(:as_of) - julianday(coalesce(seen.last_followup, seen.returned_on))
               > :days
         ORDER BY v.name IS NULL, v.name, c.name, c.id""", params)
    overdue = []
    for r in rows:
        returned_on = date.fromisoformat(r["returned_on"])
        last = date.fromisoformat(r["last_followup"]) if r["last_followup"] else None
        overdue.append(OverdueReturned(
            r["id"], r["id_number"], r["name"], r["village"], bool(r["in_census"]), r["school"],
            r["status"], returned_on, last, (last or returned_on) + timedelta(days=days),
            r["teacher"], r["teacher_school"], r["teacher_phone"]))
    return overdue
