"""督查 (`kcbx check`): what is behind on a date, and which unit and person answer for it.

The leading group inspects (督导检查) and 通报 the units that fall short, so every finding
names a responsible unit and person along the 双线七长 chain (domain.md §5): the child's
包干教师 when the finding is about a child's case work, else the 校长 of the child's local
school or the 村长 of its village (`units` heads), as each kind says below.

"This week" is the seven days ending on D (`week_start` … `as_of`), so `kcbx check
--as-of D` and `kcbx report weekly --as-of D` agree, and a report for an ISO week checks
that week. Every finding about a child concerns a child of compulsory age on D; a case
(辍学, 疑似辍学, 劝返复学) is the town's when the child is in its 户籍 census or on a
local school's roll on D.

Nothing here reads the clock or prints; the CLI and the weekly report render the list.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from kcbx import db, followups, groups, history, idcard, reconcile, settings, vocab
from kcbx.dates import age_window, nominal_grade
from kcbx.teachers import PAIRED_TEACHER, TEACHER_COLUMNS, TEACHER_JOIN

# reconcile's 有学籍无户籍 (外在本) is information for the village, not something behind
_RECONCILE_KINDS = tuple(k for k in reconcile.KINDS if k != "not_in_census")


# code -> 中文, in the order findings are listed
KINDS: dict[str, str] = {
    "no_teacher": "特殊群体儿童未落实包干教师",
    "dropout_no_followup": "辍学、疑似辍学学生超期未劝返",
    "returned_no_followup": "劝返复学学生超期未跟进",
    "teacher_overload": "教师包干人数超过上限",
    "not_reported": "本周未报送表格",
    "name_conflict": "姓名冲突待确认",
    "unapplied_snapshot": "花名册状态与变动记录不符待确认",
    "unmatched_return": "劝返记录称已返校但无劝返复学记录",
    "remark_status": "备注写有另一种状态",
    "over_age": "超龄就读（比按年龄应在年级低两级及以上）",
    "no_guardian_phone": "特殊群体儿童缺监护人电话",
    **{f"reconcile_{k}": f"人籍比对：{reconcile.KINDS[k]}" for k in _RECONCILE_KINDS},
}

ROLES = {"village": "村长", "school": "校长"}
TEACHER_ROLE = "包干教师"
SHEET_NAMES = {"census": "户籍花名册", "roster": "学籍花名册", "changes": "学籍变动表",
               "followups": "劝返帮扶记录", "teachers": "教师名单", "units": "单位名单"}


def _sql_list(codes) -> str:
    """An SQL list of codes (constants of the program, never user input)."""
    return "(" + ", ".join(f"'{c}'" for c in codes) + ")"


LOCAL_SCHOOLS = "(SELECT name FROM units WHERE kind = 'school')"


@dataclass(frozen=True)
class Responsible:
    """Who answers for a finding: a unit and its head, or a teacher and the teacher's school."""

    unit: str | None
    role: str | None
    person: str | None
    phone: str | None


NOBODY = Responsible(None, None, None, None)


@dataclass(frozen=True)
class Finding:
    """One thing behind. `id_number` and `phone` are unmasked here; `to_dict` masks them."""

    kind: str
    who: Responsible
    detail: str
    child: str | None = None
    id_number: str | None = None

    @property
    def kind_name(self) -> str:
        """The Chinese name of the kind."""
        return KINDS[self.kind]

    def to_dict(self, unmask: bool = False) -> dict:
        """The stable JSON object of `kcbx check --format json` (ID and phone masked)."""
        id_number, phone = self.id_number, self.who.phone
        if not unmask:
            id_number = idcard.mask(id_number) or None
            phone = idcard.mask_phone(phone) or None
        return {"kind": self.kind, "kind_name": self.kind_name, "unit": self.who.unit,
                "role": self.who.role, "person": self.who.person, "phone": phone,
                "child": self.child, "id_number": id_number, "detail": self.detail}


