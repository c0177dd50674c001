"""`kcbx rates` and `kcbx status set` through the CLI, then the database read directly."""

import json

import pytest
from world import World

from kcbx import settings
from kcbx.vocab import STATUSES


@pytest.fixture
def town(conn):
    """后柳镇 with two villages, a school, and children of every kind the rates care about."""
    settings.put(conn, "town", "后柳镇")
    w = World(conn)
    zhongba, yonghong = w.unit("village", "中坝村"), w.unit("village", "永红村")
    w.unit("school", "后柳中学")
    w.snap(w.child(village=zhongba, name="陈萱诗", student_no="G610922201304044929"),
           "2024-09-01", "enrolled", school="后柳中学")
    dropout = w.child(village=zhongba, name="刘文")
    w.snap(dropout, "2024-09-01", "enrolled", school="后柳中学")
    w.change(dropout, "2024-10-15", "enrolled", "dropout", "后柳中学", "后柳中学")
    w.snap(w.child(village=yonghong, name="刘文"), "2024-09-01", "enrolled")
    w.snap(w.child(village=yonghong, name="王诚涛", disabled=True), "2025-02-20", "never_enrolled")
    w.settle()
    return w


def rates_json(run, *args):
    result = run("rates", "--as-of", "2025-03-01", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_shape_is_the_pinned_one(run, town):
    data = rates_json(run)
    assert list(data) == ["as_of", "from", "groups", "exceptions", "pending_rejected"]
    assert (data["as_of"], data["from"], data["pending_rejected"]) == (
        "2025-03-01", "2024-09-01", 0)
    [group] = data["groups"]
    assert list(group) == ["by", "key", "enrollment", "disabled_enrollment", "retention",
                           "dropouts", "returned", "counts"]
    assert (group["by"], group["key"]) == ("town", "后柳镇")
    assert group["enrollment"] == {"num": 2, "den": 4, "rate": 0.5}
    assert group["disabled_enrollment"] == {"num": 0, "den": 1, "rate": 0.0}
    assert group["retention"] == {"num": 2, "den": 3, "rate": 0.6667}
    assert list(group["counts"]) == list(STATUSES)
    assert (group["dropouts"], group["returned"]) == (1, 0)
    assert [list(e) for e in data["exceptions"]] == [
        ["id_number", "name", "status", "since", "village", "school", "teacher"]] * 2
    first = data["exceptions"][0]
    assert (first["name"], first["status"], first["since"], first["school"]) == (
        "刘文", "dropout", "2024-10-15", "后柳中学")
    assert "********" in first["id_number"]


def test_by_village_then_school(run, town):
    villages = rates_json(run, "--by", "village")["groups"]
    assert [(g["by"], g["key"]) for g in villages] == [
        ("town", "后柳镇"), ("village", "中坝村"), ("village", "永红村")]
    assert villages[1]["enrollment"]["den"] + villages[2]["enrollment"]["den"] == 4
    school = rates_json(run, "--by", "school")["groups"][1]
    assert (school["key"], school["enrollment"], school["disabled_enrollment"]) == (
        "后柳中学", None, None)
    assert school["retention"] == {"num": 1, "den": 2, "rate": 0.5}


def test_unmask_shows_full_ids(run, town):
    exceptions = rates_json(run, "--unmask")["exceptions"]
    assert all("*" not in e["id_number"] and len(e["id_number"]) == 18 for e in exceptions)


def test_table_shows_working_target_counts_and_exceptions(run, town):
    town.snap(town.child(name="周心倩"), "2025-04-01", "unknown")   # known only from later
    town.settle()
    result = run("rates", "--as-of", "2025-03-01", "--by", "grade")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("分子", "分母", "目标", "100%", "40.00%", "66.66%", "已完成义务教育",
                 "未入学、辍学、疑似辍学、去向不明名单（3 人）", "610922********",
                 "| 2025-02-20 |", "| 早于记录"):
        assert text in out, text
    assert "—" in out          # grades with nobody: empty denominators


def test_csv_has_one_row_per_group(run, town):
    result = run("rates", "--as-of", "2025-03-01", "--by", "village", "--format", "csv")
    assert result.exit_code == 0
    header, *rows = result.stdout.splitlines()
    assert header.startswith("分组,名称,入学率分子,入学率分母,入学率,")
    assert rows[0].startswith("全镇,后柳镇,2,4,50.00%,")
    assert len(rows) == 3


@pytest.mark.parametrize("typed", ["2025年3月1日", "2025.3.1", "2025/03/01", "２０２５-０３-０１"])
def test_chinese_date_forms(run, town, typed):
    result = run("rates", "--as-of", typed, "--format", "json")
    assert json.loads(result.stdout)["as_of"] == "2025-03-01"


@pytest.mark.parametrize("args, message", [
    (["--as-of", "2025-02-30"], "--as-of「2025-02-30」不是有效的日期"),
    (["--as-of", "三月一日"], "不是有效的日期"),
    (["--as-of", "2025-03-01", "--from", "2025-04-01"], "--from"),
])
def test_bad_dates_are_a_chinese_error(run, args, message):
    result = run("rates", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：") and message in result.stderr
    assert "Traceback" not in result.output


def test_pending_rejected_is_reported(run, town, conn):
    conn.execute("INSERT INTO import_batches (file_name, sha256, kind, sheet_date, date_source, "
                 "iso_week, rejected) VALUES ('census_中坝村.xlsx', 'x', 'census', '2025-02-20', "
                 "'title', '2025-W08', 1)")
    conn.execute("INSERT INTO import_errors (batch_id, row, code, message) "
                 "VALUES (1, 7, 'bad_checksum', '身份证号校验位错误')")
    assert rates_json(run)["pending_rejected"] == 1
    assert "最近的导入有 1 行被拒绝" in run("rates", "--as-of", "2025-03-01").stdout


# ---------------------------------------------------------------- status set

def manual_events(conn):
    return conn.execute("SELECT count(*) FROM status_events WHERE kind = 'manual'").fetchone()[0]


def last_event(conn):
    return conn.execute("SELECT c.name, e.date, e.status, e.prev_status, e.kind, e.reason, "
                        "e.school FROM status_events e JOIN children c ON c.id = e.child_id "
                        "ORDER BY e.id DESC LIMIT 1").fetchone()


def test_status_set_by_student_number_records_a_manual_event(run, town, conn):
    result = run("status", "set", "g610922201304044929", "辍学", "--date", "2025-01-10",
                 "--reason", "连续一个月未到校")
    assert result.exit_code == 0, result.output
    assert "陈萱诗" in result.stdout and "此前为在校" in result.stdout
    assert tuple(last_event(conn)) == ("陈萱诗", "2025-01-10", "dropout", "enrolled", "manual",
                                       "连续一个月未到校", "后柳中学")
    assert rates_json(run)["groups"][0]["dropouts"] == 2


def test_status_set_confirms_a_return_over_a_contradicting_snapshot(run, town, conn):
    id_number = conn.execute("SELECT id_number FROM children c JOIN units v ON v.id = c.village_id "
                             "WHERE c.name = '刘文' AND v.name = '中坝村'").fetchone()[0]
    result = run("status", "set", id_number.lower(), "在校", "--date", "2025-02-20",
                 "--reason", "家访核实已返校")
    assert result.exit_code == 0, result.output
    group = rates_json(run)["groups"][0]
    assert (group["dropouts"], group["returned"], group["retention"]["num"]) == (0, 1, 3)
    assert conn.execute("SELECT status, status_since FROM children WHERE id_number = ?",
                        (id_number,)).fetchone()[0] == "enrolled"


def test_status_set_by_name_needs_the_village_when_ambiguous(run, town, conn):
    result = run("status", "set", "刘文", "在校", "--date", "2025-02-20", "--reason", "返校")
    assert result.exit_code == 1
    assert "有 2 个孩子叫「刘文」" in result.stderr and "中坝村" in result.stderr
    assert "610922********" in result.stderr
    assert manual_events(conn) == 0
    result = run("status", "set", "刘文", "在校", "--village", "永红村", "--date", "2025-02-20",
                 "--reason", "返校")
    assert result.exit_code == 0, result.output
    assert last_event(conn)["prev_status"] == "enrolled"


@pytest.mark.parametrize("args, message", [
    (["没有这个人", "在校"], "找不到孩子「没有这个人」"),
    (["610922201304044920", "在校"], "找不到孩子「610922********4920」"),
    (["陈萱诗", "上学去了"], "不认识的状态「上学去了」"),
    (["陈萱诗", "在校", "--date", "2999-01-01"], "晚于今天"),
    (["陈萱诗", "在校", "--date", "昨天"], "不是有效的日期"),
])
def test_status_set_errors(run, town, conn, args, message):
    result = run("status", "set", *args, "--reason", "核实")
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：") and message in result.stderr
    assert manual_events(conn) == 0


def test_status_set_needs_a_reason(run, town):
    assert run("status", "set", "陈萱诗", "在校").exit_code == 2
    result = run("status", "set", "陈萱诗", "在校", "--reason", "  ")
    assert result.exit_code == 1 and "--reason" in result.stderr


def test_help_has_a_summary_and_an_example(run):
    for command in (["rates"], ["status", "set"]):
        result = run(*command, "--help")
        assert result.exit_code == 0
        assert "例：kcbx " + " ".join(command) in result.stdout
