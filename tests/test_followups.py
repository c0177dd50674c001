"""劝返/帮扶 follow-ups: `followup add`/`list`, the bulk import, and the two check findings."""

import json
from datetime import date, timedelta

import pytest

import town as world
from kcbx import followups, settings
from tests.sheets import FOLLOWUP_HEADERS, make_id, write_xlsx

TODAY = date.today()


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


@pytest.fixture
def case(conn):
    """王乐嘉 of 中坝村 at 后柳小学, a dropout since 2024-10-15; 徐云 teaches at two schools."""
    school = world.school(conn, "后柳小学", "primary")
    other = world.school(conn, "后柳中学", "middle")
    vid = world.village(conn, "中坝村")
    kid = world.child(conn, "王乐嘉", "2014-05-01", school_name="后柳小学", village_id=vid,
                      grade=5, class_no=2, on="2024-09-01")
    world.event(conn, kid, "2024-10-15", "dropout", prev="enrolled", school="后柳小学")
    teachers = {"here": world.teacher(conn, school, "徐云"),
                "there": world.teacher(conn, other, "徐云"),
                "middle": world.teacher(conn, other, "吕梅")}
    return {"conn": conn, "kid": kid, "teachers": teachers}


def stored(conn, kid):
    return conn.execute("SELECT date, by_name, by_school, teacher_id, method, purpose, content, "
                        "result, next_date, note FROM followups WHERE child_id = ?",
                        (kid,)).fetchall()


def status_rows(conn, kid):
    return (conn.execute("SELECT * FROM status_events WHERE child_id = ? ORDER BY id",
                         (kid,)).fetchall(),
            conn.execute("SELECT status, status_since FROM children WHERE id = ?",
                         (kid,)).fetchone())


def add(run, *args):
    return run("followup", "add", "王乐嘉", "--method", "家访", *args)


# ---------------------------------------------------------------- followup add


def test_add_stores_every_field_and_links_the_teacher_of_the_childs_school(case, run):
    result = add(run, "--by", "徐 云", "--result", "家长同意下周一返校", "--date", "2025-03-03",
                 "--next", "2025-03-10", "--content", "入户谈心", "--purpose", "劝返",
                 "--note", "带去资助政策")
    assert result.exit_code == 0, result.output
    assert "已记录：王乐嘉" in result.stdout and "后柳小学/徐云" in result.stdout
    assert [tuple(r) for r in stored(case["conn"], case["kid"])] == [
        ("2025-03-03", "徐云", "后柳小学", case["teachers"]["here"], "家访", "劝返", "入户谈心",
         "家长同意下周一返校", "2025-03-10", "带去资助政策")]


@pytest.mark.parametrize("by, school, teacher", [
    ("后柳中学/徐云", "后柳中学", "there"),   # 学校/姓名 picks the other school's 徐云
    ("吕梅", "后柳中学", "middle"),            # unique in the town, though not at the child's school
    ("村干部李四", None, None),                 # not a teacher: kept by name only
])
def test_by_links_a_teacher_only_when_it_names_exactly_one(case, run, by, school, teacher):
    assert add(run, "--by", by, "--result", "持续关注", "--date", "2025-03-03").exit_code == 0
    row = stored(case["conn"], case["kid"])[0]
    assert (row["by_school"], row["teacher_id"]) == (
        school, case["teachers"][teacher] if teacher else None)


def test_a_name_shared_by_two_schools_none_of_them_the_childs_stays_unlinked(case, run):
    conn = case["conn"]
    conn.execute("UPDATE children SET school = '外县小学' WHERE id = ?", (case["kid"],))
    conn.execute("UPDATE status_events SET school = '外县小学' WHERE child_id = ?", (case["kid"],))
    assert add(run, "--by", "徐云", "--result", "持续关注", "--date", "2025-03-03").exit_code == 0
    assert stored(conn, case["kid"])[0]["teacher_id"] is None


