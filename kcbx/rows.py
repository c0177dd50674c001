"""Sheet rows → clean records, or the reasons they must be rejected (SPEC §5, §6).

Census and roster sheets, which can hold 100,000 rows, are checked a column at a time
and stay columns (`child_rows` → `ChildRows`) all the way to the INSERT; the other kinds
are checked row by row into `Record`s. Pure functions: no database. The importer adds
the checks that need the store (a name already stored under the ID, a change about an
unknown child). Every problem
is a `RowError` with a code from SPEC §5 and a Chinese message that tells the clerk
how to fix the source sheet; values that hold an ID are masked here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from kcbx import idcard, normalize, vocab

FORMULA_STARTS = ("=", "+", "-", "@")
_BLANK = ("", None)
_ORPHAN = "孤儿"

FIELD_NAMES = {
    "name": "姓名", "id_number": "身份证号", "gender": "性别", "birth_date": "出生日期",
    "status": "状态", "date": "日期", "prev_status": "变动前状态", "school": "学校",
    "grade": "年级", "score": "学业成绩", "absences": "缺勤天数", "left_behind": "是否留守",
    "disabled": "是否残疾", "by_name": "责任教师", "active": "在岗情况", "next_date": "下次日期",
    "kind": "类型", "orphan": "是否孤儿",
}

ID_HINTS = {
    "scientific_notation": "身份证号被 Excel 存成了数字（科学计数法），后几位已经丢失，无法恢复。"
                           "请在 Excel 中把这一列设为「文本」格式，再重新输入完整的 18 位身份证号。",
    "bad_length": "身份证号应为 18 位。请核对后重新填写。",
    "bad_checksum": "身份证号最后一位校验码不对，可能有数字抄错。请对照户口簿核对。",
    "bad_value": "身份证号含有非数字字符或不存在的出生日期。请对照户口簿核对。",
}
BAD_LENGTH_15 = ("这是 15 位的旧身份证号；2000 年以后出生的孩子不可能有 15 位号码。"
                 "请对照户口簿填写 18 位身份证号。")


@dataclass
class RowError:
    """Why one row (or one cell of it) was rejected."""

    row: int
    column: str
    value: str
    code: str
    message: str
    child_id: int | None = None


@dataclass
class Record:
    """A row that passed: clean values by field name, plus its Excel row number."""

    row: int
    values: dict
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ChildRows:
    """The rows of a census or roster sheet after the checks, a column per field.

    `values[key][i]` is row i's clean value of `key` (None: the cell sets nothing; every
    value of a row whose ID is not valid is None); `errors[i]` lists why row i is
    rejected, in the order the checks ran (empty: accepted). Columns, not a dict per row:
    a town-wide roster has 100,000 rows, and the importer compares and writes them a
    column at a time too.
    """

    row_numbers: list[int]
    values: dict[str, list]
    errors: list[list[RowError]]

    def column(self, key: str) -> list:
        """The clean values of `key`, all None when the sheet has no such column."""
        return self.values.get(key) or [None] * len(self.row_numbers)


class Problem(NamedTuple):
    """Why a cell rejects its row, before it is tied to a row: value as shown, code, message."""

    value: str
    code: str
    message: str


def _header(headers: dict[str, str], key: str) -> str:
    return headers.get(key) or FIELD_NAMES.get(key, key)


def _shown(value: object) -> str:
    return "" if value is None else normalize.text(value)


def _clean_id(raw: object) -> str | Problem:
    """The normalised child ID, or why the row cannot have it."""
    text = idcard.normalize(raw)
    if not text:
        return Problem("", "missing_field", "身份证号为空。请补填 18 位身份证号。")
    code = idcard.validate(text)
    if code is None:
        return text
    message = ID_HINTS[code]
    if code == "bad_length" and len(text) == 15 and text.isdigit():
        message = BAD_LENGTH_15
    return Problem(idcard.mask(text), code, message)


def _clean_name(raw: object) -> str | Problem:
    """The name without whitespace; a name that Excel would run as a formula is a problem."""
    text = normalize.name(raw) if raw not in _BLANK else ""
    if not text:
        return Problem("", "missing_field", "姓名为空。请补填姓名。")
    if text.startswith(FORMULA_STARTS):
        return Problem(text[:20], "bad_value",
                       "姓名以 = + - @ 开头，会被表格软件当成公式。请改为正确的姓名。")
    return text


def _clean_status(raw: object) -> str | Problem:
    """The status code of a 就读状态/学籍状态/变动后状态 cell."""
    if raw in _BLANK:
        return Problem("", "missing_field", "状态为空。请填写 在校、外出就读、辍学 等状态。")
    code = vocab.status_from_word(str(raw))
    if code is None:
        return Problem(_shown(raw), "bad_value",
                       f"不认识的状态「{_shown(raw)}」。请填写 在校、随班就读、送教上门、"
                       "外出就读、辍学、未入学、休学、已完成义务教育 等。")
    return code


def _checked(outcome: object, row: int, column: str) -> tuple[object, RowError | None]:
    if isinstance(outcome, Problem):
        return None, RowError(row, column, *outcome)
    return outcome, None


def check_id(raw: object, row: int, headers: dict[str, str]) -> tuple[str | None, RowError | None]:
    """The normalised child ID, or the error that rejects the row."""
    return _checked(_clean_id(raw), row, _header(headers, "id_number"))


def check_name(raw: object, row: int, headers: dict[str, str]) -> tuple[str | None, RowError | None]:
    """The name without whitespace; a name that Excel would run as a formula is rejected."""
    return _checked(_clean_name(raw), row, _header(headers, "name"))


def _cell(values: dict, key: str) -> object:
    value = values.get(key)
    return None if value == "" else value


# --- census and roster rows, a column at a time ------------------------------------------

def _outcomes(raws: list, clean, message: str | None = None) -> tuple[list, bool]:
    """clean(raw) for every cell, computed once per distinct value; and whether any of
    them is a Problem (asked of the distinct outcomes, a handful in most columns).

    When `clean` raises ValueError and a `message` is given, the outcome is a bad_value
    Problem with that message.
    """
    keys = _distinct_keys(raws)
    distinct = list(dict.fromkeys(keys))
    cells = distinct if keys is raws else [key[1] for key in distinct]
    try:
        outcomes = list(map(clean, cells))
    except ValueError:
        if message is None:
            raise
        outcomes = [_outcome(clean, raw, message) for raw in cells]
    problems = Problem in map(type, outcomes)
    if len(distinct) == len(keys):  # every cell different (IDs, 学籍号): already in order
        return outcomes, problems
    done = dict(zip(distinct, outcomes))
    return list(map(done.__getitem__, keys)), problems


def _outcome(clean, raw: object, message: str) -> object:
    """clean(raw), or a bad_value Problem with `message` when it raises ValueError."""
    try:
        return clean(raw)
    except ValueError:
        return Problem(_shown(raw), "bad_value", message)


_NUMBERS = frozenset({bool, int, float})


def _distinct_keys(raws: list) -> list:
    """Keys that tell the cells apart: the cells themselves, or (type, cell) when a column
    mixes number types, since 1 == 1.0 == True and those cells are different answers."""
    if len(_NUMBERS.intersection(map(type, raws))) <= 1:
        return raws
    return list(zip(map(type, raws), raws))


def _filled(clean):
    """`clean` for a cell that is filled in; None (nothing to set) for a blank one."""
    return lambda raw: None if raw in _BLANK else clean(raw)


def _or_none(clean):
    """`clean`, with an empty answer ('' or []) as None: nothing to set."""
    return lambda raw: clean(raw) or None


def _birth_stated(raw: object) -> str | Problem:
    """The part of an ISO date a birth-date cell states: 2015-03-04, or 2015-03 month-only."""
    try:
        stated, precision = normalize.parse_date(raw)
    except ValueError as exc:
        return Problem(_shown(raw), "bad_date",
                       f"出生日期「{_shown(raw)}」无法识别（{exc}）。请写成 2015-03-04 这样的日期。")
    return stated.isoformat()[:10 if precision == normalize.DAY else 7]


# Optional child fields in the order they are checked: (cell, record key, normaliser,
# message when the normaliser rejects the cell). A blank cell, or one the normaliser
# finds empty, sets nothing: a blank never erases a stored value.
_OPTIONAL = (
    ("school", "school", _or_none(normalize.village_name), None),
    ("ethnicity", "ethnicity", _or_none(normalize.text), None),
    ("guardian_relation", "guardian_relation", _or_none(normalize.text), None),
    ("disability_type", "disability_type", _or_none(normalize.text), None),
    ("disability_level", "disability_level", _or_none(normalize.text), None),
    ("remarks", "remarks", _or_none(normalize.text), None),
    ("student_no", "student_no", _or_none(normalize.text), None),
    ("address", "address", _or_none(normalize.text), None),
    ("guardian_name", "guardian_name", _or_none(normalize.name), None),
    ("village", "village", _or_none(normalize.village_name), None),
    ("phone", "guardian_phone", _or_none(normalize.phone), None),
    ("grade", "grade", normalize.grade, None),  # (grade 1-9, or the text of any other)
    ("class", "class_no", normalize.class_no, "班级无法识别。请写成 1班 或 (1)班。"),
    ("group", "village_group", normalize.group_no, "组无法识别。请写成 3组 或 第3组。"),
    ("left_behind", "left_behind", normalize.left_behind, "是否留守应填 是/否（或学籍代码 0/1/2）。"),
    ("disabled", "disabled", normalize.yes_no, "是否残疾应填 是 或 否。"),
    ("score", "last_score", normalize.score, "学业成绩应为数字，没有成绩请留空。"),
    ("absences", "absences", normalize.absences, "缺勤天数应为整数。"),
    ("orphan", "orphan", normalize.yes_no, "是否孤儿应填 是 或 否。"),
    ("family_type", "family_type", _or_none(lambda raw: "、".join(normalize.family_types(raw))), None),
)


class _Columns:
    """The rows of one census or roster sheet, checked a column at a time.

    `values` holds, per field, one clean value per row (None: nothing to set);
    `errors` holds each row's errors in the order the checks ran. A row whose ID is not
    valid is not checked further (`valid`).
    """

    def __init__(self, row_numbers: list[int], cells: dict[str, list], headers: dict[str, str]):
        self.row_numbers = row_numbers
        self.cells = cells
        self.headers = headers
        self.errors: list[list[RowError]] = [[] for _ in row_numbers]
        self.valid = [True] * len(row_numbers)
        self.values: dict[str, list] = {}

    def column(self, key: str) -> list:
        """The cells of `key` as read (all blank when the sheet has no such column)."""
        return self.cells.get(key) or [None] * len(self.row_numbers)

    def reject(self, i: int, key: str, problem: Problem) -> None:
        if self.valid[i]:
            self.errors[i].append(RowError(self.row_numbers[i], _header(self.headers, key),
                                           *problem))

    def check(self, key: str, clean, message: str | None = None) -> list:
        """clean(cell) of every row; a Problem becomes an error of its row and None."""
        outcomes, problems = _outcomes(self.column(key), clean, message)
        if problems:
            for i, outcome in enumerate(outcomes):
                if type(outcome) is Problem:
                    self.reject(i, key, outcome)
                    outcomes[i] = None
        return outcomes

    def checked(self) -> ChildRows:
        """The outcome; a row whose ID is not valid keeps its errors and no values."""
        invalid = [i for i, valid in enumerate(self.valid) if not valid]
        for column in self.values.values() if invalid else ():
            for i in invalid:
                column[i] = None
        return ChildRows(self.row_numbers, self.values, self.errors)


def child_rows(row_numbers: list[int], cells: dict[str, list],
               headers: dict[str, str]) -> ChildRows:
    """Census or roster rows → the child's fields, its status, and any errors, by column.

    The checks run a column at a time and normalise each distinct cell value once (a
    roster of 100,000 rows holds a few dozen grades, classes, statuses and yes/no words),
    which keeps an import close to the time it takes to read the file. A row's errors
    come in the order of the checks: ID, name, then, when the ID is valid, birth date,
    gender, status and the optional fields. `cells` holds a sheet's columns by field
    (headers.ParsedSheet.cells) and `row_numbers` their rows' numbers.
    """
    sheet = _Columns(row_numbers, cells, headers)
    ids = sheet.check("id_number", _clean_id)
    names = sheet.check("name", _clean_name)
    sheet.valid = [i is not None for i in ids]
    births = [idcard.birth_iso(i) if i else None for i in ids]
    genders = [idcard.gender(i) if i else None for i in ids]
    sheet.values.update(id_number=ids, name=names, birth_date=births, gender=genders)
    if "birth_date" in cells:
        stated = sheet.check("birth_date", _filled(_birth_stated))
        for i, (born, day) in enumerate(zip(births, stated)):
            if born and day is not None and not born.startswith(day):
                sheet.reject(i, "birth_date", Problem(
                    _shown(cells["birth_date"][i]), "birth_mismatch",
                    "出生日期与身份证号中的出生日期不一致。请对照户口簿核对哪一个填错了。"))
    if "gender" in cells:
        stated = sheet.check("gender", _filled(normalize.gender), "性别应填 男 或 女。")
        for i, (from_id, said) in enumerate(zip(genders, stated)):
            if from_id and said is not None and said != from_id:
                sheet.reject(i, "gender", Problem(
                    _shown(cells["gender"][i]), "gender_mismatch",
                    "性别与身份证号第 17 位（单数为男，双数为女）不一致。请核对。"))
    sheet.values["status"] = sheet.check("status", _clean_status)
    for key, target, clean, message in _OPTIONAL:
        if key in cells:
            sheet.values[target] = sheet.check(key, _filled(clean), message)
    values = sheet.values
    if "grade" in values:
        grades = values.pop("grade")
        values["grade"] = [g and g[0] for g in grades]
        values["grade_text"] = [g and g[1] for g in grades]
    if "orphan" in values:  # 是否孤儿 = 是 adds 孤儿 to the family types
        orphans = values.pop("orphan")
        families = values.get("family_type", [None] * len(orphans))
        values["family_type"] = [_with_orphan(f) if orphan else f
                                 for f, orphan in zip(families, orphans)]
    if "disability_type" in values:  # a disability type says the child is disabled
        disabled = values.get("disabled", [None] * len(row_numbers))
        values["disabled"] = [True if d is None and kind else d
                              for d, kind in zip(disabled, values["disability_type"])]
    return sheet.checked()


def _with_orphan(family_type: str | None) -> str:
    types = family_type.split("、") if family_type else []
    return family_type if _ORPHAN in types else "、".join([*types, _ORPHAN])


def _status(cells, key, row, headers, errors, values, *, required: bool) -> None:
    status = _clean_status(cells.get(key))
    if isinstance(status, Problem):
        if required or status.code != "missing_field":
            errors.append(RowError(row, _header(headers, key), *status))
        status = None
    values[key] = status


def _about_stored_child(row: int, cells: dict, headers: dict[str, str]) -> Record:
    """The start of a row about a child already in the store: its ID, its name, its date."""
    rec = Record(row, {})
    id_number, err = check_id(cells.get("id_number"), row, headers)
    if err:
        rec.errors.append(err)
    rec.values["id_number"] = id_number
    raw_name = cells.get("name")
    rec.values["name"] = normalize.name(raw_name) if raw_name not in (None, "") else None
    _date(cells, "date", row, headers, rec, required=True)
    return rec


def change_record(row: int, cells: dict, headers: dict[str, str]) -> Record:
    """A status-change row (变动日期, 变动类型, 变动前状态, 变动后状态)."""
    rec = _about_stored_child(row, cells, headers)
    _status(cells, "status", row, headers, rec.errors, rec.values, required=True)
    _status(cells, "prev_status", row, headers, rec.errors, rec.values, required=False)
    for key in ("event", "school", "prev_school", "handler", "remarks"):
        raw = _cell(cells, key)
        rec.values[key] = normalize.text(raw) or None if raw is not None else None
    return rec


def _date(cells, key, row, headers, rec: Record, *, required: bool) -> None:
    raw = _cell(cells, key)
    column = _header(headers, key)
    if raw is None:
        if required:
            rec.errors.append(RowError(row, column, "", "missing_field", f"{column}为空。请补填日期。"))
        rec.values[key] = None
        return
    try:
        rec.values[key] = normalize.parse_date(raw)[0].isoformat()
    except ValueError:
        rec.errors.append(RowError(row, column, _shown(raw), "bad_date",
                                   f"{column}「{_shown(raw)}」无法识别。请写成 2025-03-01 这样的日期。"))


def followup_record(row: int, cells: dict, headers: dict[str, str]) -> Record:
    """A 劝返/帮扶 record row."""
    rec = _about_stored_child(row, cells, headers)
    _date(cells, "next_date", row, headers, rec, required=False)
    by_name = _cell(cells, "by_name")
    if by_name is None:
        rec.errors.append(RowError(row, _header(headers, "by_name"), "", "missing_field",
                                   "缺少责任教师（劝返人员）姓名。请补填。"))
    else:
        rec.values["by_name"] = normalize.name(by_name)
    for key in ("by_school", "method", "purpose", "content", "result", "note"):
        raw = _cell(cells, key)
        rec.values[key] = (normalize.text(raw) or None) if raw is not None else None
    return rec


def teacher_record(row: int, cells: dict, headers: dict[str, str]) -> Record:
    """A teacher-list row, keyed by school + name."""
    rec = Record(row, {})
    name, err = check_name(cells.get("name"), row, headers)
    if err:
        rec.errors.append(err)
    rec.values["name"] = name
    school = _cell(cells, "school")
    if school is None:
        rec.errors.append(RowError(row, _header(headers, "school"), "", "missing_field",
                                   "缺少任教学校。请补填。"))
    else:
        rec.values["school"] = normalize.village_name(school)
    for key in ("gender", "subject", "head_class", "remarks"):
        raw = _cell(cells, key)
        rec.values[key] = (normalize.text(raw) or None) if raw is not None else None
    rec.values["phone"] = normalize.phone(cells["phone"]) or None if _cell(cells, "phone") else None
    if rec.values.get("head_class"):
        rec.values["head_grade"], rec.values["head_class_no"] = normalize.head_class(
            rec.values["head_class"])
    active_raw = _cell(cells, "active")
    active, reason = normalize.active(active_raw if active_raw is not None else "")
    rec.values["active"], rec.values["inactive_reason"] = active, reason
    return rec


def unit_record(row: int, cells: dict, headers: dict[str, str]) -> Record:
    """A unit-list row: a village or a school with its head and phone."""
    rec = Record(row, {})
    name = _cell(cells, "name")
    if name is None:
        rec.errors.append(RowError(row, _header(headers, "name"), "", "missing_field", "单位名称为空。"))
        return rec
    rec.values["name"] = normalize.village_name(name)
    kind_word = normalize.text(_cell(cells, "kind") or "")
    if not kind_word:
        kind = "school" if any(w in rec.values["name"] for w in ("学", "校")) else "village"
    elif any(w in kind_word for w in ("学", "校")):
        kind = "school"
    elif any(w in kind_word for w in ("村", "社区", "居")):
        kind = "village"
    else:
        rec.errors.append(RowError(row, _header(headers, "kind"), kind_word, "bad_value",
                                   "类型应填 村、社区 或 学校。"))
        return rec
    rec.values["kind"] = kind
    for key in ("head_name", "level", "catchment_primary", "catchment_middle"):
        raw = _cell(cells, key)
        rec.values[key] = (normalize.text(raw) or None) if raw is not None else None
    if _cell(cells, "head_phone") is not None:
        rec.values["head_phone"] = normalize.phone(cells["head_phone"]) or None
    level = rec.values.get("level")
    if level:
        rec.values["level"] = ("middle" if any(w in level for w in ("中", "初")) else
                               "primary" if "小" in level else
                               "nine_year" if "九" in level else None)
    return rec
