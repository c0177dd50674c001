"""One sheet row → a clean record, or the reasons it must be rejected (SPEC §5, §6).

Pure functions: no database. The importer adds the checks that need the store
(a name already stored under the ID, a change about an unknown child). Every problem
is a `RowError` with a code from SPEC §5 and a Chinese message that tells the clerk
how to fix the source sheet; values that hold an ID are masked here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kcbx import idcard, vocab
from kcbx import normalize as _normalize

FORMULA_STARTS = ("=", "+", "-", "@")
_CACHE_LIMIT = 20_000


class _Memoized:
    """`normalize`'s functions, remembering each distinct cell value's result.

    A roster of 100,000 rows holds a few dozen distinct grades, classes, yes/no words and
    statuses; normalising each distinct value once keeps import within 2× a bare read.
    """

    def __init__(self, module):
        self._module = module
        self._wrapped: dict[str, object] = {}

    def __getattr__(self, name: str):
        if name not in self._wrapped:
            self._wrapped[name] = _memo(getattr(self._module, name))
        return self._wrapped[name]


def _memo(fn):
    cache: dict[tuple, tuple[bool, object]] = {}

    def wrapper(raw):
        key = (type(raw), raw)
        try:
            ok, value = cache[key]
        except KeyError:
            try:
                ok, value = True, fn(raw)
            except ValueError as exc:
                ok, value = False, exc
            if len(cache) < _CACHE_LIMIT:
                cache[key] = (ok, value)
        if not ok:
            raise value
        return list(value) if isinstance(value, list) else value

    wrapper.__doc__ = fn.__doc__
    return wrapper


normalize = _Memoized(_normalize)

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


def _header(headers: dict[str, str], key: str) -> str:
    return headers.get(key) or FIELD_NAMES.get(key, key)


def _shown(value: object) -> str:
    return "" if value is None else normalize.text(value)


def check_id(raw: object, row: int, headers: dict[str, str]) -> tuple[str | None, RowError | None]:
    """The normalised child ID, or the error that rejects the row."""
    column = _header(headers, "id_number")
    text = idcard.normalize(raw)
    if not text:
        return None, RowError(row, column, "", "missing_field", "身份证号为空。请补填 18 位身份证号。")
    code = idcard.validate(text)
    if code is None:
        return text, None
    message = ID_HINTS[code]
    if code == "bad_length" and len(text) == 15 and text.isdigit():
        message = BAD_LENGTH_15
    return None, RowError(row, column, idcard.mask(text), code, message)


def check_name(raw: object, row: int, headers: dict[str, str]) -> tuple[str | None, RowError | None]:
    """The name without whitespace; a name that Excel would run as a formula is rejected."""
    column = _header(headers, "name")
    text = normalize.name(raw) if raw not in (None, "") else ""
    if not text:
        return None, RowError(row, column, "", "missing_field", "姓名为空。请补填姓名。")
    if text.startswith(FORMULA_STARTS):
        return None, RowError(row, column, text[:20], "bad_value",
                              "姓名以 = + - @ 开头，会被表格软件当成公式。请改为正确的姓名。")
    return text, None


def _cell(values: dict, key: str) -> object:
    value = values.get(key)
    return None if value == "" else value


def child_record(kind: str, row: int, cells: dict, headers: dict[str, str]) -> Record:
    """A census or roster row → the child's fields, its status, and any errors."""
    rec = Record(row, {})
    errors = rec.errors
    id_number, err = check_id(cells.get("id_number"), row, headers)
    if err:
        errors.append(err)
    name, err = check_name(cells.get("name"), row, headers)
    if err:
        errors.append(err)
    if id_number is None:
        return rec
    values = rec.values
    values["id_number"] = id_number
    values["name"] = name
    born = idcard.birth_date(id_number)
    values["birth_date"] = born.isoformat()
    values["gender"] = idcard.gender(id_number)
    _check_birth(cells, born, row, headers, errors)
    _check_gender(cells, values["gender"], row, headers, errors)
    _status(cells, "status", row, headers, errors, values, required=True)
    _optional(values, errors, row, headers, cells)
    return rec


def _check_birth(cells, born: date, row, headers, errors) -> None:
    raw = _cell(cells, "birth_date")
    if raw is None:
        return
    column = _header(headers, "birth_date")
    try:
        stated, precision = normalize.parse_date(raw)
    except ValueError as exc:
        errors.append(RowError(row, column, _shown(raw), "bad_date",
                               f"出生日期「{_shown(raw)}」无法识别（{exc}）。请写成 2015-03-04 这样的日期。"))
        return
    same = (stated.year, stated.month) == (born.year, born.month)
    if precision == "day":
        same = same and stated.day == born.day
    if not same:
        errors.append(RowError(row, column, _shown(raw), "birth_mismatch",
                               "出生日期与身份证号中的出生日期不一致。请对照户口簿核对哪一个填错了。"))