def test_a_followup_never_changes_a_status(case, run):
    before = status_rows(case["conn"], case["kid"])
    # dated today: the hint looks at this school year's follow-ups, whatever day it is
    result = add(run, "--by", "徐云", "--result", "已返校", "--date", days_ago(0))
    assert result.exit_code == 0, result.output
    assert status_rows(case["conn"], case["kid"]) == before
    assert "状态未改动" in result.stderr and "status set" in result.stderr


def test_no_hint_when_the_return_is_already_recorded(case, run):
    world.event(case["conn"], case["kid"], days_ago(3), "enrolled", prev="dropout",
                school="后柳小学")
    result = add(run, "--by", "徐云", "--result", "已返校", "--date", days_ago(0))
    assert result.exit_code == 0 and "状态未改动" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--method", "上门", "--by", "徐云"),
     "不认识的方式「上门」。可用：电话、家访、约谈、书面通知、送教上门、集中劝返"),
    (("--method", "家访", "--by", "徐云", "--date", (TODAY + timedelta(days=1)).isoformat()),
     "晚于今天"),
    (("--method", "家访", "--by", "徐云", "--date", "2025-03-03", "--next", "2025-03-01"),
     "早于本次日期"),
    (("--method", "家访", "--by", "后柳小学/无此人"), "没有找到教师"),
])
def test_bad_input_is_refused_and_nothing_stored(case, run, args, message):
    result = run("followup", "add", "王乐嘉", *args, "--result", "持续关注")
    assert result.exit_code == 1
    assert message in result.stderr.replace("\n", "")
    assert stored(case["conn"], case["kid"]) == []


def test_unknown_child_is_an_error(case, run):
    result = run("followup", "add", "无此人", "--method", "电话", "--by", "徐云",
                 "--result", "持续关注")
    assert result.exit_code == 1 and "找不到孩子「无此人」" in result.stderr


# ---------------------------------------------------------------- followup list


def test_list_in_date_order_with_stable_json_keys_masked(case, run, conn):
    world.child(conn, "罗慧", "2013-03-03", school_name="后柳小学")
    for day, who in (("2025-03-05", "王乐嘉"), ("2025-02-01", "王乐嘉"), ("2025-02-10", "罗慧")):
        run("followup", "add", who, "--method", "电话", "--by", "徐云", "--result", "持续关注",
            "--date", day)
    rows = json.loads(run("followup", "list", "--format", "json").stdout)
    assert [(r["date"], r["name"]) for r in rows] == [
        ("2025-02-01", "王乐嘉"), ("2025-02-10", "罗慧"), ("2025-03-05", "王乐嘉")]
    assert list(rows[0]) == list(followups.LIST_KEYS)
    full = conn.execute("SELECT id_number FROM children WHERE id = ?", (case["kid"],)).fetchone()[0]
    assert rows[0]["id_number"] == full[:6] + "********" + full[-4:]
    one = json.loads(run("followup", "list", "王乐嘉", "--since", "2025-02-02",
                         "--format", "json", "--unmask").stdout)
    assert [(r["date"], r["id_number"]) for r in one] == [("2025-03-05", full)]


