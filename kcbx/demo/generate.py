"""Build a synthetic township: households, children, a term of changes, classes, teachers and
follow-ups. Everything comes from one seeded random.Random, so a seed names a township.

Common situations (外出就读, disabilities, left-behind children) are drawn per child with the
shares below; rare events (dropouts, transfers, deaths …) are counted per 10,000 children
and given to randomly chosen eligible children, so a 2,000-child town has a few of each and
the proportions hold at any size.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from datetime import date, timedelta
from itertools import accumulate
from typing import NamedTuple

from kcbx.dates import school_year_start
from kcbx.demo import words
from kcbx.demo.model import (
    MIDDLE,
    PRIMARY,
    ChangeTruth,
    ChildTruth,
    FollowupTruth,
    SchoolInfo,
    TeacherTruth,
    Township,
)
from kcbx.errors import InvalidValue
from kcbx.idcard import check_char

AWAY_SHARE = 0.22  # 外出就读 among children of grades 1-9
DISABLED_SHARE = 0.016
OUTSIDE_ROLL_SHARE = 0.015  # 外在本: on a local roll, in no census
LATE_START_SHARE = 0.03  # a year behind the nominal grade
OTHER_PRIMARY_SHARE = 0.05  # attend the local primary school that is not the village's
VOCATIONAL_SHARE = 0.35  # of those who finished compulsory education
RETURN_SHARE = 0.6  # of term dropouts persuaded back before the reference date
TEACHER_REMARK_SHARE = 0.02
SUPPORT_SHARE = 0.3  # of at-risk children with a 心理疏导/学业帮扶/资助政策 record
CLASS_SIZE = 45
DAY = timedelta(days=1)
REFERENCE_LAG = 9 * DAY  # sheets of 02-20, figures run on 03-01
EXAM_AFTER = 130 * DAY  # the autumn term's final exam, mid-January

# Rare events per 10,000 children (see the module docstring).
PER_10K = {
    "early_dropout": 15, "early_move_out": 20, "early_death": 5, "never_enrolled": 5,
    "dropout": 60, "away_dropout": 10, "transfer_out": 70, "transfer_in": 40, "move_in": 15,
    "move_out": 20, "suspension": 10, "late_entry": 5, "death": 5,
}
DISABLED_PLACEMENTS = (
    ("inclusive", 38), ("home_taught", 32), ("special_school", 15), ("regular", 10), ("deferred", 5),
)
HOUSEHOLD_SIZES = ((1, 35), (2, 45), (3, 20))
# Age on the cut-off before the school year: 5 = 在园, 6-15 compulsory, 16 = beyond.
AGES = ((5, 6), (16, 12), *((age, 98) for age in range(6, 16)))
IN_CLASS = ("enrolled", "inclusive", "suspended", "dropout")  # on a roll, with a class
HARDSHIP_WORDS = ("脱贫户", "低保户", "监测户", "孤儿", "事实无人抚养", "特困供养")


class Weighted:
    """A weighted choice table of (value, weight) pairs, built once: a pick is one random()
    and a bisect, which keeps generating 100,000 children fast."""

    def __init__(self, pairs):
        pairs = list(pairs)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random):
        """One value, drawn in proportion to its weight."""
        return self.values[bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


SURNAMES = Weighted((s, 60 - i // 2) for i, s in enumerate(words.SURNAMES))
RELATIONS = Weighted((r[0], r[1]) for r in words.RELATIONS)
RELATION_FLAGS = {r[0]: (r[2], r[3]) for r in words.RELATIONS}
FAMILY_TYPES = Weighted(words.FAMILY_TYPES)
ETHNICITIES = Weighted(words.ETHNICITIES)
DISABILITY_TYPES = Weighted(words.DISABILITY_TYPES)
DISABILITY_LEVELS = Weighted(words.DISABILITY_LEVELS)
PLACEMENTS = Weighted(DISABLED_PLACEMENTS)
SIZES = Weighted(HOUSEHOLD_SIZES)
AGE_TABLE = Weighted(AGES)
REMARKS = Weighted(words.TEACHER_REMARKS)


class _Home(NamedTuple):
    """What siblings share: place, guardian, family type."""

    village: str
    group: int
    surname: str
    guardian: str
    relation: str
    phone: str
    family_type: str
    ethnicity: str
    left_behind_share: float


class _Timeline:
    """One child's changes, built in date order from its state at the start of the term."""

    def __init__(self, child: ChildTruth, status: str | None, school: str | None):
        self.child, self.status, self.school = child, status, school
        self.changes: list[ChangeTruth] = []

    def add(self, day: date, kind: str, status: str, school: str | None, note: str | None = None):
        """Record an event that moves the child from the current state to (status, school)."""
        child = self.child
        grade = 1 if kind == "入学" else child.grade
        self.changes.append(ChangeTruth(
            child.id_number, child.name, child.village, day, kind, self.status, status,
            self.school, school, grade, note,
        ))
        self.status, self.school = status, school


