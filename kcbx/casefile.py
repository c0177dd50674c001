"""一人一案: everything the store knows about one child, as one stable object.

`kcbx children show` prints it for the terminal, as Markdown or as a print-ready workbook
(`kcbx.caseview`), or as JSON. It is an internal working form: the guardian's, the unit
heads' and the teachers' phones are in full, since its purpose is calling them (SPEC §7);
the ID number is masked unless asked for.

JSON object (`case_file`), every date YYYY-MM-DD:

- `as_of`: the date the file describes (status, groups and the responsible teacher).
- `child`: `id_number` (masked unless --unmask), `name`, `gender` (M/F), `birth_date`,
  `ethnicity`, `village`, `group_no`, `address`, `school`, `grade`, `grade_text`,
  `class_no`, `student_no`, `status`, `status_name`, `since`, `in_census`, `left_behind`,
  `disabled`, `disability_type`, `disability_level`, `family_type`, `last_score`,
  `absences`, `remarks`.
- `guardian`: `name`, `relation`, `phone` (in full).
- `groups`: the special groups on `as_of`, `[{"code", "name"}]`.
- `flags`: every flag ever raised, open and cleared: `flag`, `flag_name`, `open`,
  `reason` (the evidence), `source` (manual | rule:<code>), `raised_on`, `cleared_on`,
  `cleared_by`, `cleared_reason`, `hold_until`.
- `status_history`: every status event in history order: `date`, `kind`
  (snapshot | change | manual), `kind_name`, `event_type`, `status`, `status_name`,
  `prev_status` (a change's or manual event's recorded 变动前状态; for a snapshot the status
  that held just before it, null for the first), `prev_status_name`, `school`, `reason`,
  `batch`, `file` (null for manual events), `applied` (false: a snapshot not adopted,
  未采用), `is_return` (a 劝返复学 in the sense of SPEC §2).
- `pairings`: every 包干 pairing: `teacher_name`, `teacher_school`, `teacher_phone`,
  `start_date`, `end_date`, `end_reason`, `source` (auto | manual), `open`.
- `followups`: every follow-up in date order: `date`, `by_name`, `by_school`, `method`,
  `purpose`, `content`, `result`, `next_date`, `note`.
- `chain`: the 双线七长 of the child, always five entries in this order, roles
  `village_head` (村长), `school_head` (校长), `head_teacher` (班主任), `pairing_teacher`
  (包干教师), `guardian` (家长); each `role`, `role_name`, `line` (administrative |
  education | family), `unit` (the village or school; for the guardian the relation),
  `name`, `phone` (both null when unknown) and `hint` (what to do when unknown, else null).
- `edits`: hand corrections (`children set`), oldest first: `field`, `old_value`,
  `new_value`, `reason`, `edited_at`.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from kcbx import groups, history, idcard, vocab
from kcbx.children import Standing, standing
from kcbx.followups import LIST_KEYS, list_followups

KIND_NAMES = {"snapshot": "花名册", "change": "变动", "manual": "手工设置"}
SHEET_KINDS = {"census": "户籍花名册", "roster": "学籍花名册", "changes": "学籍变动表"}
ROLES = {"village_head": ("村长", "administrative"), "school_head": ("校长", "education"),
         "head_teacher": ("班主任", "education"), "pairing_teacher": ("包干教师", "education"),
         "guardian": ("家长", "family")}
# a follow-up in the file: the listing's keys without the child's own
FOLLOWUP_KEYS = tuple(k for k in LIST_KEYS if k not in ("id_number", "name"))


def case_file(conn: sqlite3.Connection, child: sqlite3.Row, as_of: date, *,
              unmask: bool = False) -> dict:
    """The 一人一案 of `child` (a row from `resolve_child`) as it stands on `as_of`."""
    now = standing(conn, child, as_of)
    school = _local_school(conn, child["id"], now, as_of)
    return {
        "as_of": as_of.isoformat(),
        "child": _identity(child, now, unmask),
        "guardian": {"name": child["guardian_name"], "relation": child["guardian_relation"],
                     "phone": child["guardian_phone"]},
        "groups": [{"code": code, "name": groups.GROUPS[code]}
                   for code in _groups(conn, child["id"], as_of)],
        "flags": _flags(conn, child["id"]),
        "status_history": _status_history(conn, child["id"]),
        "pairings": _pairings(conn, child["id"]),
        "followups": [{k: f[k] for k in FOLLOWUP_KEYS}
                      for f in list_followups(conn, child["id"])],
        "chain": _chain(conn, child, school, as_of),
        "edits": [dict(r) for r in conn.execute(
            "SELECT field, old_value, new_value, reason, edited_at FROM child_edits "
            "WHERE child_id = ? ORDER BY id", (child["id"],))],
    }


def _identity(child: sqlite3.Row, now: Standing, unmask: bool) -> dict:
    """Who the child is, where it lives and studies, and its status on the file's date."""
    return {
        "id_number": child["id_number"] if unmask else idcard.mask(child["id_number"]),
        "name": child["name"], "gender": child["gender"], "birth_date": child["birth_date"],
        "ethnicity": child["ethnicity"], "village": child["village"],
        "group_no": child["village_group"], "address": child["address"],
        "school": now.school, "grade": child["grade"], "grade_text": child["grade_text"],
        "class_no": child["class_no"],
        "student_no": child["student_no"] if unmask else idcard.mask_embedded(child["student_no"]),
        "status": now.status, "status_name": vocab.status_name(now.status),
        "since": now.since, "in_census": bool(child["in_census"]),
        "left_behind": bool(child["left_behind"]), "disabled": bool(child["disabled"]),
        "disability_type": child["disability_type"],
        "disability_level": child["disability_level"], "family_type": child["family_type"],
        "last_score": child["last_score"], "absences": child["absences"],
        "remarks": child["remarks"],
    }