def test_list_as_csv_and_xlsx(case, run, tmp_path):
    add(run, "--by", "徐云", "--result", "=不是公式", "--date", "2025-03-03")
    csv_text = run("followup", "list", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("日期,姓名,身份证号")
    assert "'=不是公式" in csv_text
    out = tmp_path / "记录.xlsx"
    assert run("followup", "list", "--format", "xlsx", "--out", out).exit_code == 0
    from openpyxl import load_workbook
    assert load_workbook(out).active["A4"].value == "2025-03-03"


# ---------------------------------------------------------------- bulk import


def test_import_stores_good_rows_and_rejects_unknown_children(case, run, tmp_path, conn):
    known = conn.execute("SELECT id_number FROM children WHERE id = ?",
                         (case["kid"],)).fetchone()[0]
    stranger = make_id(date(2012, 2, 2), 9)
    sheet = write_xlsx(tmp_path / "劝返记录.xlsx", FOLLOWUP_HEADERS, [
        [1, "王乐嘉", known, "中坝村", "后柳小学", "劝返", "2025.2.27", "徐云", "后柳小学", "家访",
         "谈心", "学生暂未返校，继续劝返"],
        [2, "陌生人", stranger, "中坝村", "后柳小学", "劝返", "2025-02-27", "徐云", "后柳小学", "电话",
         "", "持续关注"],
        [3, "王乐嘉", known, "中坝村", "后柳小学", "劝返", "某天", "徐云", "后柳小学", "电话", "", ""],
        [4, "王乐嘉", known, "中坝村", "后柳小学", "劝返", "2025-02-28", "", "后柳小学", "电话", "", ""],
    ], title="后柳镇控辍保学劝返及帮扶工作记录")
    result = run("import", sheet, "--format", "json")
    assert result.exit_code == 3
    batch = json.loads(result.stdout)["batches"][0]
    assert batch["kind"] == "followups" and batch["inserted"] == 1
    assert {e["row"]: e["code"] for e in batch["errors"]} == {
        4: "unknown_id", 5: "bad_date", 6: "missing_field"}
    assert stranger not in result.stdout
    rows = stored(conn, case["kid"])
    assert [(r["date"], r["teacher_id"], r["result"]) for r in rows] == [
        ("2025-02-27", case["teachers"]["here"], "学生暂未返校,继续劝返")]  # NFKC


# ---------------------------------------------------------------- unmatched returns


@pytest.mark.parametrize("result, returned", [
    ("已返校", True), ("学生已返校，在校正常上课", True), ("已劝返复学", True),
    ("已经返校", True), ("返校就读", True), ("劝返复学", True),
    ("学生暂未返校，继续劝返", False), ("未返校", False), ("家长同意下周返校", False),
    ("继续动员返校", False), ("已复学", False), ("持续关注", False), (None, False),
])
def test_which_results_say_the_child_is_back(result, returned):
    assert followups.says_returned(result) is returned


def _followup(conn, kid, day, result):
    conn.execute("INSERT INTO followups (child_id, date, by_name, method, result) "
                 "VALUES (?, ?, '徐云', '家访', ?)", (kid, day, result))


def test_unmatched_return_leaves_the_status_alone_and_is_a_finding(case):
    conn, kid = case["conn"], case["kid"]
    _followup(conn, kid, "2024-11-01", "已返校")
    _followup(conn, kid, "2024-11-02", "学生暂未返校，继续劝返")
    before = status_rows(conn, kid)
    found = followups.unmatched_returns(conn, date(2024, 11, 10))
    assert [(f.child_id, f.date, f.result, f.status) for f in found] == [
        (kid, date(2024, 11, 1), "已返校", "dropout")]
    assert found[0].as_json()["id_number"].count("*") == 8
    assert status_rows(conn, kid) == before


@pytest.mark.parametrize("returned_on, matched", [
    ("2024-10-01", True),    # 30 days before the follow-up: its return
    ("2024-09-30", True),    # earlier, and still at school on the day: a routine visit
    ("2024-11-08", True),    # recorded after the visit, before the reference date
    ("2024-11-11", False),   # recorded after the reference date: not yet
])
def test_a_return_event_matches_when_near_or_when_the_child_is_still_back(
        conn, returned_on, matched):
    kid = world.child(conn, "陈萱诗", "2013-05-01", status="dropout", school_name="后柳小学",
                      on="2024-09-01")
    world.event(conn, kid, returned_on, "enrolled", prev="dropout", school="后柳小学")
    _followup(conn, kid, "2024-10-31", "已劝返复学")
    assert (followups.unmatched_returns(conn, date(2024, 11, 10)) == []) is matched


def test_the_routine_visits_after_a_return_are_no_findings(conn):
    """A returned child is to be seen every few weeks, and the visit says 已返校 again."""
    kid = world.child(conn, "陈萱诗", "2013-05-01", status="dropout", school_name="后柳小学",
                      on="2024-09-01")
    world.event(conn, kid, "2024-09-20", "enrolled", prev="dropout", school="后柳小学")
    for day in ("2024-10-20", "2024-11-20", "2024-12-20"):
        _followup(conn, kid, day, "已返校，在校表现良好")
    assert followups.unmatched_returns(conn, date(2025, 1, 10)) == []


def test_back_again_after_leaving_again_needs_its_own_return(conn):
    kid = world.child(conn, "陈萱诗", "2013-05-01", status="dropout", school_name="后柳小学",
                      on="2024-09-01")
    world.event(conn, kid, "2024-09-20", "enrolled", prev="dropout", school="后柳小学")
    world.event(conn, kid, "2024-11-01", "dropout", prev="enrolled", school="后柳小学")
    _followup(conn, kid, "2024-12-20", "已劝返复学")
    [found] = followups.unmatched_returns(conn, date(2025, 1, 10))
    assert (found.date, found.status) == (date(2024, 12, 20), "dropout")


def test_a_child_the_store_never_had_out_of_school_is_a_finding(conn):
    """已劝返复学 about a child recorded at school all along: a dropout and its return are
    missing from the records (the year's 辍学 and 劝返复学 figures would be short)."""
    kid = world.child(conn, "陈萱诗", "2013-05-01", school_name="后柳小学", on="2024-09-01")
    _followup(conn, kid, "2024-10-31", "已劝返复学")
    [found] = followups.unmatched_returns(conn, date(2024, 11, 10))
    assert found.status == "enrolled"


def test_only_this_school_years_followups_are_findings(case):
    _followup(case["conn"], case["kid"], "2024-08-20", "已返校")
    assert followups.unmatched_returns(case["conn"], date(2024, 9, 10)) == []
    assert len(followups.unmatched_returns(case["conn"], date(2024, 8, 31))) == 1


# ---------------------------------------------------------------- returned, then followed up


@pytest.fixture
def returned(conn):
    """陈萱诗: dropout, returned on 2025-01-10, seen on 2025-02-01."""
    kid = world.child(conn, "陈萱诗", "2013-05-01", status="dropout", school_name="后柳小学",
                      on="2024-09-01")
    world.event(conn, kid, "2025-01-10", "enrolled", prev="dropout", school="后柳小学")
    _followup(conn, kid, "2025-02-01", "持续关注")
    return kid


@pytest.mark.parametrize("as_of, overdue", [("2025-02-15", False), ("2025-02-16", True)])
def test_returned_child_is_overdue_after_14_days_without_a_followup(conn, returned, as_of,
                                                                      overdue):
    found = followups.returned_without_followup(conn, date.fromisoformat(as_of))
    assert [f.child_id for f in found] == ([returned] if overdue else [])
    if overdue:
        f = found[0]
        assert (f.returned_on, f.last_followup, f.due) == (
            date(2025, 1, 10), date(2025, 2, 1), date(2025, 2, 15))


def test_the_clock_starts_at_the_return_and_the_setting_moves_the_edge(conn, returned):
    conn.execute("DELETE FROM followups")
    assert followups.returned_without_followup(conn, date(2025, 1, 24)) == []
    assert len(followups.returned_without_followup(conn, date(2025, 1, 25))) == 1
    settings.put(conn, "returned_followup_days", "20")
    assert followups.returned_without_followup(conn, date(2025, 1, 30)) == []
    assert len(followups.returned_without_followup(conn, date(2025, 1, 30), days=7)) == 1


@pytest.mark.parametrize("again", ["dropout", "suspected"])
def test_not_watched_once_out_again_or_in_another_school_year(conn, returned, again):
    world.event(conn, returned, "2025-02-20", again, prev="enrolled", school="后柳小学")
    assert followups.returned_without_followup(conn, date(2025, 3, 1)) == []
    later = world.child(conn, "罗慧", "2013-03-03", status="dropout", on="2024-03-01")
    world.event(conn, later, "2024-05-10", "enrolled", prev="dropout")
    assert followups.returned_without_followup(conn, date(2024, 6, 1))[0].child_id == later
    assert followups.returned_without_followup(conn, date(2024, 9, 20)) == []


def test_a_followup_before_the_return_does_not_count(conn, returned):
    conn.execute("UPDATE followups SET date = '2025-01-05'")
    found = followups.returned_without_followup(conn, date(2025, 1, 25))
    assert [(f.last_followup, f.due) for f in found] == [(None, date(2025, 1, 24))]