@dataclass(frozen=True)
class UnitReport:
    """Whether a village or school sent any sheet in the week (上报情况)."""

    unit: str
    kind: str                  # village | school
    head: str | None
    phone: str | None
    sheets: int                # batches with a sheet date in the week, not undone
    kinds: tuple[str, ...]     # what they sent: census, roster, changes …
    last_sheet: date | None    # the latest sheet date on or before the week's end

    @property
    def reported(self) -> bool:
        """True when at least one sheet of the week was imported and not undone."""
        return self.sheets > 0


def reporting(conn: sqlite3.Connection, week_start: date, as_of: date) -> list[UnitReport]:
    """Every village, then every school, with what it sent between `week_start` and `as_of`.

    A batch belongs to the week of its sheet date (the date on the sheet, or `--as-of`),
    not to the day it was imported, so a sheet imported late still counts for its week.
    """
    rows = conn.execute("""
        SELECT u.kind, u.name, u.head_name, u.head_phone,
               count(b.id) AS sheets, group_concat(DISTINCT b.kind) AS kinds,
               (SELECT max(p.sheet_date) FROM import_batches p
                 WHERE p.unit_id = u.id AND p.undone_at IS NULL AND p.sheet_date <= :as_of)
                 AS last_sheet
          FROM units u
          LEFT JOIN import_batches b ON b.unit_id = u.id AND b.undone_at IS NULL
                AND b.sheet_date BETWEEN :week_start AND :as_of
         GROUP BY u.id
         ORDER BY u.kind DESC, u.id""",
        {"week_start": week_start.isoformat(), "as_of": as_of.isoformat()})
    return [UnitReport(r["name"], r["kind"], r["head_name"], r["head_phone"], r["sheets"],
                       tuple(sorted((r["kinds"] or "").split(",") if r["kinds"] else ())),
                       date.fromisoformat(r["last_sheet"]) if r["last_sheet"] else None)
            for r in rows]


@db.reads_one_state
def check(conn: sqlite3.Connection, as_of: date, week_start: date | None = None, *,
          cases: list[Case] | None = None) -> list[Finding]:
    """Every 督查 finding on `as_of`, in the order of KINDS.

    "This week" (reporting) is `week_start` … `as_of`, by default the seven days ending on
    `as_of`. `cases` are `open_cases(conn, as_of)` when the caller has them already.
    """
    inspector = _Inspector(conn, as_of, week_start or as_of - timedelta(days=6), cases)
    findings = inspector.run()
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(findings, key=lambda f: order[f.kind])  # stable: query order within a kind


@dataclass(frozen=True)
class Case:
    """A 辍学 or 疑似辍学 child on D, with who answers for it and its latest 劝返.

    `id_number` and the phones are unmasked here: mask them when shown.
    """

    name: str
    id_number: str
    village_id: int | None
    village: str | None
    school: str | None          # the school of the status on D (the one left)
    status: str
    since: date | None          # start of the status's run; None when before the records
    guardian_name: str | None
    guardian_phone: str | None
    teacher: str | None
    teacher_school: str | None
    teacher_phone: str | None
    last_followup: date | None
    last_method: str | None
    last_by: str | None
    last_result: str | None


def open_cases(conn: sqlite3.Connection, as_of: date) -> list[Case]:
    """Every 辍学 and 疑似辍学 child of compulsory age on D that the town answers for.

    That is a child in the 户籍 census or on a local school's roll on D (a 随迁 child who
    drops out of a local school is that school's case). Dropouts first, longest first.
    """
    status_d = history.status_at("d", ":as_of")
    school_d = history.status_at("d", ":as_of", "school")
    rows = conn.execute(f"""
        SELECT c.name, c.id_number, c.village_id, v.name AS village, {school_d} AS school,
               {status_d} AS status, CASE WHEN d.date <= :as_of THEN d.since END AS since,
               c.guardian_name, c.guardian_phone, {TEACHER_COLUMNS},
               f.date AS last_followup, f.method AS last_method, f.by_name AS last_by,
               f.result AS last_result
          FROM status_events d
         CROSS JOIN children c ON c.id = d.child_id
          LEFT JOIN units v ON v.id = c.village_id
          {TEACHER_JOIN}
          LEFT JOIN followups f ON f.id = (
                SELECT g.id FROM followups g WHERE g.child_id = c.id AND g.date <= :as_of
                 ORDER BY g.date DESC, g.id DESC LIMIT 1)
         WHERE {history.is_alert('d')} AND {history.covers('d', ':as_of')}
           AND {status_d} IN ('dropout', 'suspected')
           AND c.birth_date BETWEEN :born_from AND :born_to
           AND (c.in_census = 1 OR {school_d} IN {LOCAL_SCHOOLS})
         ORDER BY {status_d} = 'suspected', since IS NOT NULL, since, v.id, c.name, c.id""",
        _window_params(conn, as_of))
    return [Case(**{**dict(r), "since": _day(r["since"]),
                    "last_followup": _day(r["last_followup"])}) for r in rows]


