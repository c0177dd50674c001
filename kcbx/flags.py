"""At-risk flags (SPEC §2): 动摇生, 家困生, 学困生, raised by rule or by hand, never deleted.

The rules are pure functions of one child's `Facts` and the `Thresholds` (one function
per flag, listed in RULES). Each returns a `Finding`: the clauses that hold are the
evidence ("缺勤 12 天 ≥ 10 天"), the ones that do not are the facts a clear cites
("证据已消失：缺勤 3 天 < 10 天"). `plan` decides, also without a database, what
`flag auto` changes; `run_auto` gathers the facts in one set-based query, plans and saves.

Readings of SPEC §2 (the sample town's README figures hold under them):
- Facts are those of the special-group population on D (`groups.special_groups_sql`),
  which depends on status, school and age only, never on flags; a rule flag of a child
  who left the population is cleared ("已不在特殊群体范围").
- 缺勤天数, 成绩 and 家庭类型 are the child's stored values (the latest roster's absences
  and score, blank = none; the latest family type); the store keeps no history of them,
  so `--as-of` a past date still reads them as last imported.
- 动摇生 reads the 备注 of the child's latest roster sheet dated on or before D (a
  teacher's note, kept on that roster's snapshot event); 家困生 and 学困生 read "the
  latest 备注", the `children.remarks` field of SPEC §3 (latest non-empty 备注 of any
  census or roster). A return counts when dated in [09-01 of D's school year, D].
- A rule flag that still holds keeps its row and reason, even when today's evidence
  reads differently: the reason is why it was raised on `raised_on`, and closing and
  reopening it would only churn the history.
- A manual clear holds (`hold_until` = the end of the term of the clear) whatever raised
  the flag: the clerk decided the child is not, for now, a 动摇生, and a rule must not
  undo that the next morning. After `hold_until` the rule may raise it again.
- `flag add` on a child holding an open rule flag of that code closes the rule row
  ("改为人工标记") and opens a manual one, so the history shows both.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from kcbx import dates, groups, history, idcard, settings, units, vocab
from kcbx.children import resolve_child
from kcbx.db import transaction
from kcbx.errors import InvalidValue, NotFound

MANUAL = "manual"
NOT_IN_POPULATION = "已不在特殊群体范围"
WAVERING_WORDS = ("思想动摇", "厌学")
HARDSHIP_WORDS = ("家庭困难",)
STRUGGLING_WORDS = ("学业困难",)
# The settings `flag rules` shows and changes (descriptions in settings.DEFAULTS).
RULE_SETTINGS = ("absences", "score")


def rule_source(code: str) -> str:
    """The `source` of a flag raised by the rule for `code`."""
    return f"rule:{code}"


def source_name(source: str) -> str:
    """How a source reads for the clerk: 规则 or 人工."""
    return "人工" if source == MANUAL else "规则"


# ---------------------------------------------------------------- the rules (pure)


@dataclass(frozen=True)
class Thresholds:
    """The rule thresholds (settings `absences` and `score`)."""

    absences: int   # 动摇生 when absences ≥ this
    score: int      # 学困生 when the last score < this


@dataclass(frozen=True)
class Facts:
    """What the rules know about one child of the population on D."""

    child_id: int
    status: str                    # status on D
    absences: int | None = None    # 缺勤天数 of the latest roster (None: blank)
    score: float | None = None     # last exam score (None: no score, never 0)
    family_type: str | None = None
    remark: str | None = None      # the latest 备注 of any sheet
    roster_remark: str | None = None  # 备注 of the latest roster on or before D
    returned_on: date | None = None   # latest return in the school year, on or before D


class Clause(NamedTuple):
    """One test of a rule: whether it holds, and the fact in words either way."""

    holds: bool
    text: str


class Finding(NamedTuple):
    """What one rule says about one child: the evidence, and the facts that did not hold.

    Named tuples here and in OpenFlag: `flag auto` makes three per child of the population.
    """

    child_id: int
    flag: str
    evidence: tuple[str, ...]
    absent: tuple[str, ...]

    @property
    def raised(self) -> bool:
        """True when any clause holds: the rule raises the flag."""
        return bool(self.evidence)

    @property
    def reason(self) -> str:
        """The evidence as one text, the `reason` of a rule flag."""
        return "；".join(self.evidence)

    @property
    def gone(self) -> str:
        """Why the flag no longer holds, for `cleared_reason`."""
        return "证据已消失：" + "；".join(self.absent)


def _finding(facts: Facts, flag: str, clauses: Sequence[Clause]) -> Finding:
    evidence: list[str] = []
    absent: list[str] = []
    for holds, text in clauses:
        (evidence if holds else absent).append(text)
    return Finding(facts.child_id, flag, tuple(evidence), tuple(absent))


def _number(value: float) -> str:
    """35.0 → 35, 35.5 → 35.5: a score as a teacher writes it."""
    return f"{value:g}"


def absences_clause(days: int | None, threshold: int) -> Clause:
    """缺勤天数 ≥ threshold; a blank count is no evidence."""
    if days is None:
        return Clause(False, "无缺勤天数")
    if days >= threshold:
        return Clause(True, f"缺勤 {days} 天 ≥ {threshold} 天")
    return Clause(False, f"缺勤 {days} 天 < {threshold} 天")


def returned_clause(on: date | None) -> Clause:
    """A return (劝返复学) this school year."""
    if on is None:
        return Clause(False, "本学年无劝返复学")
    return Clause(True, f"{on.isoformat()} 劝返复学")


def suspected_clause(status: str) -> Clause:
    """Status `suspected` (疑似辍学) on D."""
    return Clause(status == "suspected", f"状态: {vocab.status_name(status)}")


def remark_clause(remark: str | None, words: Sequence[str]) -> Clause:
    """A 备注 that names one of `words` (substring: 学业困难;思想动摇 names both)."""
    found = [w for w in words if w in remark] if remark else None
    if found:
        return Clause(True, f"备注: {'、'.join(found)}")
    return Clause(False, f"备注未提{'、'.join(words)}")


def family_clause(family_type: str | None) -> Clause:
    """A family type that makes a family poor (the same list as the 贫困家庭 group)."""
    found = [w for w in groups.POVERTY_FAMILY_TYPES if w in (family_type or "")]
    if found:
        return Clause(True, f"家庭类型: {'、'.join(found)}")
    return Clause(False, f"家庭类型: {family_type}" if family_type else "家庭类型未填")


def score_clause(score: float | None, threshold: int) -> Clause:
    """Last score < threshold; a blank score is no score, not 0."""
    if score is None:
        return Clause(False, "无成绩")
    if score < threshold:
        return Clause(True, f"成绩 {_number(score)} < {threshold}")
    return Clause(False, f"成绩 {_number(score)} ≥ {threshold}")


def wavering(facts: Facts, t: Thresholds) -> Finding:
    """动摇生: absences ≥ threshold, a return this year, 疑似辍学, or the roster says 思想动摇/厌学."""
    return _finding(facts, "wavering", (
        absences_clause(facts.absences, t.absences),
        returned_clause(facts.returned_on),
        suspected_clause(facts.status),
        remark_clause(facts.roster_remark, WAVERING_WORDS),
    ))


def hardship(facts: Facts, t: Thresholds) -> Finding:
    """家困生: a poor family's type, or the latest 备注 says 家庭困难."""
    return _finding(facts, "hardship", (
        family_clause(facts.family_type),
        remark_clause(facts.remark, HARDSHIP_WORDS),
    ))


