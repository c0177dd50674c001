"""`kcbx children list` (filters in SQL, stable JSON) and `kcbx children set` (name conflicts)."""

import json
import sqlite3
from datetime import date

import pytest

import town as world
from kcbx import children
from tests.sheets import census, census_row, make_id

AS_OF = "2025-03-01"


@pytest.fixture
def town(conn):
    """Four children of two villages at 后柳小学; 赵强 dropped out on 2025-02-25."""
    school = world.school(conn, "后柳小学", "primary")
    zhongba, yonghong = world.village(conn, "中坝村"), world.village(conn, "永红村")
    kids = {
        "王乐嘉": world.child(conn, "王乐嘉", "2014-05-01", school_name="后柳小学",
                             village_id=zhongba, grade=5, class_no=2, left_behind=1,
                             village_group=3, guardian_name="王平",
                             guardian_phone="13812345678"),
        "罗慧": world.child(conn, "罗慧", "2013-03-03", school_name="后柳小学", village_id=zhongba,
                           grade=6, class_no=1, village_group=1),
        "赵强": world.child(conn, "赵强", "2014-07-07", school_name="后柳小学",
                           village_id=yonghong, grade=5, class_no=1),
        "李红": world.child(conn, "李红", "2014-08-08", school_name="西安市第一小学",
                           status="away", village_id=yonghong, grade=5),
    }
    world.event(conn, kids["赵强"], "2025-02-25", "dropout", prev="enrolled", school="后柳小学")
    world.flag(conn, kids["罗慧"], "struggling")
    world.flag(conn, kids["王乐嘉"], "hardship", cleared=True)
    teacher = world.teacher(conn, school, "徐云")
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                 "VALUES (?, ?, '2025-02-01', 'auto')", (kids["王乐嘉"], teacher))
    return kids