def _window_params(conn: sqlite3.Connection, as_of: date) -> dict[str, str]:
    """D and the birth dates of compulsory age on D, as SQL parameters."""
    window = age_window(as_of, settings.get(conn, "cutoff"))
    return {"as_of": as_of.isoformat(), "born_from": window.born_from.isoformat(),
            "born_to": window.born_to.isoformat()}


def _day(text: str | None) -> date | None:
    """An ISO date column as a date."""
    return date.fromisoformat(text) if text else None


# ---------------------------------------------------------------- the inspector


# Status words too common in ordinary remarks (学习正常, 转入本地就读) to read as a claim.
_GENERIC_WORDS = {"正常", "就读", "在读", "不明", "毕业", "升学"}
_STATUS_WORD = re.compile("|".join(
    re.escape(w) for w in sorted(set(vocab.STATUS_WORDS) - _GENERIC_WORDS, key=len,
                                 reverse=True)))
# A status word right after a date (2024.11.26辍学, 2024年春季学期辍学) is history, and one
# after a negation or 曾 (未辍学, 曾休学) is no claim about the child's status now.
_NOT_A_CLAIM_AFTER = set("0123456789年月日号期未没不非无曾")


def remark_claim(remark: str, status: str) -> str | None:
    """The first status word in a 备注 that claims a status other than `status`, or None."""
    for match in _STATUS_WORD.finditer(remark):
        start = match.start()
        if start and remark[start - 1] in _NOT_A_CLAIM_AFTER:
            continue
        if vocab.STATUS_WORDS[match.group()] != status:
            return match.group()
    return None


