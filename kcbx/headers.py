"""Raw sheet → parsed sheet: find the header row, map Chinese headers to fields, cut the data.

Sheets from villages and schools carry titles and 填报日期 lines above the header, group
rows such as 监护人信息 over several columns, 合计 and 填表人 lines below the data, and
blank rows in between. This module finds the header by scoring rows against alias
tables (data, one per kind), guesses the kind from tell-tale headers, and returns every
data row with its Excel row number. Values are left as read; `normalize` cleans them.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path

from kcbx.errors import FileProblem, InvalidValue
from kcbx.normalize import text
from kcbx.reading import RawSheet

KINDS = ("units", "teachers", "census", "roster", "changes", "followups")  # also the import order

KIND_NAMES = {
    "units": "单位名单", "teachers": "教师名单", "census": "户籍花名册（适龄儿童少年）",
    "roster": "学籍花名册", "changes": "学籍变动表", "followups": "劝返帮扶记录",
}

# --- alias tables: field -> headers as clerks write them ----------------------------------

_CHILD_ID = ("身份证号", "身份证号码", "公民身份证号码", "公民身份号码", "身份证件号", "身份证件号码",
             "证件号码", "身份证", "学生身份证号", "学生身份证号码", "儿童身份证号", "儿童身份证号码")
# ID numbers of other people: recognised so that they are never taken for the child's.
_GUARDIAN_ID = ("户主身份证号", "户主身份证号码", "监护人身份证号", "监护人身份证号码",
                "父亲身份证号", "父亲身份证号码", "母亲身份证号", "母亲身份证号码",
                "家长身份证号", "家长身份证号码")

_CHILDREN = {
    "seq": ("序号", "编号"),
    "name": ("姓名", "学生姓名", "儿童姓名", "学生名字", "名字"),
    "id_number": _CHILD_ID,
    "guardian_id": _GUARDIAN_ID,
    "student_no": ("学籍号", "全国学籍号", "学籍辅号", "学生学籍号", "学籍编号"),
    "gender": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日", "生日"),
    "ethnicity": ("民族",),
    "village": ("村", "所在村", "村(社区)", "所属村", "村社区", "村名", "社区", "所在村(社区)",
                "村(居)", "所在社区", "村别"),
    "group": ("组", "村民小组", "组别", "所在组", "小组"),
    "address": ("家庭住址", "家庭地址", "现住址", "现居住地", "居住地址", "住址", "户籍地址",
                "户口所在地", "户籍所在地", "户籍地", "户口地址"),
    "school": ("就读学校", "学校名称", "学校", "所在学校", "就读学校名称", "现就读学校"),
    "grade": ("年级", "就读年级", "所在年级", "年级班级"),
    "class": ("班级", "班别", "班", "所在班级"),
    "guardian_name": ("监护人", "监护人姓名", "家长姓名", "家长", "父亲/母亲姓名", "户主", "户主姓名"),
    "guardian_relation": ("与学生关系", "关系", "与户主关系", "监护人关系", "与监护人关系"),
    "phone": ("联系电话", "家长电话", "监护人电话", "手机号", "手机号码", "电话", "联系方式",
              "监护人联系电话", "家长联系电话"),
    "left_behind": ("是否留守", "是否留守儿童", "留守儿童", "留守类型", "留守情况"),
    "disabled": ("是否残疾", "残疾", "残疾情况", "是否残疾儿童"),
    "disability_type": ("残疾类别", "残疾类型", "残疾人类型", "残疾种类"),
    "disability_level": ("残疾等级", "残疾级别"),
    "family_type": ("家庭类型", "户类型", "家庭类别", "户属性"),
    "orphan": ("是否孤儿", "是否事实无人抚养", "孤儿", "是否孤儿或事实无人抚养"),
    "score": ("学业成绩", "成绩", "期末成绩", "考试成绩", "最近一次考试成绩"),
    "absences": ("缺勤天数", "缺勤", "缺课天数", "缺勤(天)"),
    "status": ("就读状态", "就学状态", "就读情况", "在校情况", "学籍状态", "状态", "是否在校", "就学情况"),
    "remarks": ("备注",),
}

_TEACHERS = {
    "seq": ("序号",),
    "name": ("姓名", "教师姓名", "教师"),
    "gender": ("性别",),
    "school": ("任教学校", "学校", "所在学校", "学校名称", "工作单位", "单位"),
    "phone": ("联系电话", "电话", "手机号", "手机号码", "联系方式"),
    "subject": ("任教学科", "学科", "科目", "任教科目", "所教学科"),
    "head_class": ("班主任班级", "担任班主任班级", "任班主任班级"),
    "active": ("在岗情况", "在岗状态", "是否在岗", "在职情况", "状态"),
    "remarks": ("备注",),
}

_CHANGES = {
    "seq": ("序号",),
    "id_number": _CHILD_ID,
    "name": ("姓名", "学生姓名"),
    "village": ("村", "所在村", "村(社区)", "所在村(社区)", "社区", "所属村"),
    "date": ("变动日期", "变动时间", "日期", "发生日期"),
    "event": ("变动类型", "变动情况", "变动事项", "类型"),
    "prev_status": ("变动前状态", "原状态", "原就读状态"),
    "status": ("变动后状态", "现状态", "现就读状态", "状态"),
    "prev_school": ("原学校", "原就读学校", "转出学校"),
    "school": ("现学校", "现就读学校", "转入学校", "学校"),
    "grade": ("年级", "就读年级"),
    "handler": ("经办人", "经手人", "办理人"),
    "remarks": ("备注",),
}

_FOLLOWUPS = {
    "seq": ("序号",),
    "name": ("学生姓名", "姓名"),
    "id_number": _CHILD_ID,
    "village": ("村", "所在村", "村(社区)", "所在村(社区)", "社区", "所属村"),
    "school": ("学校", "就读学校", "所在学校", "学生所在学校"),
    "purpose": ("帮扶类型", "工作类型", "类型", "事项"),
    "date": ("日期", "帮扶日期", "劝返日期", "走访日期", "时间"),
    "by_name": ("责任教师", "劝返人员", "帮扶教师", "包干教师", "帮扶人", "走访人", "劝返人",
                "教师姓名", "帮扶责任人"),
    "by_school": ("教师所在学校", "教师单位", "教师学校"),
    "method": ("方式", "劝返方式", "帮扶方式", "形式"),
    "content": ("内容", "帮扶内容", "劝返内容", "工作内容", "主要内容"),
    "result": ("结果", "劝返结果", "帮扶结果", "成效"),
    "next_date": ("下次跟进日期", "下次跟进时间", "下次回访日期"),
    "note": ("备注",),
}

_UNITS = {
    "seq": ("序号",),
    "name": ("名称", "单位名称", "单位", "村(社区)", "学校名称"),
    "kind": ("类型", "单位类型"),
    "head_name": ("负责人", "负责人姓名", "村长", "校长"),
    "head_phone": ("负责人电话", "负责人联系电话", "联系电话", "电话"),
    "level": ("学段", "学校类型", "办学层次"),
    "catchment_primary": ("对口小学", "学区小学"),
    "catchment_middle": ("对口中学", "对口初中", "学区中学"),
}

_SOURCES = {"units": _UNITS, "teachers": _TEACHERS, "census": _CHILDREN, "roster": _CHILDREN,
            "changes": _CHANGES, "followups": _FOLLOWUPS}

# Headers that tell one kind of sheet from another: the kind with the most of them wins.
_SIGNS = {
    "census": ("就读状态", "就学状态", "就读情况", "就学情况", "在校情况", "就读学校", "就读学校名称",
               "所在组", "组", "村民小组", "组别", "村(社区)", "所在村", "村"),
    "roster": ("学籍号", "全国学籍号", "学籍辅号", "学生学籍号", "学籍状态", "缺勤天数", "学业成绩", "班级"),
    "teachers": ("任教学校", "任教学科", "在岗情况", "班主任班级", "教师姓名"),
    "changes": ("变动日期", "变动类型", "变动前状态", "变动后状态", "原学校", "现学校", "经办人"),
    "followups": ("帮扶类型", "方式", "劝返方式", "帮扶方式", "结果", "劝返结果", "帮扶结果",
                  "责任教师", "劝返人员", "帮扶教师", "教师所在学校", "下次跟进日期"),
    "units": ("类型", "单位类型", "负责人", "负责人电话", "对口小学", "对口中学", "学段"),
}

IGNORE = "ignore"  # --map 表头=ignore drops a column on purpose


def normalize_header(text: str) -> str:
    """A header as compared: NFKC, no spaces/line breaks/★/*/colons, brackets as ( ), lower case."""
    t = unicodedata.normalize("NFKC", str(text))
    t = re.sub(r"[\s★☆*※:\u200b\ufeff]", "", t)
    return t.translate(_BRACKETS).lower()


_BRACKETS = str.maketrans("[]【】〔〕〖〗", "()()()()")

ALIASES: dict[str, dict[str, str]] = {
    kind: {normalize_header(alias): field for field, aliases in source.items() for alias in aliases}
    for kind, source in _SOURCES.items()
}
FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(f for f in source if f != "guardian_id") for kind, source in _SOURCES.items()
}
_KIND_SIGNS = {kind: frozenset(map(normalize_header, signs)) for kind, signs in _SIGNS.items()}

# Fields that identify the child: never guessed from a loose match or another person's column.
_IDENTITY = frozenset({"name", "id_number", "gender", "birth_date", "ethnicity"})
_AS_GUARDIAN = {"name": "guardian_name", "id_number": "guardian_id"}
_OPTIONAL_NOTE = re.compile(r"\((?:必填|选填|必填项|选填项)\)")
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")
_GROUP_SUFFIX = re.compile(r"(?:基本信息|信息|情况|资料)$")
_GUARDIAN_GROUP = re.compile(r"监护人|家长|父亲|母亲|父母|户主|家庭成员|联系人")
_OTHER_PERSON_GROUP = re.compile(r"教师|老师|帮扶|责任人|包保|包联|经办")


@dataclass
class ParsedSheet:
    """A sheet's data rows keyed by field, with where each came from.

    `cells` holds, for every mapped column, its field's cells as read ('' where empty),
    one per data row; `row_numbers` the Excel row number (or CSV line number) of each.
    `rows` is the same by row: (row number, {field: cell}). Besides the fields of
    FIELDS[kind] a sheet may hold `guardian_id` (another person's ID number, kept apart
    so it is never the child's); `seq` (序号) carries no meaning. `column_headers` gives
    each field's header as written, "group/header" under a group row.
    """

    file: Path
    sheet: str | None
    kind: str
    title_date: date | None
    title: str
    columns: dict[int, str]
    column_headers: dict[str, str]
    unknown_headers: list[str]
    row_numbers: list[int]
    cells: dict[str, list[object]]

    @cached_property
    def rows(self) -> list[tuple[int, dict[str, object]]]:
        """(row number, {field: cell as read}) for every data row."""
        fields = list(self.cells)
        return [(n, dict(zip(fields, values)))
                for n, values in zip(self.row_numbers, zip(*self.cells.values()))]


@dataclass
class _Header:
    """The header found: its row, and per column the header text and its group label."""

    row: int
    top: int  # first row of the header block (the group row when there is one)
    cells: dict[int, tuple[str, str]]  # column -> (header as written, group label or '')
    copies: frozenset[int]  # columns whose header is a merged cell's copy (Excel shows one)


# --- header detection ----------------------------------------------------------------------

_SCAN_ROWS = 30


def _lookup(table: dict[str, str], header: str) -> str | None:
    """The field of a normalised header: exact, then without (必填), then without a trailing
    (…) note — the loose match never yields an identity field (身份证号(户主) is not the child's)."""
    if header in table:
        return table[header]
    bare = _OPTIONAL_NOTE.sub("", header)
    if bare in table:
        return table[bare]
    loose = table.get(_TRAILING_NOTE.sub("", bare))
    return None if loose in _IDENTITY else loose


def _field(table: dict[str, str], header: str, group: str) -> str | None:
    """The field of a column, read together with the group label above it.

    Under 监护人信息, 姓名 is the guardian's name and 身份证号 the guardian's ID; under a
    teacher's group nothing is the child's; under 学生信息 or 就读情况 headers mean what
    they say.
    """
    h = normalize_header(header)
    if not group:
        return _lookup(table, h)
    g = _GROUP_SUFFIX.sub("", normalize_header(group))
    combined = table.get(g + h)
    if combined:
        return combined
    if _OTHER_PERSON_GROUP.search(g):
        return None
    field = _lookup(table, h)
    if _GUARDIAN_GROUP.search(g) and field in _IDENTITY:
        return _AS_GUARDIAN.get(field)
    return field


def _cell_text(row: list, c: int) -> str:
    return text(row[c]) if c < len(row) else ""


def _row_texts(rows: list[list], r: int) -> dict[int, str]:
    return {c: t for c in range(len(rows[r])) if (t := _cell_text(rows[r], c))}


_TITLE_TEXT = re.compile(r":.|\d{4}[年./\-]\d{1,2}|(?:表|册|名单|记录|台账)(?:\(.*\))?$")


def _is_group_label(t: str) -> bool:
    """A group label names a block (监护人信息); title text (…花名册, 填报单位：…, a date) does not."""
    return len(normalize_header(t)) <= 16 and not _TITLE_TEXT.search("".join(t.split()))


def _group_spans(rows: list[list], g: int, below: dict[int, str]) -> dict[int, str]:
    """Column -> group label of row `g` when it groups several headers of the row below.

    A label spans the cells to its right that hold the same text (a merged range, filled)
    or nothing (a CSV of merged cells). It must sit over ≥ 2 different headers but not
    over all of them (that is a title), and every text of the row must look like a label.
    """
    labels = _row_texts(rows, g)
    if len(set(labels.values())) < 2 or not all(map(_is_group_label, labels.values())):
        return {}
    first, last = min(set(below) | set(labels)), max(set(below) | set(labels))
    groups: dict[int, str] = {}
    c = min(labels)
    while c <= last:
        label, end = labels[c], c + 1
        while end <= last and labels.get(end, label) == label:
            end += 1
        under = {below[i] for i in range(c, end) if i in below and below[i] != label}
        if len(under) >= 2 and not (c <= first and end > last):
            groups.update(dict.fromkeys(range(c, end), label))
        c = next((i for i in range(end, last + 1) if i in labels), last + 1)
    return groups


def _header_at(raw: RawSheet, r: int) -> _Header:
    """Row r read as the header, with row r-1 as its group row when it is one.

    A header cell left empty under a group row (the header text sits in the row above,
    as a CSV of a two-row header shows it) takes the text from above.
    """
    below = _row_texts(raw.rows, r)
    copies = frozenset(c for (r0, c0), (r1, c1) in raw.merged if r0 <= r <= r1 for c in range(c0 + 1, c1 + 1))
    groups = _group_spans(raw.rows, r - 1, below) if r > 0 else {}
    if not groups:
        return _Header(r, r, {c: (t, "") for c, t in below.items()}, copies)
    above = _row_texts(raw.rows, r - 1)
    cells = {}
    for c in sorted(set(below) | set(above)):
        sub, group = below.get(c, ""), groups.get(c, "")
        if not sub:
            cells[c] = (above[c], "")
        elif group and group != sub:
            cells[c] = (sub, group)
        else:
            cells[c] = (sub, "")
    return _Header(r, r - 1, cells, copies)


def _score(header: _Header, table: dict[str, str]) -> int:
    """How many different fields the header row maps to: the header is the best row."""
    fields = {_field(table, h, g) for h, g in header.cells.values()}
    fields.discard(None)
    return len(fields)


def _find_header(raw: RawSheet, tables: list[dict[str, str]]) -> _Header:
    """The best-scoring row among the first rows (ties: the upper one)."""
    best, best_score = None, 0
    for r in range(min(len(raw.rows), _SCAN_ROWS)):
        header = _header_at(raw, r)
        score = max(_score(header, table) for table in tables)
        if score > best_score:
            best, best_score = header, score
    if best is None or best_score < 2:
        raise FileProblem(
            f"{_where(raw)}：找不到表头行（应含 姓名、身份证号 等列名）。"
            "请检查是否选错了工作表，或用 --map 表头=字段 说明各列"
        )
    return best


def _where(raw: RawSheet) -> str:
    return f"「{raw.file.name}」" + (f"的工作表「{raw.sheet}」" if raw.sheet else "")


# --- kinds ---------------------------------------------------------------------------------

def guess_kind(raw: RawSheet) -> str:
    """The kind of sheet, from tell-tale headers (学籍号 → roster, 变动日期 → changes …).

    Raises FileProblem naming the candidates when the headers fit several kinds or none.
    """
    header = _find_header(raw, list(ALIASES.values()))
    seen = set()
    for h, g in header.cells.values():
        seen.add(normalize_header(h))
        if g:
            seen.add(_GROUP_SUFFIX.sub("", normalize_header(g)) + normalize_header(h))
    scores = {kind: len(seen & _KIND_SIGNS[kind]) for kind in KINDS}
    top = max(scores.values())
    candidates = [kind for kind in KINDS if scores[kind] == top]
    choices = "、".join(f"{KIND_NAMES[k]}（--kind {k}）" for k in (candidates if top else KINDS))
    if top == 0:
        raise FileProblem(f"{_where(raw)}：看不出是哪类表。请用 --kind 指定：{choices}")
    if len(candidates) > 1:
        raise FileProblem(f"{_where(raw)}：表头同时像几类表，请用 --kind 指定：{choices}")
    return candidates[0]


def _table(kind: str, mapping: dict[str, str] | None) -> dict[str, str]:
    """The alias table of `kind`, extended and overridden by --map."""
    if kind not in ALIASES:
        raise InvalidValue(f"不认识的表类型「{kind}」。可用：{'、'.join(KINDS)}")
    table = dict(ALIASES[kind])
    for header, field in (mapping or {}).items():
        if field != IGNORE and field not in FIELDS[kind]:
            raise InvalidValue(
                f"--map {header}={field}：{KIND_NAMES[kind]}没有字段「{field}」。"
                f"可用：{'、'.join(FIELDS[kind])}、{IGNORE}（不导入该列）"
            )
        table[normalize_header(header)] = field
    return table


# --- parsing -------------------------------------------------------------------------------

def parse_sheet(raw: RawSheet, *, kind: str | None = None, mapping: dict[str, str] | None = None) -> ParsedSheet:
    """The sheet's kind, title, title date, column mapping and data rows (as read)."""
    kind = kind or guess_kind(raw)
    table = _table(kind, mapping)
    header = _find_header(raw, [table])
    columns, column_headers, unknown = _map_columns(header, table)
    title, title_date = _title(raw.rows[: header.top])
    row_numbers, cells = _data_rows(raw, header, columns)
    if kind in ("census", "roster"):
        _fill_down(cells, raw.merged, header.row + 1)
    return ParsedSheet(
        file=raw.file, sheet=raw.sheet, kind=kind, title_date=title_date, title=title,
        columns=columns, column_headers=column_headers, unknown_headers=unknown,
        row_numbers=row_numbers, cells=cells,
    )


def _map_columns(header: _Header, table: dict[str, str]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """Column -> field; the first column of a field wins, later ones are reported unused."""
    columns: dict[int, str] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    for c, (h, g) in sorted(header.cells.items()):
        if c in header.copies:
            continue
        shown = f"{g}/{h}" if g else h
        field = _field(table, h, g)
        if field == IGNORE:
            continue
        if field is None or field in written:
            if shown not in unknown:
                unknown.append(shown)
            continue
        columns[c] = field
        written[field] = shown
    return columns, written, unknown


_END = re.compile(r"(?:合计|总计|共计|填表|填报|制表|审核|审批|负责人|说明|注$|注[:\d一、.(])")
_SUBTOTAL = re.compile(r"小计")


def _filled(cell: object) -> bool:
    return cell is not None and cell != "" and not (isinstance(cell, str) and cell.isspace())


def _first_text(row: list) -> str:
    """The first non-empty cell of a row as compact NFKC text ('' when it is not text)."""
    for cell in row:
        if not isinstance(cell, str):
            if cell is not None:  # a number, date or yes/no: filled, not text
                return ""
        elif cell and not cell.isspace():
            return "".join(unicodedata.normalize("NFKC", cell).split())
    return ""


def _data_rows(raw: RawSheet, header: _Header,
               columns: dict[int, str]) -> tuple[list[int], dict[str, list[object]]]:
    """The Excel row numbers of the data rows below the header, and {field: cells}.

    Blank rows, 小计 rows and repeated header rows are skipped; a 合计 or note row
    (填表人, 审核人, 说明, 注：…) ends the data. A row whose only content is the 序号 or
    values copied from merged cells is blank. This loop runs once per row of sheets of
    100,000 rows, so the per-row work is a few C-level calls.
    """
    content_columns = [c for c, f in columns.items() if f != "seq"]
    if not content_columns:
        return [], {}
    content_of = _getter(content_columns)
    width = max(columns) + 1
    rows, start = raw.rows, header.row + 1
    copied = _copied_cells(raw.merged, start)
    probe, header_row = min(columns), raw.rows[header.row]
    probe_value = header_row[probe] if probe < len(header_row) else None  # cells are never None
    header_texts = {c: normalize_header(header.cells[c][0]) for c in columns if c in header.cells}
    numbers, kept = [], []
    for r in range(start, len(rows)):
        row = rows[r]
        if len(row) < width:
            row = row + [""] * (width - len(row))
        lead = _first_text(row)
        if lead:
            if _END.match(lead):
                break
            if _SUBTOTAL.match(lead):
                continue
        if r in copied:
            if not any(c not in copied[r] and _filled(row[c]) for c in content_columns):
                continue
        elif not any(map(_filled, content_of(row))):
            continue
        if row[probe] == probe_value and _repeats_header(row, header_texts):
            continue
        if r == start and _is_column_numbers(row):
            continue
        numbers.append(r + 1)
        kept.append(row)
    return numbers, {field: list(map(operator.itemgetter(c), kept)) for c, field in columns.items()}


def _getter(indexes: list[int]):
    """row -> tuple of the cells at `indexes` (itemgetter returns a bare cell for one index)."""
    if len(indexes) == 1:
        (i,) = indexes
        return lambda row: (row[i],)
    return operator.itemgetter(*indexes)


_DITTO_FIELDS = ("village", "group")


def _fill_down(cells: dict[str, list[object]], merged: list, start: int) -> None:
    """Fill blank 村/组 cells from the row above when the sheet lost its merged cells.

    A CSV saved from a sheet with merged 村 and 组 cells keeps the value only in the
    first row of each block, as Excel shows it; read as-is, most children would have no
    village. A sheet that still has merged ranges among its data is left alone: its
    ranges are exact, so a blank there is a blank.
    """
    if any(r1 >= start for (_, _), (r1, _) in merged):
        return
    for field in _DITTO_FIELDS:
        column = cells.get(field, [])
        last = None
        for i, value in enumerate(column):
            if _filled(value):
                last = value
            elif last is not None:
                column[i] = last


def _copied_cells(merged: list, start: int) -> dict[int, set[int]]:
    """Row -> columns whose value was copied from a merged range's top-left cell."""
    copied: dict[int, set[int]] = {}
    for (r0, c0), (r1, c1) in merged:
        for r in range(max(r0, start), r1 + 1):
            cols = range(c0 + 1 if r == r0 else c0, c1 + 1)
            if cols:
                copied.setdefault(r, set()).update(cols)
    return copied


def _repeats_header(row: list, header_texts: dict[int, str]) -> bool:
    """A header repeated in the data (on each printed page, or in pasted class lists)."""
    same = sum(1 for c, h in header_texts.items() if normalize_header(text(row[c])) == h)
    return same >= 2 and same * 2 >= len(header_texts)


def _is_column_numbers(row: list) -> bool:
    """The row of column numbers 1, 2, 3 … official forms put under the header."""
    values = [text(c) for c in row if text(c)]
    return len(values) >= 3 and values == [str(i) for i in range(1, len(values) + 1)]


# --- title and its date --------------------------------------------------------------------

_DATE_TEXT = re.compile(r"(\d{4})[年./\-](\d{1,2})[月./\-](\d{1,2})[日号]?")
_DATE_KEY = re.compile(r"(?:填报日期|填表日期|报送日期|统计日期|统计时间|填报时间|截至|截止|日期|时间|至)[:(]*$")


def _title(rows: list[list]) -> tuple[str, date | None]:
    """The first title line, and the sheet's date from the lines above the header.

    A date after 填报日期/截至/日期/至 wins; otherwise a single date found there.
    """
    title = ""
    keyed: list[date] = []
    loose: list[date] = []
    for row in rows:
        previous = ""
        for cell in row:
            t = text(cell)
            if not t:
                continue
            title = title or t
            if isinstance(cell, (date, datetime)):
                day = cell.date() if isinstance(cell, datetime) else cell
                (keyed if _DATE_KEY.search(previous) else loose).append(day)
            else:
                _dates_in(t, keyed, loose)
            previous = "".join(t.split())
    if keyed:
        return title, keyed[0]
    return title, loose[0] if len(set(loose)) == 1 else None


def _dates_in(t: str, keyed: list[date], loose: list[date]) -> None:
    """Collect the dates written in a title line, keyed (after 填报日期 …) or loose."""
    compact = "".join(t.split())
    for m in _DATE_TEXT.finditer(compact):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
        (keyed if _DATE_KEY.search(compact[: m.start()]) else loose).append(day)
