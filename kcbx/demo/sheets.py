"""Write a township's sheets as a clerk receives them, with the mess real sheets carry.

`write_sheets` writes one census per village (one of them as a GBK CSV), one roster per
local school (one with a sheet per grade, one with an address instead of a village column),
the teachers list, the follow-up records and status_changes.csv. With `mess=True` it puts in
what clerks really send (title rows, merged cells, full-width digits, padded names, dates in
many forms, blank and 合计 rows) plus a fixed, small set of rows an importer must reject, and
records every piece in `Township.injected`. Sheets over `NORMAL_MODE_MAX_ROWS` rows are
streamed (openpyxl write-only): that mode cannot merge cells, so their 村/组 values are
written in every row instead.
"""

from __future__ import annotations

import csv
import dataclasses
import random
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from kcbx.dates import compulsory_window
from kcbx.demo import words
from kcbx.demo.generate import Weighted
from kcbx.demo.model import ChildTruth, Injected, SchoolInfo, Township
from kcbx.vocab import STATUSES

NORMAL_MODE_MAX_ROWS = 5000  # above this a workbook is streamed: faster, but no merged cells
EXCEL_EPOCH = date(1899, 12, 30)
# Rows written to be rejected, with the SPEC §5 code the importer must give (name_conflict
# counts IDs: each gives two rows, one in the child's census and one in another village's).
CENSUS_REJECTIONS = (
    ("bad_checksum", 2), ("scientific_notation", 2), ("bad_length", 1),
    ("birth_mismatch", 2), ("name_conflict", 1), ("bad_value", 1),
)
ROSTER_REJECTIONS = (("bad_checksum", 1),)
FULLWIDTH_SHARE, SPACED_SHARE, PADDED_SHARE, LOWER_X_SHARE = 0.008, 0.008, 0.012, 0.1
BIRTH_FORMATS = (
    ("date", 50), ("serial", 8), ("dot", 10), ("cn", 8), ("slash", 8), ("dash", 8), ("month", 8),
)
FOLLOWUP_FORMATS = (("date", 80), ("dot", 12), ("serial", 8))
CHANGE_FORMATS = (("dash", 50), ("slash", 25), ("dot", 15), ("cn", 10))

CENSUS_HEADER = [
    "序号", "姓名", "性别", "身份证号码", "出生年月", "民族", "村(社区)", "所在组", "监护人",
    "与学生关系", "联系电话", "家庭类型", "是否留守儿童", "是否残疾", "残疾类别", "残疾等级",
    "就读学校", "年级", "就读状态", "备注",
]
ROSTER_HEADER = [
    "序号", "学籍号", "姓名", "性别", "身份证号", "出生日期", "年级", "班级", "村(社区)",
    "监护人姓名", "联系电话", "是否留守", "残疾类别", "学业成绩", "缺勤天数", "学籍状态", "备注",
]
TEACHER_HEADER = ["序号", "姓名", "性别", "任教学校", "联系电话", "任教学科", "班主任班级", "在岗情况", "备注"]
FOLLOWUP_HEADER = [
    "序号", "学生姓名", "身份证号", "所在村(社区)", "学校", "帮扶类型", "日期", "责任教师",
    "教师所在学校", "方式", "内容", "结果",
]
CHANGE_HEADER = [
    "序号", "身份证号", "姓名", "所在村(社区)", "变动日期", "变动类型", "变动前状态", "变动后状态",
    "原学校", "现学校", "年级", "经办人", "备注",
]
ROSTER_WORDS = {"enrolled": "在读"}  # the 学籍 system's word; the rest as in SPEC §2
# How a census 备注 and a roster 备注 tell a dated change.
CENSUS_EVENTS = {
    "辍学": "辍学，正在劝返", "劝返复学": "劝返复学", "转出": "转学", "转入": "转入本地就读",
    "迁入": "迁入", "迁出": "迁出", "休学": "休学", "复学": "复学", "入学": "补录入学", "死亡": "因病去世",
}
ROSTER_EVENTS = ("辍学", "劝返复学", "转入", "迁入", "休学", "复学", "入学")
NO_SCHOOL = ("never_enrolled", "moved_out", "deceased")
# Headers of the (name, ID, birth date) columns, as recorded in `Injected.column`.
CENSUS_IDENTITY = ("姓名", "身份证号码", "出生年月")
ROSTER_IDENTITY = ("姓名", "身份证号", "出生日期")
FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


