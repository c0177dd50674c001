"""Hand-built worlds for the groups and pairing tests: rows inserted with plain SQL.

Each helper inserts one row and returns its id, so a test reads as a short story of the
town it needs (a school, a village, a few children with their status events, teachers).
"""

from __future__ import annotations

import itertools
import sqlite3

from kcbx import history, idcard

_serial = itertools.count(1)


def id_number(birth: str, serial: int | None = None) -> str:
    """A valid ID number for a child born on `birth` (YYYY-MM-DD), unique per call."""
    n = next(_serial) if serial is None else serial
    first17 = "610922" + birth.replace("-", "") + f"{n % 1000:03d}"
    return first17 + idcard.check_char(first17)


def school(conn: sqlite3.Connection, name: str, level: str | None = None) -> int:
    return conn.execute("INSERT INTO units (kind, name, level) VALUES ('school', ?, ?)",
                        (name, level)).lastrowid


def village(conn: sqlite3.Connection, name: str, *, primary: int | None = None,
            middle: int | None = None) -> int:
    return conn.execute(
        "INSERT INTO units (kind, name, catchment_primary_id, catchment_middle_id) "
        "VALUES ('village', ?, ?, ?)", (name, primary, middle)).lastrowid


def child(conn: sqlite3.Connection, name: str, birth: str = "2013-05-01", *,
          status: str | None = "enrolled", school_name: str | None = None,
          on: str = "2025-02-20", village_id: int | None = None, grade: int | None = None,
          class_no: int | None = None, **fields) -> int:
    """A child with one census/roster snapshot (`status` at `school_name` on `on`)."""
    columns = {"id_number": id_number(birth), "name": name, "gender": "M",
               "birth_date": birth, "village_id": village_id, "school": school_name,
               "grade": grade, "class_no": class_no, "in_census": 1, **fields}
    marks = ", ".join("?" for _ in columns)
    child_id = conn.execute(f"INSERT INTO children ({', '.join(columns)}) VALUES ({marks})",
                            tuple(columns.values())).lastrowid
    if status is not None:
        event(conn, child_id, on, status, "snapshot", school=school_name)
    return child_id


def event(conn: sqlite3.Connection, child_id: int, on: str, status: str, kind: str = "change",
          *, prev: str | None = None, school: str | None = None) -> None:
    """A status event, then the history rule re-decides which snapshots apply."""
    conn.execute("INSERT INTO status_events (child_id, date, status, prev_status, kind, school) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (child_id, on, status, prev, kind, school))
    history.recompute_applied(conn, [child_id])


def teacher(conn: sqlite3.Connection, school_id: int, name: str, *, active: bool = True,
            head_grade: int | None = None, head_class_no: int | None = None,
            phone: str | None = None) -> int:
    return conn.execute(
        "INSERT INTO teachers (school_id, name, active, head_grade, head_class_no, phone) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (school_id, name, int(active), head_grade, head_class_no, phone)).lastrowid


def flag(conn: sqlite3.Connection, child_id: int, code: str, *, cleared: bool = False) -> None:
    conn.execute(
        "INSERT INTO flags (child_id, flag, reason, source, raised_on, cleared_on, cleared_by) "
        "VALUES (?, ?, '测试', 'manual', '2025-01-01', ?, ?)",
        (child_id, code, "2025-02-01" if cleared else None, "manual" if cleared else None))


def open_pairings(conn: sqlite3.Connection) -> dict[int, tuple[int, str]]:
    """{child_id: (teacher_id, source)} of the open pairings."""
    return {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT child_id, teacher_id, source FROM assignments WHERE end_date IS NULL")}