def struggling(facts: Facts, t: Thresholds) -> Finding:
    """学困生: last score < threshold, or the latest 备注 says 学业困难."""
    return _finding(facts, "struggling", (
        score_clause(facts.score, t.score),
        remark_clause(facts.remark, STRUGGLING_WORDS),
    ))


# The registry: every rule, in the order of vocab.FLAGS.
RULES = (wavering, hardship, struggling)


def judge(facts: Iterable[Facts], t: Thresholds) -> list[Finding]:
    """Every rule's finding for every child."""
    return [rule(f, t) for f in facts for rule in RULES]


# ---------------------------------------------------------------- what flag auto changes (pure)


class OpenFlag(NamedTuple):
    """An open flag row."""

    id: int
    child_id: int
    flag: str
    source: str


@dataclass(frozen=True)
class Raise:
    """A rule flag to open."""

    child_id: int
    flag: str
    reason: str


@dataclass(frozen=True)
class Clear:
    """A rule flag to close, with why."""

    flag_id: int
    child_id: int
    flag: str
    reason: str


@dataclass
class Plan:
    """What `flag auto` does, and how many findings it left alone and why."""

    raised: list[Raise] = field(default_factory=list)
    cleared: list[Clear] = field(default_factory=list)
    kept: int = 0     # a rule flag that still holds
    manual: int = 0   # the rule holds but an open manual flag already says so
    held: int = 0     # the rule holds but a manual clear is still in force


