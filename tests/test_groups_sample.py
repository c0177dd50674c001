"""The special groups and pairing on the sample town, against its README's figures.

Needs the importer; until that lands beside this module the test is skipped. The flag
groups (动摇生, 家困生, 学困生) need `flag auto` first: tests/test_flags_sample.py checks them.
"""

import json
from datetime import date

import pytest

from kcbx import groups

pytest.importorskip("kcbx.importer")


def test_sample_groups_and_pairing(samples, run, conn):
    files = sorted(samples.glob("*.xlsx")) + sorted(samples.glob("*.csv"))
    assert run("import", *files).exit_code == 3          # 11 rows must be rejected
    counts = groups.group_counts(conn, date(2025, 3, 1))
    assert (counts["population"], counts["poverty"], counts["left_behind"], counts["disabled"],
            counts["out_of_school"]) == (2047, 332, 489, 35, 15)
    result = run("assign", "--as-of", "2025-03-01", "--format", "json")
    summary = json.loads(result.stdout)
    assert summary["paired"] == summary["special"] == counts["any"]
    assert summary["left_over"] == []
    assert all(school["max"] - school["min"] <= 1 for school in summary["schools"])
