"""人籍比对 (domain.md §3.3): who lives here (户籍 census) against who is on a school roll (学籍).

Both sides are the *latest* sheets on or before the reference date D: for each village its
census batches of its latest census date, for each local school its roster batches of its
latest roster date (a school that sends one sheet per grade sends them on one date, so all
of them together are its roll; a later partial sheet replaces the whole roll). A local
school is a `units` row of kind `school`; every other school name is text on a child.

Every finding is about a child of compulsory age on D, except `identity_mismatch`, whose
rows were rejected at import and so may have no trustworthy ID or birth date at all:

- `not_on_roll`: in a latest census, on no latest local roll, and on D not accounted for:
  not `away`/`home_taught`/`special_school`/EXCLUDED, and not 在校 at a *named* school (a
  census saying 在校 at a school outside the town is 外出就读 in substance; one at a local
  school that lacks the child is `missing_from_roll` instead). What is left is 未入学,
  辍学, 去向不明, or 在校 with no school named: the village and the catchment school verify.
- `missing_from_roll`: a census saying 在校/随班就读/疑似辍学/送教上门 at a local school whose
  latest roll lacks the child (送教上门 children hold 学籍 at their school too), unless
  the child has left by D (`away`, `special_school`, EXCLUDED).
- `not_in_census`: on a latest local roll, in no latest census (外在本, or 户籍 moved away):
  information for the village, not an error.
- `identity_mismatch`: rows of the latest census/roster batches rejected as `name_conflict`
  or `birth_mismatch` and not yet resolved (the store keeps one name per ID and derives the
  birth date from the ID, so a disagreement lives only in `import_errors`). A child whose
  roster row was rejected this way is not also reported as missing from that roll.
- `status_mismatch`: the latest census and a latest roll state different statuses for the
  same child; a dated change or `status set` on or after the later of the two settles it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from kcbx import dates, db, history, idcard, settings, units, vocab

KINDS: dict[str, str] = {
    "not_on_roll": "有户籍无学籍",
    "missing_from_roll": "称在本镇学校就读但学籍无名",
    "not_in_census": "有学籍无户籍（外在本）",
    "identity_mismatch": "身份信息不一致",
    "status_mismatch": "户籍与学籍状态不一致",
}

# statuses under which a child must appear on its school's roll
ON_ROLL = ("enrolled", "inclusive", "suspected", "home_taught")
# statuses on D under which a child is no local school's charge
ELSEWHERE = ("away", "special_school", *vocab.EXCLUDED_STATUSES)
# statuses on D that account for a 户籍 child on no local roll (SPEC: 送教上门 is not 未入学)
NOT_ON_ROLL_EXEMPT = ("home_taught", *ELSEWHERE)
AT_SCHOOL = ("enrolled", "inclusive", "suspected")


@dataclass
class Finding:
    """One discrepancy between 户籍 and 学籍; `id_number` is unmasked (mask when shown)."""

    kind: str
    id_number: str
    name: str
    village: str
    school: str
    census_status: str | None
    roll_status: str | None
    detail: str

    @property
    def kind_name(self) -> str:
        """The Chinese name of the kind."""
        return KINDS[self.kind]

    def as_json(self, unmask: bool = False) -> dict:
        """The stable JSON object of `kcbx reconcile --format json` (ID masked by default)."""
        return {"kind": self.kind, "kind_name": self.kind_name,
                "id_number": self.id_number if unmask else idcard.mask(self.id_number),
                "name": self.name, "village": self.village, "school": self.school,
                "census_status": self.census_status, "roll_status": self.roll_status,
                "detail": self.detail}


@db.reads_one_state
def reconcile(conn: sqlite3.Connection, as_of: date,
              kinds: Iterable[str] = tuple(KINDS)) -> list[Finding]:
    """The 人籍比对 findings of `kinds` on `as_of`, in the order of KINDS, then village,
    school, name. `kcbx check` leaves out 外在本 (`not_in_census`), which is information."""
    wanted = set(kinds)
    if wanted - set(KINDS):
        raise ValueError(f"unknown reconcile kinds: {sorted(wanted - set(KINDS))}")
    params = _params(conn, as_of)
    findings: list[Finding] = []
    with _sides(conn, params):
        for kind, finder in _FINDERS.items():
            if kind in wanted:
                findings += finder(conn, params)
    order = list(KINDS)
    return sorted(findings, key=lambda f: (order.index(f.kind), f.village, f.school, f.name))


def compared_sheets(conn: sqlite3.Connection, as_of: date) -> dict[str, list[tuple[str, str]]]:
    """The sheets `reconcile` compares: {'census'|'roster': [(unit name, sheet date)]}.

    A clerk must see which villages and schools are missing or stale before trusting an
    empty list of findings.
    """
    sheets: dict[str, list[tuple[str, str]]] = {"census": [], "roster": []}
    for r in conn.execute(f"""
            SELECT DISTINCT b.kind, COALESCE(u.name, '') AS unit, b.sheet_date
              FROM ({_LATEST}) b LEFT JOIN units u ON u.id = b.unit_id
             ORDER BY b.kind, unit""", _params(conn, as_of)):
        sheets[r["kind"]].append((r["unit"], r["sheet_date"]))
    return sheets


def _params(conn: sqlite3.Connection, as_of: date) -> dict[str, str]:
    """The reference date and the birth dates of compulsory age, bound into every query."""
    earliest, latest = dates.compulsory_window(as_of, settings.get(conn, "cutoff"))
    return {"as_of": as_of.isoformat(), "earliest": earliest.isoformat(),
            "latest": latest.isoformat()}


def _in(codes: tuple[str, ...]) -> str:
    """An SQL list of status codes (constants of this module, never user input)."""
    return "(" + ", ".join(f"'{c}'" for c in codes) + ")"


# ---------------------------------------------------------------- both sides, once

# The latest census and roster batches per unit on or before D (the batches of no unit
# are one group, as GROUP BY has it).
_LATEST = """
  SELECT id, kind, unit_id, sheet_date FROM (
    SELECT b.id, b.kind, b.unit_id, b.sheet_date,
           MAX(b.sheet_date) OVER (PARTITION BY b.kind, b.unit_id) AS newest
      FROM import_batches b
     WHERE b.kind IN ('census', 'roster') AND b.undone_at IS NULL AND b.sheet_date <= :as_of)
   WHERE sheet_date = newest
