"""Hand-built worlds for rate tests: villages, schools, children and their status events.

Rows go straight into the tables (no importer), then `settle()` runs the history rule,
so each test states exactly the history it is about.
"""

from __future__ import annotations

import itertools
from datetime import date

from kcbx import history
from kcbx.idcard import check_char


class World:
    """A tiny town in a test database."""

    def __init__(self, conn):
        self.conn = conn
        self._serial = itertools.count(1)

    def unit(self, kind: str, name: str) -> int:
        return self.conn.execute("INSERT INTO units (kind, name) VALUES (?, ?)",
                                 (kind, name)).lastrowid

    def child(self, born: str = "2014-05-01", *, village: int | None = None, census: bool = True,
              disabled: bool = False, name: str | None = None,
              student_no: str | None = None) -> int:
        """A child with a valid ID number for `born`; returns its id."""
        serial = next(self._serial)
        first17 = f"610922{born.replace('-', '')}{serial:03d}"
        return self.conn.execute(
            "INSERT INTO children (id_number, name, gender, birth_date, village_id, in_census, "
            "disabled, student_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (first17 + check_char(first17), name or f"孩子{serial}", "MF"[serial % 2], born,
             village, int(census), int(disabled), student_no),
        ).lastrowid

    def event(self, child: int, day: str, status: str, kind: str, prev: str | None = None,
              school: str | None = None, prev_school: str | None = None) -> int:
        return self.conn.execute(
            "INSERT INTO status_events (child_id, date, status, prev_status, school, prev_school, "
            "kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (child, day, status, prev, school, prev_school, kind),
        ).lastrowid

    def snap(self, child: int, day: str, status: str, school: str | None = None) -> int:
        return self.event(child, day, status, "snapshot", school=school)

    def change(self, child: int, day: str, prev: str | None, status: str,
               school: str | None = None, prev_school: str | None = None) -> int:
        return self.event(child, day, status, "change", prev, school, prev_school)

    def settle(self) -> None:
        """Apply the history rule to every child (as an import does for its children)."""
        ids = [r[0] for r in self.conn.execute("SELECT id FROM children")]
        history.recompute_applied(self.conn, ids)


def d(text: str) -> date:
    return date.fromisoformat(text)