def _groups(conn: sqlite3.Connection, child_id: int, as_of: date) -> tuple[str, ...]:
    """The special groups the child belongs to on `as_of` (none outside the population)."""
    marks = ", ".join(groups.GROUPS)
    row = conn.execute(f"WITH g AS ({groups.special_groups_sql(only=':child')}) "
                       f"SELECT {marks} FROM g WHERE child_id = :child",
                       {**groups.sql_params(conn, as_of), "child": child_id}).fetchone()
    return groups.group_codes(tuple(row)) if row else ()


def _flags(conn: sqlite3.Connection, child_id: int) -> list[dict]:
    """Every flag with its evidence, open and cleared, in the order they were raised."""
    rows = conn.execute("SELECT * FROM flags WHERE child_id = ? ORDER BY raised_on, id",
                        (child_id,))
    return [{"flag": r["flag"], "flag_name": vocab.FLAGS[r["flag"]],
             "open": r["cleared_on"] is None, "reason": r["reason"], "source": r["source"],
             "raised_on": r["raised_on"], "cleared_on": r["cleared_on"],
             "cleared_by": r["cleared_by"], "cleared_reason": r["cleared_reason"],
             "hold_until": r["hold_until"]} for r in rows]


def _status_history(conn: sqlite3.Connection, child_id: int) -> list[dict]:
    """Every status event in the order the history rule reads them, unapplied ones too."""
    rows = conn.execute(f"""
        SELECT e.*, b.file_name, b.sheet, b.kind AS sheet_kind, {history.is_return('e')} AS ret,
               CASE WHEN e.kind <> 'snapshot' THEN e.prev_status
                    WHEN e.applied = 1 AND e.is_first = 0 THEN e.status_before END AS before
          FROM status_events e LEFT JOIN import_batches b ON b.id = e.batch_id
         WHERE e.child_id = ?
         ORDER BY e.date, {history.KIND_RANK.format(t='e.')}, e.id""", (child_id,))
    return [{"date": r["date"], "kind": r["kind"],
             "kind_name": SHEET_KINDS.get(r["sheet_kind"], KIND_NAMES[r["kind"]]),
             "event_type": r["event_type"], "status": r["status"],
             "status_name": vocab.status_name(r["status"]), "prev_status": r["before"],
             "prev_status_name": vocab.status_name(r["before"]), "school": r["school"],
             "reason": r["reason"], "batch": r["batch_id"], "file": r["file_name"],
             "applied": bool(r["applied"]), "is_return": bool(r["ret"])} for r in rows]


def _pairings(conn: sqlite3.Connection, child_id: int) -> list[dict]:
    """Every 包干 pairing of the child, the open one last."""
    rows = conn.execute("""
        SELECT t.name AS teacher_name, s.name AS teacher_school, t.phone AS teacher_phone,
               a.start_date, a.end_date, a.end_reason, a.source
          FROM assignments a JOIN teachers t ON t.id = a.teacher_id
          JOIN units s ON s.id = t.school_id
         WHERE a.child_id = ? ORDER BY a.end_date IS NULL, a.start_date, a.id""", (child_id,))
    return [{**dict(r), "open": r["end_date"] is None} for r in rows]