"""
# Keep the latest event, by (date, id), of each key: an upsert instead of a window
# function, so a million rows are never sorted.
_NEWER = "WHERE (excluded.date, excluded.event_id) > (date, event_id)"

# The temp tables every finder reads: (name, definition, the INSERT that fills it).
# rc_roll: each child's latest line on each latest roll; `unit_key` is the unit's id, 0
# for a sheet of no unit (unit ids start at 1), `school` the unit's name when it is a
# local school (else NULL: no school's roll). rc_census: each child's latest statement
# in a latest census; `on_roll` NULL when the child is on no roll, 1 when on the roll of
# the school the census names, else 0; the child's status and school on D when that
# event decides D (`covers_d`). rc_conflicted: children whose row in a latest sheet was
# rejected for a name conflict, by the sheet's kind and unit.
_SIDES = (
    ("rc_latest", "(id INTEGER PRIMARY KEY, kind TEXT, unit_id INTEGER, sheet_date TEXT)",
     f"INSERT INTO temp.rc_latest {_LATEST}"),
    ("rc_roll", "(child_id INTEGER NOT NULL, unit_key INTEGER NOT NULL, unit_id INTEGER, "
                "school TEXT, event_id INTEGER, status TEXT, date TEXT, "
                "PRIMARY KEY (child_id, unit_key)) WITHOUT ROWID", f"""
     INSERT INTO temp.rc_roll (child_id, unit_key, unit_id, school, event_id, status, date)
     SELECT e.child_id, coalesce(b.unit_id, 0), b.unit_id, s.name, e.id, e.status, e.date
       FROM temp.rc_latest b JOIN status_events e ON e.batch_id = b.id
       LEFT JOIN units s ON s.id = b.unit_id AND s.kind = 'school'
      WHERE b.kind = 'roster'
     ON CONFLICT (child_id, unit_key) DO UPDATE SET
        event_id = excluded.event_id, status = excluded.status, date = excluded.date {_NEWER}"""),
    ("rc_census", "(child_id INTEGER PRIMARY KEY, event_id INTEGER, status TEXT, school TEXT, "
                  "date TEXT, unit_id INTEGER, on_roll INTEGER, covers_d INTEGER, status_d TEXT, "
                  "school_d TEXT)", f"""
     INSERT INTO temp.rc_census (child_id, event_id, status, school, date, unit_id, on_roll,
                                 covers_d, status_d, school_d)
     SELECT e.child_id, e.id, e.status, e.school, e.date, b.unit_id,
            (SELECT max(coalesce(r.school = e.school, 0)) FROM temp.rc_roll r
              WHERE r.child_id = e.child_id),
            {history.covers('e', ':as_of')}, {history.status_at('e', ':as_of')},
            {history.status_at('e', ':as_of', 'school')}
       FROM temp.rc_latest b JOIN status_events e ON e.batch_id = b.id
      WHERE b.kind = 'census'
     ON CONFLICT (child_id) DO UPDATE SET
        event_id = excluded.event_id, status = excluded.status, school = excluded.school,
        date = excluded.date, unit_id = excluded.unit_id, on_roll = excluded.on_roll,
        covers_d = excluded.covers_d, status_d = excluded.status_d,
        school_d = excluded.school_d {_NEWER}"""),
    ("rc_conflicted", "(child_id INTEGER NOT NULL, kind TEXT NOT NULL, unit_key INTEGER NOT NULL, "
                      "PRIMARY KEY (child_id, kind, unit_key)) WITHOUT ROWID", """
     INSERT OR IGNORE INTO temp.rc_conflicted (child_id, kind, unit_key)
     SELECT e.child_id, b.kind, coalesce(b.unit_id, 0)
       FROM import_errors e JOIN temp.rc_latest b ON b.id = e.batch_id
      WHERE e.code = 'name_conflict' AND e.resolved_at IS NULL AND e.child_id IS NOT NULL"""),
)


@contextmanager
def _sides(conn: sqlite3.Connection, params: dict) -> Iterator[None]:
    """Both sides of the comparison as temp tables, for the duration of one `reconcile`.

    Built once and read by every finder through their keys: a finder that looked each
    child up in window functions over the events instead took minutes for a county.
    """
    try:
        for name, definition, fill in _SIDES:
            conn.execute(f"DROP TABLE IF EXISTS temp.{name}")
            conn.execute(f"CREATE TEMP TABLE {name} {definition}")
            conn.execute(fill, params)
        yield
    finally:
        for name, _, _ in _SIDES:
            conn.execute(f"DROP TABLE IF EXISTS temp.{name}")


# The status and school of child `cs.child_id` on D: from its census line when that
# event decides D (usually so for a child on no roll, the ones `not_on_roll` reads),
# else from the event that does (exactly one per child in the records). Scalar
# subqueries, so that the lookup happens only when needed, and after the cheaper terms
# written before it (SQLite keeps the written order of such terms).
_DECIDING = f"FROM status_events d WHERE d.child_id = cs.child_id AND {history.covers('d', ':as_of')}"
_STATUS_D = (f"(CASE WHEN cs.covers_d THEN cs.status_d "
             f"ELSE (SELECT {history.status_at('d', ':as_of')} {_DECIDING}) END)")
_SCHOOL_D = (f"(CASE WHEN cs.covers_d THEN cs.school_d "
             f"ELSE (SELECT {history.status_at('d', ':as_of', 'school')} {_DECIDING}) END)")
_IN_RECORDS = f"(cs.covers_d OR EXISTS (SELECT 1 {_DECIDING}))"   # has a status on D
_LOCAL = "(SELECT name FROM units WHERE kind = 'school')"
_YOUNG = "c.birth_date BETWEEN :earliest AND :latest"


# ---------------------------------------------------------------- the finders


def _not_on_roll(conn: sqlite3.Connection, params: dict) -> list[Finding]:
    """户籍 children on no local roll whose status on D does not account for it."""
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, c.birth_date, c.village_id, v.name AS village,
               cs.status AS census_status, {_STATUS_D} AS status, {_SCHOOL_D} AS school,
               {_SCHOOL_D} IN {_LOCAL} AS local
          FROM temp.rc_census cs
         CROSS JOIN children c ON c.id = cs.child_id
          LEFT JOIN units v ON v.id = COALESCE(cs.unit_id, c.village_id)
         WHERE cs.on_roll IS NULL
           AND NOT (cs.status IN {_in(ON_ROLL)} AND COALESCE(cs.school, '') IN {_LOCAL})
           AND {_STATUS_D} NOT IN {_in(NOT_ON_ROLL_EXEMPT)}
           AND NOT ({_STATUS_D} IN {_in(AT_SCHOOL)} AND COALESCE({_SCHOOL_D}, '') <> '')
           AND {_IN_RECORDS} AND {_YOUNG}
           AND NOT EXISTS (SELECT 1 FROM temp.rc_conflicted x
                            WHERE x.child_id = cs.child_id AND x.kind = 'roster')
    """, params).fetchall()
    catchment = _Catchment(conn, date.fromisoformat(params["as_of"]))
    findings = []
    for r in rows:
        school = r["school"] or catchment.school(r["village_id"], r["birth_date"])
        foreign = bool(r["school"]) and not r["local"]
        findings.append(Finding("not_on_roll", r["id_number"], r["name"], r["village"] or "",
                                school, r["census_status"], None,
                                _not_on_roll_detail(r["status"], school, foreign)))
    return findings