def generate(
    children: int = 2000, seed: int = 1, sheet_date: date = date(2025, 2, 20), town: str = "后柳镇"
) -> Township:
    """A synthetic township of exactly `children` children whose sheets are dated `sheet_date`.

    About 1.5% of them are 外在本 (on a local roll, in no census). Same arguments, same
    township: all randomness comes from `random.Random(seed)`.
    """
    if children < 1:
        raise InvalidValue("演示的儿童人数至少为 1。")
    builder = _Builder(children, seed, sheet_date, town)
    builder.households()
    builder.before_term()
    builder.during_term()
    builder.roll_fields()
    builder.classes()
    builder.staff()
    builder.handlers()
    return builder.township(builder.followups())


def _share(n: int, per_10k: int) -> int:
    """How many children of `n` a rare event touches: at least one."""
    return max(1, round(n * per_10k / 10_000))


def _weekdays(first: date, end: date) -> int:
    """Weekdays in [first, end): the school days between two dates, holidays ignored."""
    days = (end - first).days
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    extra = sum(1 for i in range(rest) if (first.weekday() + i) % 7 < 5)
    return weeks * 5 + extra


def _given(rng: random.Random, chars: str, two_share: float) -> str:
    """A given name of one or two characters."""
    if rng.random() < two_share:
        return rng.choice(chars) + rng.choice(chars)
    return rng.choice(chars)


def _phone(rng: random.Random) -> str:
    """An 11-digit mobile number starting 13/15/17/18/19."""
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


