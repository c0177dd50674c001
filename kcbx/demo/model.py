"""The ground truth of a synthetic township, and the two rules tests compare kcbx against.

A `Township` says who every child is and what happened to it; the sheets written from it are
only a (messy) view of that truth. `status_on` reads a child's history the way SPEC §4 does,
and `ground_truth_counts` counts the 户籍 population the way the rates must.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kcbx.dates import compulsory_window
from kcbx.vocab import STATUSES

PRIMARY = "primary"
MIDDLE = "middle"
# Statuses a child on a local school's roll (学籍花名册) can have.
ROLL_STATUSES = ("enrolled", "inclusive", "home_taught", "suspended", "dropout")
CENSUS_PREFIX = "census_"


@dataclass(frozen=True)
class SchoolInfo:
    """A local school: one that sends a 学籍花名册 and whose teachers take children in charge."""

    name: str
    level: str  # PRIMARY (grades 1-6) or MIDDLE (grades 7-9)
    grades: tuple[int, ...]


@dataclass(slots=True)
class ChildTruth:
    """One child as the sheets dated `Township.sheet_date` describe it.

    `status` is a SPEC §2 code on the sheet date; changes after that date live only in
    `Township.changes`. `village`/`group` are the 户籍 place, or where a child that is not in
    any census (`in_census` false: 外在本) lives.
    """

    id_number: str
    name: str
    gender: str  # 男 / 女, always the ID's 17th digit (odd = 男)
    birth_date: date
    ethnicity: str
    village: str
    group: int
    guardian_name: str
    guardian_relation: str
    guardian_phone: str
    family_type: str
    left_behind: bool
    disability_type: str | None
    disability_level: str | None
    school: str | None
    grade: int | None  # 1-9, else None (with `grade_text` such as 高一 or 中职一年级)
    grade_text: str | None
    class_no: int | None
    status: str
    score: int | None  # last exam, None when the child sat none (送教上门, 休学, gone before it)
    absences: int | None  # school days missed since the term began
    remarks: str | None  # a teacher's 备注 on the roster: 思想动摇, 学业困难, 家庭困难
    census_note: str | None  # the village's 备注: 未满6周岁，在园, 重度残疾，暂缓入学 …
    in_census: bool
    student_no: str | None  # 学籍号: "G" + ID for every child with a grade


@dataclass(slots=True)
class TeacherTruth:
    """A teacher of a local school; `duty` is the 在岗情况 word (在岗, 调离, 退休, 长期病假)."""

    school: str
    name: str
    gender: str
    phone: str
    subject: str
    head_class: tuple[int, int] | None  # (grade, class) of which the teacher is 班主任
    duty: str
    left_on: date | None  # when a teacher no longer in post left it

    @property
    def active(self) -> bool:
        """In post: only these can be given children (教师包干)."""
        return self.duty == "在岗"


@dataclass(slots=True)
class ChangeTruth:
    """One dated row of status_changes.csv: the event word and the statuses around it."""

    id_number: str
    name: str
    village: str
    day: date
    kind: str  # 变动类型: 辍学, 劝返复学, 转出, 转入, 迁入, 迁出, 休学, 复学, 入学, 死亡
    prev_status: str | None  # None: the child was not in the records before (迁入)
    next_status: str
    from_school: str | None
    to_school: str | None
    grade: int | None
    note: str | None
    handler: str = ""  # 经办人, a teacher's name, filled once the teachers exist


@dataclass(frozen=True)
class FollowupTruth:
    """One 劝返/帮扶 record: a call, visit, talk or 送教上门 lesson by a teacher."""

    id_number: str
    name: str
    village: str
    school: str | None
    kind: str  # 帮扶类型: 劝返, 送教上门, 心理疏导, 学业帮扶, 资助政策
    day: date
    teacher: str
    teacher_school: str
    method: str  # 电话, 家访, 约谈, 送教上门
    content: str
    result: str


@dataclass(frozen=True)
class Injected:
    """One piece of mess `write_sheets` put into a file, so tests know what to expect.

    `code` is the SPEC §5 error code an importer must report for that row, or None when the
    importer must accept the mess. `row` is the row as Excel shows it (a CSV's line number),
    None when the mess concerns a whole column or sheet. `id_number` is the true ID of the
    child on that row.
    """

    kind: str
    file: str
    sheet: str | None
    row: int | None
    code: str | None = None
    column: str | None = None
    id_number: str | None = None
    value: object = None


@dataclass
class Township:
    """Everything the generator decided; `injected` is filled by `write_sheets`."""

    town: str
    villages: list[str]
    schools: list[SchoolInfo]
    catchment: dict[str, tuple[str, str]]  # village -> (primary school, middle school)
    children: list[ChildTruth]
    teachers: list[TeacherTruth]
    changes: list[ChangeTruth]
    followups: list[FollowupTruth]
    sheet_date: date
    school_year_start: date
    reference_date: date  # the day the clerk runs the figures; the changes run up to it
    seed: int
    injected: list[Injected] = field(default_factory=list)

    @property
    def local_schools(self) -> tuple[str, ...]:
        """Names of the schools that send a roster."""
        return tuple(s.name for s in self.schools)

    def on_local_roll(self, child: ChildTruth) -> bool:
        """True when the child is on a local school's 学籍花名册 on the sheet date."""
        return child.school in self.local_schools and child.status in ROLL_STATUSES

    def rejected_census_ids(self) -> set[str]:
        """IDs whose census row was written to be rejected (a rejected roster row is not here)."""
        return {
            i.id_number
            for i in self.injected
            if i.code and i.id_number and i.file.startswith(CENSUS_PREFIX)
        }


def status_on(child: ChildTruth, changes: list[ChangeTruth], sheet_date: date, day: date) -> str | None:
    """The child's status on `day` by the SPEC §4 history rule, or None: not in the records.

    The events are the sheet snapshot (the child's `status` on `sheet_date`) and its dated
    changes (`changes`, in date order); on one date a snapshot comes before a change. The
    status is that of the latest event on or before `day`; with none, the first event after
    `day` decides: a snapshot's status holds back to the start, a change's 变动前状态 holds
    before it (None for 迁入: the child was not in the records yet).
    """
    if not changes:
        return child.status
    events = [(sheet_date, 0, child.status, child.status)]
    events += [(c.day, 1, c.next_status, c.prev_status) for c in changes]
    events.sort(key=lambda event: event[:2])  # stable: same-day changes keep their order
    passed = [event for event in events if event[0] <= day]
    return passed[-1][2] if passed else events[0][3]


def ground_truth_counts(t: Township, as_of: date) -> dict[str, int]:
    """Status counts the rates of `as_of` must rest on, with every SPEC §2 code as a key.

    The rule, step by step:
    1. population: children in a village census (`in_census`: the 户籍 population; 外在本
       children on a roster only are left out), minus every child whose census row
       `write_sheets` wrote to be rejected (`Township.injected` with a code, in a census
       file: both rows of a name conflict);
    2. of compulsory age on `as_of`: 6 to 15 full years on the 08-31 that opens the school
       year containing `as_of` (`kcbx.dates.compulsory_window`: born 2008-09-01 …
       2018-08-31, both included, for 2025-03-01);
    3. status on `as_of` by `status_on`: the sheet snapshot plus every change dated on or
       before `as_of`; a child not yet in the records on `as_of` (before its 迁入) is not
       counted.
    A child whose only rejected row is on a roster still counts: its census row is good.
    """
    first, last = compulsory_window(as_of)
    rejected = t.rejected_census_ids()
    changes_of: dict[str, list[ChangeTruth]] = {}
    for change in sorted(t.changes, key=lambda c: c.day):
        changes_of.setdefault(change.id_number, []).append(change)
    counts = dict.fromkeys(STATUSES, 0)
    for child in t.children:
        if not child.in_census or child.id_number in rejected:
            continue
        if not first <= child.birth_date <= last:
            continue
        status = status_on(child, changes_of.get(child.id_number, []), t.sheet_date, as_of)
        if status is not None:
            counts[status] += 1
    return counts