class _Catchment:
    """A village's catchment school for a child's nominal grade, by name."""

    def __init__(self, conn: sqlite3.Connection, as_of: date):
        self.as_of = as_of
        self.cutoff = settings.get(conn, "cutoff")
        self.names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM units")}
        self.catchments = units.Catchments(conn)

    def school(self, village_id: int | None, birth_date: str) -> str:
        """The catchment school's name, or '' when the village has none."""
        if village_id is None:
            return ""
        grade = dates.nominal_grade(date.fromisoformat(birth_date), self.as_of, self.cutoff)
        school_id = self.catchments.school_id(village_id, "primary" if grade <= 6 else "middle")
        return self.names.get(school_id, "")


def _not_on_roll_detail(status: str, school: str, foreign: bool) -> str:
    """What the village and the school do for a child on no roll, by its status on D."""
    ask = school or "对口学校"
    if status == "never_enrolled":
        return f"未入学：请村里和{ask}核实，动员入学；确需缓学的请办理缓学手续。"
    if status == "dropout" and foreign:
        return (f"在外地学校{school}辍学：请村里核实孩子现在的去向，联系{school}核实学籍，"
                "共同劝返。")
    if status == "dropout":
        return f"辍学，且不在本镇任何学校的学籍上：请{ask}核实学籍，村校联合劝返。"
    if status == "unknown":
        return "去向不明：请村里核实孩子去向；在外地就读的请补交就读证明。"
    return (f"花名册为「{vocab.status_name(status)}」但没有写就读学校，本镇学籍中也没有：请村里"
            "核实孩子在哪里就读，外出就读的请补交证明，未入学的请动员入学。")


