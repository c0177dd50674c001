"""Case work on the shared sample township: follow-ups, a dropout's file, the two findings."""

import json
from collections import Counter
from datetime import date

import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from conftest import SAMPLES
from kcbx import db as kdb
from kcbx import followups, idcard, normalize
from kcbx.cli import app

AS_OF = date(2025, 3, 1)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    """Every sample file imported once, as a clerk would, into a database for this module."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples/houliu-2025 is not present in this clone")
    path = tmp_path_factory.mktemp("samples") / "kcbx.db"
    files = sorted(SAMPLES.glob("*.xlsx")) + sorted(SAMPLES.glob("*.csv"))
    assert CliRunner().invoke(app, ["--db", str(path), "import", *map(str, files)]).exit_code == 3
    return path


def cli(path, *args):
    result = CliRunner().invoke(app, ["--db", str(path), *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.stdout


def sheet_rows():
    """(ID, date, visitor, result) of every data row of followups.xlsx, read independently."""
    rows = CalamineWorkbook.from_path(SAMPLES / "followups.xlsx").get_sheet_by_index(0).to_python()
    header = rows[1]
    col = {name: header.index(name) for name in ("身份证号", "日期", "责任教师", "结果")}
    return [(idcard.normalize(r[col["身份证号"]]),
             normalize.parse_date(r[col["日期"]])[0].isoformat(),
             normalize.name(r[col["责任教师"]]), normalize.text(r[col["结果"]]))
            for r in rows[2:] if any(cell not in ("", None) for cell in r)]


def test_every_followup_of_the_sheet_is_stored_against_its_child(sample_db):
    expected = Counter(sheet_rows())
    assert sum(expected.values()) == 377
    conn = kdb.connect(sample_db)
    stored = Counter(tuple(r) for r in conn.execute(
        "SELECT c.id_number, f.date, f.by_name, f.result FROM followups f "
        "JOIN children c ON c.id = f.child_id"))
    assert stored == expected


def test_a_sample_dropouts_file(sample_db):
    conn = kdb.connect(sample_db)
    dropout = conn.execute(
        "SELECT id_number FROM children WHERE name = '刘文' AND status = 'dropout'").fetchone()[0]
    case = json.loads(cli(sample_db, "children", "show", dropout, "--as-of", AS_OF,
                          "--format", "json"))
    assert (case["child"]["status"], case["child"]["since"]) == ("dropout", "2025-02-18")
    assert [e["event_type"] for e in case["status_history"] if e["kind"] == "change"] == [
        "辍学", "劝返复学", "辍学"]
    assert [e["is_return"] for e in case["status_history"]].count(True) == 1
    assert len(case["followups"]) == sum(1 for row in sheet_rows() if row[0] == dropout)
    assert {g["code"] for g in case["groups"]} >= {"out_of_school"}
    head = case["chain"][2]
    assert (head["unit"], head["name"]) == ("后柳中学", "魏莲") and head["phone"]
    assert "# 控辍保学一人一案：刘文" in cli(sample_db, "children", "show", dropout,
                                          "--as-of", AS_OF, "--format", "md")


def test_the_sample_returns_all_have_their_event_and_want_a_followup(sample_db):
    conn = kdb.connect(sample_db)
    assert followups.unmatched_returns(conn, AS_OF) == []
    overdue = followups.returned_without_followup(conn, AS_OF)
    # 12 returns this year; 刘文 dropped out again and is a dropout case, not a returned one
    assert len(overdue) == 11 and "刘文" not in {o.name for o in overdue}
    assert all((AS_OF - (o.last_followup or o.returned_on)).days > 14 for o in overdue)


def test_children_list_of_the_sample_dropouts(sample_db):
    rows = json.loads(cli(sample_db, "children", "list", "--as-of", AS_OF, "--status", "辍学",
                          "--format", "json"))
    of_age = [r for r in rows if r["birth_date"] >= "2008-09-01"]
    assert (len(rows), len(of_age)) == (13, 12)      # README: 辍学 12, plus one aged 16
    assert all("out_of_school" in r["groups"] for r in of_age)
