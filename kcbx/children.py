"""Children: finding one from what the clerk types, listing them, and correcting a name.

Commands that take CHILD (`status set`, `flag add`, `assign set`, `followup add`,
`children show` …) all resolve it here (an ID number, a 学籍号 or a name, SPEC §5), so
the rules and the messages are the same everywhere. Messages never show a full ID number.

`list_children` is `kcbx children list`: one SQL query over the store, filters included,
with each child's status on a date read by the history rule. `set_name` is
`kcbx children set`: it settles a name conflict that an import left open, keeping the
old name in `child_edits`.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import date

from kcbx import groups, history, idcard, normalize, vocab
from kcbx.db import transaction
from kcbx.errors import Ambiguous, InvalidValue, NotFound
from kcbx.units import find_unit

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


# ---------------------------------------------------------------- standing on a date


def standing_sql(param: str = ":as_of") -> str:
    """A SELECT of (child_id, status, school, since) on the date bound to `param`.

    `history.status_on_sql` plus `since`, the day the child's unbroken run of that status
    began; NULL when the date lies before the child's first event (the status is then
    only known to have held since before the records).
    """
    return f"""
    SELECT e.child_id AS child_id, {history.status_at('e', param)} AS status,
           {history.status_at('e', param, 'school')} AS school,
           CASE WHEN e.date <= {param} THEN e.since END AS since
      FROM status_events e
     WHERE {history.covers('e', param)}
    """


@dataclass(frozen=True)
class Standing:
    """A child's status on a date, the school that status places it at, and since when."""

    status: str | None
    school: str | None
    since: str | None


def standing(conn: sqlite3.Connection, child: sqlite3.Row, on: date) -> Standing:
    """The child's status on `on`; the school falls back to the one last written on the child.

    The fallback matters for a dropout whose 辍学 change named no school: the school that
    must 劝返 it is still the one on its record.
    """
    row = conn.execute(f"SELECT status, school, since FROM ({standing_sql(':on')}) "
                       "WHERE child_id = :child",
                       {"on": on.isoformat(), "child": child["id"]}).fetchone()
    if row is None:
        return Standing(None, child["school"], None)
    return Standing(row["status"], row["school"] or child["school"], row["since"])


def class_label(grade: int | None, grade_text: str | None, class_no: int | None) -> str:
    """5年级2班; the raw grade text (高一) when the grade is not 1-9."""
    if grade is None:
        return grade_text or ""
    return f"{grade}年级" + (f"{class_no}班" if class_no is not None else "")


def gender_name(code: str | None) -> str:
    """男 / 女 for the stored M / F."""
    return {"M": "男", "F": "女"}.get(code or "", "")


# ---------------------------------------------------------------- kcbx children list

# `kcbx children list --format json`: one object per child with these keys.
LIST_KEYS = ("id_number", "name", "gender", "birth_date", "village", "group_no", "school",
             "grade", "class_no", "status", "status_name", "since", "groups", "flags",
             "teacher_name", "guardian_name", "guardian_phone")


@dataclass(frozen=True)
class ChildFilter:
    """What `children list` narrows to; every given filter must hold (several words of one
    filter: any of them)."""

    village: str | None = None
    school: str | None = None
    grade: int | None = None
    statuses: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


def parse_grade(text: str) -> int:
    """A grade typed as 5, 五年级, 初一 or 七年级; anything but 1-9 is an error."""
    grade, _ = normalize.grade(text)
    if grade is None:
        raise InvalidValue(f"不认识的年级「{text}」。请写 1 到 9，或 五年级、初一 这样的年级。")
    return grade


def parse_group(word: str) -> str:
    """A special-group code from its Chinese name (留守儿童) or the code itself."""
    text = "".join(unicodedata.normalize("NFKC", word).split())
    if text in groups.GROUPS:
        return text
    for code, name in groups.GROUPS.items():
        if text == name:
            return code
    raise InvalidValue(f"不认识的特殊群体「{word}」。可用：{'、'.join(groups.GROUPS.values())}")


def _filter_sql(conn: sqlite3.Connection, f: ChildFilter) -> tuple[str, dict]:
    """The WHERE clause of the listing and its parameters.

    A village or school nobody has is an error, not an empty list: a typo must not read
    as "no such children".
    """
    where, params = ["1"], {}
    if f.village is not None:
        params["village"] = find_unit(conn, f.village, "village")["name"]
        where.append("v.name = :village")
    if f.school is not None:
        params["school"] = "".join(unicodedata.normalize("NFKC", f.school).split())
        if not conn.execute("SELECT 1 FROM units WHERE kind = 'school' AND name = :school "
                            "UNION ALL SELECT 1 FROM children WHERE school = :school LIMIT 1",
                            params).fetchone():
            raise NotFound(f"没有孩子在「{params['school']}」就读。用 kcbx units list 查看本镇学校。")
        where.append("coalesce(st.school, c.school) = :school")
    if f.grade is not None:
        params["grade"] = f.grade
        where.append("c.grade = :grade")
    if f.statuses:
        params.update({f"status{i}": code for i, code in enumerate(f.statuses)})
        where.append(f"st.status IN ({', '.join(f':status{i}' for i in range(len(f.statuses)))})")
    if f.flags:
        params.update({f"flag{i}": code for i, code in enumerate(f.flags)})
        where.append(f"c.id IN (SELECT child_id FROM held WHERE flag IN "
                     f"({', '.join(f':flag{i}' for i in range(len(f.flags)))}))")
    if f.groups:
        where.append("(" + " OR ".join(f"g.{code} = 1" for code in f.groups) + ")")
    return " AND ".join(where), params