def _missing_from_roll(conn: sqlite3.Connection, params: dict) -> list[Finding]:
    """Census children said to attend a local school whose latest roll lacks them."""
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, v.name AS village, s.name AS school,
               cs.status AS census_status,
               (SELECT MAX(b.sheet_date) FROM temp.rc_latest b
                 WHERE b.kind = 'roster' AND b.unit_id = s.id) AS roll_date,
               (SELECT u.name FROM temp.rc_roll r JOIN units u ON u.id = r.unit_id
                 WHERE r.child_id = c.id ORDER BY u.name LIMIT 1) AS other_school,
               (SELECT r.status FROM temp.rc_roll r JOIN units u ON u.id = r.unit_id
                 WHERE r.child_id = c.id ORDER BY u.name LIMIT 1) AS other_status
          FROM temp.rc_census cs
         CROSS JOIN units s ON s.kind = 'school' AND s.name = cs.school
         CROSS JOIN children c ON c.id = cs.child_id
          LEFT JOIN units v ON v.id = COALESCE(cs.unit_id, c.village_id)
         WHERE cs.status IN {_in(ON_ROLL)} AND cs.on_roll IS NOT 1
           AND {_STATUS_D} NOT IN {_in(ELSEWHERE)}
           AND {_IN_RECORDS} AND {_YOUNG}
           AND NOT EXISTS (SELECT 1 FROM temp.rc_conflicted x WHERE x.child_id = cs.child_id
                              AND x.kind = 'roster' AND x.unit_key = s.id)
    """, params).fetchall()
    return [Finding("missing_from_roll", r["id_number"], r["name"], r["village"] or "",
                    r["school"], r["census_status"], None,
                    _missing_detail(r["school"], r["roll_date"], r["other_school"],
                                    r["other_status"]))
            for r in rows]


def _missing_detail(school: str, roll_date: str | None, other_school: str | None,
                    other_status: str | None) -> str:
    """Why the school is asked, and what the village corrects when another roll has the child."""
    if roll_date is None:
        return f"户籍花名册写在{school}就读，但{school}还没有报送学籍花名册，无法比对：请学校报送。"
    text = (f"户籍花名册写在{school}就读，{school}最新学籍花名册（{roll_date}）中没有这个孩子："
            "请学校核实学籍，村里核实孩子实际在哪里就读。")
    if other_school:
        text += (f"该生在{other_school}的学籍花名册上（{vocab.status_name(other_status)}），"
                 "请村里更正就读学校。")
    return text


def _not_in_census(conn: sqlite3.Connection, params: dict) -> list[Finding]:
    """Children on a local roll whom no latest census lists (外在本, or 户籍 moved)."""
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, c.in_census, v.name AS village, r.school,
               r.status AS roll_status
          FROM temp.rc_roll r
         CROSS JOIN children c ON c.id = r.child_id
          LEFT JOIN units v ON v.id = c.village_id
         WHERE r.school IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM temp.rc_census cs WHERE cs.child_id = r.child_id)
           AND NOT EXISTS (SELECT 1 FROM temp.rc_conflicted x
                            WHERE x.child_id = r.child_id AND x.kind = 'census')
           AND {_YOUNG}
    """, params).fetchall()
    return [Finding("not_in_census", r["id_number"], r["name"], r["village"] or "", r["school"],
                    None, r["roll_status"], _not_in_census_detail(r["village"], r["in_census"]))
            for r in rows]


