"""The weekly report (控辍保学周报) as data: one function, `weekly_report`, for one week.

A week is seven days ending on D (`Week.end`): an ISO week (Monday–Sunday) or the seven
days ending on any date. Everything is computed from the dated history, never from "now":
statuses from the status events (`kcbx.history`), flags from raised_on/cleared_on,
pairings from their start and end dates, sheets from their sheet dates. So a past week
re-generated later gives the same report, unless the clerk has since entered facts about
that past (a back-dated `status set`, a late sheet).

Sections, in the order printed:
1. 总体指标 — the town's figures on D (`metrics`, the 户籍 population) beside the same
   figures on D − 7 (`previous`), for the change since last week.
2. 本周变化 — status changes, flags raised and cleared, pairings started and ended, in
   the week, about children of compulsory age that the town answers for (in its 户籍
   census or, for status changes, on a local school's roll).
3. 分村(社区) / 分学校 — `metrics` by village and by school on D, with each unit's new
   dropouts and returns of the week (villages: 户籍 children; schools: their roll, by
   the school of the event, as metrics counts them).
4. 辍学及疑似辍学学生劝返进展 — `check.open_cases`.
5. 督查事项 — `check.check` for the week.
6. 上报情况 — `check.reporting` for the week.
Plus `trend`: the town's figures at the end of every week from the start of the school
year (A) to D, for the chart. They are `metrics`' figures at each date, but computed in
one pass: the figures on D, then each earlier week by undoing the status changes dated
after it (a county's 26 weeks would otherwise be 26 full passes).

JSON keys (`WeeklyReport.to_dict`, stable):
  town, week {label, start, end}, school_year_start, target (1.0),
  overview {current, previous, previous_as_of, change}: current/previous are *figures*:
    {enrollment, disabled_enrollment, retention: {num, den, rate} | null, dropouts,
     returned, counts {status code: n}} — the shape of `kcbx rates` groups;
    change: {enrollment, disabled_enrollment, retention: rate difference | null,
     dropouts, returned, counts {status code: difference}}
  changes {counts {status_changes, new_dropouts, returns, flags_raised, flags_cleared,
    pairings_started, pairings_ended}, status [{date, name, id_number, village, school,
    before, after, change, kind, event_type, reason}], flags [{date, name, id_number,
    village, flag, change, source, reason}], pairings [{date, name, id_number, village,
    teacher, teacher_school, change, source, reason}]}
  villages / schools [{kind, name, head, new_dropouts, returns, **figures}]
  cases [{name, id_number, village, school, status, since, days, teacher, teacher_school,
    teacher_phone, guardian_name, guardian_phone, last_followup, last_method, last_by,
    last_result}]
  findings [the objects of `kcbx check --format json`]
  reporting [{unit, kind, head, reported, sheets, kinds, last_sheet}]
  trend [{week, as_of, **figures}]
Dates are YYYY-MM-DD; rates are num/den rounded half-even to 4 places (null when
den = 0); IDs and phones are masked (前6后4, 前3后4).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from kcbx import check, db, history, idcard, metrics
from kcbx.errors import InvalidValue
from kcbx.metrics import Group, Ratio
from kcbx.vocab import NOT_STATUSES, RECEIVING_STATUSES, STATUSES

WEEK = timedelta(days=7)


# ---------------------------------------------------------------- weeks


@dataclass(frozen=True)
class Week:
    """Seven days, `start` … `end` (= D, the reference date of every figure)."""

    start: date
    end: date

    @property
    def label(self) -> str:
        """'2025-W10' for an ISO week, else the end date (the seven days ending on it)."""
        year, number, weekday = self.start.isocalendar()
        if weekday == 1 and self.end == self.start + timedelta(days=6):
            return f"{year}-W{number:02d}"
        return self.end.isoformat()

    @property
    def previous(self) -> Week:
        """The seven days before."""
        return Week(self.start - WEEK, self.end - WEEK)

    def to_dict(self) -> dict:
        """{label, start, end}."""
        return {"label": self.label, "start": self.start, "end": self.end}


def week_ending(day: date) -> Week:
    """The seven days ending on `day` (`--as-of D`)."""
    return Week(day - timedelta(days=6), day)


def iso_week(label: str) -> Week:
    """The ISO week '2025-W10' (Monday–Sunday)."""
    try:
        year, number = label.strip().upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise InvalidValue(f"周「{label}」无法识别。请写成 2025-W10（2025 年第 10 周）。") from None
    return Week(monday, monday + timedelta(days=6))


def last_complete_week(today: date) -> Week:
    """The last ISO week that ended before `today` (on a Sunday, the week before)."""
    monday = today - timedelta(days=today.weekday())
    return Week(monday - WEEK, monday - timedelta(days=1))


# ---------------------------------------------------------------- the report's parts


@dataclass(frozen=True)
class StatusChange:
    """A child's status changed on `date` (an applied event whose status differs)."""

    date: date
    name: str
    id_number: str
    village: str | None
    school: str | None
    before: str | None     # None: the child was not in the records before (迁入, 转入)
    after: str
    kind: str              # snapshot | change | manual
    event_type: str | None
    reason: str | None

    @property
    def change(self) -> str:
        """new_dropout, return (劝返复学, SPEC §2) or other."""
        if self.after == "dropout":
            return "new_dropout"
        if self.before in history.RETURN_FROM and self.after in history.RETURN_TO:
            return "return"
        return "other"