def plan(findings: Iterable[Finding], open_flags: Iterable[OpenFlag],
         held: set[tuple[int, str]]) -> Plan:
    """Decide the changes: raise what holds and is not open or held, clear what no longer holds.

    `findings` cover the whole population (every rule for every child), so an open rule
    flag without a finding belongs to a child who left it. Manual flags are never cleared
    here; rule flags are, when their finding no longer holds or their child left.
    """
    result = Plan()
    open_by_key = {(f.child_id, f.flag): f for f in open_flags}
    holding: dict[tuple[int, str], Finding] = {}
    absent: dict[tuple[int, str], Finding] = {}
    for finding in findings:
        key = (finding.child_id, finding.flag)
        (holding if finding.raised else absent)[key] = finding
    for key, finding in holding.items():
        current = open_by_key.get(key)
        if current is not None:
            if current.source == MANUAL:
                result.manual += 1
            else:
                result.kept += 1
        elif key in held:
            result.held += 1
        else:
            result.raised.append(Raise(finding.child_id, finding.flag, finding.reason))
    for key, current in open_by_key.items():
        if current.source == MANUAL or key in holding:
            continue
        reason = absent[key].gone if key in absent else NOT_IN_POPULATION
        result.cleared.append(Clear(current.id, current.child_id, current.flag, reason))
    return result


# ---------------------------------------------------------------- reading the store


def thresholds(conn: sqlite3.Connection) -> Thresholds:
    """The thresholds in force (stored, else the defaults of settings.DEFAULTS)."""
    return Thresholds(*(settings.get_int(conn, key) for key in RULE_SETTINGS))


def _facts_sql() -> str:
    """One query for every child of the population: status, stored facts, roster 备注, return."""
    return f"""
    WITH g AS MATERIALIZED ({groups.special_groups_sql()}),
    returned AS (
        SELECT r.child_id, max(r.date) AS on_date
          FROM status_events r
         WHERE {history.is_return('r')} AND r.date BETWEEN :year_start AND :as_of
         GROUP BY r.child_id
    )
    SELECT g.child_id, g.status, c.absences, c.last_score, c.family_type, c.remarks,
           (SELECT e.reason FROM status_events e
              JOIN import_batches b ON b.id = e.batch_id AND b.kind = 'roster'
                                   AND b.undone_at IS NULL
             WHERE e.child_id = g.child_id AND e.kind = 'snapshot' AND e.date <= :as_of
             ORDER BY e.date DESC, e.id DESC LIMIT 1) AS roster_remark,
           returned.on_date AS returned_on
      FROM g
      JOIN children c ON c.id = g.child_id
      LEFT JOIN returned ON returned.child_id = g.child_id
     ORDER BY g.child_id
    """


def gather_facts(conn: sqlite3.Connection, as_of: date) -> list[Facts]:
    """The Facts of every child of the special-group population on `as_of`."""
    params = {**groups.sql_params(conn, as_of),
              "year_start": dates.school_year_start(as_of).isoformat()}
    return [Facts(r["child_id"], r["status"], r["absences"], r["last_score"], r["family_type"],
                  r["remarks"], r["roster_remark"],
                  date.fromisoformat(r["returned_on"]) if r["returned_on"] else None)
            for r in conn.execute(_facts_sql(), params)]


def _open_flags(conn: sqlite3.Connection) -> list[OpenFlag]:
    return [OpenFlag(*r) for r in conn.execute(
        "SELECT id, child_id, flag, source FROM flags WHERE cleared_on IS NULL")]


def _held(conn: sqlite3.Connection, as_of: date) -> set[tuple[int, str]]:
    """(child, flag) pairs a manual clear still holds on `as_of`."""
    return {(r[0], r[1]) for r in conn.execute(
        "SELECT child_id, flag FROM flags WHERE cleared_by = 'manual' AND hold_until >= ?",
        (as_of.isoformat(),))}


# ---------------------------------------------------------------- flag auto


@dataclass(frozen=True)
class AutoResult:
    """What `flag auto` did (or, with dry_run, would do)."""

    as_of: date
    dry_run: bool
    plan: Plan
    changes: list[dict]   # one row per raised or cleared flag, for the clerk (ID masked)

    def counts(self) -> dict[str, dict[str, int]]:
        """{flag code: {"raised": n, "cleared": n}} for every flag, zeros included."""
        raised = Counter(r.flag for r in self.plan.raised)
        cleared = Counter(c.flag for c in self.plan.cleared)
        return {code: {"raised": raised[code], "cleared": cleared[code]} for code in vocab.FLAGS}

    def to_dict(self) -> dict:
        """The JSON of `flag auto --format json`."""
        return {"as_of": self.as_of, "dry_run": self.dry_run, "counts": self.counts(),
                "kept": self.plan.kept, "manual": self.plan.manual, "held": self.plan.held,
                "changes": self.changes}