def _not_in_census_detail(village: str | None, was_in_census: int) -> str:
    """外在本 or a 户籍 that left: information for the village, not an error."""
    if was_in_census:
        return (f"以前在{village or '村'}的户籍花名册上，最新花名册中没有：请村里核实户籍是否迁出"
                "（迁出的请报送变动），仅供核对。")
    return (f"在本镇学籍上，但不在任何村的户籍花名册中：外地户籍在本镇就读（外在本）的仅供核对；"
            f"户籍在本镇的，请{village or '村里'}补入花名册。")


def _identity_mismatch(conn: sqlite3.Connection, params: dict) -> list[Finding]:
    """Rejected rows of the latest sheets whose name or birth date disagrees with the ID."""
    rows = conn.execute("""
        SELECT e.code, e.row, e.column_name, e.value, e.message, b.kind,
               u.name AS unit, c.id_number, c.name, c.school, cv.name AS child_village
          FROM import_errors e
          JOIN temp.rc_latest b ON b.id = e.batch_id
          LEFT JOIN units u ON u.id = b.unit_id
          LEFT JOIN children c ON c.id = e.child_id
          LEFT JOIN units cv ON cv.id = c.village_id
         WHERE e.code IN ('name_conflict', 'birth_mismatch') AND e.resolved_at IS NULL
         ORDER BY e.batch_id, e.row
    """, params).fetchall()
    return [_identity_finding(r) for r in rows]