class _Inspector:
    """The finding queries of one date, sharing its parameters and the units' heads."""

    def __init__(self, conn: sqlite3.Connection, as_of: date, week_start: date,
                 cases: list[Case] | None = None):
        self.conn = conn
        self.cases = cases
        self.as_of = as_of
        self.week_start = week_start
        self.cutoff = settings.get(conn, "cutoff")
        self.window = age_window(as_of, self.cutoff)
        self.params = {**_window_params(conn, as_of), "week_start": week_start.isoformat()}
        units = conn.execute("SELECT id, kind, name, head_name, head_phone FROM units").fetchall()
        self.units = {u["id"]: u for u in units}
        self.unit_ids = {(u["kind"], u["name"]): u["id"] for u in units}

    def run(self) -> list[Finding]:
        """Every kind's findings, kind by kind."""
        findings: list[Finding] = []
        for step in (self.special_groups, self.dropout_no_followup, self.returned_no_followup,
                     self.teacher_overload, self.not_reported, self.name_conflict,
                     self.unapplied_snapshot, self.unmatched_return, self.remark_status,
                     self.over_age):
            findings.extend(step())
        conflicted = {f.id_number for f in findings if f.kind == "name_conflict"}
        return findings + self.reconcile(conflicted)

    # -- who answers

    def head(self, *unit_ids: int | None) -> Responsible:
        """The head of the first of these units that exists (村长 or 校长)."""
        for unit_id in unit_ids:
            unit = self.units.get(unit_id)
            if unit is not None:
                return Responsible(unit["name"], ROLES[unit["kind"]], unit["head_name"],
                                   unit["head_phone"])
        return NOBODY

    def school_id(self, name: str | None) -> int | None:
        """The id of a local school by name (None for a school outside the town)."""
        return self.unit_ids.get(("school", name))

    def case_owner(self, teacher: str | None, teacher_school: str | None,
                   teacher_phone: str | None, school: str | None,
                   village_id: int | None) -> Responsible:
        """A child's case: its 包干教师, else its local school's 校长, else its 村长."""
        if teacher:
            return Responsible(teacher_school, TEACHER_ROLE, teacher, teacher_phone)
        return self.head(self.school_id(school), village_id)

    def child_order(self, village: str | None, child_id: int) -> tuple:
        """The order of the other kinds' queries (village id, NULL first; then child id)."""
        village_id = self.unit_ids.get(("village", village))
        return village_id is not None, village_id or 0, child_id

    def finding(self, kind: str, who: Responsible, detail: str,
                row: sqlite3.Row | None = None) -> Finding:
        """A finding, about the child of `row` when given (name and ID number)."""
        if row is None:
            return Finding(kind, who, detail)
        return Finding(kind, who, detail, row["name"], row["id_number"])

    def query(self, sql: str, **extra) -> list[sqlite3.Row]:
        """Run a finding query with the date parameters (and `extra` ones)."""
        return self.conn.execute(sql, {**self.params, **extra}).fetchall()

    def days_since(self, day: str) -> int:
        """Whole days from an ISO date to D."""
        return (self.as_of - date.fromisoformat(day)).days

    # -- the kinds

    def special_groups(self) -> list[Finding]:
        """Special-group children without a teacher on D, or without a guardian phone.

        Only the children who may be in a group and lack either are looked at: the
        whole population would read every child's status (seconds for a county).
        """
        lacking = f"({PAIRED_TEACHER} IS NULL OR coalesce(c.guardian_phone, '') = '')"
        rows = self.query(f"""
            WITH g AS ({groups.special_groups_sql(only=groups.candidates_sql(lacking))})
            SELECT g.*, c.name, c.id_number, c.village_id, c.guardian_phone,
                   {PAIRED_TEACHER} IS NOT NULL AS paired
              FROM g JOIN children c ON c.id = g.child_id
             WHERE g.in_group AND {lacking}
             ORDER BY c.village_id, c.id""")
        no_teacher, no_phone = [], []
        for r in rows:
            names = "、".join(groups.group_names(
                groups.group_codes(tuple(r[code] for code in groups.GROUPS))))
            if not r["paired"]:
                no_teacher.append(self.finding(
                    "no_teacher", self.head(r["school_id"], r["village_id"]),
                    f"属于{names}，{self.as_of} 没有包干教师：请运行 kcbx assign 配对，"
                    "或用 kcbx assign set 指定。", r))
            if not r["guardian_phone"]:
                no_phone.append(self.finding(
                    "no_guardian_phone", self.head(r["village_id"], r["school_id"]),
                    f"属于{names}，没有监护人电话：请村里核实补充，在下次花名册中报送。", r))
        return no_teacher + no_phone

    def dropout_no_followup(self) -> list[Finding]:
        """辍学/疑似辍学 cases whose latest 劝返 is older than `followup_days` (or none).

        The clock starts when the status began: a child who dropped out three days ago is
        not yet behind. A status known only from before the records has no start, so
        only a follow-up can stop the clock.
        """
        days = settings.get_int(self.conn, "followup_days")
        findings = []
        for case in self.cases if self.cases is not None else open_cases(self.conn, self.as_of):
            clock = max(filter(None, (case.since, case.last_followup)), default=None)
            waited = (self.as_of - clock).days if clock else None
            if waited is not None and waited <= days:
                continue
            since = case.since or "记录以前"
            late = f"已 {waited} 天没有劝返记录" if waited is not None else "从未有劝返记录"
            who = self.case_owner(case.teacher, case.teacher_school, case.teacher_phone,
                                  case.school, case.village_id)
            findings.append(Finding(
                "dropout_no_followup", who,
                f"{vocab.status_name(case.status)}（自 {since}），{late}（最近一次："
                f"{case.last_followup or '无'}；要求每 {days} 天至少一次）："
                "请尽快家访或电话劝返，并报送劝返记录。", case.name, case.id_number))
        return findings

    def returned_no_followup(self) -> list[Finding]:
        """Returned children of the town with no follow-up in `returned_followup_days` days."""
        days = settings.get_int(self.conn, "returned_followup_days")
        overdue = [r for r in followups.returned_without_followup(
                       self.conn, self.as_of, days, window=self.window)
                   if r.in_census or self.school_id(r.school)]
        findings = []
        for r in sorted(overdue, key=lambda r: self.child_order(r.village, r.child_id)):
            who = self.case_owner(r.teacher, r.teacher_school, r.teacher_phone, r.school,
                                  self.unit_ids.get(("village", r.village)))
            waited = (self.as_of - (r.last_followup or r.returned_on)).days
            findings.append(Finding(
                "returned_no_followup", who,
                f"{r.returned_on} 劝返复学，此后最近一次跟进：{r.last_followup or '无'}，"
                f"已 {waited} 天未跟进（本学年内要求每 {days} 天至少一次）："
                "请包干教师谈心或家访，防止再次辍学。", r.name, r.id_number))
        return findings

    def teacher_overload(self) -> list[Finding]:
        """Teachers with more open pairings on D than the `max_load` setting allows.

        The pairings are counted in one pass over the table: through the teacher index,
        each of them would be a random read (four times slower for a county).
        """
        cap = settings.get_int(self.conn, "max_load")
        rows = self.query("""
            SELECT t.name, t.school_id, n.load
              FROM (SELECT a.teacher_id, count(*) AS load FROM assignments AS a NOT INDEXED
                     WHERE a.start_date <= :as_of AND (a.end_date IS NULL OR a.end_date > :as_of)
                     GROUP BY a.teacher_id HAVING count(*) > :cap) AS n
              JOIN teachers t ON t.id = n.teacher_id
             ORDER BY t.school_id, t.name""", cap=cap)
        return [self.finding(
            "teacher_overload", self.head(r["school_id"]),
            f"{r['name']} 包干 {r['load']} 人，超过上限 {cap} 人：请学校增加包干教师，"
            f"或运行 kcbx assign --max-load {cap} 重新分配。") for r in rows]

    def not_reported(self) -> list[Finding]:
        """Villages and schools that sent no sheet this week."""
        findings = []
        for unit in reporting(self.conn, self.week_start, self.as_of):
            if unit.reported:
                continue
            last = unit.last_sheet.isoformat() if unit.last_sheet else "从未报送"
            findings.append(self.finding(
                "not_reported", Responsible(unit.unit, ROLES[unit.kind], unit.head, unit.phone),
                f"{self.week_start} 至 {self.as_of} 没有报送表格（最近一次：{last}）：请督促报送。"))
        return findings

    def name_conflict(self) -> list[Finding]:
        """Rows rejected because their ID is stored under another name, until `children set`.

        One finding per child and written name, from the latest sheet that wrote it.
        """
        rows = self.query("""
            SELECT e.child_id, e.value, e.row, max(b.sheet_date) AS sheet_date, b.kind,
                   b.unit_id, c.name, c.id_number, c.village_id
              FROM import_errors e
              JOIN import_batches b ON b.id = e.batch_id AND b.undone_at IS NULL
              JOIN children c ON c.id = e.child_id
             WHERE e.code = 'name_conflict' AND e.resolved_at IS NULL
               AND b.sheet_date <= :as_of AND c.birth_date BETWEEN :born_from AND :born_to
             GROUP BY e.child_id, e.value
             ORDER BY c.village_id, c.id""")
        return [self.finding(
            "name_conflict", self.head(r["unit_id"], r["village_id"]),
            f"{SHEET_NAMES[r['kind']]}（{r['sheet_date']}）第 {r['row']} 行写作「{r['value']}」，"
            f"与已登记的「{r['name']}」不同，该行未导入：请对照户口簿核实；若登记的姓名有误，"
            "用 kcbx children set 改正。", r) for r in rows]

    def unapplied_snapshot(self) -> list[Finding]:
        """Snapshots that contradict an earlier change and await `status set` (SPEC §4).

        A manual event on or after the snapshot's date settles it, and so does a later
        sheet that agrees with the history again (an applied snapshot after it). One
        finding per child, its latest open snapshot.
        """
        counted = history.status_at("e", "s.date")
        rows = self.query(f"""
            SELECT * FROM (
              SELECT s.date, s.status, b.kind, b.unit_id, c.name, c.id_number, c.village_id,
                     (SELECT {counted} FROM status_events e
                       WHERE e.child_id = s.child_id AND {history.covers('e', 's.date')})
                       AS counted,
                     ROW_NUMBER() OVER (PARTITION BY s.child_id
                                        ORDER BY s.date DESC, s.id DESC) AS n
                FROM status_events s
                JOIN children c ON c.id = s.child_id
                LEFT JOIN import_batches b ON b.id = s.batch_id
               WHERE s.applied = 0 AND s.kind = 'snapshot' AND s.date <= :as_of
                 AND c.birth_date BETWEEN :born_from AND :born_to
                 AND NOT EXISTS (SELECT 1 FROM status_events m
                                  WHERE m.child_id = s.child_id AND m.date <= :as_of
                                    AND ((m.kind = 'manual' AND m.date >= s.date)
                                         OR (m.kind = 'snapshot' AND m.applied = 1
                                             AND m.date > s.date))))
             WHERE n = 1
             ORDER BY village_id, name""")
        return [self.finding(
            "unapplied_snapshot", self.head(r["unit_id"], r["village_id"]),
            f"{SHEET_NAMES.get(r['kind'], '花名册')}（{r['date']}）写「"
            f"{vocab.status_name(r['status'])}」，与此前的变动记录不符，统计仍按「"
            f"{vocab.status_name(r['counted'])}」：请核实后用 kcbx status set 确认实际状态。", r)
            for r in rows]

    def unmatched_return(self) -> list[Finding]:
        """Follow-ups saying the child is back with no return in its history, one per child
        (its latest such follow-up)."""
        latest = {r.child_id: r for r in followups.unmatched_returns(
            self.conn, self.as_of, window=self.window)}   # in date order: the latest wins
        findings = []
        for r in sorted(latest.values(), key=lambda r: self.child_order(r.village, r.child_id)):
            village_id = self.unit_ids.get(("village", r.village))
            if r.by_name:
                who = Responsible(r.by_school, "劝返人", r.by_name, r.by_phone)
            else:
                who = self.head(village_id)
            since = r.date - timedelta(days=followups.RETURN_MATCH_DAYS)
            if r.status in history.RETURN_TO:  # at school all along, as the records have it
                fix = ("记录中该生一直在校：确曾辍学后被劝返的，用 kcbx status set "
                       "补记辍学和返校（各写明日期）；否则请改正劝返记录。")
            else:
                fix = "确已返校的，用 kcbx status set 记录返校（写明返校日期）。"
            findings.append(Finding(
                "unmatched_return", who,
                f"{r.date} 劝返记录结果为「{r.result}」，但 {since} 至 {self.as_of} 没有劝返复学"
                f"的状态记录，{self.as_of} 的状态为「{vocab.status_name(r.status)}」：请核实；"
                + fix, r.name, r.id_number))
        return findings

    def remark_status(self) -> list[Finding]:
        """A 备注 of a latest census/roster row that names a status other than the row's.

        Status comes only from the status column (SPEC §6); a 备注 such as 暂缓入学 beside
        未入学 means the two disagree and the village or school must say which is right.
        Read from the children with a 备注 (a row's remark is also its child's latest
        one), few of them: starting from the latest sheets would read every event.
        """
        rows = self.query("""
            WITH latest AS (
              SELECT id, kind, unit_id FROM (
                SELECT b.id, b.kind, b.unit_id, b.sheet_date,
                       max(b.sheet_date) OVER (PARTITION BY b.kind, b.unit_id) AS newest
                  FROM import_batches b
                 WHERE b.kind IN ('census', 'roster') AND b.undone_at IS NULL
                   AND b.sheet_date <= :as_of)
               WHERE sheet_date = newest
            )
            SELECT e.date, e.status, e.reason, b.kind, b.unit_id, c.name, c.id_number,
                   c.village_id
              FROM children AS c NOT INDEXED
             CROSS JOIN status_events e ON e.child_id = c.id AND e.kind = 'snapshot'
              JOIN latest b ON b.id = e.batch_id
             WHERE c.remarks IS NOT NULL AND coalesce(e.reason, '') <> ''
               AND c.birth_date BETWEEN :born_from AND :born_to
             ORDER BY c.village_id, c.id, e.date, e.id""")
        findings = []
        for r in rows:
            word = remark_claim(r["reason"], r["status"])
            if word is None:
                continue
            findings.append(self.finding(
                "remark_status", self.head(r["unit_id"], r["village_id"]),
                f"{SHEET_NAMES[r['kind']]}（{r['date']}）状态为「{vocab.status_name(r['status'])}」，"
                f"备注却写「{r['reason']}」（{word}）：请核实实际状态，需要时用 kcbx status set 更正。",
                r))
        return findings

    def over_age(self) -> list[Finding]:
        """Children at school two or more grades below their nominal grade (留级, 晚入学).

        One pass over the children in table order (an index in village order would make
        each row a random read), then the status on D of the few that qualify.
        """
        # nominal grade ≥ grade + 2  ⇔  born on or before the last birth date of grade + 1
        bounds = " ".join(f"WHEN {g} THEN '{self.window.grade_born_after(g + 1).isoformat()}'"
                          for g in range(1, 10))
        rows = self.query(f"""
            SELECT c.name, c.id_number, c.village_id, c.grade, c.birth_date,
                   {history.status_at('d', ':as_of', 'school')} AS school
              FROM children AS c NOT INDEXED
             CROSS JOIN status_events d ON d.child_id = c.id
                   AND {history.covers('d', ':as_of')}
             WHERE c.grade IS NOT NULL AND c.birth_date BETWEEN :born_from AND :born_to
               AND c.birth_date <= (CASE c.grade {bounds} END)
               AND {history.status_at('d', ':as_of')} IN {_sql_list(vocab.RECEIVING_STATUSES)}
             ORDER BY c.village_id, c.id""")
        findings = []
        for r in rows:
            nominal = nominal_grade(date.fromisoformat(r["birth_date"]), self.as_of, self.cutoff)
            should = f"{nominal}年级" if nominal <= 9 else "九年级毕业"
            findings.append(self.finding(
                "over_age", self.head(self.school_id(r["school"]), r["village_id"]),
                f"读{r['grade']}年级，按年龄应读{should}（低 {nominal - r['grade']} 级）："
                "请学校核实年级，关注学业和辍学风险。", r))
        return findings

    def reconcile(self, conflicted: set[str | None]) -> list[Finding]:
        """Open 人籍比对 findings, each for the unit reconcile asks first.

        A name conflict already listed as `name_conflict` (ID numbers in `conflicted`) is
        not listed again.
        """
        findings = []
        for f in reconcile.reconcile(self.conn, self.as_of, kinds=_RECONCILE_KINDS):
            if f.kind == "identity_mismatch" and f.id_number in conflicted:
                continue
            village = self.unit_ids.get(("village", f.village))
            school = self.unit_ids.get(("school", f.school))
            first = (school, village) if f.kind in ("missing_from_roll", "status_mismatch") \
                else (village, school)
            findings.append(Finding(f"reconcile_{f.kind}", self.head(*first), f.detail,
                                    f.name or None, f.id_number or None))
        return findings