def _local_school(conn: sqlite3.Connection, child_id: int, now: Standing,
                  as_of: date) -> sqlite3.Row | None:
    """The local school answering for the child: where its status places it, or for a
    child out of school (or with no school named) the last local school in its history,
    which is the one that must 劝返 it. None for a child studying elsewhere.
    """
    row = conn.execute("SELECT * FROM units WHERE kind = 'school' AND name = ?",
                       (now.school,)).fetchone()
    if row is not None or (now.school is not None and now.status not in vocab.NOT_STATUSES):
        return row
    return conn.execute(f"""
        SELECT u.* FROM status_events e JOIN units u ON u.kind = 'school' AND u.name = e.school
         WHERE e.child_id = ? AND e.applied = 1 AND e.date <= ?
         ORDER BY e.date DESC, {history.KIND_RANK.format(t='e.')} DESC, e.id DESC
         LIMIT 1""", (child_id, as_of.isoformat())).fetchone()


def _link(role: str, unit: str | None, name: str | None, phone: str | None,
          hint: str) -> dict:
    """One entry of the 双线七长 chain; the hint only when the person is unknown."""
    role_name, line = ROLES[role]
    return {"role": role, "role_name": role_name, "line": line, "unit": unit,
            "name": name or None, "phone": (phone or None) if name else None,
            "hint": None if name else hint}


def _chain(conn: sqlite3.Connection, child: sqlite3.Row, school: sqlite3.Row | None,
           as_of: date) -> list[dict]:
    """村长, 校长, 班主任, 包干教师, 家长, each with a phone or what to do to find one."""
    return [_village_head(conn, child), _school_head(school),
            _head_teacher(conn, school, child), _pairing_teacher(conn, child["id"], as_of),
            _link("guardian", child["guardian_relation"], child["guardian_name"],
                  child["guardian_phone"], "花名册中没有监护人，请村（社区）补报")]


def _village_head(conn: sqlite3.Connection, child: sqlite3.Row) -> dict:
    """行政线: the head of the child's village (村长/主任)."""
    village = conn.execute("SELECT * FROM units WHERE id = ?", (child["village_id"],)).fetchone()
    if village is None:
        return _link("village_head", None, None, None,
                     "孩子没有所在村（社区）的记录，请核实户籍花名册")
    return _link("village_head", village["name"], village["head_name"], village["head_phone"],
                 f"请用 kcbx units set {village['name']} --head 姓名 --phone 电话 登记村长")


def _school_head(school: sqlite3.Row | None) -> dict:
    """教育线: the head of the local school answering for the child."""
    if school is None:
        return _link("school_head", None, None, None, "孩子不在本镇学校就读，由就读学校负责")
    return _link("school_head", school["name"], school["head_name"], school["head_phone"],
                 f"请用 kcbx units set {school['name']} --head 姓名 --phone 电话 登记校长")


def _head_teacher(conn: sqlite3.Connection, school: sqlite3.Row | None,
                  child: sqlite3.Row) -> dict:
    """教育线: the 班主任 of the child's class at that school (one in post first)."""
    if school is None:
        return _link("head_teacher", None, None, None, "孩子不在本镇学校就读")
    if child["grade"] is None or child["class_no"] is None:
        return _link("head_teacher", school["name"], None, None,
                     "花名册中没有孩子的年级、班级，无法确定班主任")
    teacher = conn.execute(
        "SELECT name, phone FROM teachers WHERE school_id = ? AND head_grade = ? "
        "AND head_class_no = ? ORDER BY active DESC, name LIMIT 1",
        (school["id"], child["grade"], child["class_no"])).fetchone()
    return _link("head_teacher", school["name"], teacher["name"] if teacher else None,
                 teacher["phone"] if teacher else None,
                 f"教师名单中没有{child['grade']}年级{child['class_no']}班的班主任，"
                 "请在教师名单的班主任班级一栏填写后重新导入")


def _pairing_teacher(conn: sqlite3.Connection, child_id: int, as_of: date) -> dict:
    """教育线: the responsible (包干) teacher on the file's date."""
    teacher = conn.execute("""
        SELECT t.name, t.phone, s.name AS school FROM assignments a
          JOIN teachers t ON t.id = a.teacher_id JOIN units s ON s.id = t.school_id
         WHERE a.child_id = :child AND a.start_date <= :as_of
           AND (a.end_date IS NULL OR a.end_date > :as_of)""",
        {"child": child_id, "as_of": as_of.isoformat()}).fetchone()
    if teacher is None:
        return _link("pairing_teacher", None, None, None,
                     "尚无包干教师：特殊群体儿童请运行 kcbx assign，或用 kcbx assign set 指定")
    return _link("pairing_teacher", teacher["school"], teacher["name"], teacher["phone"], "")