@dataclass
class _Sheet:
    """One worksheet to write: title rows, the header, data rows ([] is a blank row)."""

    name: str
    titles: list[str]
    header: list[str]
    rows: list[list] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)  # ranges such as "H5:H9"
    literal: set[tuple[int, int]] = field(default_factory=set)  # (row, column): text that starts with =
    merge_titles: bool = False

    @property
    def first_row(self) -> int:
        """Excel row number of the first data row."""
        return len(self.titles) + 2


@dataclass
class _Style:
    """How one file writes its words (chosen per file, like each clerk's habits)."""

    births: Weighted  # date formats of 出生年月 / 出生日期
    grades: str = "cn"  # cn 七年级, digit 7年级, chu 初一, int 7
    groups: str = "zu"  # zu 1组, cn 一组, di 第1组, int 1
    yes_no: tuple[str | None, str | None] = ("是", "否")
    phone_number: bool = False


def write_sheets(t: Township, folder: Path, *, mess: bool = True) -> list[Path]:
    """Write every sheet of `t` into `folder` and return their paths.

    `t.injected` is replaced by the record of this call's mess. Without mess the files have
    the same layout (title rows, one sheet per grade, the GBK CSV), but every cell is clean
    and filled in, and nothing is to be rejected.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    writer = _Writer(t, folder, mess)
    return writer.all()


def write_roster_xlsx(t: Township, path: Path) -> int:
    """One streamed single-sheet roster of every child on a local roll, for import benchmarks.

    A 学籍 export of the whole town with a 学校名称 column; clean cells. Returns the number
    of data rows: about 0.7 × the children of `generate` (the others are away, finished,
    or out of school).
    """
    year = t.school_year_start.year
    sheet = _Sheet(
        "学籍花名册",
        [f"{t.town}{year}-{year + 1}学年中小学学籍花名册（截至{_cn_date(t.sheet_date)}）"],
        ROSTER_HEADER[:1] + ["学校名称"] + ROSTER_HEADER[1:],
    )
    order = {name: i for i, name in enumerate(t.local_schools)}
    pupils = sorted(
        (c for c in t.children if t.on_local_roll(c)),
        key=lambda c: (order[c.school], c.grade, c.class_no or 99, c.birth_date),
    )
    for n, child in enumerate(pupils, 1):
        sheet.rows.append([
            n, child.school, child.student_no, child.name, child.gender, child.id_number,
            child.birth_date, f"{_cn(child.grade)}年级", _class_word(child.class_no, "ban"),
            child.village, child.guardian_name, child.guardian_phone,
            "是" if child.left_behind else "否", child.disability_type, child.score,
            child.absences, _status_word(child.status, ROSTER_WORDS), child.remarks,
        ])
    _save_xlsx(Path(path), [sheet], streaming=True)
    return len(pupils)


def _cn(n: int) -> str:
    """A number below 1000 in Chinese numerals: 7 七, 12 十二, 40 四十, 105 一百零五."""
    digits = words.CN_DIGITS
    if n < 10:
        return digits[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    text = digits[hundreds] + "百"
    if rest == 0:
        return text
    if rest < 10:
        return text + "零" + digits[rest]
    return text + ("一" if rest < 20 else "") + _cn(rest)


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _status_word(code: str, overrides: dict[str, str] | None = None) -> str:
    return (overrides or {}).get(code) or STATUSES[code][0]


def _class_word(class_no: int | None, style: str):
    if class_no is None:
        return None
    return {"paren": f"({class_no})班", "int": class_no, "ban": f"{class_no}班"}[style]


def _grade_word(grade: int, style: str):
    """七年级 / 7年级 / 初一 / 7 for grade 7; grades 1-6 likewise without 初."""
    if style == "int":
        return grade
    if style == "digit":
        return f"{grade}年级"
    if style == "chu" and grade >= 7:
        return f"初{_cn(grade - 6)}"
    return f"{_cn(grade)}年级"


def _group_word(group: int, style: str):
    return {"zu": f"{group}组", "cn": f"{_cn(group)}组", "di": f"第{group}组", "int": group}[style]


def _date_cell(day: date, fmt: str, text: bool):
    """A date as clerks write it; `text` for a CSV, where every cell is text."""
    if fmt == "date":
        return f"{day.year}/{day.month}/{day.day}" if text else day
    if fmt == "serial":
        serial = (day - EXCEL_EPOCH).days
        return str(serial) if text else serial
    if fmt == "month":
        return str(day.year * 100 + day.month) if text else day.year * 100 + day.month
    return {
        "dot": f"{day.year}.{day.month}.{day.day}",
        "cn": _cn_date(day),
        "slash": f"{day.year}/{day.month:02d}/{day.day:02d}",
        "dash": day.isoformat(),
    }[fmt]


def _streaming(rows: int) -> bool:
    return rows > NORMAL_MODE_MAX_ROWS


def _run_bounds(keys: list) -> list[tuple[int, int]]:
    """(first, last) index of each run of equal, non-None keys."""
    bounds, start = [], None
    for i, key in enumerate([*keys, None]):
        if start is not None and key != keys[start]:
            bounds.append((start, i - 1))
            start = None
        if key is not None and start is None:
            start = i
    return bounds


class _Writer:
    """Writes the files of one township; `mess` decides clean or clerk-made sheets."""

    def __init__(self, t: Township, folder: Path, mess: bool):
        self.t, self.folder, self.mess = t, folder, mess
        self.rng = random.Random(f"kcbx-demo-mess-{t.seed}")
        t.injected = []
        self.csv_village = t.villages[min(3, len(t.villages) - 1)]
        self.events = self._event_notes()
        self.rejections: dict[tuple[str, str], str] = {}
        self.conflicts: dict[str, list[ChildTruth]] = {}
        if mess:
            self._plan_rejections()

    def all(self) -> list[Path]:
        """Every file, in the order a clerk would import them."""
        paths = [self._census(i, v) for i, v in enumerate(self.t.villages)]
        paths += [self._roster(i, s) for i, s in enumerate(self.t.schools)]
        paths += [self._teachers(), self._followups(), self._changes()]
        return paths

    def _note(self, kind, file, sheet, row=None, code=None, column=None, id_number=None, value=None):
        self.t.injected.append(Injected(kind, file, sheet, row, code, column, id_number, value))

    # -- which rows break --------------------------------------------------------------------

    def _plan_rejections(self) -> None:
        """Pick the children whose rows are written to be rejected.

        Only children of compulsory age that no other sheet mentions (not on a local roll, no
        change, no follow-up) are picked for the census, so each rejection is exactly one
        missing census child and nothing else; a scientific-notation ID must end in a digit.
        """
        t, rng = self.t, self.rng
        mentioned = {c.id_number for c in t.changes} | {f.id_number for f in t.followups}
        first, last = compulsory_window(t.reference_date)
        quiet = [
            c for c in t.children
            if c.in_census and c.status in ("away", "completed", "special_school")
            and first <= c.birth_date <= last and c.id_number not in mentioned
            and c.village != self.csv_village and c.id_number[-1] != "X"
        ]
        wanted = sum(k for _, k in CENSUS_REJECTIONS)
        victims = iter(rng.sample(quiet, min(wanted, len(quiet))))
        for code, count in CENSUS_REJECTIONS:
            for child in islice(victims, count):
                self.rejections[(child.village, child.id_number)] = code
                if code == "name_conflict":
                    self._conflict(child)
        pupils = [
            c for c in t.children
            if c.in_census and c.status == "enrolled" and t.on_local_roll(c)
            and c.id_number not in mentioned
        ]
        for code, count in ROSTER_REJECTIONS:
            for child in rng.sample(pupils, min(count, len(pupils))):
                self.rejections[(child.school, child.id_number)] = code

    def _conflict(self, child: ChildTruth) -> None:
        """List the child again, under another name, in another village's census."""
        others = [v for v in self.t.villages if v not in (child.village, self.csv_village)]
        if not others:
            return
        village = self.rng.choice(others)
        chars = words.BOY_CHARS if child.gender == "男" else words.GIRL_CHARS
        other = self.rng.choice([c for c in chars if c != child.name[-1]])
        twin = dataclasses.replace(child, name=child.name[:-1] + other, village=village)
        self.rejections[(village, child.id_number)] = "name_conflict"
        self.conflicts.setdefault(village, []).append(twin)

    # -- shared cell makers ----------------------------------------------------------------

    def _event_notes(self) -> dict[str, list]:
        """The dated changes each sheet's 备注 tells: those on or before the sheet date."""
        notes: dict[str, list] = {}
        for change in self.t.changes:
            if change.day <= self.t.sheet_date:
                notes.setdefault(change.id_number, []).append(change)
        return notes

    def _style(self, file: str, *, text: bool = False, grades: str | None = None) -> _Style:
        """A clean style, or with mess this file's own habits (each one recorded).

        `grades` fixes the grade words (a roster uses its school's); else a census draws them.
        """
        if not self.mess:
            return _Style(Weighted((("dash" if text else "date", 1),)))
        rng = self.rng
        style = _Style(
            Weighted(BIRTH_FORMATS),
            grades=grades or rng.choice(("cn", "digit", "chu", "int")),
            groups=rng.choice(("zu", "cn", "di", "int")),
            yes_no=rng.choice((("是", "否"), ("是", "否"), ("√", None))),
            phone_number=not text and rng.random() < 0.5,
        )
        self._note("grade_words", file, None, column="年级", value=style.grades)
        self._note("birth_date_formats", file, None, value=tuple(f for f, _ in BIRTH_FORMATS))
        if grades is None:
            self._note("group_words", file, None, column="所在组", value=style.groups)
            self._note("yes_no_words", file, None, value=style.yes_no)
        if style.phone_number:
            self._note("phone_as_number", file, None, column="联系电话")
        return style

    def _phone(self, phone: str, style: _Style):
        return int(phone) if style.phone_number else phone

    def _identity(self, child: ChildTruth, unit: str, style: _Style, at: tuple, headers: tuple):
        """(name, ID, birth date) cells of a row: a planned rejection, some harmless mess, or clean.

        `unit` is the village or school whose sheet this is, `at` (file, sheet, row) and
        `headers` the sheet's (name, ID, birth date) column headers, for the record.
        """
        file, sheet, row = at
        code = self.rejections.get((unit, child.id_number))
        name, id_cell = child.name, child.id_number
        text = sheet is None  # a CSV has no sheets, and every cell is text
        birth = _date_cell(child.birth_date, style.births.pick(self.rng), text)
        if code:
            name, id_cell, birth, column, value = self._broken(code, child, name, id_cell, birth)
            self._note(code, file, sheet, row, code, headers[column], child.id_number, value)
        elif self.mess:
            id_cell = self._messy_id(id_cell, at, headers[1], child.id_number)
            name = self._messy_name(name, at, headers[0], child.id_number)
        return name, id_cell, birth

    def _broken(self, code: str, child: ChildTruth, name: str, id_cell: str, birth):
        """The cells of a row that must be rejected with `code`, and which column (0 name,
        1 ID, 2 birth date) holds the fault."""
        if code == "bad_checksum":  # a typo in the last character
            id_cell = id_cell[:-1] + self.rng.choice([c for c in "0123456789" if c != id_cell[-1]])
            return name, id_cell, birth, 1, id_cell
        if code == "scientific_notation":  # what Excel keeps of an 18-digit number: 15 digits
            id_cell = float(int(id_cell[:15]) * 1000)
            return name, id_cell, birth, 1, id_cell
        if code == "bad_length":  # the old 15-digit form: no century, no check digit
            id_cell = id_cell[:6] + id_cell[8:17]
            return name, id_cell, birth, 1, id_cell
        if code == "birth_mismatch":  # another month, so even a month-only compare disagrees
            born = child.birth_date
            month = (born.month + self.rng.randint(2, 9) - 1) % 12 + 1
            birth = date(born.year, month, min(born.day, 28))
            return name, id_cell, birth, 2, birth
        if code == "bad_value":
            name = f'=HYPERLINK("#A1","{name}")'
        return name, id_cell, birth, 0, name

    def _messy_id(self, id_number: str, at: tuple, column: str, true_id: str) -> str:
        """Full-width digits, spaces, or a lowercase x, each in a few rows."""
        draw = self.rng.random()
        if draw < FULLWIDTH_SHARE:
            kind, value = "fullwidth_id", id_number.translate(FULLWIDTH)
        elif draw < FULLWIDTH_SHARE + SPACED_SHARE:
            kind = "spaced_id"
            value = self.rng.choice((
                f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}", f" {id_number}", f"{id_number} ",
            ))
        elif id_number.endswith("X") and self.rng.random() < LOWER_X_SHARE:
            kind, value = "lowercase_x", id_number[:-1] + "x"
        else:
            return id_number
        self._note(kind, *at, column=column, id_number=true_id, value=value)
        return value

    def _messy_name(self, name: str, at: tuple, column: str, true_id: str) -> str:
        """Trailing spaces, a full-width space (U+3000) or spaces inside, in a few rows."""
        if self.rng.random() >= PADDED_SHARE:
            return name
        inside = f"{name[0]}  {name[1:]}" if len(name) > 1 else f" {name}"
        value = self.rng.choice((f"{name}  ", f"{name}\u3000", inside))
        self._note("padded_name", *at, column=column, id_number=true_id, value=value)
        return value

    def _layout(self, children: list, file: str, sheet: str | None, first_row: int, blank: bool) -> list:
        """The data rows' order, with a blank row in the middle when asked (and recorded)."""
        rows: list = list(children)
        if blank and len(rows) >= 6:
            at = self.rng.randint(len(rows) // 3, 2 * len(rows) // 3)
            rows.insert(at, None)
            self._note("blank_row", file, sheet, first_row + at)
        return rows

    def _fill(self, sheet: _Sheet, layout: list, file: str, make_row) -> int:
        """One row per child of `layout` (None: a blank row), numbered 序号 1, 2, …; returns
        the number of children. Text starting with = is marked to be stored as text."""
        serial = 0
        for i, child in enumerate(layout):
            if child is None:
                sheet.rows.append([])
                continue
            serial += 1
            row_no = sheet.first_row + i
            row = make_row(serial, child, (file, sheet.name, row_no))
            if self.mess:
                sheet.literal.update(
                    (row_no, c) for c, v in enumerate(row, 1) if isinstance(v, str) and v.startswith("=")
                )
            sheet.rows.append(row)
        return serial

    def _runs(self, sheet: _Sheet, column: int, keys: list, file: str, merge: bool) -> None:
        """Keep a value only in the first row of each run of equal keys, merged when `merge`
        (a CSV saved from such a sheet keeps the first row only). A None key (blank row) ends
        a run. Records the merged ranges, or that the column is first-row-only.
        """
        letter = get_column_letter(column + 1)
        ranges = []
        for first, last in _run_bounds(keys):
            for i in range(first + 1, last + 1):
                sheet.rows[i][column] = None
            if merge and last > first:
                ranges.append(f"{letter}{sheet.first_row + first}:{letter}{sheet.first_row + last}")
        sheet.merges += ranges
        header = sheet.header[column]
        if merge:
            self._note("merged_cells", file, sheet.name, column=header, value=tuple(ranges))
        else:
            self._note("first_row_only", file, None, column=header)

    # -- census ------------------------------------------------------------------------------

    def _census(self, index: int, village: str) -> Path:
        """A village's 适龄儿童少年花名册: every child of its 户籍, wherever it studies."""
        t = self.t
        text = village == self.csv_village
        file = f"census_{village}.{'csv' if text else 'xlsx'}"
        kids = [c for c in t.children if c.in_census and c.village == village]
        kids += self.conflicts.get(village, [])
        kids.sort(key=lambda c: c.group)  # stable: siblings stay together
        committee = "居民委员会" if village.endswith("社区") else "村民委员会"
        sheet = _Sheet(
            None if text else f"{village}花名册",
            [f"{t.town}{village}{t.school_year_start.year}年适龄儿童少年花名册",
             f"填报单位：{village}{committee}（盖章）        填报日期：{_cn_date(t.sheet_date)}"],
            CENSUS_HEADER,
        )
        style = self._style(file, text=text)
        streaming = not text and _streaming(len(kids))
        layout = self._layout(kids, file, sheet.name, sheet.first_row, self.mess and index % 2 == 1)
        count = self._fill(sheet, layout, file, lambda n, kid, at: self._census_row(n, kid, style, at))
        if self.mess and not streaming:
            keys = [None if c is None else village for c in layout]
            self._runs(sheet, 6, keys, file, merge=not text)
            self._runs(sheet, 7, [None if c is None else c.group for c in layout], file, merge=not text)
        if self.mess and index % 3 == 2:
            sheet.rows.append(["合计", f"{count}人"])
            self._note("total_row", file, sheet.name, sheet.first_row + len(layout))
        return self._save_census(sheet, file, text, streaming, empty=self.mess and index % 2 == 0)

    def _save_census(self, sheet: _Sheet, file: str, text: bool, streaming: bool, empty: bool) -> Path:
        """A GBK CSV as Excel on a Chinese Windows saves it, or a workbook (with two empty
        sheets when `empty`, as a new workbook has)."""
        path = self.folder / file
        if text:
            _save_csv(path, sheet, "gbk")
            return path
        extra = ("Sheet2", "Sheet3") if empty else ()
        if extra:
            self._note("empty_sheets", file, None, value=extra)
        _save_xlsx(path, [sheet], streaming=streaming, empty_sheets=extra)
        return path

    def _census_row(self, serial: int, child: ChildTruth, style: _Style, at: tuple) -> list:
        name, id_cell, birth = self._identity(child, child.village, style, at, CENSUS_IDENTITY)
        yes, no = style.yes_no
        school = None if child.status in NO_SCHOOL else child.school
        if child.status in NO_SCHOOL:
            grade = None
        else:
            grade = child.grade_text if child.grade is None else _grade_word(child.grade, style.grades)
        return [
            serial, name, child.gender, id_cell, birth, child.ethnicity, child.village,
            _group_word(child.group, style.groups), child.guardian_name, child.guardian_relation,
            self._phone(child.guardian_phone, style), child.family_type,
            yes if child.left_behind else no, yes if child.disability_type else no,
            child.disability_type, child.disability_level, school, grade,
            _status_word(child.status), self._census_note(child),
        ]

    def _census_note(self, child: ChildTruth) -> str | None:
        notes = [child.census_note] if child.census_note else []
        changes = self.events.get(child.id_number, [])
        notes += [f"{_cn_date(c.day)}{CENSUS_EVENTS[c.kind]}" for c in changes]
        if child.status == "home_taught" and not notes:
            notes.append("送教上门")
        return "；".join(notes) or None

    # -- rosters -----------------------------------------------------------------------------

    def _roster(self, index: int, school: SchoolInfo) -> Path:
        """A school's 学籍花名册: the middle school's with home addresses, the first primary
        school's with one sheet per grade, the second's with merged village cells."""
        t = self.t
        file = f"roster_{school.name}.xlsx"
        pupils = sorted(
            (c for c in t.children if c.school == school.name and t.on_local_roll(c)),
            key=lambda c: (c.grade, c.class_no or 99, c.village if index == 2 else "", c.birth_date),
        )
        streaming = _streaming(len(pupils))
        year = t.school_year_start.year
        until = f"（截至{_cn_date(t.sheet_date)}）"
        if index == 1:
            parts = [
                (f"{_cn(g)}年级", f"{school.name}{year}-{year + 1}学年{_cn(g)}年级学籍花名册{until}",
                 [c for c in pupils if c.grade == g])
                for g in school.grades
            ]
        else:
            parts = [("学籍花名册", f"{school.name}{year}-{year + 1}学年学籍花名册{until}", pupils)]
        style = self._style(file, grades=("cn", "int", "cn")[index])
        sheets = [
            self._roster_sheet(index, (file, name, title), kids, style, streaming)
            for name, title, kids in parts
        ]
        path = self.folder / file
        _save_xlsx(path, sheets, streaming=streaming)
        return path

    def _roster_sheet(self, index: int, where: tuple, pupils: list, style: _Style, streaming: bool):
        """One sheet of a roster; the school's `index` decides its habits (see `_roster`)."""
        file, name, title = where
        header = list(ROSTER_HEADER)
        if index == 0:
            header[8] = "家庭住址"
        sheet = _Sheet(name, [title], header, merge_titles=True)
        classes = ("paren", "int", "ban")[index] if self.mess else "ban"
        layout = self._layout(pupils, file, name, sheet.first_row, self.mess and index == 0)
        address = index == 0
        self._fill(
            sheet, layout, file, lambda n, kid, at: self._roster_row(n, kid, style, classes, at, address)
        )
        if self.mess and index == 2 and not streaming:
            self._runs(sheet, 8, [None if c is None else c.village for c in layout], file, merge=True)
        return sheet

    def _roster_row(self, serial: int, child: ChildTruth, style: _Style, classes: str, at, address):
        name, id_cell, birth = self._identity(child, child.school, style, at, ROSTER_IDENTITY)
        place = child.village
        if address:
            place = f"{words.COUNTY}{self.t.town}{child.village}{child.group}组"
        return [
            serial, child.student_no, name, child.gender, id_cell, birth,
            _grade_word(child.grade, style.grades), _class_word(child.class_no, classes), place,
            child.guardian_name, self._phone(child.guardian_phone, style),
            "是" if child.left_behind else "否", child.disability_type, child.score, child.absences,
            _status_word(child.status, ROSTER_WORDS), self._roster_note(child),
        ]

    def _roster_note(self, child: ChildTruth) -> str | None:
        notes = [child.remarks] if child.remarks else []
        notes += [
            f"{c.day.year}.{c.day.month:02d}.{c.day.day:02d}{c.kind}"
            for c in self.events.get(child.id_number, []) if c.kind in ROSTER_EVENTS
        ]
        return "；".join(notes) or None

    # -- teachers, follow-ups, changes ---------------------------------------------------------

    def _teachers(self) -> Path:
        """教师名单 of the local schools; one school types its phones as numbers."""
        t = self.t
        year = t.school_year_start.year
        file = "teachers.xlsx"
        title = f"{t.town}{year}-{year + 1}学年中小学教师名单"
        sheet = _Sheet("教师名单", [title], TEACHER_HEADER, merge_titles=True)
        numbers = t.schools[0].name if self.mess else None
        if numbers:
            self._note("phone_as_number", file, sheet.name, column="联系电话", value=numbers)
        words_of = ("paren", "cn", "digit") if self.mess else ("paren",) * 3
        habits = {s.name: words_of[i] for i, s in enumerate(t.schools)}
        for n, teacher in enumerate(t.teachers, 1):
            head = None
            if teacher.head_class:
                head = _head_class_word(*teacher.head_class, habits[teacher.school])
            note = f"{teacher.duty}于{teacher.left_on.isoformat()}" if teacher.left_on else None
            phone = int(teacher.phone) if teacher.school == numbers else teacher.phone
            sheet.rows.append([
                n, teacher.name, teacher.gender, teacher.school, phone, teacher.subject, head,
                teacher.duty, note,
            ])
        path = self.folder / file
        _save_xlsx(path, [sheet], streaming=_streaming(len(sheet.rows)))
        return path

    def _followups(self) -> Path:
        """劝返/帮扶 records, dates written several ways."""
        t = self.t
        file = "followups.xlsx"
        title = f"{t.town}控辍保学劝返及帮扶工作记录（{t.school_year_start.year}年秋季学期至{_cn_date(t.reference_date)}）"
        sheet = _Sheet("劝返帮扶记录", [title], FOLLOWUP_HEADER, merge_titles=True)
        formats = Weighted(FOLLOWUP_FORMATS if self.mess else (("date", 1),))
        if self.mess:
            used = tuple(f for f, _ in FOLLOWUP_FORMATS)
            self._note("date_formats", file, sheet.name, column="日期", value=used)
        for n, f in enumerate(t.followups, 1):
            sheet.rows.append([
                n, f.name, f.id_number, f.village, f.school, f.kind,
                _date_cell(f.day, formats.pick(self.rng), False), f.teacher, f.teacher_school,
                f.method, f.content, f.result,
            ])
        path = self.folder / file
        _save_xlsx(path, [sheet], streaming=_streaming(len(sheet.rows)))
        return path

    def _changes(self) -> Path:
        """status_changes.csv in UTF-8 with a BOM: every change up to the reference date."""
        file = "status_changes.csv"
        sheet = _Sheet(None, [], CHANGE_HEADER)
        formats = Weighted(CHANGE_FORMATS if self.mess else (("dash", 1),))
        if self.mess:
            used = tuple(f for f, _ in CHANGE_FORMATS)
            self._note("date_formats", file, None, column="变动日期", value=used)
        for n, c in enumerate(self.t.changes, 1):
            sheet.rows.append([
                n, c.id_number, c.name, c.village, _date_cell(c.day, formats.pick(self.rng), True),
                c.kind,
                _status_word(c.prev_status) if c.prev_status else None, _status_word(c.next_status),
                c.from_school, c.to_school, c.grade, c.handler, c.note,
            ])
        path = self.folder / file
        _save_csv(path, sheet, "utf-8-sig")
        return path


def _head_class_word(grade: int, class_no: int, style: str) -> str:
    """班主任班级 as schools write it: 七年级(1)班, 一年级一班, 1年级1班."""
    if style == "cn":
        return f"{_cn(grade)}年级{_cn(class_no)}班"
    if style == "digit":
        return f"{grade}年级{class_no}班"
    return f"{_cn(grade)}年级({class_no})班"


def _save_xlsx(path: Path, sheets: list[_Sheet], *, streaming: bool, empty_sheets=()) -> None:
    """Write sheets in normal mode (merged cells kept) or streamed (write-only, fast, no merges)."""
    book = Workbook(write_only=streaming)
    if not streaming:
        book.remove(book.active)
    for sheet in sheets:
        (_stream_sheet if streaming else _fill_sheet)(book, sheet)
    for name in empty_sheets:
        book.create_sheet(name)
    book.save(path)


def _fill_sheet(book: Workbook, sheet: _Sheet) -> None:
    ws = book.create_sheet(sheet.name)
    for title in sheet.titles:
        ws.append([title])
    ws.append(sheet.header)
    for row in sheet.rows:
        ws.append(row)
    if sheet.merge_titles:
        for row in range(1, len(sheet.titles) + 1):
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(sheet.header))
    for cells in sheet.merges:
        ws.merge_cells(cells)
    for row, column in sheet.literal:  # openpyxl would store "=..." as a formula
        ws.cell(row, column).data_type = "s"


def _stream_sheet(book: Workbook, sheet: _Sheet) -> None:
    ws = book.create_sheet(sheet.name)
    for title in sheet.titles:
        ws.append([title])
    ws.append(sheet.header)
    for i, row in enumerate(sheet.rows, sheet.first_row):
        if sheet.literal and any(r == i for r, _ in sheet.literal):
            row = [_literal_cell(ws, v) if (i, c) in sheet.literal else v for c, v in enumerate(row, 1)]
        ws.append(row)


def _literal_cell(ws, value) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _save_csv(path: Path, sheet: _Sheet, encoding: str) -> None:
    """A CSV as Excel saves one: title rows with empty cells to the header's width."""
    width = len(sheet.header)
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        for title in sheet.titles:
            writer.writerow([title] + [""] * (width - 1))
        writer.writerow(sheet.header)
        for row in sheet.rows:
            cells = ["" if v is None else v for v in row]
            writer.writerow(cells + [""] * (width - len(cells)))