@dataclass(frozen=True)
class FlagChange:
    """A flag raised or cleared on `date`."""

    date: date
    name: str
    id_number: str
    village: str | None
    flag: str
    change: str            # raised | cleared
    source: str            # manual | rule:<code> (who raised it; for a clear, who cleared)
    reason: str | None


@dataclass(frozen=True)
class PairingChange:
    """A 包干 pairing started or ended on `date`."""

    date: date
    name: str
    id_number: str
    village: str | None
    teacher: str
    teacher_school: str
    change: str            # started | ended
    source: str            # auto | manual
    reason: str | None


@dataclass(frozen=True)
class Changes:
    """Section 2: what happened in the week."""

    status: list[StatusChange]
    flags: list[FlagChange]
    pairings: list[PairingChange]

    def counts(self) -> dict[str, int]:
        """The section's headline numbers."""
        kinds = Counter(c.change for c in self.status)
        flags = Counter(f.change for f in self.flags)
        pairings = Counter(p.change for p in self.pairings)
        return {"status_changes": len(self.status), "new_dropouts": kinds["new_dropout"],
                "returns": kinds["return"], "flags_raised": flags["raised"],
                "flags_cleared": flags["cleared"], "pairings_started": pairings["started"],
                "pairings_ended": pairings["ended"]}


@dataclass(frozen=True)
class UnitRow:
    """Section 3: one village or school on D, with its dropouts and returns of the week."""

    group: Group
    head: str | None
    new_dropouts: int
    returns: int


@dataclass(frozen=True)
class TrendPoint:
    """The town's figures at the end of one week since A."""

    week: Week
    group: Group


@dataclass(frozen=True)
class WeeklyReport:
    """Everything the weekly report shows; renderers in `kcbx.report_render`."""

    town: str
    week: Week
    school_year_start: date
    current: Group
    previous: Group
    changes: Changes
    villages: list[UnitRow]
    schools: list[UnitRow]
    cases: list[check.Case]
    findings: list[check.Finding]
    reporting: list[check.UnitReport]
    trend: list[TrendPoint]

    def to_dict(self) -> dict:
        """The stable JSON object documented at the top of this module (masked)."""
        return {
            "town": self.town, "week": self.week.to_dict(),
            "school_year_start": self.school_year_start, "target": 1.0,
            "overview": {"current": figures(self.current), "previous": figures(self.previous),
                         "previous_as_of": self.week.previous.end,
                         "change": change(self.current, self.previous)},
            "changes": {"counts": self.changes.counts(),
                        "status": [_masked(c, change=c.change) for c in self.changes.status],
                        "flags": [_masked(f) for f in self.changes.flags],
                        "pairings": [_masked(p) for p in self.changes.pairings]},
            "villages": [_unit_dict(u) for u in self.villages],
            "schools": [_unit_dict(u) for u in self.schools],
            "cases": [_case_dict(c, self.week.end) for c in self.cases],
            "findings": [f.to_dict() for f in self.findings],
            "reporting": [{"unit": r.unit, "kind": r.kind, "head": r.head,
                           "reported": r.reported, "sheets": r.sheets, "kinds": list(r.kinds),
                           "last_sheet": r.last_sheet} for r in self.reporting],
            "trend": [{"week": p.week.label, "as_of": p.week.end, **figures(p.group)}
                      for p in self.trend],
        }


def figures(group: Group) -> dict:
    """A group's figures without its by/key: the shape of a `kcbx rates` group."""
    return {k: v for k, v in group.to_dict().items() if k not in ("by", "key")}


