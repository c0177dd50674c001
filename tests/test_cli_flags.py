"""`kcbx flag …` through the command line: output shapes, errors and what lands in the database."""

import json

import openpyxl
import pytest

from town import child, school, village

FLAG_KEYS = {"id_number", "name", "village", "school", "flag", "flag_name", "reason", "source",
             "raised_on", "teacher_name"}


@pytest.fixture
def town(conn):
    """One local school and village: 甲 misses 12 days, 乙 is from a 低保户 family."""
    school(conn, "后柳中学", "middle")
    zb = village(conn, "中坝村")
    child(conn, "甲", school_name="后柳中学", village_id=zb, absences=12)
    child(conn, "乙", school_name="后柳中学", village_id=zb, family_type="低保户")
    return conn


def test_flag_auto_prints_counts_and_is_idempotent(run, town):
    result = run("flag", "auto", "--as-of", "2025-03-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout)
    assert first["counts"] == {"wavering": {"raised": 1, "cleared": 0},
                               "hardship": {"raised": 1, "cleared": 0},
                               "struggling": {"raised": 0, "cleared": 0}}
    assert [(c["change"], c["name"], c["reason"]) for c in first["changes"]] == [
        ("raised", "甲", "缺勤 12 天 ≥ 10 天"), ("raised", "乙", "家庭类型: 低保户")]
    again = run("flag", "auto", "--as-of", "2025-03-01")
    assert again.exit_code == 0
    assert "动摇生 新增 0、撤销 0" in again.stdout and "没有变动" in again.stdout


def test_flag_auto_dry_run_says_so_and_writes_nothing(run, town):
    result = run("flag", "auto", "--as-of", "2025-03-01", "--dry-run")
    assert result.exit_code == 0
    assert "预演" in result.stdout and "缺勤 12 天 ≥ 10 天" in result.stdout
    assert town.execute("SELECT count(*) FROM flags").fetchone()[0] == 0


def test_flag_list_json_has_exactly_the_documented_keys(run, town):
    run("flag", "auto", "--as-of", "2025-03-01")
    assert run("flag", "add", "甲", "学困生", "--reason", "期末两科不及格").exit_code == 0
    rows = json.loads(run("flag", "list", "--format", "json").stdout)
    assert all(set(row) == FLAG_KEYS for row in rows)
    assert [(r["name"], r["flag"], r["flag_name"], r["source"]) for r in rows] == [
        ("甲", "wavering", "动摇生", "rule:wavering"), ("乙", "hardship", "家困生", "rule:hardship"),
        ("甲", "struggling", "学困生", "manual")]
    assert rows[0]["village"] == "中坝村" and rows[0]["raised_on"] == "2025-03-01"
    assert "********" in rows[0]["id_number"]
    unmasked = json.loads(run("flag", "list", "--format", "json", "--unmask").stdout)
    assert "*" not in unmasked[0]["id_number"]
    only = json.loads(run("flag", "list", "--flag", "家困生", "--format", "json").stdout)
    assert [r["name"] for r in only] == ["乙"]


def test_flag_list_xlsx_has_a_sheet_per_flag(run, town, tmp_path):
    town.execute("INSERT INTO settings (key, value) VALUES ('town', '后柳镇')")
    run("flag", "auto", "--as-of", "2025-03-01")
    out = tmp_path / "分类登记册.xlsx"
    result = run("flag", "list", "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["动摇生", "家困生", "学困生"]
    sheet = wb["动摇生"]
    assert sheet["A1"].value == "后柳镇控辍保学分类登记册"
    assert [sheet.cell(4, col).value for col in (1, 5)] == ["甲", "缺勤 12 天 ≥ 10 天"]
    assert wb["学困生"].max_row == 3  # title, subtitle, header: nobody


def test_flag_add_and_clear_by_hand(run, town):
    assert run("flag", "add", "乙", "动摇生", "--reason", "有外出打工意向").exit_code == 0
    result = run("flag", "clear", "乙", "wavering", "--reason", "家访后已稳定")
    assert result.exit_code == 0, result.stderr
    assert "已撤销" in result.stdout
    row = town.execute("SELECT cleared_by, cleared_reason, hold_until FROM flags").fetchone()
    assert row["cleared_by"] == "manual" and row["cleared_reason"] == "家访后已稳定"
    assert row["hold_until"] is not None


def test_flag_rules_show_and_set(run, town):
    rules = json.loads(run("flag", "rules", "--format", "json").stdout)
    assert rules == [
        {"name": "absences", "value": 10, "default": 10, "description": "动摇生：缺勤天数阈值（≥）"},
        {"name": "score", "value": 40, "default": 40, "description": "学困生：成绩阈值（<）"}]
    result = run("flag", "rules", "set", "absences", "8")
    assert result.exit_code == 0 and "由 10 改为 8" in result.stdout
    assert town.execute("SELECT value FROM settings WHERE key = 'absences'").fetchone()[0] == "8"
    assert "动摇生" in run("flag", "rules").stdout


@pytest.mark.parametrize("args, message", [
    (("flag", "rules", "set", "days", "8"), "错误：没有名为「days」的阈值。可用：absences"),
    (("flag", "rules", "set", "score", "4.5"), "错误：阈值应为不小于 0 的整数（收到「4.5」）"),
    (("flag", "add", "丙", "动摇生", "--reason", "x"), "错误：找不到孩子「丙」"),
    (("flag", "add", "甲", "问题生", "--reason", "x"), "错误：不认识的标记「问题生」"),
    (("flag", "add", "甲", "动摇生", "--reason", " "), "错误：请用 --reason 写明理由"),
    (("flag", "clear", "甲", "家困生", "--reason", "x"), "错误：甲 目前没有家困生标记"),
    (("flag", "list", "--school", "无此校"), "错误：没有名为「无此校」的学校"),
    (("flag", "list", "--format", "xlsx"), "错误：xlsx 格式需要用 --out 指定输出文件"),
    (("flag", "auto", "--as-of", "2025-13-01"), "错误："),
])
def test_errors_exit_1_with_a_chinese_message(run, town, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


def test_flag_clear_without_reason_is_a_usage_error(run, town):
    assert run("flag", "clear", "甲", "动摇生").exit_code == 2