def list_children(conn: sqlite3.Connection, as_of: date, f: ChildFilter = ChildFilter(), *,
                  unmask: bool = False) -> list[dict]:
    """`kcbx children list`: every child matching `f`, as it stood on `as_of`, in one query.

    Status, school, special groups, flags held and the responsible teacher are those of
    `as_of`. Each row has the keys of LIST_KEYS (codes: status, groups, flags, gender 'M'/'F')
    plus Chinese forms for tables (status_name, group_names, flag_names, gender_name,
    village_label, class_label). The ID and the guardian's phone are masked unless `unmask`.
    """
    where, params = _filter_sql(conn, f)
    params.update(groups.sql_params(conn, as_of))
    marks = ", ".join(f"g.{code} AS {code}" for code in groups.GROUPS)
    rows = conn.execute(f"""
        WITH st AS MATERIALIZED ({standing_sql()}),
        g AS ({groups.special_groups_sql()}),
        held AS (SELECT child_id, flag FROM flags
                  WHERE raised_on <= :as_of AND (cleared_on IS NULL OR cleared_on > :as_of)),
        fl AS (SELECT child_id, group_concat(flag) AS flags FROM held GROUP BY child_id),
        pa AS (SELECT a.child_id, t.name AS teacher_name
                 FROM assignments a JOIN teachers t ON t.id = a.teacher_id
                WHERE a.start_date <= :as_of AND (a.end_date IS NULL OR a.end_date > :as_of))
        SELECT c.id_number, c.name, c.gender, c.birth_date, v.name AS village, c.village_group,
               coalesce(st.school, c.school) AS school, c.grade, c.grade_text, c.class_no,
               st.status, st.since, fl.flags, pa.teacher_name, c.guardian_name,
               c.guardian_phone, {marks}
          FROM children c
          LEFT JOIN units v ON v.id = c.village_id
          LEFT JOIN st ON st.child_id = c.id
          LEFT JOIN g ON g.child_id = c.id
          LEFT JOIN fl ON fl.child_id = c.id
          LEFT JOIN pa ON pa.child_id = c.id
         WHERE {where}
         ORDER BY v.name IS NULL, v.name, c.village_group, c.name, c.id""", params)
    return [_listing(r, unmask) for r in rows]


def _listing(r: sqlite3.Row, unmask: bool) -> dict:
    """One row of the listing, with codes for JSON and Chinese words for tables."""
    codes = groups.group_codes(tuple(r[code] or 0 for code in groups.GROUPS))
    held = set((r["flags"] or "").split(","))
    flags = [code for code in vocab.FLAGS if code in held]
    group_no = r["village_group"]
    return {
        "id_number": r["id_number"] if unmask else idcard.mask(r["id_number"]),
        "name": r["name"], "gender": r["gender"], "gender_name": gender_name(r["gender"]),
        "birth_date": r["birth_date"], "village": r["village"], "group_no": group_no,
        "village_label": (r["village"] or "") + (f"{group_no}组" if group_no is not None else ""),
        "school": r["school"], "grade": r["grade"], "class_no": r["class_no"],
        "class_label": class_label(r["grade"], r["grade_text"], r["class_no"]),
        "status": r["status"], "status_name": vocab.status_name(r["status"]),
        "since": r["since"], "groups": list(codes), "group_names": groups.group_names(codes),
        "flags": flags, "flag_names": [vocab.FLAGS[code] for code in flags],
        "teacher_name": r["teacher_name"], "guardian_name": r["guardian_name"],
        "guardian_phone": r["guardian_phone"] if unmask else idcard.mask_phone(
            r["guardian_phone"]),
    }


# ---------------------------------------------------------------- kcbx children set


@dataclass(frozen=True)
class NameSet:
    """What `children set` did: the name before and after, and the conflicts it closed."""

    id_number: str
    old: str
    new: str
    resolved: int


def _clean_name(text: str) -> str:
    """A name as names are stored (no whitespace), refused when empty or formula-like."""
    name = normalize.name(text)
    if not name:
        raise InvalidValue("请用 --name 给出正确的姓名。")
    if name.startswith(("=", "+", "-", "@")):
        raise InvalidValue("姓名不能以 = + - @ 开头（表格软件会把它当成公式）。")
    return name


def set_name(conn: sqlite3.Connection, text: str, new_name: str, reason: str, *,
             village: str | None = None) -> NameSet:
    """Correct (or confirm) a child's name and close its open name conflicts, in one transaction.

    The old name stays in `child_edits` with the reason, so `children show` can tell
    what the records said before. Giving the stored name again is a confirmation: the
    sheet was wrong; the conflicts close all the same and the decision is kept.
    """
    name = _clean_name(new_name)
    if not reason.strip():
        raise InvalidValue("请用 --reason 写明依据，例如 --reason 户口本核实。")
    with transaction(conn):
        child = resolve_child(conn, text, village)
        conn.execute("UPDATE children SET name = ?, updated_at = datetime('now', 'localtime') "
                     "WHERE id = ?", (name, child["id"]))
        conn.execute("INSERT INTO child_edits (child_id, field, old_value, new_value, reason) "
                     "VALUES (?, 'name', ?, ?, ?)", (child["id"], child["name"], name,
                                                     reason.strip()))
        resolved = conn.execute(
            "UPDATE import_errors SET resolved_at = datetime('now', 'localtime') "
            "WHERE child_id = ? AND code = 'name_conflict' AND resolved_at IS NULL",
            (child["id"],)).rowcount
    return NameSet(child["id_number"], child["name"], name, resolved)