def change(now: Group, before: Group) -> dict:
    """Rate differences (None when either rate is) and count differences since `before`."""

    def rate_change(a: Ratio | None, b: Ratio | None) -> float | None:
        if a is None or b is None or a.rate is None or b.rate is None:
            return None
        return float(a.rate - b.rate)

    return {"enrollment": rate_change(now.enrollment, before.enrollment),
            "disabled_enrollment": rate_change(now.disabled_enrollment,
                                               before.disabled_enrollment),
            "retention": rate_change(now.retention, before.retention),
            "dropouts": now.dropouts - before.dropouts,
            "returned": now.returned - before.returned,
            "counts": {code: now.counts[code] - before.counts[code] for code in STATUSES}}


def _masked(item, **extra) -> dict:
    """A change row as JSON, its ID masked."""
    row = {**vars(item), **extra}
    row["id_number"] = idcard.mask(row["id_number"])
    return row


def _unit_dict(unit: UnitRow) -> dict:
    return {"kind": unit.group.by, "name": unit.group.key, "head": unit.head,
            "new_dropouts": unit.new_dropouts, "returns": unit.returns, **figures(unit.group)}


def case_days(case: check.Case, as_of: date) -> int | None:
    """Days since the child's 辍学 (or 疑似辍学) began; None when it began before the records."""
    return (as_of - case.since).days if case.since else None


def _case_dict(case: check.Case, as_of: date) -> dict:
    return {"name": case.name, "id_number": idcard.mask(case.id_number),
            "village": case.village, "school": case.school, "status": case.status,
            "since": case.since, "days": case_days(case, as_of), "teacher": case.teacher,
            "teacher_school": case.teacher_school,
            "teacher_phone": idcard.mask_phone(case.teacher_phone) or None,
            "guardian_name": case.guardian_name,
            "guardian_phone": idcard.mask_phone(case.guardian_phone) or None,
            "last_followup": case.last_followup, "last_method": case.last_method,
            "last_by": case.last_by, "last_result": case.last_result}


# ---------------------------------------------------------------- building it


@db.reads_one_state
def weekly_report(conn: sqlite3.Connection, week: Week) -> WeeklyReport:
    """The weekly report for `week`: every figure as of `week.end`, changes within the week.

    The 督查 findings are worked out on a second connection while this one computes the
    figures (`db.alongside`): each half is a few passes over every child, so a county's
    report takes the time of the longer half on two cores.
    """
    p = metrics.period(conn, week.end)
    cases = check.open_cases(conn, week.end)
    with db.alongside(conn, lambda other: check.check(other, week.end, week.start,
                                                      cases=cases)) as findings:
        villages, schools = metrics.by_village_and_school(conn, p)
        current = villages[0]
        trend = _trend(conn, p, current)
        status = _status_changes(conn, week, p)
        heads = {(r[0], r[1]): r[2]
                 for r in conn.execute("SELECT kind, name, head_name FROM units")}
        report = WeeklyReport(
            town=metrics.town_name(conn), week=week, school_year_start=p.start,
            current=current, previous=_previous(conn, week, trend),
            changes=Changes([item for item, _ in status], _flag_changes(conn, week, p),
                            _pairing_changes(conn, week, p)),
            villages=_unit_rows(villages[1:], status, heads, conn),
            schools=_unit_rows(schools[1:], status, heads, conn),
            cases=cases, findings=[], reporting=check.reporting(conn, week.start, week.end),
            trend=trend)
    return dataclasses.replace(report, findings=findings.result())


def _previous(conn: sqlite3.Connection, week: Week, trend: list[TrendPoint]) -> Group:
    """The town's figures at the end of the week before: from the trend when it has them."""
    for point in trend:
        if point.week.end == week.previous.end:
            return point.group
    # the report week is the first of its school year: last week belongs to the year before
    return metrics.by_town(conn, metrics.period(conn, week.previous.end))[0]


def _week_params(week: Week, p: metrics.Period) -> dict[str, str]:
    return {**p.params(), "week_start": week.start.isoformat()}


def _status_changes(conn: sqlite3.Connection, week: Week,
                    p: metrics.Period) -> list[tuple[StatusChange, dict]]:
    """The week's status changes, each with what section 3 counts it for.

    The second element says whom section 3 counts it for, as metrics counts: the
    child's village when it is 户籍 (`census`, `village_id`), and the school of the event.
    """
    rows = conn.execute(f"""
        SELECT e.date, c.name, c.id_number, v.name AS village, e.school, e.status_before,
               e.status, e.kind, e.event_type, e.reason, c.in_census, c.village_id
          FROM status_events e
         CROSS JOIN children c ON c.id = e.child_id
          LEFT JOIN units v ON v.id = c.village_id
         WHERE e.applied = 1 AND e.date BETWEEN :week_start AND :as_of
           AND e.status IS NOT e.status_before
           AND c.birth_date BETWEEN :born_from AND :born_to
           AND (c.in_census = 1 OR e.school IN {check.LOCAL_SCHOOLS}
                OR e.school_before IN {check.LOCAL_SCHOOLS})
         ORDER BY e.date, v.id IS NULL, v.id, c.name, e.id""", _week_params(week, p))
    return [(StatusChange(date.fromisoformat(r[0]), *r[1:10]),
             {"census": r["in_census"], "village_id": r["village_id"], "school": r["school"]})
            for r in rows]