def _check_gender(cells, from_id: str, row, headers, errors) -> None:
    raw = _cell(cells, "gender")
    if raw is None:
        return
    column = _header(headers, "gender")
    try:
        stated = normalize.gender(raw)
    except ValueError:
        errors.append(RowError(row, column, _shown(raw), "bad_value", "性别应填 男 或 女。"))
        return
    if stated is not None and stated != from_id:
        errors.append(RowError(row, column, _shown(raw), "gender_mismatch",
                               "性别与身份证号第 17 位（单数为男，双数为女）不一致。请核对。"))


def _status(cells, key, row, headers, errors, values, *, required: bool) -> None:
    raw = _cell(cells, key)
    column = _header(headers, key)
    if raw is None:
        if required:
            errors.append(RowError(row, column, "", "missing_field",
                                   "状态为空。请填写 在校、外出就读、辍学 等状态。"))
        values[key] = None
        return
    code = _status_word(str(raw))
    if code is None:
        errors.append(RowError(row, column, _shown(raw), "bad_value",
                               f"不认识的状态「{_shown(raw)}」。请填写 在校、随班就读、送教上门、"
                               "外出就读、辍学、未入学、休学、已完成义务教育 等。"))
    values[key] = code


_status_word = _memo(vocab.status_from_word)


def _convert(values, errors, row, headers, cells, key, fn, message, target=None) -> None:
    """Apply a normaliser to one optional cell; a ValueError becomes a bad_value error."""
    raw = _cell(cells, key)
    if raw is None:
        return
    try:
        values[target or key] = fn(raw)
    except ValueError:
        errors.append(RowError(row, _header(headers, key), _shown(raw), "bad_value", message))


def _optional(values, errors, row, headers, cells) -> None:
    """Every optional child field: normalised when present, never guessed when absent."""
    if _cell(cells, "school") is not None:
        values["school"] = normalize.village_name(cells["school"]) or None
    for key in ("ethnicity", "guardian_relation", "disability_type",
                "disability_level", "remarks", "student_no", "address"):
        raw = _cell(cells, key)
        if raw is not None:
            values[key] = normalize.text(raw) or None
    if _cell(cells, "guardian_name") is not None:
        values["guardian_name"] = normalize.name(cells["guardian_name"]) or None
    if _cell(cells, "village") is not None:
        values["village"] = normalize.village_name(cells["village"]) or None
    if _cell(cells, "phone") is not None:
        values["guardian_phone"] = normalize.phone(cells["phone"]) or None
    raw_grade = _cell(cells, "grade")
    if raw_grade is not None:
        values["grade"], values["grade_text"] = normalize.grade(raw_grade)
    _convert(values, errors, row, headers, cells, "class", normalize.class_no,
             "班级无法识别。请写成 1班 或 (1)班。", target="class_no")
    _convert(values, errors, row, headers, cells, "group", normalize.group_no,
             "组无法识别。请写成 3组 或 第3组。", target="village_group")
    _convert(values, errors, row, headers, cells, "left_behind", normalize.left_behind,
             "是否留守应填 是/否（或学籍代码 0/1/2）。")
    _convert(values, errors, row, headers, cells, "disabled", normalize.yes_no,
             "是否残疾应填 是 或 否。")
    _convert(values, errors, row, headers, cells, "score", normalize.score,
             "学业成绩应为数字，没有成绩请留空。", target="last_score")
    _convert(values, errors, row, headers, cells, "absences", normalize.absences,
             "缺勤天数应为整数。")
    family = _cell(cells, "family_type")
    types = normalize.family_types(family) if family is not None else []
    orphan = _cell(cells, "orphan")
    if orphan is not None:
        try:
            if normalize.yes_no(orphan) and "孤儿" not in types:
                types.append("孤儿")
        except ValueError:
            errors.append(RowError(row, _header(headers, "orphan"), _shown(orphan), "bad_value",
                                   "是否孤儿应填 是 或 否。"))
    if types:
        values["family_type"] = "、".join(types)
    if values.get("disability_type") and "disabled" not in values:
        values["disabled"] = True


def change_record(row: int, cells: dict, headers: dict[str, str]) -> Record:
    """A status-change row (变动日期, 变动类型, 变动前状态, 变动后状态)."""
    rec = Record(row, {})
    id_number, err = check_id(cells.get("id_number"), row, headers)
    if err:
        rec.errors.append(err)
    rec.values["id_number"] = id_number
    raw_name = cells.get("name")
    rec.values["name"] = normalize.name(raw_name) if raw_name not in (None, "") else None
    _date(cells, "date", row, headers, rec, required=True)
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
    rec = Record(row, {})
    id_number, err = check_id(cells.get("id_number"), row, headers)
    if err:
        rec.errors.append(err)
    rec.values["id_number"] = id_number
    raw_name = cells.get("name")
    rec.values["name"] = normalize.name(raw_name) if raw_name not in (None, "") else None
    _date(cells, "date", row, headers, rec, required=True)
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
