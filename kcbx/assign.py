"""教师包干: one responsible teacher for every special-group child (issue 6).

`plan` is a pure function over plain dataclasses — children needing a teacher, teachers,
current pairings — so its rules can be tested without a database:

- every special-group child ends with exactly one open pairing with an active teacher
  (or is listed as left over, with the reason); nobody else gets one;
- a pairing whose child left the groups ends, with the reason;
- stable: a pairing with an active teacher of the child's school is kept, and a manual
  pairing is kept as long as its teacher is active, whatever the school;
- fair: a new pairing goes to the least-loaded candidate (the load counts every open
  pairing, kept ones too); among equals the child's 班主任, then a teacher heading the
  same grade, then by name, so the result never depends on the order of the input;
- `max_load` caps a load: what does not fit is left over, never silently dropped.

`apply_plan` saves a plan in one transaction; `run_assign` reads the store, plans and
saves. The manual commands (`set_manual`, `end_pairing`) and the 包干责任表 rows
(`pairing_rows`) are here too, since they are the same pairings seen by hand.
"""

from __future__ import annotations

import heapq
import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter

from kcbx import dates, groups, history, idcard, settings, units, vocab
from kcbx.children import resolve_child
from kcbx.db import transaction
from kcbx.errors import DatabaseError, InvalidValue, NotFound
from kcbx.teachers import TEACHER_LEFT, label, resolve_teacher

NOT_SPECIAL = "已不在特殊群体范围"
WRONG_SCHOOL = "学生已不在该教师所在学校"
SOURCE_NAMES = {"auto": "自动", "manual": "手工"}


# ---------------------------------------------------------------- the planner's world


@dataclass(frozen=True)
class Child:
    """A special-group child as the planner sees it.

    `school_id` is the school whose teachers are candidates: the child's local school,
    for a NOT child its last local school or else its village's catchment school; None
    when there is none (the child is left over as `no_school`).
    """

    child_id: int
    school_id: int | None
    grade: int | None = None
    class_no: int | None = None
    groups: tuple[str, ...] = ()  # for the clerk's lists; the planner does not look at it


@dataclass(frozen=True)
class Teacher:
    """A teacher as the planner sees it: the 班主任 class decides ties."""

    teacher_id: int
    school_id: int
    name: str
    active: bool = True
    head_grade: int | None = None
    head_class_no: int | None = None


@dataclass(frozen=True)
class Pairing:
    """An open pairing (at most one per child)."""

    assignment_id: int
    child_id: int
    teacher_id: int
    source: str = "auto"


@dataclass(frozen=True)
class NewPairing:
    """A pairing to open; `replaces` is the pairing ended to make room for it (re-pairing)."""

    child_id: int
    teacher_id: int
    replaces: int | None = None


@dataclass(frozen=True)
class Ending:
    """An open pairing to end, with the reason stored on it."""

    assignment_id: int
    child_id: int
    teacher_id: int
    reason: str


# Why a child is left over; the summary words them with the school's name and the cap.
NO_SCHOOL = "no_school"    # no local school in its history and no catchment school
NO_TEACHER = "no_teacher"  # the school has no active teacher
FULL = "full"              # every active teacher of the school is at max_load


@dataclass(frozen=True)
class LeftOver:
    """A special-group child the plan could not pair, and why (NO_SCHOOL, NO_TEACHER, FULL)."""

    child_id: int
    school_id: int | None
    reason: str


@dataclass
class Plan:
    """What `plan` decided. `basis` is the set of open pairings it started from."""

    kept: list[Pairing] = field(default_factory=list)
    new: list[NewPairing] = field(default_factory=list)
    ended: list[Ending] = field(default_factory=list)
    left_over: list[LeftOver] = field(default_factory=list)
    loads: dict[int, int] = field(default_factory=dict)   # active teacher -> open pairings
    basis: frozenset[int] = frozenset()

    @property
    def changes(self) -> int:
        """Rows the plan would write: 0 means the store is already as the rules want it."""
        return len(self.new) + len(self.ended)

    def shortfall(self) -> dict[int | None, int]:
        """Children left over per school (None: children with no school at all)."""
        return dict(Counter(item.school_id for item in self.left_over))