def run_auto(conn: sqlite3.Connection, as_of: date, dry_run: bool = False) -> AutoResult:
    """Apply the rules on `as_of`: read, plan and save in one transaction (nothing with dry_run)."""
    if dry_run:
        return _auto(conn, as_of, dry_run=True)
    with transaction(conn):
        return _auto(conn, as_of, dry_run=False)


def _auto(conn: sqlite3.Connection, as_of: date, *, dry_run: bool) -> AutoResult:
    facts = gather_facts(conn, as_of)
    changes = plan(judge(facts, thresholds(conn)), _open_flags(conn), _held(conn, as_of))
    if not dry_run:
        _save(conn, changes, as_of)
    return AutoResult(as_of, dry_run, changes, _change_rows(conn, changes))


def _save(conn: sqlite3.Connection, changes: Plan, as_of: date) -> None:
    """Write a plan: new rule flags raised on D, rule clears dated D (never before raised_on)."""
    day = as_of.isoformat()
    conn.executemany(
        "INSERT INTO flags (child_id, flag, reason, source, raised_on) VALUES (?, ?, ?, ?, ?)",
        [(r.child_id, r.flag, r.reason, rule_source(r.flag), day) for r in changes.raised])
    conn.executemany(
        "UPDATE flags SET cleared_on = max(?, raised_on), cleared_by = 'rule', "
        "cleared_reason = ? WHERE id = ?",
        [(day, c.reason, c.flag_id) for c in changes.cleared])


