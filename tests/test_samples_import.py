"""The shared sample township, imported as a clerk would: one call, every file."""

import json
import sqlite3
from collections import Counter
from datetime import date

import pytest

from kcbx import dates, history
from kcbx import db as kdb


@pytest.fixture
def imported(run, samples, db_path):
    files = sorted(samples.glob("*.xlsx")) + sorted(samples.glob("*.csv"))
    result = run("import", *files, "--format", "json")
    return result


def test_exactly_the_readme_rejections(imported):
    assert imported.exit_code == 3
    batches = json.loads(imported.stdout)["batches"]
    codes = Counter(e["code"] for b in batches for e in b["errors"])
    assert codes == {"bad_checksum": 3, "birth_mismatch": 2, "name_conflict": 2,
                     "bad_value": 1, "bad_length": 1, "scientific_notation": 2}
    kinds = Counter(b["kind"] for b in batches)
    assert kinds == {"census": 8, "roster": 8, "teachers": 1, "changes": 1, "followups": 1}
    assert all(b["sheet_date"] == "2025-02-20" for b in batches if b["kind"] in ("census", "roster"))


def test_status_counts_on_the_reference_date(imported, db_path):
    conn = kdb.connect(db_path)
    day = date(2025, 3, 1)
    status = history.status_on(conn, day)
    earliest, latest = dates.compulsory_window(day)
    counts = Counter(
        status[r["id"]][0] for r in conn.execute("SELECT id, birth_date FROM children WHERE in_census = 1")
        if earliest.isoformat() <= r["birth_date"] <= latest.isoformat() and r["id"] in status)
    assert counts == {"enrolled": 1999, "away": 619, "home_taught": 15, "special_school": 7,
                      "inclusive": 18, "dropout": 12, "never_enrolled": 3, "suspended": 2,
                      "deceased": 2, "moved_out": 8, "completed": 286}


def test_every_followup_is_stored_against_its_child(imported, db_path):
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM followups").fetchone()[0] == 377
    assert conn.execute("SELECT count(*) FROM followups WHERE teacher_id IS NULL").fetchone()[0] == 0


def test_reimporting_everything_is_a_noop(imported, run, samples, db_path):
    files = sorted(samples.glob("*.xlsx")) + sorted(samples.glob("*.csv"))
    again = run("import", *files, "--format", "json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["batches"] == []