def _flag_changes(conn: sqlite3.Connection, week: Week, p: metrics.Period) -> list[FlagChange]:
    """Flags raised or cleared in the week, of children of compulsory age on D."""
    rows = conn.execute("""
        SELECT f.raised_on, f.cleared_on, c.name, c.id_number, v.name AS village, f.flag,
               f.source, f.cleared_by, f.reason, f.cleared_reason
          FROM flags f
          JOIN children c ON c.id = f.child_id
          LEFT JOIN units v ON v.id = c.village_id
         WHERE (f.raised_on BETWEEN :week_start AND :as_of
                OR f.cleared_on BETWEEN :week_start AND :as_of)
           AND c.birth_date BETWEEN :born_from AND :born_to
         ORDER BY v.id IS NULL, v.id, c.name, f.id""", _week_params(week, p))
    changes = []
    for r in rows:
        who = (r["name"], r["id_number"], r["village"], r["flag"])
        if week.start.isoformat() <= r["raised_on"] <= week.end.isoformat():
            changes.append(FlagChange(date.fromisoformat(r["raised_on"]), *who, "raised",
                                      r["source"], r["reason"]))
        if r["cleared_on"] and week.start.isoformat() <= r["cleared_on"] <= week.end.isoformat():
            source = "manual" if r["cleared_by"] == "manual" else r["source"]
            changes.append(FlagChange(date.fromisoformat(r["cleared_on"]), *who, "cleared",
                                      source, r["cleared_reason"]))
    return sorted(changes, key=lambda c: c.date)


def _pairing_changes(conn: sqlite3.Connection, week: Week,
                     p: metrics.Period) -> list[PairingChange]:
    """Pairings started or ended in the week, of children of compulsory age on D.

    One pass over the pairings in table order: the week holds few of them, and reaching
    them through the teacher index would read every pairing at random.
    """
    rows = conn.execute("""
        SELECT a.start_date, a.end_date, c.name, c.id_number, v.name AS village,
               t.name AS teacher, s.name AS school, a.source, a.end_reason
          FROM assignments AS a NOT INDEXED
         CROSS JOIN children c ON c.id = a.child_id
          JOIN teachers t ON t.id = a.teacher_id
          JOIN units s ON s.id = t.school_id
          LEFT JOIN units v ON v.id = c.village_id
         WHERE (a.start_date BETWEEN :week_start AND :as_of
                OR a.end_date BETWEEN :week_start AND :as_of)
           AND c.birth_date BETWEEN :born_from AND :born_to
         ORDER BY v.id IS NULL, v.id, c.name, a.id""", _week_params(week, p))
    changes = []
    for r in rows:
        who = (r["name"], r["id_number"], r["village"], r["teacher"], r["school"])
        if week.start.isoformat() <= r["start_date"] <= week.end.isoformat():
            changes.append(PairingChange(date.fromisoformat(r["start_date"]), *who, "started",
                                         r["source"], None))
        if r["end_date"] and week.start.isoformat() <= r["end_date"] <= week.end.isoformat():
            changes.append(PairingChange(date.fromisoformat(r["end_date"]), *who, "ended",
                                         r["source"], r["end_reason"]))
    return sorted(changes, key=lambda c: c.date)


def _unit_rows(unit_groups: list[Group], status: list[tuple[StatusChange, dict]],
               heads: dict, conn: sqlite3.Connection) -> list[UnitRow]:
    """Section 3 rows: each unit's group with its new dropouts and returns of the week."""
    ids = {name: i for i, name in conn.execute("SELECT id, name FROM units "
                                               "WHERE kind = 'village'")}
    weekly: dict[tuple, Counter] = {}
    for item, counted_for in status:
        keys = [("school", counted_for["school"])]
        if counted_for["census"]:
            keys.append(("village", counted_for["village_id"]))
        for key in keys:
            weekly.setdefault(key, Counter())[item.change] += 1
    rows = []
    for group in unit_groups:
        key = ("village", ids.get(group.key)) if group.by == "village" else ("school", group.key)
        counts = weekly.get(key, Counter())
        rows.append(UnitRow(group, heads.get((group.by, group.key)), counts["new_dropout"],
                            counts["return"]))
    return rows


