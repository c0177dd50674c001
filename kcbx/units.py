"""Villages and local schools: heads, phones, and each village's catchment schools.

A village's catchment primary (grades 1-6) and middle (7-9) school default to the local
school that most of the village's enrolled children of that level attend (SPEC §2);
`kcbx units set` overrides either. Pairing uses them for dropouts with no local school.
"""

from __future__ import annotations

import sqlite3

from kcbx.db import transaction
from kcbx.errors import Ambiguous, InvalidValue, NotFound

LEVEL_NAMES = {"primary": "小学", "middle": "初中", "nine_year": "九年一贯制"}


def derived_catchments(conn: sqlite3.Connection) -> dict[int, dict[str, int]]:
    """{village_id: {'primary': school_id, 'middle': school_id}} from where children study."""
    rows = conn.execute("""
        SELECT c.village_id, CASE WHEN c.grade <= 6 THEN 'primary' ELSE 'middle' END AS level,
               s.id AS school_id, count(*) AS n
          FROM children c JOIN units s ON s.kind = 'school' AND s.name = c.school
         WHERE c.village_id IS NOT NULL AND c.grade IS NOT NULL
           AND c.status IN ('enrolled', 'inclusive')
         GROUP BY 1, 2, 3
         ORDER BY 1, 2, n DESC, s.name""")
    result: dict[int, dict[str, int]] = {}
    for r in rows:
        result.setdefault(r["village_id"], {}).setdefault(r["level"], r["school_id"])
    return result


class Catchments:
    """Each village's catchment schools: the override, else the derived one (SPEC §2).

    Deriving reads every child, so it is done once, when a village without an override
    is first asked about: callers look up many villages (a county's 400 pairs would
    otherwise be 400 passes over a million children).
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.overrides = {r[0]: {"primary": r[1], "middle": r[2]} for r in conn.execute(
            "SELECT id, catchment_primary_id, catchment_middle_id FROM units "
            "WHERE kind = 'village'")}
        self.derived: dict[int, dict[str, int]] | None = None

    def school_id(self, village_id: int, level: str) -> int | None:
        """The village's catchment school for 'primary' or 'middle', or None."""
        chosen = self.overrides.get(village_id, {}).get(level)
        if chosen:
            return chosen
        if self.derived is None:
            self.derived = derived_catchments(self.conn)
        return self.derived.get(village_id, {}).get(level)


def list_units(conn: sqlite3.Connection) -> list[dict]:
    """Every unit with its head, phone, level and (villages) catchment schools."""
    names = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM units")}
    derived = derived_catchments(conn)
    out = []
    for u in conn.execute("SELECT * FROM units ORDER BY kind DESC, name"):
        item = {"name": u["name"], "kind": u["kind"],
                "kind_name": "村(社区)" if u["kind"] == "village" else "学校",
                "level": LEVEL_NAMES.get(u["level"], ""), "head_name": u["head_name"],
                "head_phone": u["head_phone"], "catchment_primary": "", "catchment_middle": ""}
        if u["kind"] == "village":
            auto = derived.get(u["id"], {})
            for level in ("primary", "middle"):
                chosen = u[f"catchment_{level}_id"]
                if chosen:
                    item[f"catchment_{level}"] = names[chosen]
                elif level in auto:
                    item[f"catchment_{level}"] = names[auto[level]] + "（自动）"
        out.append(item)
    return out


def find_unit(conn: sqlite3.Connection, name: str, kind: str | None = None) -> sqlite3.Row:
    """A unit by name (and kind); unknown or ambiguous names are errors."""
    name = "".join(name.split())
    sql = "SELECT * FROM units WHERE name = ?" + (" AND kind = ?" if kind else "")
    rows = conn.execute(sql, (name, kind) if kind else (name,)).fetchall()
    if not rows:
        what = {"village": "村(社区)", "school": "学校"}.get(kind or "", "单位")
        raise NotFound(f"没有名为「{name}」的{what}。用 kcbx units list 查看所有单位。")
    if len(rows) > 1:
        raise Ambiguous(f"「{name}」既是村(社区)又是学校，请写清楚。")
    return rows[0]


def set_unit(conn: sqlite3.Connection, name: str, *, head: str | None = None,
             phone: str | None = None, catchment_primary: str | None = None,
             catchment_middle: str | None = None) -> dict:
    """Change a unit's head, phone or (villages) catchment schools."""
    unit = find_unit(conn, name)
    changes: dict[str, object] = {}
    if head is not None:
        changes["head_name"] = "".join(head.split())
    if phone is not None:
        changes["head_phone"] = "".join(phone.split())
    for level, school in (("primary", catchment_primary), ("middle", catchment_middle)):
        if school is None:
            continue
        if unit["kind"] != "village":
            raise InvalidValue(f"「{unit['name']}」是学校，只有村(社区)才有对口学校。")
        changes[f"catchment_{level}_id"] = find_unit(conn, school, "school")["id"]
    if changes:
        with transaction(conn):
            sets = ", ".join(f"{k} = ?" for k in changes)
            conn.execute(f"UPDATE units SET {sets} WHERE id = ?", (*changes.values(), unit["id"]))
    return next(u for u in list_units(conn) if u["name"] == unit["name"]
                and u["kind"] == unit["kind"])
