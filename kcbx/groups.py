"""The special groups of SPEC §2 (教师包干): who needs a responsible teacher on a date.

The population on D: children of compulsory age on D whose status on D (the history rule
of `kcbx.history`) is either attending or taught at home by a local school — enrolled,
inclusive, home_taught or suspected, with the status's school a `units` school — or NOT
(dropout, never_enrolled, unknown). Children `away` or in a special school are their own
school's charge and stay out; so do children whose school is not a local one.

The population is every child in the store, not only the 户籍 census: a child on a local
school's roll who is registered elsewhere (随迁子女) is that school's charge all the same,
and SPEC §2 defines the population by school and status, not by residence. (On the sample
town every roster child is also in a census, so both readings give the same figures.)

Within it, a child belongs to every group it matches: 贫困家庭 (family type), 留守儿童,
残疾, the 动摇生/家困生/学困生 flags open on D (raised on or before D and not cleared by D,
so a past week's groups are that week's, whatever was flagged since), and 失辍学 (every
NOT child). The groups are one SQL query, so pairing, the flag rules and the reports all
read the same definition.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import date

from kcbx import dates, history, settings, vocab

# Family types that make a family poor (贫困家庭) and, for the flag rules, a 家困生.
POVERTY_FAMILY_TYPES = ("脱贫户", "监测户", "低保户", "特困供养", "孤儿", "事实无人抚养")

# code -> 中文, in the order of SPEC §2; every listing shows groups in this order.
GROUPS: dict[str, str] = {
    "poverty": "贫困家庭",
    "left_behind": "留守儿童",
    "disabled": "残疾",
    "wavering": "动摇生",
    "hardship": "家困生",
    "struggling": "学困生",
    "out_of_school": "失辍学",
}

# A flag counts on D when it was raised on or before D and not cleared by then.
_OPEN_ON_D = "raised_on <= :as_of AND (cleared_on IS NULL OR cleared_on > :as_of)"

# Statuses that put a child in the population when its school is a local one.
AT_LOCAL_SCHOOL = ("enrolled", "inclusive", "home_taught", "suspected")


def _sql_list(codes: tuple[str, ...]) -> str:
    return ", ".join(f"'{c}'" for c in codes)


def _poverty_expr(column: str) -> str:
    """True when the '、'-joined family types contain one of POVERTY_FAMILY_TYPES."""
    return "(" + " OR ".join(
        f"instr(COALESCE({column}, ''), '{word}') > 0" for word in POVERTY_FAMILY_TYPES) + ")"


def special_groups_sql(only: str | None = None) -> str:
    """One row per child of the population on :as_of, with a 0/1 column per group.

    Parameters: :as_of, :born_from, :born_to (see `sql_params`). Columns: child_id, status,
    school_id (the local school: the status's own, or for a NOT child the latest local
    school in its history, else NULL), one column per code of GROUPS, and in_group (1 when
    the child is in at least one group: the special-group children proper).

    `only` (SQL: a subquery or a parameter giving child ids) limits the rows to those
    children, for a caller that needs a few: the whole population reads every child.
    """
    not_statuses = _sql_list(vocab.NOT_STATUSES)
    group_columns = ",\n               ".join(f"{_group_expr(code)} AS {code}" for code in GROUPS)
    flags = ", ".join(f"max(flag = '{code}') AS {code}" for code in vocab.FLAGS)
    only_these = f"WHERE child_id IN ({only})" if only else ""
    # st is materialised so each child's status is computed once, not once per mention;
    # the population is then read in one pass over st, children and the open flags.
    return f"""
    WITH st AS MATERIALIZED (SELECT * FROM ({history.status_on_sql(':as_of')}) {only_these}),
    open_flags AS (
        SELECT child_id, {flags} FROM flags WHERE {_OPEN_ON_D} GROUP BY child_id
    ),
    pop AS (
        SELECT c.id AS child_id, st.status AS status,
               COALESCE(sc.id, CASE WHEN st.status IN ({not_statuses}) THEN (
                   SELECT u.id FROM status_events e
                     JOIN units u ON u.kind = 'school' AND u.name = e.school
                    WHERE e.child_id = c.id AND e.applied = 1 AND e.date <= :as_of
                    ORDER BY e.date DESC, {history.KIND_RANK.format(t='e.')} DESC, e.id DESC
                    LIMIT 1) END) AS school_id,
               {group_columns}
          FROM st CROSS JOIN children c ON c.id = st.child_id
          LEFT JOIN units sc ON sc.kind = 'school' AND sc.name = st.school
          LEFT JOIN open_flags fl ON fl.child_id = c.id
         WHERE c.birth_date BETWEEN :born_from AND :born_to
           AND ((st.status IN ({_sql_list(AT_LOCAL_SCHOOL)}) AND sc.id IS NOT NULL)
                OR st.status IN ({not_statuses}))
    )
    SELECT pop.*, ({' OR '.join(GROUPS)}) AS in_group FROM pop
    """


def candidates_sql(also: str = "1") -> str:
    """SQL: ids of the children of compulsory age on :as_of who may be in a special group
    and for whom `also` (a condition on children `c`) holds.

    A superset of the in_group children that reads no status: in a group by family type,
    留守 or disability, or holding an open flag, or with an event that may make it 失辍学
    (`history.is_alert`). For `special_groups_sql(only=...)` when a caller wants a few of
    the special children, such as those without a teacher.
    """
    attributes = " OR ".join(_group_expr(code) for code in ("left_behind", "disabled", "poverty"))
    return f"""
    SELECT c.id FROM children c
     WHERE c.birth_date BETWEEN :born_from AND :born_to
       AND ({attributes}
            OR c.id IN (SELECT child_id FROM flags WHERE {_OPEN_ON_D})
            OR c.id IN (SELECT e.child_id FROM status_events e WHERE {history.is_alert('e')}))
       AND ({also})
    """


def _group_expr(code: str) -> str:
    """The SQL test of one group over `c` (children), `st` (status) and `fl` (open flags)."""
    if code == "poverty":
        return _poverty_expr("c.family_type")
    if code in ("left_behind", "disabled"):
        return f"c.{code}"
    if code == "out_of_school":
        return f"(st.status IN ({_sql_list(vocab.NOT_STATUSES)}))"
    return f"COALESCE(fl.{code}, 0)"  # an open 动摇生/家困生/学困生 flag


def sql_params(conn: sqlite3.Connection, as_of: date) -> dict[str, str]:
    """The parameters of `special_groups_sql` for date `as_of` (the age window from dates.py)."""
    born_from, born_to = dates.compulsory_window(as_of, settings.get(conn, "cutoff"))
    return {"as_of": as_of.isoformat(), "born_from": born_from.isoformat(),
            "born_to": born_to.isoformat()}


@dataclass(frozen=True)
class SpecialChild:
    """A special-group child on a date, with what pairing and the 包干责任表 need."""

    child_id: int
    id_number: str
    name: str
    village_id: int | None
    village: str | None
    village_group: int | None
    school_id: int | None      # local school (for a NOT child: its last local school)
    school: str | None
    status: str
    grade: int | None
    class_no: int | None
    nominal_grade: int
    groups: tuple[str, ...]    # codes of GROUPS, in GROUPS order
    guardian_name: str | None
    guardian_phone: str | None

    @property
    def group_names(self) -> list[str]:
        """The groups in Chinese."""
        return group_names(self.groups)


@functools.cache
def group_codes(marks: tuple[int, ...]) -> tuple[str, ...]:
    """The codes whose 0/1 column is set, given the group columns in GROUPS order."""
    return tuple(code for code, mark in zip(GROUPS, marks) if mark)


def group_names(codes) -> list[str]:
    """Chinese names of group codes, in the order of GROUPS."""
    chosen = set(codes)
    return [name for code, name in GROUPS.items() if code in chosen]


def special_children(conn: sqlite3.Connection, as_of: date) -> list[SpecialChild]:
    """Every child in at least one special group on `as_of`, ordered by child id."""
    cutoff = settings.get(conn, "cutoff")
    # a town has a few thousand birth dates: compute each one's nominal grade once
    grade_of = functools.cache(
        lambda born: dates.nominal_grade(date.fromisoformat(born), as_of, cutoff))
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: this can be 100,000 rows
    rows = cursor.execute(f"""
        WITH g AS ({special_groups_sql()})
        SELECT g.child_id, c.id_number, c.name, c.village_id, v.name, c.village_group,
               g.school_id, s.name, g.status, c.grade, c.class_no, c.birth_date,
               c.guardian_name, c.guardian_phone, {', '.join(f'g.{code}' for code in GROUPS)}
          FROM g JOIN children c ON c.id = g.child_id
          LEFT JOIN units v ON v.id = c.village_id
          LEFT JOIN units s ON s.id = g.school_id
         WHERE g.in_group
         ORDER BY g.child_id""", sql_params(conn, as_of))
    return [SpecialChild(*r[:11], nominal_grade=grade_of(r[11]), groups=group_codes(r[14:]),
                         guardian_name=r[12], guardian_phone=r[13]) for r in rows]


def group_counts(conn: sqlite3.Connection, as_of: date) -> dict[str, int]:
    """{'population': N, 'any': N, <group code>: N …} on `as_of` (the report's figures)."""
    sums = ", ".join(f"COALESCE(SUM({code}), 0) AS {code}" for code in GROUPS)
    row = conn.execute(f"""
        WITH g AS ({special_groups_sql()})
        SELECT count(*) AS population, COALESCE(SUM(in_group), 0) AS "any", {sums} FROM g""",
        sql_params(conn, as_of)).fetchone()
    return dict(row)