class _Pool:
    """The active teachers of one school, bucketed by load so the least-loaded is found fast.

    Loads only grow, so a teacher sits in one bucket heap per load it passes through and a
    heap entry is stale once that teacher's load moved on (lazy deletion).
    """

    def __init__(self, teachers: Sequence[Teacher], loads: dict[int, int],
                 max_load: int | None):
        self.teachers = {t.teacher_id: t for t in teachers}
        self.loads = loads
        self.cap = max_load
        self.buckets: dict[int, list[tuple[str, int]]] = defaultdict(list)
        self.size: Counter[int] = Counter()
        self.by_class: dict[tuple[int, int], list[Teacher]] = defaultdict(list)
        self.by_grade: dict[int, list[Teacher]] = defaultdict(list)
        self.low, self.high = 0, -1
        for t in sorted(teachers, key=lambda t: (t.name, t.teacher_id)):
            if t.head_grade is not None:
                self.by_grade[t.head_grade].append(t)
                if t.head_class_no is not None:
                    self.by_class[(t.head_grade, t.head_class_no)].append(t)
            self._enter(t, loads[t.teacher_id])
        self.low = min(self.size, default=0)

    def _enter(self, t: Teacher, load: int) -> None:
        if self.cap is not None and load >= self.cap:
            return
        heapq.heappush(self.buckets[load], (t.name, t.teacher_id))
        self.size[load] += 1
        if load > self.high:
            self.high = load

    def _lowest(self) -> int | None:
        while self.low <= self.high and not self.size[self.low]:
            self.low += 1
        return self.low if self.low <= self.high else None

    def take(self, grade: int | None, class_no: int | None) -> int | None:
        """The teacher for a child of this grade/class (None when all are full); load + 1."""
        low = self._lowest()
        if low is None:
            return None
        chosen = (self._at(self.by_class.get((grade, class_no)), low)
                  or self._at(self.by_grade.get(grade), low)
                  or self._first_by_name(low))
        self.size[low] -= 1
        self.loads[chosen.teacher_id] = low + 1
        self._enter(chosen, low + 1)
        return chosen.teacher_id

    def _at(self, candidates: list[Teacher] | None, load: int) -> Teacher | None:
        """The first (by name) of these candidates whose load is `load`."""
        for t in candidates or ():
            if self.loads[t.teacher_id] == load:
                return t
        return None

    def _first_by_name(self, load: int) -> Teacher:
        heap = self.buckets[load]
        while self.loads[heap[0][1]] != load:  # drop teachers who moved up since
            heapq.heappop(heap)
        return self.teachers[heap[0][1]]


def plan(children: Sequence[Child], teachers: Sequence[Teacher], pairings: Sequence[Pairing],
         *, max_load: int | None = None, end_reasons: Mapping[int, str] | None = None) -> Plan:
    """Decide who keeps, gets, or loses a teacher. Pure: no database, no clock.

    `children` are the special-group children; an open pairing of any other child ends
    with `end_reasons[child_id]` (default 已不在特殊群体范围).
    """
    result = Plan(basis=frozenset(p.assignment_id for p in pairings))
    replaced = _review(result, children, teachers, pairings, end_reasons or {})
    result.loads = _loads(teachers, result.kept)
    has_pairing = {p.child_id for p in result.kept}
    waiting = sorted((c for c in children if c.child_id not in has_pairing),
                     key=attrgetter("child_id"))  # a fixed order, whatever the input's
    pools = _pools(teachers, result.loads, max_load)
    for child in waiting:
        pool = pools.get(child.school_id)
        teacher_id = pool.take(child.grade, child.class_no) if pool else None
        if teacher_id is not None:
            result.new.append(NewPairing(child.child_id, teacher_id, replaced.get(child.child_id)))
        else:
            reason = NO_SCHOOL if child.school_id is None else NO_TEACHER if pool is None else FULL
            result.left_over.append(LeftOver(child.child_id, child.school_id, reason))
    return result