# ---------------------------------------------------------------- the trend, in one pass


def trend_ends(p: metrics.Period) -> list[date]:
    """The week ends of the chart: D, D − 7, … back to the first on or after A; ascending."""
    ends = []
    day = p.as_of
    while day >= p.start:
        ends.append(day)
        day -= WEEK
    return ends[::-1]


def _weight(status: str | None) -> tuple[int, int]:
    """What one child with this status adds to a rate's (numerator, denominator) (§4).

    入学率 and 残疾儿童少年入学率 count RECEIVING over RECEIVING + NOT; 巩固率's
    cohort − removed − lost over cohort − removed is the same over the cohort, since
    every cohort member is RECEIVING, NOT (lost) or EXCLUDED (removed) on D.
    """
    if status in RECEIVING_STATUSES:
        return 1, 1
    if status in NOT_STATUSES:
        return 0, 1
    return 0, 0


@dataclass
class _Figures:
    """Running numerators, denominators and counts while stepping back from D."""

    enrollment: list[int]
    disabled: list[int]
    retention: list[int]
    counts: Counter
    returned: int

    @classmethod
    def of(cls, group: Group) -> _Figures:
        return cls([group.enrollment.num, group.enrollment.den],
                   [group.disabled_enrollment.num, group.disabled_enrollment.den],
                   [group.retention.num, group.retention.den], Counter(group.counts),
                   group.returned)

    def undo(self, after: str, before: str | None, disabled: int, in_cohort: int, n: int):
        """Step back over `n` children's change from `before` to `after`."""
        parts = [self.enrollment] + ([self.disabled] if disabled else []) \
            + ([self.retention] if in_cohort else [])
        (num_a, den_a), (num_b, den_b) = _weight(after), _weight(before)
        for part in parts:
            part[0] += n * (num_b - num_a)
            part[1] += n * (den_b - den_a)
        self.counts[after] -= n
        if before is not None:
            self.counts[before] += n
        if before in history.RETURN_FROM and after in history.RETURN_TO:
            self.returned -= n

    def group(self, key: str) -> Group:
        return Group("town", key, Ratio(*self.enrollment), Ratio(*self.disabled),
                     Ratio(*self.retention), self.counts["dropout"], self.returned,
                     {code: self.counts[code] for code in STATUSES})


_RECEIVING_SQL = "(" + ", ".join(f"'{code}'" for code in RECEIVING_STATUSES) + ")"


def _trend(conn: sqlite3.Connection, p: metrics.Period, now: Group) -> list[TrendPoint]:
    """The town's figures at every week end since A, from `now` (the figures on D).

    One query reads every status change dated after the first week end up to D (grouped
    by date, statuses, disability and cohort membership); stepping back from D over them
    gives each earlier week. The population (户籍, compulsory age on D) and A are the
    same for every week, since all the weeks are in D's school year. The query scans the
    covering span index rather than the date index: nearly every event of the year is in
    range, and the covering index spares a table lookup for each (2.5× faster over a
    million children).
    """
    ends = trend_ends(p)
    status_a = history.status_at("a", ":start")
    rows = conn.execute(f"""
        SELECT e.date, e.status, e.status_before, c.disabled,
               coalesce({status_a} IN {_RECEIVING_SQL}, 0) AS in_cohort,
               count(*) AS n
          FROM status_events AS e INDEXED BY status_events_span
         CROSS JOIN children c ON c.id = e.child_id
          LEFT JOIN status_events a ON a.child_id = e.child_id
                AND {history.covers('a', ':start')}
         WHERE e.applied = 1 AND e.date > :first AND e.date <= :as_of
           AND e.status IS NOT e.status_before
           AND c.in_census = 1 AND c.birth_date BETWEEN :born_from AND :born_to
         GROUP BY 1, 2, 3, 4, 5
         ORDER BY 1 DESC""", {**p.params(), "first": ends[0].isoformat()}).fetchall()
    running = _Figures.of(now)
    points = []
    pending = iter(rows)
    row = next(pending, None)
    for end in reversed(ends):
        while row is not None and row["date"] > end.isoformat():
            running.undo(row["status"], row["status_before"], row["disabled"],
                         row["in_cohort"], row["n"])
            row = next(pending, None)
        points.append(TrendPoint(week_ending(end), running.group(now.key)))
    return points[::-1]