def _change_rows(conn: sqlite3.Connection, changes: Plan) -> list[dict]:
    """The raised and cleared flags with each child's name, masked ID, village and school."""
    wanted = {r.child_id for r in changes.raised} | {c.child_id for c in changes.cleared}
    who = {r["id"]: r for r in conn.execute(
        "SELECT c.id, c.id_number, c.name, v.name AS village, c.school FROM children c "
        "LEFT JOIN units v ON v.id = c.village_id "
        "WHERE c.id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(wanted)),))}
    rows = [("raised", r.child_id, r.flag, r.reason) for r in changes.raised]
    rows += [("cleared", c.child_id, c.flag, c.reason) for c in changes.cleared]
    order = list(vocab.FLAGS)
    rows.sort(key=lambda r: (order.index(r[2]), r[0] != "raised", who[r[1]]["village"] or "",
                             who[r[1]]["name"], r[1]))
    return [{"change": change, "id_number": idcard.mask(who[child]["id_number"]),
             "name": who[child]["name"], "village": who[child]["village"],
             "school": who[child]["school"], "flag": code, "flag_name": vocab.FLAGS[code],
             "reason": reason} for change, child, code, reason in rows]


# ---------------------------------------------------------------- by hand


@dataclass(frozen=True)
class HandChange:
    """What `flag add` / `flag clear` did to one child's flag."""

    name: str
    id_number: str      # masked
    flag: str
    replaced_rule: bool = False     # add: an open rule flag became a manual one
    source: str | None = None       # clear: who had raised the cleared flag
    hold_until: date | None = None  # clear: the rule stays off until then


def _open_flag(conn: sqlite3.Connection, child_id: int, code: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM flags WHERE child_id = ? AND flag = ? "
                        "AND cleared_on IS NULL", (child_id, code)).fetchone()


def _required(reason: str, example: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidValue(f"请用 --reason 写明理由或依据，例如 --reason {example}。")
    return text


def add_flag(conn: sqlite3.Connection, child_text: str, code: str, reason: str, *,
             today: date, village: str | None = None) -> HandChange:
    """Flag a child by hand (source manual), raised today; a rule never clears it.

    An open rule flag of the same code is closed ("改为人工标记") and a manual row opened,
    so the rule's evidence stays in the history. An open manual flag is an error: the
    clerk should clear it first if the reason changed.
    """
    reason = _required(reason, "家访发现有外出打工意向")
    with transaction(conn):
        child = resolve_child(conn, child_text, village)
        current = _open_flag(conn, child["id"], code)
        if current is not None and current["source"] == MANUAL:
            raise InvalidValue(
                f"{child['name']} 已有人工{vocab.FLAGS[code]}标记（{current['raised_on']}，"
                f"{current['reason']}）。如需改理由，先用 kcbx flag clear 撤销再标记。")
        if current is not None:
            conn.execute("UPDATE flags SET cleared_on = max(?, raised_on), cleared_by = 'manual', "
                         "cleared_reason = ? WHERE id = ?",
                         (today.isoformat(), f"改为人工标记：{reason}", current["id"]))
        conn.execute("INSERT INTO flags (child_id, flag, reason, source, raised_on) "
                     "VALUES (?, ?, ?, 'manual', ?)",
                     (child["id"], code, reason, today.isoformat()))
    return HandChange(child["name"], idcard.mask(child["id_number"]), code,
                      replaced_rule=current is not None)


def clear_flag(conn: sqlite3.Connection, child_text: str, code: str, reason: str, *,
               today: date, village: str | None = None) -> HandChange:
    """Clear a child's open flag by hand; the rules leave it off until the end of the term."""
    reason = _required(reason, "经家访已稳定")
    hold = dates.term_end(today)
    with transaction(conn):
        child = resolve_child(conn, child_text, village)
        current = _open_flag(conn, child["id"], code)
        if current is None:
            raise NotFound(f"{child['name']} 目前没有{vocab.FLAGS[code]}标记。"
                           "可用 kcbx flag list 查看已登记的标记。")
        conn.execute("UPDATE flags SET cleared_on = max(?, raised_on), cleared_by = 'manual', "
                     "cleared_reason = ?, hold_until = ? WHERE id = ?",
                     (today.isoformat(), reason, hold.isoformat(), current["id"]))
    return HandChange(child["name"], idcard.mask(child["id_number"]), code,
                      source=current["source"], hold_until=hold)


# ---------------------------------------------------------------- thresholds


def rule_settings(conn: sqlite3.Connection) -> list[dict]:
    """The thresholds with their value, default and Chinese description."""
    return [{"name": key, "value": settings.get_int(conn, key),
             "default": int(settings.DEFAULTS[key][0]), "description": settings.DEFAULTS[key][1]}
            for key in RULE_SETTINGS]


def set_threshold(conn: sqlite3.Connection, name: str, value: str) -> tuple[int, int]:
    """Change one threshold; returns (old, new). Only whole numbers ≥ 0 are accepted."""
    key = name.strip()
    if key not in RULE_SETTINGS:
        names = "、".join(f"{k}（{settings.DEFAULTS[k][1]}）" for k in RULE_SETTINGS)
        raise InvalidValue(f"没有名为「{name}」的阈值。可用：{names}")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not (text.isascii() and text.isdigit()):
        raise InvalidValue(f"阈值应为不小于 0 的整数（收到「{value}」），例如 "
                           f"kcbx flag rules set {key} {settings.DEFAULTS[key][0]}。")
    old = settings.get_int(conn, key)
    with transaction(conn):
        settings.put(conn, key, str(int(text)))
    return old, int(text)


# ---------------------------------------------------------------- the 分类登记 register


def register(conn: sqlite3.Connection, *, flag: str | None = None, village: str | None = None,
             school: str | None = None, unmask: bool = False) -> list[dict]:
    """Every open flag, one row each, by flag, village, name: the 分类登记 register.

    `teacher_name` is the child's open 包干 teacher. The ID is masked unless `unmask`.
    Unknown village or school names are errors, so a typo never reads as "nobody".
    """
    where, args = ["f.cleared_on IS NULL"], []
    if flag is not None:
        where.append("f.flag = ?")
        args.append(flag)
    if village is not None:
        where.append("c.village_id = ?")
        args.append(units.find_unit(conn, village, "village")["id"])
    if school is not None:
        where.append("c.school = ?")
        args.append(units.find_unit(conn, school, "school")["name"])
    order = " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(vocab.FLAGS))
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, v.name AS village, c.school, f.flag, f.reason, f.source,
               f.raised_on, t.name AS teacher_name
          FROM flags f
          JOIN children c ON c.id = f.child_id
          LEFT JOIN units v ON v.id = c.village_id
          LEFT JOIN assignments a ON a.child_id = c.id AND a.end_date IS NULL
          LEFT JOIN teachers t ON t.id = a.teacher_id
         WHERE {' AND '.join(where)}
         ORDER BY CASE f.flag {order} END, v.name, c.village_group, c.name, c.id""", args)
    return [{**dict(r), "id_number": r["id_number"] if unmask else idcard.mask(r["id_number"]),
             "flag_name": vocab.FLAGS[r["flag"]], "source_name": source_name(r["source"])}
            for r in rows]