def _review(result: Plan, children: Sequence[Child], teachers: Sequence[Teacher],
            pairings: Sequence[Pairing], end_reasons: Mapping[int, str]) -> dict[int, int]:
    """Sort the open pairings into kept and ended; return {child: ended pairing} to replace.

    A child with no school to compare with keeps an active teacher: there is no better one.
    """
    by_id = {t.teacher_id: t for t in teachers}
    special = {c.child_id: c for c in children}
    replaced: dict[int, int] = {}
    for p in sorted(pairings, key=lambda p: p.assignment_id):
        child, teacher = special.get(p.child_id), by_id.get(p.teacher_id)
        if child is None:
            reason = end_reasons.get(p.child_id, NOT_SPECIAL)
        elif teacher is None or not teacher.active:
            reason = TEACHER_LEFT
        elif (p.source == "manual" or child.school_id is None
              or teacher.school_id == child.school_id):
            result.kept.append(p)
            continue
        else:
            reason = WRONG_SCHOOL
        result.ended.append(Ending(p.assignment_id, p.child_id, p.teacher_id, reason))
        if child is not None:
            replaced[p.child_id] = p.assignment_id
    return replaced


def _loads(teachers: Sequence[Teacher], kept: Iterable[Pairing]) -> dict[int, int]:
    """Open pairings per active teacher, counting every kept pairing (other schools' too)."""
    loads = {t.teacher_id: 0 for t in teachers if t.active}
    for p in kept:
        loads[p.teacher_id] += 1
    return loads


def _pools(teachers: Sequence[Teacher], loads: dict[int, int],
           max_load: int | None) -> dict[int, _Pool]:
    """One pool per school that has active teachers."""
    by_school: dict[int, list[Teacher]] = defaultdict(list)
    for t in teachers:
        if t.active:
            by_school[t.school_id].append(t)
    return {school_id: _Pool(staff, loads, max_load) for school_id, staff in by_school.items()}


# ---------------------------------------------------------------- reading and saving


def _level(nominal_grade: int) -> str:
    """The catchment level of a nominal grade: 1-6 primary; 7-9 (and older) middle."""
    return "primary" if nominal_grade <= 6 else "middle"


def read_children(conn: sqlite3.Connection, as_of: date) -> list[Child]:
    """The special-group children on `as_of`, each with the school whose teachers are candidates.

    That school is the child's local school; for a NOT child its last local school, else
    its village's catchment school for its nominal grade. Only the columns pairing needs
    are read (this can be 100,000 rows; the lists use `groups.special_children`).
    """
    params = groups.sql_params(conn, as_of)
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(f"""
        WITH g AS ({groups.special_groups_sql()})
        SELECT g.child_id, g.school_id, c.grade, c.class_no, c.village_id, c.birth_date,
               {', '.join(f'g.{code}' for code in groups.GROUPS)}
          FROM g JOIN children c ON c.id = g.child_id
         WHERE g.in_group""", params)
    cutoff = settings.get(conn, "cutoff")
    catchments = units.Catchments(conn)
    children = []
    for child_id, school_id, grade, class_no, village_id, born, *marks in rows:
        if school_id is None and village_id is not None:
            nominal = dates.nominal_grade(date.fromisoformat(born), as_of, cutoff)
            school_id = catchments.school_id(village_id, _level(nominal))
        children.append(Child(child_id, school_id, grade, class_no,
                              groups.group_codes(tuple(marks))))
    return children