def _identity_finding(r: sqlite3.Row) -> Finding:
    """One rejected row: the stored child when known, else the masked ID the error kept."""
    is_census = r["kind"] == "census"
    village = (r["unit"] if is_census else r["child_village"]) or ""
    school = (r["school"] if is_census else r["unit"]) or ""
    sheet = "户籍花名册" if is_census else "学籍花名册"
    if r["id_number"]:  # the row's ID is stored under another name
        detail = (f"{sheet}第 {r['row']} 行写作「{r['value']}」，与已登记的「{r['name']}」不同："
                  "请村里和学校对照户口簿核实；若已登记的姓名有误，用 kcbx children set 改正。")
        return Finding("identity_mismatch", r["id_number"], r["name"], village, school,
                       None, None, detail)
    id_number = r["value"] if r["code"] == "name_conflict" else ""
    detail = f"{sheet}第 {r['row']} 行（{r['column_name']}：{r['value']}）：{r['message']}"
    return Finding("identity_mismatch", id_number, "", village, school, None, None, detail)


def _status_mismatch(conn: sqlite3.Connection, params: dict) -> list[Finding]:
    """Census and roll disagreeing on a child's status, unless a later event settled it."""
    rows = conn.execute(f"""
        SELECT c.id_number, c.name, v.name AS village, r.school,
               cs.status AS census_status, cs.date AS census_date,
               r.status AS roll_status, r.date AS roll_date, {_STATUS_D} AS status
          FROM temp.rc_roll r
         CROSS JOIN temp.rc_census cs ON cs.child_id = r.child_id
         CROSS JOIN children c ON c.id = cs.child_id
          LEFT JOIN units v ON v.id = COALESCE(cs.unit_id, c.village_id)
         WHERE r.school IS NOT NULL AND cs.status <> r.status AND {_YOUNG} AND {_IN_RECORDS}
           AND NOT EXISTS (SELECT 1 FROM status_events e
                            WHERE e.child_id = cs.child_id AND e.kind IN ('change', 'manual')
                              AND e.date >= MAX(cs.date, r.date) AND e.date <= :as_of)
    """, params).fetchall()
    return [Finding("status_mismatch", r["id_number"], r["name"], r["village"] or "", r["school"],
                    r["census_status"], r["roll_status"], _status_detail(r)) for r in rows]


def _status_detail(r: sqlite3.Row) -> str:
    """Both statements with their dates, what the figures use now, and how to settle it."""
    return (f"户籍花名册（{r['census_date']}）为「{vocab.status_name(r['census_status'])}」，"
            f"学籍花名册（{r['roll_date']}）为「{vocab.status_name(r['roll_status'])}」，"
            f"目前按「{vocab.status_name(r['status'])}」统计：请村里和学校核实，"
            "再用 kcbx status set 确认实际状态。")


_FINDERS: dict[str, Callable[[sqlite3.Connection, dict], list[Finding]]] = {
    "not_on_roll": _not_on_roll, "missing_from_roll": _missing_from_roll,
    "not_in_census": _not_in_census, "identity_mismatch": _identity_mismatch,
    "status_mismatch": _status_mismatch,
}