def names(run, *args):
    result = run("children", "list", "--as-of", AS_OF, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return [r["name"] for r in json.loads(result.stdout)]


def test_json_rows_have_the_documented_keys_and_mask_id_and_phone(town, run):
    rows = json.loads(run("children", "list", "--as-of", AS_OF, "--format", "json").stdout)
    assert [r["name"] for r in rows] == ["罗慧", "王乐嘉", "李红", "赵强"]  # by village, 组, name
    assert all(list(r) == list(children.LIST_KEYS) for r in rows)
    wang = rows[1]
    assert wang["id_number"].count("*") == 8 and wang["guardian_phone"] == "138****5678"
    assert {k: wang[k] for k in ("gender", "birth_date", "village", "group_no", "school", "grade",
                                 "class_no", "status", "status_name", "since", "groups", "flags",
                                 "teacher_name", "guardian_name")} == {
        "gender": "M", "birth_date": "2014-05-01", "village": "中坝村", "group_no": 3,
        "school": "后柳小学", "grade": 5, "class_no": 2, "status": "enrolled",
        "status_name": "在校", "since": "2025-02-20", "groups": ["left_behind"], "flags": [],
        "teacher_name": "徐云", "guardian_name": "王平"}
    assert rows[0]["flags"] == ["struggling"] and rows[0]["groups"] == ["struggling"]
    unmasked = json.loads(run("children", "list", "--as-of", AS_OF, "--format", "json",
                              "--unmask").stdout)[1]
    assert unmasked["guardian_phone"] == "13812345678" and "*" not in unmasked["id_number"]


@pytest.mark.parametrize("args, expected", [
    (("--village", "永红村"), ["李红", "赵强"]),
    (("--school", "后柳小学"), ["罗慧", "王乐嘉", "赵强"]),
    (("--school", "西安市第一小学"), ["李红"]),
    (("--grade", "五年级"), ["王乐嘉", "李红", "赵强"]),
    (("--status", "辍学"), ["赵强"]),
    (("--status", "在校", "--status", "外出就读"), ["罗慧", "王乐嘉", "李红"]),
    (("--flag", "学困生"), ["罗慧"]),
    (("--flag", "家困生"), []),                        # cleared: not held on D
    (("--group", "留守儿童"), ["王乐嘉"]),
    (("--group", "失辍学", "--village", "永红村"), ["赵强"]),
    (("--grade", "5", "--status", "在校"), ["王乐嘉"]),
])
def test_filters(town, run, args, expected):
    assert names(run, *args) == expected


def test_status_is_read_on_the_as_of_date(town, run):
    assert names(run, "--status", "辍学") == ["赵强"]
    assert run("children", "list", "--as-of", "2025-02-24", "--status", "dropout",
               "--format", "json").stdout.strip() == "[]"


@pytest.mark.parametrize("args, message", [
    (("--village", "无此村"), "没有名为「无此村」的村(社区)"),
    (("--school", "无此校"), "没有孩子在「无此校」就读"),
    (("--status", "放假"), "不认识的状态「放假」"),
    (("--grade", "高一"), "不认识的年级「高一」"),
    (("--group", "优等生"), "不认识的特殊群体「优等生」"),
])
def test_unknown_filter_words_are_errors(town, run, args, message):
    result = run("children", "list", *args)
    assert result.exit_code == 1 and message in result.stderr


def test_table_and_csv_speak_chinese(town, run):
    csv_text = run("children", "list", "--as-of", AS_OF, "--format", "csv").stdout
    lines = csv_text.splitlines()
    assert lines[0].split(",")[:3] == ["姓名", "身份证号", "性别"]
    assert "中坝村3组" in csv_text and "留守儿童" in csv_text and "138****5678" in csv_text
    table = run("children", "list", "--as-of", AS_OF, "--status", "辍学").stdout
    assert "孩子名单（1 人）" in table and "赵强" in table and "辍学" in table


# ---------------------------------------------------------------- children set

A = make_id(date(2015, 3, 4), 1)


@pytest.fixture
def conflict(run, tmp_path, db_path):
    """A stored as 王小明; a later census says 王晓明: a name_conflict left open."""
    first = census(tmp_path / "a.xlsx", [census_row(1, "王小明", A)])
    assert run("import", first).exit_code == 0
    later = census(tmp_path / "b.xlsx", [census_row(1, "王晓明", A)], day="2025年3月1日")
    assert run("import", later).exit_code == 3
    return later


def test_set_resolves_the_conflict_and_keeps_the_old_name(conflict, run, db_path):
    result = run("children", "set", A, "--name", "王 晓明", "--reason", "户口本核实")
    assert result.exit_code == 0, result.output
    assert "姓名由「王小明」改为「王晓明」" in result.stdout and "了结姓名冲突 1 处" in result.stdout
    assert A not in result.stdout
    conn = sqlite3.connect(db_path)
    child_id, name = conn.execute("SELECT id, name FROM children WHERE id_number = ?",
                                  (A,)).fetchone()
    assert name == "王晓明"
    assert conn.execute("SELECT field, old_value, new_value, reason FROM child_edits "
                        "WHERE child_id = ?", (child_id,)).fetchall() == [
        ("name", "王小明", "王晓明", "户口本核实")]
    assert conn.execute("SELECT count(*) FROM import_errors WHERE code = 'name_conflict' "
                        "AND resolved_at IS NULL").fetchone()[0] == 0
    edits = json.loads(run("children", "show", A, "--format", "json").stdout)["edits"]
    assert [(e["old_value"], e["new_value"]) for e in edits] == [("王小明", "王晓明")]
    assert run("import", conflict, "--force").exit_code == 0   # the sheet now agrees


def test_confirming_the_stored_name_closes_the_conflict_too(conflict, run, db_path):
    result = run("children", "set", A, "--name", "王小明", "--reason", "花名册填错，已退回")
    assert result.exit_code == 0 and "确认姓名「王小明」" in result.stdout
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM import_errors WHERE resolved_at IS NULL"
                        ).fetchone()[0] == 0
    assert conn.execute("SELECT old_value, new_value FROM child_edits").fetchall() == [
        ("王小明", "王小明")]


@pytest.mark.parametrize("name, reason, message", [
    ("=HYPERLINK(1)", "核实", "不能以 = + - @ 开头"),
    ("王晓明", "  ", "--reason"),
])
def test_set_refuses_bad_input_and_changes_nothing(conflict, run, db_path, name, reason,
                                                   message):
    result = run("children", "set", A, "--name", name, "--reason", reason)
    assert result.exit_code == 1 and message in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name FROM children").fetchall() == [("王小明",)]
    assert conn.execute("SELECT count(*) FROM child_edits").fetchone()[0] == 0