def read_teachers(conn: sqlite3.Connection) -> list[Teacher]:
    """Every teacher of the store, active or not."""
    return [Teacher(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in conn.execute(
        "SELECT id, school_id, name, active, head_grade, head_class_no FROM teachers")]


def read_pairings(conn: sqlite3.Connection) -> list[Pairing]:
    """Every open pairing."""
    return [Pairing(*r) for r in conn.execute(
        "SELECT id, child_id, teacher_id, source FROM assignments WHERE end_date IS NULL")]


def departure_reasons(conn: sqlite3.Connection, as_of: date,
                      child_ids: Iterable[int]) -> dict[int, str]:
    """Why each of these children is no longer in the groups on `as_of` (状态变为 迁出 …)."""
    ids = ", ".join(str(int(i)) for i in child_ids)
    if not ids:
        return {}
    params = groups.sql_params(conn, as_of)
    rows = conn.execute(f"""
        WITH st AS ({history.status_on_sql(':as_of')})
        SELECT st.child_id, st.status, c.birth_date BETWEEN :born_from AND :born_to AS of_age,
               EXISTS (SELECT 1 FROM units u WHERE u.kind = 'school' AND u.name = st.school)
                 AS local
          FROM st JOIN children c ON c.id = st.child_id
         WHERE st.child_id IN ({ids})""", params)
    reasons = {}
    for r in rows:
        if r["status"] is not None and r["status"] not in groups.AT_LOCAL_SCHOOL \
                and r["status"] not in vocab.NOT_STATUSES:
            reasons[r["child_id"]] = f"状态变为 {vocab.status_name(r['status'])}"
        elif not r["of_age"]:
            reasons[r["child_id"]] = "已超出义务教育年龄"
        elif r["status"] in groups.AT_LOCAL_SCHOOL and not r["local"]:
            reasons[r["child_id"]] = "已不在本地学校就读"
    return reasons


def apply_plan(conn: sqlite3.Connection, plan: Plan, as_of: date) -> None:
    """Save a plan in one transaction: end what it ends, open what it opens (source auto).

    A plan is only valid for the pairings it was made from: if another command changed
    them meanwhile, nothing is written and the clerk is asked to run again.
    """
    day = as_of.isoformat()
    with transaction(conn):
        now_open = {r[0] for r in conn.execute(
            "SELECT id FROM assignments WHERE end_date IS NULL")}
        if now_open != plan.basis:
            raise DatabaseError("计算期间包干关系被其他操作改动了，未写入任何内容。"
                                "请重新运行 kcbx assign。")
        conn.executemany(
            "UPDATE assignments SET end_date = max(?, start_date), end_reason = ? WHERE id = ?",
            ((day, e.reason, e.assignment_id) for e in plan.ended))
        # in child order the one-open-per-child index grows at its end: ~40 % faster
        new = sorted(plan.new, key=attrgetter("child_id"))
        conn.executemany(
            "INSERT INTO assignments (child_id, teacher_id, start_date, source) "
            "VALUES (?, ?, ?, 'auto')", ((n.child_id, n.teacher_id, day) for n in new))


@dataclass
class Summary:
    """What `kcbx assign` did (or, with --dry-run, would do), for the clerk."""

    as_of: date
    dry_run: bool
    max_load: int | None
    special: int                 # special-group children on as_of
    paired: int                  # children who had no teacher and got one
    kept: int
    repaired: int                # pairing ended (teacher left, wrong school) and replaced
    ended: int                   # pairings ended and not replaced
    ended_reasons: dict[str, int]
    left_over: list[dict]        # name, id_number (masked), village, school, groups, reason
    schools: list[dict]          # school, teachers, min, median, max, shortfall


def run_assign(conn: sqlite3.Connection, as_of: date, max_load: int | None = None,
               dry_run: bool = False) -> Summary:
    """Pair the special-group population on `as_of` and save it (unless `dry_run`)."""
    children = read_children(conn, as_of)
    pairings = read_pairings(conn)
    in_groups = {c.child_id for c in children}
    leaving = {p.child_id for p in pairings if p.child_id not in in_groups}
    result = plan(children, read_teachers(conn), pairings, max_load=max_load,
                  end_reasons=departure_reasons(conn, as_of, leaving))
    if not dry_run and result.changes:
        apply_plan(conn, result, as_of)
    return summarize(conn, result, children, as_of=as_of, max_load=max_load, dry_run=dry_run)


def summarize(conn: sqlite3.Connection, result: Plan, children: Sequence[Child], *,
              as_of: date, max_load: int | None, dry_run: bool) -> Summary:
    """Counts, reasons in Chinese, and the load per teacher per school."""
    names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM units WHERE kind = 'school'")}
    repaired = {n.child_id for n in result.new if n.replaces is not None}
    ended = [e for e in result.ended if e.child_id not in repaired]
    return Summary(
        as_of=as_of, dry_run=dry_run, max_load=max_load, special=len(children),
        paired=len(result.new) - len(repaired), kept=len(result.kept), repaired=len(repaired),
        ended=len(ended), ended_reasons=dict(Counter(e.reason for e in ended)),
        left_over=_left_over_rows(conn, result.left_over, children, names, as_of, max_load),
        schools=_school_loads(conn, result, names))


def _left_over_rows(conn: sqlite3.Connection, left_over: Sequence[LeftOver],
                    children: Sequence[Child], names: dict[int, str], as_of: date,
                    max_load: int | None) -> list[dict]:
    """The children left over, with who they are and why, worded for the clerk."""
    if not left_over:
        return []
    groups_of = {c.child_id: c.groups for c in children}
    ids = ", ".join(str(int(item.child_id)) for item in left_over)
    details = {r["id"]: r for r in conn.execute(
        "SELECT c.id, c.name, c.id_number, c.birth_date, v.name AS village FROM children c "
        f"LEFT JOIN units v ON v.id = c.village_id WHERE c.id IN ({ids})")}
    cutoff = settings.get(conn, "cutoff")
    rows = []
    for item in left_over:
        child, school = details[item.child_id], names.get(item.school_id, "")
        if item.reason == NO_SCHOOL:
            nominal = dates.nominal_grade(date.fromisoformat(child["birth_date"]), as_of, cutoff)
            level = "小学" if _level(nominal) == "primary" else "初中"
            reason = (f"没有本地学校记录，{child['village']}没有对口{level}"
                      f"（可用 kcbx units set {child['village']} 设置对口学校）"
                      if child["village"] else "没有本地学校记录，也不知所在村，无法确定对口学校")
        elif item.reason == NO_TEACHER:
            reason = f"{school}没有在岗教师（请导入该校教师名单）"
        else:
            reason = f"{school}的在岗教师都已包干 {max_load} 人（上限）"
        rows.append({"name": child["name"], "id_number": idcard.mask(child["id_number"]),
                     "village": child["village"], "school": school,
                     "groups": groups.group_names(groups_of[item.child_id]), "reason": reason})
    return rows


def _school_loads(conn: sqlite3.Connection, result: Plan, names: dict[int, str]) -> list[dict]:
    """min/median/max load of the active teachers of each school, and its shortfall."""
    loads: dict[int, list[int]] = defaultdict(list)
    for teacher_id, school_id in conn.execute("SELECT id, school_id FROM teachers "
                                              "WHERE active = 1"):
        loads[school_id].append(result.loads.get(teacher_id, 0))
    shortfall = result.shortfall()
    rows = []
    for school_id in sorted(set(loads) | {s for s in shortfall if s is not None},
                            key=lambda s: names.get(s, "")):
        values = loads.get(school_id, [])
        rows.append({"school": names.get(school_id, ""), "teachers": len(values),
                     "min": min(values, default=None), "max": max(values, default=None),
                     "median": statistics.median(values) if values else None,
                     "shortfall": shortfall.get(school_id, 0)})
    return rows


# ---------------------------------------------------------------- by hand, and the 包干责任表


def _open_pairing(conn: sqlite3.Connection, child_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT a.*, t.name AS teacher, s.name AS school FROM assignments a "
        "JOIN teachers t ON t.id = a.teacher_id JOIN units s ON s.id = t.school_id "
        "WHERE a.child_id = ? AND a.end_date IS NULL", (child_id,)).fetchone()


def _in_groups(conn: sqlite3.Connection, child_id: int, on: date) -> bool:
    row = conn.execute(f"WITH g AS ({groups.special_groups_sql(only=':child')}) "
                       "SELECT in_group FROM g WHERE child_id = :child",
                       {**groups.sql_params(conn, on), "child": child_id}).fetchone()
    return bool(row and row[0])


def set_manual(conn: sqlite3.Connection, child_text: str, teacher_text: str, *, today: date,
               village: str | None = None) -> dict:
    """Pair a child with a teacher by hand (source manual): later auto runs keep it.

    Only a special-group child can be paired: for anyone else the next `kcbx assign` would
    have to end the pairing, overriding the clerk. An open pairing ends first.
    """
    child = resolve_child(conn, child_text, village)
    teacher = resolve_teacher(conn, teacher_text)
    who = label(teacher["school"], teacher["name"])
    if not teacher["active"]:
        raise InvalidValue(f"{who} 不在岗（{teacher['inactive_reason'] or '已设为不在岗'}），"
                           "不能包干。可先用 kcbx teachers set --active 恢复。")
    if not _in_groups(conn, child["id"], today):
        raise InvalidValue(f"{child['name']} 今天不属于任何特殊群体，自动配对会结束这个包干关系。"
                           "如确需包干，请先用 kcbx flag add 登记。")
    current = _open_pairing(conn, child["id"])
    with transaction(conn):
        if current is not None and current["teacher_id"] == teacher["id"]:
            conn.execute("UPDATE assignments SET source = 'manual' WHERE id = ?", (current["id"],))
        else:
            if current is not None:
                conn.execute("UPDATE assignments SET end_date = max(?, start_date), "
                             "end_reason = ? WHERE id = ?",
                             (today.isoformat(), f"改为手工指定 {who}", current["id"]))
            conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                         "VALUES (?, ?, ?, 'manual')", (child["id"], teacher["id"],
                                                        today.isoformat()))
    before = label(current["school"], current["teacher"]) if current is not None else None
    return {"name": child["name"], "id_number": idcard.mask(child["id_number"]),
            "teacher": who, "before": before}