class _Builder:
    """The township under construction and its random source; each step is one method."""

    def __init__(self, n: int, seed: int, sheet_date: date, town: str):
        self.rng = random.Random(seed)
        self.n, self.seed, self.town = n, seed, town
        self.sheet_date = sheet_date
        self.start = school_year_start(sheet_date)
        self.reference = sheet_date + REFERENCE_LAG
        stem = town.removesuffix("镇").removesuffix("乡")
        count = min(max(round(n / 300), 3), len(words.VILLAGES) + 1)
        self.villages = [f"{stem}社区", *words.VILLAGES[: count - 1]]
        second = words.VILLAGES[0].removesuffix("村")
        self.schools = [
            SchoolInfo(f"{stem}中学", MIDDLE, (7, 8, 9)),
            SchoolInfo(f"{stem}小学", PRIMARY, (1, 2, 3, 4, 5, 6)),
            SchoolInfo(f"{stem}{second}小学", PRIMARY, (1, 2, 3, 4, 5, 6)),
        ]
        self.local = {s.name for s in self.schools}
        # Villages alternate between the two primary schools; all go to the one middle school.
        self.catchment = {
            v: (self.schools[1 + i % 2].name, self.schools[0].name) for i, v in enumerate(self.villages)
        }
        self.village_table = Weighted(
            (v, 1.6 if i == 0 else self.rng.uniform(0.7, 1.3)) for i, v in enumerate(self.villages)
        )
        self.groups = {v: self.rng.randint(5, 9) for v in self.villages}
        self.children: list[ChildTruth] = []
        self.changes: list[ChangeTruth] = []
        self.teachers: list[TeacherTruth] = []
        self.heads: dict[tuple[str, int, int], TeacherTruth] = {}
        self.class_counts: dict[tuple[str, int], int] = {}
        self.first17: set[str] = set()
        self.used: set[str] = set()
        self.early_dropouts: list[ChildTruth] = []

    # -- households and children ------------------------------------------------------------

    def households(self) -> None:
        """Census children in households of one to three, then the few 外在本 children."""
        outside = round(self.n * OUTSIDE_ROLL_SHARE) if self.n >= 100 else 0
        self._fill(self.n - outside, in_census=True)
        self._fill(outside, in_census=False)

    def _fill(self, count: int, in_census: bool) -> None:
        target = len(self.children) + count
        while len(self.children) < target:
            home = self._home()
            for _ in range(min(SIZES.pick(self.rng), target - len(self.children))):
                self.children.append(self._child(home, in_census))

    def _home(self) -> _Home:
        rng = self.rng
        village = self.village_table.pick(rng)
        surname = SURNAMES.pick(rng)
        family = FAMILY_TYPES.pick(rng)
        relation = rng.choice(words.ORPHAN_RELATIONS) if "孤儿" in family else RELATIONS.pick(rng)
        man, same_surname = RELATION_FLAGS[relation]
        guardian = (surname if same_surname else SURNAMES.pick(rng)) + _given(
            rng, words.MAN_CHARS if man else words.WOMAN_CHARS, 0.45
        )
        left_behind_share = 0.12 if relation in ("父亲", "母亲") else 0.8
        return _Home(
            village, rng.randint(1, self.groups[village]), surname, guardian, relation,
            _phone(rng), family, ETHNICITIES.pick(rng), left_behind_share,
        )

    def _child(self, home: _Home, in_census: bool) -> ChildTruth:
        rng = self.rng
        age = AGE_TABLE.pick(rng) if in_census else rng.randint(6, 14)
        born = self._birth_date(age)
        male = rng.random() < 0.53
        child = ChildTruth(
            id_number=self._new_id(born, male),
            name=home.surname + _given(rng, words.BOY_CHARS if male else words.GIRL_CHARS, 0.7),
            gender="男" if male else "女", birth_date=born, ethnicity=home.ethnicity,
            village=home.village, group=home.group, guardian_name=home.guardian,
            guardian_relation=home.relation, guardian_phone=home.phone,
            family_type=home.family_type, left_behind=rng.random() < home.left_behind_share,
            disability_type=None, disability_level=None, school=None, grade=None,
            grade_text=None, class_no=None, status="enrolled", score=None, absences=None,
            remarks=None, census_note=None, in_census=in_census, student_no=None,
        )
        if in_census:
            self._place(child, age)
        else:
            child.school, child.grade = self._local_school(child.village, age - 5), age - 5
        return child

    def _birth_date(self, age: int) -> date:
        """A birth date giving `age` full years on the cut-off (08-31) before the term."""
        first = date(self.start.year - age - 1, 9, 1)
        span = (date(self.start.year - age, 8, 31) - first).days
        return first + timedelta(days=self.rng.randint(0, span))

    def _new_id(self, born: date, male: bool) -> str:
        """An unused 18-digit ID: region, birth date, a sequence whose last digit is the sex."""
        stem = f"{words.REGION}{born.year:04d}{born.month:02d}{born.day:02d}"
        while True:
            first17 = f"{stem}{self.rng.randrange(500) * 2 + male:03d}"
            if first17 not in self.first17:
                self.first17.add(first17)
                return first17 + check_char(first17)

    def _place(self, child: ChildTruth, age: int) -> None:
        """School, grade and status at the start of the term, from the age."""
        rng = self.rng
        if age <= 5:
            child.status, child.census_note = "never_enrolled", "未满6周岁，在园"
        elif age >= 15 and rng.random() > (0.05 if age == 15 else 0.1):
            self._finish(child, age)
        else:
            grade = min(age - 5, 9)
            if grade >= 2 and rng.random() < LATE_START_SHARE:
                grade -= 1
            if rng.random() < DISABLED_SHARE:
                self._place_disabled(child, grade)
            else:
                self._attend(child, grade)

    def _finish(self, child: ChildTruth, age: int) -> None:
        """已完成义务教育: in 高一/高二 or the first/second year of 中职."""
        year = "一" if age == 15 else "二"
        if self.rng.random() < VOCATIONAL_SHARE:
            child.school, child.grade_text = words.VOCATIONAL_SCHOOL, f"中职{year}年级"
        else:
            child.school, child.grade_text = self.rng.choice(words.HIGH_SCHOOLS), f"高{year}"
        child.status = "completed"

    def _attend(self, child: ChildTruth, grade: int) -> None:
        """In school in `grade`: away at an outside school, or at the village's local school."""
        child.grade = grade
        if self.rng.random() < AWAY_SHARE:
            child.school, child.status = self._outside_school(grade), "away"
        else:
            child.school, child.status = self._local_school(child.village, grade), "enrolled"

    def _place_disabled(self, child: ChildTruth, grade: int) -> None:
        """A disabled child: 随班就读, 送教上门, a special school, a regular class, or deferred."""
        rng = self.rng
        child.disability_type = DISABILITY_TYPES.pick(rng)
        child.disability_level = DISABILITY_LEVELS.pick(rng)
        how = PLACEMENTS.pick(rng)
        if how == "regular":
            self._attend(child, grade)
        elif how == "deferred":  # status 未入学; the 备注 names another status (a check finding)
            child.status, child.census_note = "never_enrolled", "重度残疾，暂缓入学"
        elif how == "special_school":
            child.school, child.grade, child.status = rng.choice(words.SPECIAL_SCHOOLS), grade, how
        else:
            child.school = self._local_school(child.village, grade)
            child.grade, child.status = grade, how

    def _local_school(self, village: str, grade: int) -> str:
        primary, middle = self.catchment[village]
        if grade >= 7:
            return middle
        if self.rng.random() < OTHER_PRIMARY_SHARE:
            return next(s.name for s in self.schools[1:] if s.name != primary)
        return primary

    def _outside_school(self, grade: int) -> str:
        return self.rng.choice(words.OUTSIDE_MIDDLE if grade >= 7 else words.OUTSIDE_PRIMARY)

    # -- rare events --------------------------------------------------------------------------

    def _pool(self, statuses: tuple[str, ...], grades=range(1, 10), local: bool | None = None):
        """Unused census children without disability in one of `statuses` and `grades`."""
        return [
            c for c in self.children
            if c.in_census and c.status in statuses and c.grade in grades
            and c.disability_type is None and c.id_number not in self.used
            and (local is None or (c.school in self.local) == local)
        ]

    def _take(self, pool: list[ChildTruth], event: str) -> list[ChildTruth]:
        """As many children of `pool` as the event's share asks (fewer in a tiny town)."""
        chosen = self.rng.sample(pool, min(_share(self.n, PER_10K[event]), len(pool)))
        self.used.update(c.id_number for c in chosen)
        return chosen

    def _day(self, first: date, last: date) -> date:
        """A weekday between `first` and `last`, both included (`first` for an empty span)."""
        if last <= first:
            return first
        day = first + timedelta(days=self.rng.randint(0, (last - first).days))
        while day.weekday() >= 5 and day > first:
            day -= DAY
        return day

    def before_term(self) -> None:
        """Situations the term started with, known from the census 备注 only (no change row)."""
        year = self.start.year
        for child in self._take(self._pool(("enrolled",), range(7, 10), local=True), "early_dropout"):
            child.status, child.census_note = "dropout", f"{year}年春季学期辍学"
            self.early_dropouts.append(child)
        for child in self._take(self._pool(("enrolled", "away")), "early_move_out"):
            place = self.rng.choice(words.MOVE_DESTINATIONS)
            self._gone(child, "moved_out", f"{year}年8月户籍迁往{place}")
        for child in self._take(self._pool(("enrolled", "away")), "early_death"):
            self._gone(child, "deceased", f"{year}年7月溺水身亡")
        for child in self._take(self._pool(("enrolled",), range(1, 4)), "never_enrolled"):
            self._gone(child, "never_enrolled", "家长未送学，正在督促入学")

    @staticmethod
    def _gone(child: ChildTruth, status: str, note: str) -> None:
        child.status, child.census_note, child.school, child.grade = status, note, None, None

    def during_term(self) -> None:
        """The dated changes of the term, each kind given to its share of eligible children."""
        self._dropouts()
        self._away_dropouts()
        self._early_dropout_returns()
        self._moves("transfer_out", ("enrolled",), True, "转出")
        self._moves("transfer_in", ("away",), False, "转入")
        self._moves_in()
        self._moves("move_out", ("enrolled", "away"), None, "迁出")
        self._suspensions()
        self._late_entries()
        self._moves("death", ("enrolled", "away"), None, "死亡")

    def _commit(self, line: _Timeline) -> None:
        """Keep the changes and set the child to its state on the sheet date."""
        self.changes.extend(line.changes)
        known = [c for c in line.changes if c.day <= self.sheet_date]
        if known:
            child = line.child
            child.status, child.school = known[-1].next_status, known[-1].to_school
            if child.school is None:
                child.grade = None

    def _dropouts(self) -> None:
        """Term dropouts: most persuaded back, one back and out again, one after the sheet date."""
        rng, start = self.rng, self.start
        eve = self.sheet_date - DAY
        for i, child in enumerate(self._take(self._pool(("enrolled",), range(5, 10), True), "dropout")):
            line = _Timeline(child, child.status, child.school)
            if i == 0:  # only status_changes.csv knows: the sheets still say 在校
                line.add(self._day(self.sheet_date + DAY, self.reference), "辍学", "dropout", child.school)
            elif i == 1:
                out = self._day(start + 14 * DAY, start + 50 * DAY)
                back = self._day(out + 14 * DAY, out + 40 * DAY)
                line.add(out, "辍学", "dropout", child.school)
                line.add(back, "劝返复学", "enrolled", child.school)
                line.add(self._day(back + 30 * DAY, eve), "辍学", "dropout", child.school)
            else:
                out = self._day(start + 7 * DAY, eve)
                line.add(out, "辍学", "dropout", child.school)
                back = self._day(out + 7 * DAY, out + 45 * DAY)
                if rng.random() < RETURN_SHARE and back <= self.reference:
                    line.add(back, "劝返复学", "enrolled", child.school)
            self._commit(line)

    def _away_dropouts(self) -> None:
        """Children studying elsewhere who dropped out; the first is brought back to a local school."""
        start, eve = self.start, self.sheet_date - DAY
        for i, child in enumerate(self._take(self._pool(("away",), range(5, 10)), "away_dropout")):
            line = _Timeline(child, child.status, child.school)
            out = self._day(start + 20 * DAY, eve - 10 * DAY)
            line.add(out, "辍学", "dropout", child.school)
            if i == 0:
                back = self._day(out + 7 * DAY, min(out + 30 * DAY, eve))
                line.add(back, "劝返复学", "enrolled", self._local_school(child.village, child.grade))
            self._commit(line)

    def _early_dropout_returns(self) -> None:
        """The first child who left before the term is persuaded back during it."""
        for child in self.early_dropouts[:1]:
            line = _Timeline(child, child.status, child.school)
            back = self._day(self.start + 20 * DAY, self.start + 80 * DAY)
            line.add(back, "劝返复学", "enrolled", child.school)
            self._commit(line)

    def _moves(self, event: str, statuses: tuple[str, ...], local: bool | None, kind: str) -> None:
        """转出, 转入, 迁出 and 死亡: one change each; the first 迁出 falls after the sheet date."""
        for i, child in enumerate(self._take(self._pool(statuses, local=local), event)):
            line = _Timeline(child, child.status, child.school)
            first = self.start + 7 * DAY
            if kind == "迁出" and i == 0:
                first = self.sheet_date + DAY
            day = self._day(first, self.reference if kind != "死亡" else self.sheet_date)
            status, school, note = self._after_move(child, kind)
            line.add(day, kind, status, school, note)
            self._commit(line)

    def _after_move(self, child: ChildTruth, kind: str) -> tuple[str, str | None, str]:
        if kind == "转出":
            return "away", self._outside_school(child.grade), "随父母进城就读"
        if kind == "转入":
            return "enrolled", self._local_school(child.village, child.grade), "返乡就读"
        if kind == "迁出":
            return "moved_out", None, f"随父母户籍迁往{self.rng.choice(words.MOVE_DESTINATIONS)}"
        return "deceased", None, "因病去世"

    def _moves_in(self) -> None:
        """迁入: children not in the records before; their 户籍 came with their parents."""
        eve = self.sheet_date - DAY
        for child in self._take(self._pool(("enrolled",), local=True), "move_in"):
            line = _Timeline(child, None, None)
            line.add(self._day(self.start + 20 * DAY, eve), "迁入", "enrolled", child.school, "随父母返乡")
            self._commit(line)

    def _suspensions(self) -> None:
        """休学 for illness; the first suspended child comes back (复学)."""
        eve = self.sheet_date - DAY
        for i, child in enumerate(self._take(self._pool(("enrolled",), local=True), "suspension")):
            line = _Timeline(child, child.status, child.school)
            out = self._day(self.start + 20 * DAY, eve - 40 * DAY)
            line.add(out, "休学", "suspended", child.school, "因病休学")
            if i == 0:
                line.add(self._day(out + 20 * DAY, out + 50 * DAY), "复学", "enrolled", child.school)
            self._commit(line)

    def _late_entries(self) -> None:
        """入学: a six-year-old enrolled a few weeks late (补录入学)."""
        for child in self._take(self._pool(("enrolled",), range(1, 2), True), "late_entry"):
            line = _Timeline(child, "never_enrolled", None)
            day = self._day(self.start + 10 * DAY, self.start + 30 * DAY)
            line.add(day, "入学", "enrolled", child.school, "补录入学")
            self._commit(line)

    # -- the roll: scores, absences, classes ---------------------------------------------------

    def _history(self) -> dict[str, list[ChangeTruth]]:
        history: dict[str, list[ChangeTruth]] = {}
        for change in sorted(self.changes, key=lambda c: c.day):
            history.setdefault(change.id_number, []).append(change)
        return history

    def roll_fields(self) -> None:
        """学籍号 for every pupil; score, absences and a teacher's 备注 for the local rolls."""
        exam = min(self.start + EXAM_AFTER, self.sheet_date - 10 * DAY)
        history = self._history()
        for child in self.children:
            if child.grade is not None:
                child.student_no = "G" + child.id_number
            if child.school in self.local and child.status in ("enrolled", "inclusive", "dropout"):
                self._marks(child, history.get(child.id_number, []), exam)

    def _marks(self, child: ChildTruth, changes: list[ChangeTruth], exam: date) -> None:
        rng = self.rng
        known = [c for c in changes if c.day <= self.sheet_date]
        arrived = max(
            (c.day for c in known if c.to_school in self.local and c.from_school not in self.local),
            default=self.start,
        )
        missed = self._dropout_days(child, changes)
        left = self.sheet_date
        if child.status == "dropout":
            left = max((c.day for c in known if c.kind == "辍学"), default=self.start)
        if arrived <= exam and left > exam:
            child.score = min(100, max(5, round(rng.gauss(68, 16))))
        child.absences = missed + self._usual_absences()
        if child.status in ("enrolled", "inclusive") and rng.random() < TEACHER_REMARK_SHARE:
            child.remarks = REMARKS.pick(rng)

    def _usual_absences(self) -> int:
        """Days a pupil misses for illness and the like: mostly none, a few ten or more."""
        draw = self.rng.random()
        if draw < 0.035:
            return self.rng.randint(10, 30)
        if draw < 0.06:
            return self.rng.randint(5, 9)
        return min(4, int(-math.log(1 - draw) * 0.8))

    def _dropout_days(self, child: ChildTruth, changes: list[ChangeTruth]) -> int:
        """School days between the term start and the sheet date spent as a dropout."""
        state = changes[0].prev_status if changes else child.status
        since, total = self.start, 0
        for change in changes:
            if change.day > self.sheet_date:
                break
            if state == "dropout":
                total += _weekdays(since, change.day)
            state, since = change.next_status, change.day
        if state == "dropout":
            total += _weekdays(since, self.sheet_date)
        return total

    def classes(self) -> None:
        """Split each local grade into classes of about 45; 送教上门 children have no class."""
        grades: dict[tuple[str, int], list[ChildTruth]] = {}
        for child in self.children:
            if child.school in self.local and child.status in IN_CLASS:
                grades.setdefault((child.school, child.grade), []).append(child)
        for key in sorted(grades):
            pupils = grades[key]
            count = max(1, math.ceil(len(pupils) / CLASS_SIZE))
            self.class_counts[key] = count
            seats = [i % count + 1 for i in range(len(pupils))]
            self.rng.shuffle(seats)
            for child, seat in zip(pupils, seats):
                child.class_no = seat

    # -- teachers, handlers, follow-ups --------------------------------------------------------

    def staff(self) -> None:
        """A 班主任 per class, subject teachers, one teacher per school no longer in post, and
        one name found at two schools (the key is school + name)."""
        taken: set[tuple[str, str]] = set()
        for school in self.schools:
            for grade in school.grades:
                for class_no in range(1, self.class_counts.get((school.name, grade), 0) + 1):
                    subject = self.rng.choice(words.HEAD_TEACHER_SUBJECTS)
                    teacher = self._teacher(school, subject, (grade, class_no), taken)
                    self.heads[(school.name, grade, class_no)] = teacher
            classes = sum(self.class_counts.get((school.name, g), 0) for g in school.grades)
            subjects = words.MIDDLE_SUBJECTS if school.level == MIDDLE else words.PRIMARY_SUBJECTS
            for i in range(max(3, round(classes * 0.9))):
                self._teacher(school, subjects[i % len(subjects)], None, taken)
            leaver = self.teachers[-1]
            leaver.duty = words.OFF_DUTY[len(self.teachers) % len(words.OFF_DUTY)]
            leaver.left_on = self._day(self.start + 30 * DAY, self.sheet_date - DAY)
        self._share_a_name(taken)

    def _teacher(self, school: SchoolInfo, subject: str, head, taken) -> TeacherTruth:
        rng = self.rng
        woman = rng.random() < (0.7 if school.level == PRIMARY else 0.55)
        while True:
            chars = words.WOMAN_CHARS if woman else words.MAN_CHARS
            name = SURNAMES.pick(rng) + _given(rng, chars, 0.55)
            if (school.name, name) not in taken:
                break
        taken.add((school.name, name))
        gender = "女" if woman else "男"
        teacher = TeacherTruth(school.name, name, gender, _phone(rng), subject, head, "在岗", None)
        self.teachers.append(teacher)
        return teacher

    def _share_a_name(self, taken: set[tuple[str, str]]) -> None:
        """Give a subject teacher of the third school the name of one at the second school."""
        second, third = self.schools[1].name, self.schools[2].name
        model = next(t for t in self.teachers if t.school == second and t.head_class is None)
        twin = next(t for t in self.teachers if t.school == third and t.head_class is None and t.active)
        if (third, model.name) not in taken:
            taken.discard((third, twin.name))
            taken.add((third, model.name))
            twin.name = model.name

    def _teacher_for(self, child: ChildTruth, school: str) -> TeacherTruth:
        """The child's 班主任 when in post, else any teacher in post at `school`."""
        head = self.heads.get((school, child.grade or 0, child.class_no or 0))
        if head is not None and head.active:
            return head
        return self.rng.choice([t for t in self.teachers if t.school == school and t.active])

    def _home_school(self, child: ChildTruth, *candidates: str | None) -> str:
        """The first local school among `candidates`, else the village's school for the grade."""
        for school in candidates:
            if school in self.local:
                return school
        primary, middle = self.catchment[child.village]
        return middle if (child.grade or 1) >= 7 else primary

    def handlers(self) -> None:
        """经办人 of each change: a teacher of the local school involved."""
        by_id = {c.id_number: c for c in self.children}
        for change in self.changes:
            child = by_id[change.id_number]
            school = self._home_school(child, change.to_school, change.from_school)
            change.handler = self._teacher_for(child, school).name

    def followups(self) -> list[FollowupTruth]:
        """劝返 visits for each dropout spell, 送教上门 lessons, and support for children at risk."""
        records: list[FollowupTruth] = []
        history = self._history()
        for child in self.children:
            changes = history.get(child.id_number, [])
            for school, out, back in self._dropout_spells(child, changes):
                records += self._persuasion(child, school, out, back)
            if child.status == "home_taught":
                records += self._home_teaching(child)
            elif self._at_risk(child) and self.rng.random() < SUPPORT_SHARE:
                records += self._support(child)
        records.sort(key=lambda r: (r.day, r.id_number))
        return records

    def _dropout_spells(self, child: ChildTruth, changes: list[ChangeTruth]):
        """(school, first day out, day back or None) for each time the child was a dropout."""
        state = changes[0].prev_status if changes else child.status
        school = changes[0].from_school if changes else child.school
        since = self.start
        for change in changes:
            if state == "dropout":
                yield school, since, change.day
            state, school, since = change.next_status, change.to_school, change.day
        if state == "dropout":
            yield school, since, None

    def _record(self, child, school, teacher, day, entry) -> FollowupTruth:
        kind, method, content, result = entry
        return FollowupTruth(
            child.id_number, child.name, child.village, school, kind, day,
            teacher.name, teacher.school, method, content, result,
        )

    def _persuasion(self, child: ChildTruth, school: str | None, out: date, back: date | None):
        """A call within days, then visits and talks every week or three until the child returns."""
        teacher = self._teacher_for(child, self._home_school(child, school))
        end = min(back or self.reference, self.reference)
        day = self._day(out + DAY, out + 3 * DAY)
        records, entry = [], words.RETURN_CALL
        while day < end and len(records) < 6:
            records.append(self._record(child, school, teacher, day, entry))
            entry = self.rng.choice((words.RETURN_VISIT, words.RETURN_SUMMONS))
            day = self._day(day + 7 * DAY, day + 20 * DAY)
        if back is not None and back <= self.reference:
            records.append(self._record(child, school, teacher, back, words.RETURN_DONE))
        return records

    def _home_teaching(self, child: ChildTruth) -> list[FollowupTruth]:
        """送教上门 every two or three weeks by one teacher of the child's school."""
        teacher = self._teacher_for(child, child.school)
        records = []
        day = self._day(self.start + 10 * DAY, self.start + 20 * DAY)
        while day <= self.reference:
            lesson = ("送教上门", "送教上门", self.rng.choice(words.HOME_TEACHING), "完成本次送教")
            records.append(self._record(child, child.school, teacher, day, lesson))
            day = self._day(day + 10 * DAY, day + 21 * DAY)
        return records

    @staticmethod
    def _at_risk(child: ChildTruth) -> bool:
        return child.status in ("enrolled", "inclusive") and bool(
            child.remarks
            or (child.score is not None and child.score < 40)
            or any(word in child.family_type for word in HARDSHIP_WORDS)
        )

    def _support(self, child: ChildTruth) -> list[FollowupTruth]:
        """One or two 心理疏导/学业帮扶/资助政策 contacts by the child's 班主任."""
        if child.school not in self.local:
            return []
        teacher = self._teacher_for(child, child.school)
        first = self.start + 14 * DAY
        return [
            self._record(
                child, child.school, teacher, self._day(first, self.sheet_date),
                self.rng.choice(words.SUPPORT),
            )
            for _ in range(self.rng.randint(1, 2))
        ]

    def township(self, followups: list[FollowupTruth]) -> Township:
        """The finished township."""
        return Township(
            town=self.town, villages=self.villages, schools=self.schools, catchment=self.catchment,
            children=self.children, teachers=self.teachers,
            changes=sorted(self.changes, key=lambda c: c.day), followups=followups,
            sheet_date=self.sheet_date, school_year_start=self.start,
            reference_date=self.reference, seed=self.seed,
        )
