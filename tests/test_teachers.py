"""Teachers: 学校/姓名 lookup, load, phone and post changes."""

import json
from datetime import date

import pytest

import town as world
from kcbx import teachers
from kcbx.errors import Ambiguous, NotFound


@pytest.fixture
def staff(conn):
    """Two schools; 王芳 teaches at both, 吕梅 only at the middle school."""
    primary = world.school(conn, "后柳小学", "primary")
    middle = world.school(conn, "后柳中学", "middle")
    ids = {"小学王芳": world.teacher(conn, primary, "王芳", phone="13900000001"),
           "中学王芳": world.teacher(conn, middle, "王芳"),
           "吕梅": world.teacher(conn, middle, "吕梅", head_grade=9, head_class_no=1)}
    kid = world.child(conn, "罗慧", "2011-04-07", school_name="后柳中学", left_behind=1)
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                 "VALUES (?, ?, '2025-03-01', 'auto')", (kid, ids["吕梅"]))
    return ids


def test_resolve_by_school_and_name_or_unique_name(conn, staff):
    assert teachers.resolve_teacher(conn, "后柳小学/王芳")["id"] == staff["小学王芳"]
    assert teachers.resolve_teacher(conn, "后柳中学／王芳")["id"] == staff["中学王芳"]  # full width
    assert teachers.resolve_teacher(conn, " 吕 梅 ")["id"] == staff["吕梅"]


def test_ambiguous_and_unknown_names(conn, staff):
    with pytest.raises(Ambiguous, match="后柳中学/王芳、后柳小学/王芳"):
        teachers.resolve_teacher(conn, "王芳")
    with pytest.raises(NotFound, match="teachers list"):
        teachers.resolve_teacher(conn, "后柳小学/吕梅")


def test_list_shows_load(conn, staff, run):
    rows = json.loads(run("teachers", "list", "--format", "json").stdout)
    assert [(r["school"], r["name"], r["load"]) for r in rows] == [
        ("后柳中学", "吕梅", 1), ("后柳中学", "王芳", 0), ("后柳小学", "王芳", 0)]
    assert set(rows[0]) == {"school", "name", "phone", "subject", "head_class", "active",
                            "inactive_reason", "load"}
    only = json.loads(run("teachers", "list", "--school", "后柳小学", "--format", "json").stdout)
    assert [r["name"] for r in only] == ["王芳"]


def test_set_phone(conn, staff, run):
    result = run("teachers", "set", "后柳小学/王芳", "--phone", "139 0000 0099")
    assert result.exit_code == 0, result.output
    assert conn.execute("SELECT phone FROM teachers WHERE id = ?",
                        (staff["小学王芳"],)).fetchone()[0] == "13900000099"


def test_inactive_ends_pairings_in_the_same_step_and_active_restores(conn, staff):
    done = teachers.set_teacher(conn, "吕梅", today=date(2025, 3, 10), active=False)
    assert (done["active"], done["ended"], done["load"]) == (False, 1, 0)
    row = conn.execute("SELECT end_date, end_reason FROM assignments").fetchone()
    assert tuple(row) == ("2025-03-10", "教师已不在岗")
    assert conn.execute("SELECT inactive_reason FROM teachers WHERE id = ?",
                        (staff["吕梅"],)).fetchone()[0] == "手工设为不在岗"
    back = teachers.set_teacher(conn, "吕梅", today=date(2025, 3, 11), active=True)
    assert (back["active"], back["inactive_reason"], back["ended"]) == (True, None, 0)


def test_pairing_never_ends_before_it_began(conn, staff):
    teachers.set_teacher(conn, "吕梅", today=date(2025, 1, 1), active=False)
    assert conn.execute("SELECT end_date FROM assignments").fetchone()[0] == "2025-03-01"


def test_set_needs_something_to_change(staff, run):
    result = run("teachers", "set", "吕梅")
    assert result.exit_code == 1 and "--phone" in result.stderr


def test_ambiguous_teacher_on_the_command_line(staff, run):
    result = run("teachers", "set", "王芳", "--inactive")
    assert result.exit_code == 1
    assert "学校/姓名" in result.stderr.replace("\n", "")