def end_pairing(conn: sqlite3.Connection, child_text: str, reason: str, *, today: date,
                village: str | None = None) -> dict:
    """End a child's open pairing by hand, with the clerk's reason."""
    reason = reason.strip()
    if not reason:
        raise InvalidValue("请用 --reason 写明结束包干的原因。")
    child = resolve_child(conn, child_text, village)
    current = _open_pairing(conn, child["id"])
    if current is None:
        raise NotFound(f"{child['name']} 目前没有包干教师。")
    with transaction(conn):
        conn.execute("UPDATE assignments SET end_date = max(?, start_date), end_reason = ? "
                     "WHERE id = ?", (today.isoformat(), reason, current["id"]))
    return {"name": child["name"], "id_number": idcard.mask(child["id_number"]),
            "teacher": label(current["school"], current["teacher"])}


def pairing_rows(conn: sqlite3.Connection, today: date, *, school: str | None = None,
                 teacher: str | None = None, unmask: bool = False) -> list[dict]:
    """The 包干责任表: one row per open pairing, by teacher's school, teacher, village, child.

    Phones are in full: this form exists to call teachers and guardians (SPEC §7). The
    groups and the child's local school are those of `today`.
    """
    where, args = ["a.end_date IS NULL"], []
    if school is not None:
        where.append("t.school_id = ?")
        args.append(units.find_unit(conn, school, "school")["id"])
    if teacher is not None:
        where.append("t.id = ?")
        args.append(resolve_teacher(conn, teacher)["id"])
    rows = conn.execute(f"""
        SELECT c.id AS child_id, c.id_number, c.name, v.name AS village, c.village_group,
               c.school AS school_text, c.grade, c.grade_text, c.class_no, c.guardian_name,
               c.guardian_phone, t.name AS teacher_name, s.name AS teacher_school,
               t.phone AS teacher_phone, a.start_date AS since, a.source
          FROM assignments a
          JOIN children c ON c.id = a.child_id
          JOIN teachers t ON t.id = a.teacher_id
          JOIN units s ON s.id = t.school_id
          LEFT JOIN units v ON v.id = c.village_id
         WHERE {' AND '.join(where)}
         ORDER BY s.name, t.name, v.name, c.village_group, c.name, c.id""", args).fetchall()
    special = {c.child_id: c for c in groups.special_children(conn, today)} if rows else {}
    return [_pairing_row(r, special.get(r["child_id"]), unmask) for r in rows]


def _pairing_row(r: sqlite3.Row, child: groups.SpecialChild | None, unmask: bool) -> dict:
    group = f"{r['village_group']}组" if r["village_group"] is not None else ""
    return {
        "id_number": r["id_number"] if unmask else idcard.mask(r["id_number"]),
        "name": r["name"], "village": r["village"],
        "village_label": f"{r['village'] or ''}{group}",
        "school": child.school if child and child.school else r["school_text"],
        "grade": r["grade"], "class_label": _class_label(r),
        "groups": child.group_names if child else [],
        "teacher_name": r["teacher_name"], "teacher_school": r["teacher_school"],
        "teacher_phone": r["teacher_phone"], "guardian_name": r["guardian_name"],
        "guardian_phone": r["guardian_phone"], "since": r["since"], "source": r["source"],
        "source_name": SOURCE_NAMES[r["source"]],
    }


def _class_label(r: sqlite3.Row) -> str:
    """5年级2班; the raw grade text (高一) when the grade is not 1-9."""
    if r["grade"] is None:
        return r["grade_text"] or ""
    return f"{r['grade']}年级" + (f"{r['class_no']}班" if r["class_no"] is not None else "")
