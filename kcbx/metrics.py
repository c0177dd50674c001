"""The rates of SPEC §4: 入学率, 残疾儿童少年入学率, 巩固率, 辍学/劝返复学, status counts.

Every figure is over children of compulsory age on D (the reference date `as_of`), with
their status read from the history rule (`kcbx.history`), and comes with its numerator
and denominator. SQL does the counting: one pass per population returns small *cells*
(group key × status on D, with how many of them are disabled and how many were
RECEIVING on A); the formulas of §4 are then sums over those cells, in `_Tally.group`.
The status on D comes from the event spans, or, when no event is dated after D (the
usual as-of-today case), from the cached current status on `children`, which saves a
pass over every event (SPEC §8: a million children in under two seconds).

Populations. Town, village and grade figures count the 户籍 population (in_census = 1),
a child once. School figures count the school's roll: children whose history places
them at that local school (the event's school named as a school unit) — on D for the
counts, on A for the 巩固率 cohort. 入学率 has no school form (its denominator is a 户籍
figure), so it is None there.

Readings where §4 leaves room (see also `pending_rejected`):
- The cohort of 巩固率 is the children of compulsory age on D who were RECEIVING on A
  ("every count … below is over children of compulsory age on D"). With the default
  A (09-01 of the same school year) the window is the same on both dates.
- A return (SPEC §2) is an applied event whose status is RECEIVING other than `suspected`
  while the status just before it (by the history rule: the previous event's, or a first
  change's 变动前状态) was `dropout`, `suspected` or `unknown`; it counts when dated in
  [A, D], for the child's village and grade, and for the school it returns to.
- `since` in the exceptions list is the date the child's unbroken run of that status
  began; None when D lies before the child's first event (the status is then only
  known to have held since before the records).

Nothing here reads the clock or prints: the CLI passes the dates and renders the result.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from kcbx import db, settings
from kcbx.dates import GRADES, AgeWindow, age_window, school_year_start
from kcbx.errors import InvalidValue
from kcbx.history import ALERT_STATUSES, covers, is_alert, is_return, status_at
from kcbx.idcard import mask
from kcbx.vocab import EXCLUDED_STATUSES, NOT_STATUSES, RECEIVING_STATUSES, STATUSES

GROUPINGS = ("town", "village", "school", "grade")


def _sql_list(codes: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{code}'" for code in codes) + ")"


@dataclass(frozen=True)
class Ratio:
    """A rate with its working: numerator and denominator."""

    num: int
    den: int

    @property
    def rate(self) -> Decimal | None:
        """num/den rounded half-even to 4 places; None for an empty denominator."""
        if self.den == 0:
            return None
        return (Decimal(self.num) / Decimal(self.den)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_EVEN)

    def to_dict(self) -> dict:
        """{"num", "den", "rate"} as in SPEC §5 (rate a JSON number or null)."""
        rate = self.rate
        return {"num": self.num, "den": self.den,
                "rate": None if rate is None else float(rate)}


def format_percent(num: int, den: int) -> str:
    """A percentage, two decimals, truncated: 100.00% only when num = den; "—" when den = 0."""
    if den == 0:
        return "—"
    basis_points = num * 10000 // den
    return f"{basis_points // 100}.{basis_points % 100:02d}%"


@dataclass(frozen=True)
class Group:
    """The figures of one town, village, school or nominal grade."""

    by: str
    key: str | int | None
    enrollment: Ratio | None
    disabled_enrollment: Ratio | None
    retention: Ratio
    dropouts: int
    returned: int
    counts: dict[str, int]

    def to_dict(self) -> dict:
        """One element of SPEC §5's "groups" (入学率 null for a school)."""
        return {
            "by": self.by, "key": self.key,
            "enrollment": self.enrollment and self.enrollment.to_dict(),
            "disabled_enrollment": self.disabled_enrollment and self.disabled_enrollment.to_dict(),
            "retention": self.retention.to_dict(),
            "dropouts": self.dropouts, "returned": self.returned, "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class ExceptionChild:
    """A child on the road to 100%: NOT or `suspected` on D."""

    id_number: str
    name: str
    status: str
    since: date | None
    village: str | None
    school: str | None
    teacher: str | None

    def to_dict(self, unmask: bool = False) -> dict:
        """One element of SPEC §5's "exceptions", the ID masked unless `unmask`."""
        return {"id_number": self.id_number if unmask else mask(self.id_number),
                "name": self.name, "status": self.status, "since": self.since,
                "village": self.village, "school": self.school, "teacher": self.teacher}


@dataclass(frozen=True)
class Rates:
    """Everything `kcbx rates` shows: town first, then the requested groups."""

    as_of: date
    start: date
    window: AgeWindow
    groups: list[Group]
    exceptions: list[ExceptionChild]
    pending_rejected: int

    def to_dict(self, unmask: bool = False) -> dict:
        """The JSON object pinned in SPEC §5."""
        return {"as_of": self.as_of, "from": self.start,
                "groups": [g.to_dict() for g in self.groups],
                "exceptions": [e.to_dict(unmask) for e in self.exceptions],
                "pending_rejected": self.pending_rejected}


@dataclass
class _Tally:
    """Cell sums of one group: children by status on D, and the cohort by status on D."""

    counts: Counter = field(default_factory=Counter)
    disabled: Counter = field(default_factory=Counter)
    cohort: Counter = field(default_factory=Counter)
    returned: int = 0

    def add(self, other: _Tally) -> None:
        """Fold another group's sums in (the town is the sum of its villages or grades)."""
        self.counts.update(other.counts)
        self.disabled.update(other.disabled)
        self.cohort.update(other.cohort)
        self.returned += other.returned

    def group(self, by: str, key: str | int | None, *, census: bool = True) -> Group:
        """SPEC §4's formulas over the sums (入学率 only for 户籍 populations)."""

        def enrollment(counter: Counter) -> Ratio:
            receiving = sum(counter[s] for s in RECEIVING_STATUSES)
            return Ratio(receiving, receiving + sum(counter[s] for s in NOT_STATUSES))

        cohort = sum(self.cohort.values())
        removed = sum(self.cohort[s] for s in EXCLUDED_STATUSES)
        lost = sum(self.cohort[s] for s in NOT_STATUSES)
        return Group(
            by=by, key=key,
            enrollment=enrollment(self.counts) if census else None,
            disabled_enrollment=enrollment(self.disabled) if census else None,
            retention=Ratio(cohort - removed - lost, cohort - removed),
            dropouts=self.counts["dropout"], returned=self.returned,
            counts={code: self.counts[code] for code in STATUSES},
        )


@dataclass(frozen=True)
class Period:
    """The dates of one computation, as SQL parameters."""

    as_of: date
    start: date
    window: AgeWindow

    def params(self) -> dict[str, str]:
        """The named SQL parameters every rate query uses."""
        return {"as_of": self.as_of.isoformat(), "start": self.start.isoformat(),
                "born_from": self.window.born_from.isoformat(),
                "born_to": self.window.born_to.isoformat()}


def period(conn: sqlite3.Connection, as_of: date, start: date | None = None) -> Period:
    """D, A (default 09-01 of D's school year) and the compulsory-age window on D."""
    start = start or school_year_start(as_of)
    if start > as_of:
        raise InvalidValue(f"起始日期 {start} 晚于统计日期 {as_of}。请让 --from 不晚于 --as-of。")
    return Period(as_of, start, age_window(as_of, settings.get(conn, "cutoff")))


# The children of compulsory age on D, joined to the event that gives their status on D
# (alias d) and on A (alias a). The events are read in child order from the covering
# index status_events_span; CROSS JOIN keeps SQLite from starting anywhere else.
_ON_D_AND_A = f"""
      FROM status_events AS d
     CROSS JOIN children AS c ON c.id = d.child_id
      LEFT JOIN status_events AS a ON a.child_id = d.child_id AND {covers('a', ':start')}
     WHERE {covers('d', ':as_of')}
       AND c.birth_date BETWEEN :born_from AND :born_to
"""
# The same when D is on or after every event: the status on D is then the cached
# current status, and one pass over the children replaces the pass over all events.
# NOT INDEXED: reading children in id order keeps the lookups of `a` sequential; an
# index in village order would save the GROUP BY sort but make them random (2× slower).
_CURRENT_AND_A = f"""
      FROM children AS c NOT INDEXED
      LEFT JOIN status_events AS a ON a.child_id = c.id AND {covers('a', ':start')}
     WHERE c.status IS NOT NULL
       AND c.birth_date BETWEEN :born_from AND :born_to
"""
_RECEIVING_SQL = _sql_list(RECEIVING_STATUSES)


def _after_every_event(conn: sqlite3.Connection, as_of: date) -> bool:
    """True when no event is dated after D (as of today, usually): the cache holds then."""
    latest = conn.execute("SELECT max(date) FROM status_events").fetchone()[0]
    return latest is None or latest <= as_of.isoformat()


def _census_cells(conn: sqlite3.Connection, p: Period, key_sql: str) -> dict:
    """{key: _Tally} over the 户籍 population, grouped by the SQL expression `key_sql`."""
    if _after_every_event(conn, p.as_of):
        source, status_d = _CURRENT_AND_A, "c.status"
    else:
        source, status_d = _ON_D_AND_A, status_at("d", ":as_of")
    tallies: dict = {}
    rows = conn.execute(f"""
        SELECT {key_sql} AS grp, {status_d} AS st, count(*) AS n,
               sum(c.disabled) AS disabled,
               count(CASE WHEN {status_at('a', ':start')} IN {_RECEIVING_SQL} THEN 1 END)
                 AS cohort
        {source} AND c.in_census = 1
         GROUP BY 1, 2
        HAVING st IS NOT NULL
    """, p.params())
    for key, status, n, disabled, cohort in rows:
        tally = tallies.setdefault(key, _Tally())
        tally.counts[status] += n
        tally.disabled[status] += disabled
        tally.cohort[status] += cohort
    for key, n in _returns(conn, p, key_sql, census=True):
        tallies.setdefault(key, _Tally()).returned += n
    return tallies


def _returns(conn: sqlite3.Connection, p: Period, key_sql: str, *, census: bool):
    """(key, number of returns in [A, D]) of children of compulsory age (户籍 only if census)."""
    return conn.execute(f"""
        SELECT {key_sql} AS grp, count(*)
          FROM status_events AS e
         CROSS JOIN children AS c ON c.id = e.child_id
         WHERE {is_return('e')} AND e.date BETWEEN :start AND :as_of
           AND c.birth_date BETWEEN :born_from AND :born_to {"AND c.in_census = 1" if census else ""}
         GROUP BY 1
    """, p.params()).fetchall()


def _merged(tallies) -> _Tally:
    """The sum of several groups' tallies."""
    total = _Tally()
    for tally in tallies:
        total.add(tally)
    return total


def town_name(conn: sqlite3.Connection) -> str:
    """The town's name for the town group ("全镇" until `kcbx init --town` names it)."""
    return settings.get(conn, "town") or "全镇"


def by_town(conn: sqlite3.Connection, p: Period) -> list[Group]:
    """The town's figures over its 户籍 population."""
    tally = _merged(_census_cells(conn, p, "0").values())
    return [tally.group("town", town_name(conn))]


def by_village(conn: sqlite3.Connection, p: Period) -> list[Group]:
    """The town, then every village unit (children with no village last, key None)."""
    return _village_groups(conn, _census_cells(conn, p, "c.village_id"))


def _village_groups(conn: sqlite3.Connection, tallies: dict) -> list[Group]:
    """The town (the sum of its villages), then each village unit, then no village."""
    groups = [_merged(tallies.values()).group("town", town_name(conn))]
    for unit_id, name in conn.execute("SELECT id, name FROM units WHERE kind = 'village' "
                                      "ORDER BY id"):
        groups.append(tallies.pop(unit_id, _Tally()).group("village", name))
    if None in tallies:
        groups.append(tallies[None].group("village", None))
    return groups


def _grade_sql(window: AgeWindow) -> str:
    """SQL: the nominal grade (1 … 10) of a child in the window, from its birth date."""
    arms = " ".join(f"WHEN c.birth_date > '{window.grade_born_after(g).isoformat()}' THEN {g}"
                    for g in GRADES[:-1])
    return f"(CASE {arms} ELSE {GRADES[-1]} END)"


def by_grade(conn: sqlite3.Connection, p: Period) -> list[Group]:
    """The town, then nominal grades 1 … 10 (10 = 15 years old on the cut-off)."""
    tallies = _census_cells(conn, p, _grade_sql(p.window))
    groups = [_merged(tallies.values()).group("town", town_name(conn))]
    groups += [tallies.get(g, _Tally()).group("grade", g) for g in GRADES]
    return groups


def _roll_tallies(conn: sqlite3.Connection, p: Period, *, villages: bool = False
                  ) -> tuple[_Tally, dict[str, _Tally], dict]:
    """The town's tally, {school name: _Tally} over the rolls and, with `villages`,
    {village id: _Tally} over the 户籍 population, all from one pass.

    A school counts the children it has on D, the cohort it had on A and the returns to
    it; the town and its villages, as always, their 户籍 children once.
    """
    local = {name for (name,) in conn.execute("SELECT name FROM units WHERE kind = 'school'")}
    town, schools = _Tally(), {name: _Tally() for name in local}
    by_village: dict = {}
    rows = _in_halves(conn, f"""
        SELECT {status_at('d', ':as_of', 'school')} AS school_d,
               {status_at('d', ':as_of')} AS st,
               {status_at('a', ':start', 'school')} AS school_a,
               coalesce({status_at('a', ':start')} IN {_RECEIVING_SQL}, 0) AS in_cohort,
               c.in_census, c.disabled, {'c.village_id' if villages else 'NULL'}, count(*) AS n
        {_ON_D_AND_A} AND d.child_id BETWEEN :lo AND :hi
         GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING st IS NOT NULL
    """, p.params())
    for school_d, status, school_a, in_cohort, census, disabled, village, n in rows:
        if census:
            for tally in (town, by_village.setdefault(village, _Tally())) if villages else (town,):
                tally.counts[status] += n
                tally.disabled[status] += n * disabled
                tally.cohort[status] += n * in_cohort
        if school_d in local:
            schools[school_d].counts[status] += n
        if school_a in local and in_cohort:
            schools[school_a].cohort[status] += n
    if villages:
        for village, n in _returns(conn, p, "c.village_id", census=True):
            by_village.setdefault(village, _Tally()).returned += n
    town.returned = sum(n for _, n in _returns(conn, p, "0", census=True))
    for school, n in _returns(conn, p, "e.school", census=False):
        if school in local:
            schools[school].returned += n
    return town, schools, by_village


def _in_halves(conn: sqlite3.Connection, sql: str, params: dict) -> list[tuple]:
    """The rows of `sql`, which counts the children with ids from :lo to :hi, for each
    half of the children, the second half alongside on another connection (two cores).

    Only for counts that add up: a cell of one half and the same cell of the other are
    two rows, which the caller sums.
    """
    low, high = conn.execute("SELECT min(id), max(id) FROM children").fetchone()
    if low is None:
        return []
    middle = (low + high) // 2
    with db.alongside(conn, lambda other: other.execute(
            sql, {**params, "lo": middle + 1, "hi": high}).fetchall()) as second:
        first = conn.execute(sql, {**params, "lo": low, "hi": middle}).fetchall()
    return first + second.result()


def by_school(conn: sqlite3.Connection, p: Period) -> list[Group]:
    """The town (户籍), then every local school over its roll (入学率 None)."""
    town, schools, _ = _roll_tallies(conn, p)
    return _school_groups(conn, town, schools)


def _school_groups(conn: sqlite3.Connection, town: _Tally, schools: dict) -> list[Group]:
    """The town, then each local school in unit order."""
    groups = [town.group("town", town_name(conn))]
    for (name,) in conn.execute("SELECT name FROM units WHERE kind = 'school' ORDER BY id"):
        groups.append(schools[name].group("school", name, census=False))
    return groups


def by_village_and_school(conn: sqlite3.Connection, p: Period) -> tuple[list[Group], list[Group]]:
    """`by_village` and `by_school` from one pass over the children, for the weekly report
    (each pass costs about a second and a half over a million children)."""
    town, schools, villages = _roll_tallies(conn, p, villages=True)
    return _village_groups(conn, villages), _school_groups(conn, town, schools)


def exceptions(conn: sqlite3.Connection, p: Period) -> list[ExceptionChild]:
    """Every 户籍 child of compulsory age who is NOT or `suspected` on D, by village."""
    status_order = " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(STATUSES))
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, {status_at('d', ':as_of')} AS st,
               CASE WHEN d.date <= :as_of THEN d.since END AS since,
               v.name AS village, {status_at('d', ':as_of', 'school')} AS school,
               (SELECT t.name FROM assignments AS g JOIN teachers AS t ON t.id = g.teacher_id
                 WHERE g.child_id = c.id AND g.start_date <= :as_of
                   AND (g.end_date IS NULL OR g.end_date > :as_of)
                 ORDER BY g.start_date DESC LIMIT 1) AS teacher
          FROM status_events AS d
         CROSS JOIN children AS c ON c.id = d.child_id
          LEFT JOIN units AS v ON v.id = c.village_id
         WHERE {is_alert('d')} AND {covers('d', ':as_of')}
           AND {status_at('d', ':as_of')} IN {_sql_list(ALERT_STATUSES)}
           AND c.in_census = 1 AND c.birth_date BETWEEN :born_from AND :born_to
         ORDER BY v.id IS NULL, v.id, CASE {status_at('d', ':as_of')} {status_order} END,
                  c.name, c.id
    """, p.params())
    return [ExceptionChild(id_number, name, status,
                           date.fromisoformat(since) if since else None,
                           village, school, teacher)
            for id_number, name, status, since, village, school, teacher in rows]


def pending_rejected(conn: sqlite3.Connection) -> int:
    """Rejected rows, not yet resolved, of the latest import from each source.

    A source is a kind of sheet from one reporting unit (a village's census, a school's
    roster sheet), or from one file name when the sheet names no unit; its latest batch
    (not undone) replaces the earlier ones, whose rejected rows were sent back and fixed
    or are now stale. A row with several problems counts once.
    """
    return conn.execute("""
        WITH latest AS (
          SELECT max(id) AS id FROM import_batches WHERE undone_at IS NULL
           GROUP BY kind, coalesce(CAST(unit_id AS TEXT), file_name), coalesce(sheet, '')
        )
        SELECT count(*) FROM (
          SELECT DISTINCT batch_id, row FROM import_errors
           WHERE resolved_at IS NULL AND batch_id IN (SELECT id FROM latest))
    """).fetchone()[0]


_GROUPERS = {"town": by_town, "village": by_village, "school": by_school, "grade": by_grade}


@db.reads_one_state
def rates(conn: sqlite3.Connection, as_of: date, start: date | None = None,
          by: str = "town") -> Rates:
    """All figures of SPEC §4 on `as_of`, period from `start`, grouped `by` (town first)."""
    if by not in _GROUPERS:
        raise InvalidValue(f"不认识的分组「{by}」。可用：town、village、school、grade")
    p = period(conn, as_of, start)
    return Rates(as_of=p.as_of, start=p.start, window=p.window,
                 groups=_GROUPERS[by](conn, p), exceptions=exceptions(conn, p),
                 pending_rejected=pending_rejected(conn))
