"""`kcbx check` (督查): each kind of finding from a hand-built case, then the CLI's forms."""

from __future__ import annotations

import json
from datetime import date

import pytest
import town as world

from kcbx import history, settings
from kcbx.check import check, remark_claim

D = date(2025, 3, 20)


@pytest.fixture
def base(conn):
    """后柳镇: 后柳小学 (赵校长) and 中坝村 (张村长), both reporting this week."""
    settings.put(conn, "town", "后柳镇")
    school = world.school(conn, "后柳小学", "primary")
    village = world.village(conn, "中坝村")
    conn.execute("UPDATE units SET head_name = '赵校长', head_phone = '13900000003' "
                 "WHERE id = ?", (school,))
    conn.execute("UPDATE units SET head_name = '张村长', head_phone = '13900000001' "
                 "WHERE id = ?", (village,))
    for unit in (school, village):
        batch(conn, "changes", unit, "2025-03-18")
    return {"conn": conn, "school": school, "village": village}


def batch(conn, kind: str, unit_id: int | None, day: str, *, undone: bool = False) -> int:
    return conn.execute(
        "INSERT INTO import_batches (file_name, sha256, kind, sheet_date, date_source, unit_id, "
        "iso_week, undone_at) VALUES ('表.xlsx', 'x', ?, ?, 'as_of', ?, 'W', ?)",
        (kind, day, unit_id, "2025-03-19 10:00" if undone else None)).lastrowid


def kid(base, name: str, birth: str = "2014-05-01", status: str = "enrolled", **fields) -> int:
    """A child of 中坝村 at 后柳小学, known from a snapshot of 2025-02-20."""
    fields.setdefault("guardian_phone", "13800000000")
    return world.child(base["conn"], name, birth, status=status, school_name="后柳小学",
                       village_id=base["village"], **fields)


def change(conn, child: int, day: str, prev: str, status: str) -> None:
    world.event(conn, child, day, status, "change", prev=prev, school="后柳小学")


def pair(conn, child: int, teacher: int, start: str = "2025-03-01", end: str | None = None):
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, end_date, source) "
                 "VALUES (?, ?, ?, ?, 'manual')", (child, teacher, start, end))


def followup(conn, child: int, day: str, result: str = "继续劝返", by: str = "王芳") -> None:
    conn.execute("INSERT INTO followups (child_id, date, by_name, by_school, method, result) "
                 "VALUES (?, ?, ?, '后柳小学', '家访', ?)", (child, day, by, result))


def found(conn, kind: str, as_of: date = D) -> list[dict]:
    return [f.to_dict(unmask=True) for f in check(conn, as_of) if f.kind == kind]


def names(conn, kind: str, as_of: date = D) -> list[str | None]:
    return [f["child"] or f["unit"] for f in found(conn, kind, as_of)]


def test_special_group_child_without_a_teacher_is_the_schools(base):
    conn = base["conn"]
    child = kid(base, "罗慧", left_behind=1)
    kid(base, "普通")                                  # in no group: needs no teacher
    [f] = found(conn, "no_teacher")
    assert (f["child"], f["unit"], f["role"], f["person"], f["phone"]) == (
        "罗慧", "后柳小学", "校长", "赵校长", "13900000003")
    assert "留守儿童" in f["detail"]
    teacher = world.teacher(conn, base["school"], "王芳")
    pair(conn, child, teacher, end="2025-03-10")       # ended before D: still none on D
    assert names(conn, "no_teacher") == ["罗慧"]
    pair(conn, child, teacher, start="2025-03-10")
    assert names(conn, "no_teacher") == []


def test_a_flag_cleared_after_the_date_still_needed_a_teacher_then(base):
    conn = base["conn"]
    child = kid(base, "罗慧")                            # in a group only by its flag
    conn.execute("INSERT INTO flags (child_id, flag, reason, source, raised_on, cleared_on, "
                 "cleared_by) VALUES (?, 'wavering', '厌学', 'manual', '2025-03-01', "
                 "'2025-03-25', 'manual')", (child,))
    assert names(conn, "no_teacher") == ["罗慧"]                     # D = 2025-03-20
    assert names(conn, "no_teacher", date(2025, 3, 26)) == []


def test_special_group_child_without_a_guardian_phone_is_the_villages(base):
    conn = base["conn"]
    kid(base, "罗慧", disabled=1, guardian_phone=None)
    kid(base, "王乐嘉", disabled=1)
    kid(base, "普通", guardian_phone=None)              # in no group
    [f] = found(conn, "no_guardian_phone")
    assert (f["child"], f["unit"], f["role"], f["person"]) == ("罗慧", "中坝村", "村长", "张村长")


def test_dropout_without_followup_within_seven_days(base):
    conn = base["conn"]
    child = kid(base, "刘文")
    change(conn, child, "2025-03-01", "enrolled", "dropout")
    assert names(conn, "dropout_no_followup", date(2025, 3, 8)) == []       # 7 days: in time
    [f] = found(conn, "dropout_no_followup", date(2025, 3, 9))
    assert (f["child"], f["role"], f["person"]) == ("刘文", "校长", "赵校长")
    assert "已 8 天没有劝返记录" in f["detail"]
    followup(conn, child, "2025-03-05")
    assert names(conn, "dropout_no_followup", date(2025, 3, 12)) == []
    teacher = world.teacher(conn, base["school"], "王芳", phone="13700000001")
    pair(conn, child, teacher)
    [f] = found(conn, "dropout_no_followup", date(2025, 3, 13))
    assert (f["unit"], f["role"], f["person"], f["phone"]) == (
        "后柳小学", "包干教师", "王芳", "13700000001")
    settings.put(conn, "followup_days", "10")
    assert names(conn, "dropout_no_followup", date(2025, 3, 13)) == []


def test_suspected_known_only_from_a_sheet_and_never_visited(base):
    conn = base["conn"]
    kid(base, "陈萱诗", status="suspected")
    [f] = found(conn, "dropout_no_followup", date(2025, 3, 1))
    assert "疑似辍学（自 2025-02-20）" in f["detail"]
    assert names(conn, "dropout_no_followup", date(2025, 2, 1)) == ["陈萱诗"]   # before records


def test_returned_child_needs_a_followup_every_fourteen_days_this_school_year(base):
    conn = base["conn"]
    child = kid(base, "王敏洁")
    change(conn, child, "2024-10-01", "enrolled", "dropout")
    change(conn, child, "2024-11-01", "dropout", "enrolled")
    assert names(conn, "returned_no_followup", date(2024, 11, 15)) == []
    assert names(conn, "returned_no_followup", date(2024, 11, 16)) == ["王敏洁"]
    followup(conn, child, "2024-11-10", "持续关注")
    assert names(conn, "returned_no_followup", date(2024, 11, 24)) == []
    [f] = found(conn, "returned_no_followup", date(2024, 11, 25))
    assert "2024-11-01 劝返复学" in f["detail"] and "2024-11-10" in f["detail"]
    assert (f["role"], f["person"]) == ("校长", "赵校长")
    pair(conn, child, world.teacher(conn, base["school"], "王芳", phone="13700000001"),
         start="2024-11-01")
    [f] = found(conn, "returned_no_followup", date(2024, 11, 25))
    assert (f["unit"], f["role"], f["person"], f["phone"]) == (
        "后柳小学", "包干教师", "王芳", "13700000001")
    assert names(conn, "returned_no_followup", date(2025, 9, 10)) == []   # a new school year
    change(conn, child, "2024-11-20", "enrolled", "suspected")
    assert names(conn, "returned_no_followup", date(2024, 11, 25)) == []  # a dropout case again


def test_teacher_over_the_load_cap(base):
    conn = base["conn"]
    settings.put(conn, "max_load", "2")
    busy = world.teacher(conn, base["school"], "王芳")
    calm = world.teacher(conn, base["school"], "沈明")
    for i in range(3):
        pair(conn, kid(base, f"孩子{i}", left_behind=1), busy)
    pair(conn, kid(base, "孩子9", left_behind=1), calm)
    [f] = found(conn, "teacher_overload")
    assert (f["unit"], f["person"]) == ("后柳小学", "赵校长")
    assert f["detail"].startswith("王芳 包干 3 人，超过上限 2 人")


def test_units_that_sent_no_sheet_this_week(base):
    conn = base["conn"]
    quiet = world.village(conn, "永红村")
    batch(conn, "census", quiet, "2025-03-10")         # last week: not this one
    batch(conn, "census", quiet, "2025-03-19", undone=True)
    [f] = found(conn, "not_reported")
    assert (f["unit"], f["role"], f["child"]) == ("永红村", "村长", None)
    assert "2025-03-14 至 2025-03-20" in f["detail"] and "2025-03-10" in f["detail"]
    batch(conn, "census", quiet, "2025-03-14")
    assert names(conn, "not_reported") == []
    assert names(conn, "not_reported", date(2025, 3, 21)) == ["永红村"]


def test_name_conflict_until_resolved(base):
    conn = base["conn"]
    child = kid(base, "王乐嘉")
    census = batch(conn, "census", base["village"], "2025-03-18")
    error = conn.execute(
        "INSERT INTO import_errors (batch_id, row, column_name, value, code, message, child_id) "
        "VALUES (?, 7, '姓名', '王乐佳', 'name_conflict', '不同', ?)", (census, child)).lastrowid
    [f] = found(conn, "name_conflict")
    assert (f["child"], f["unit"], f["person"]) == ("王乐嘉", "中坝村", "张村长")
    assert "第 7 行写作「王乐佳」" in f["detail"]
    assert names(conn, "name_conflict", date(2025, 3, 17)) == []         # sheet not yet sent
    conn.execute("UPDATE import_errors SET resolved_at = '2025-03-19' WHERE id = ?", (error,))
    assert names(conn, "name_conflict") == []


def test_snapshot_contradicting_a_change_awaits_status_set(base):
    conn = base["conn"]
    child = kid(base, "刘文")
    change(conn, child, "2025-03-01", "enrolled", "dropout")
    census = batch(conn, "census", base["village"], "2025-03-05")
    conn.execute("INSERT INTO status_events (child_id, date, status, school, kind, batch_id) "
                 "VALUES (?, '2025-03-05', 'enrolled', '后柳小学', 'snapshot', ?)", (child, census))
    history.recompute_applied(conn, [child])
    [f] = found(conn, "unapplied_snapshot")
    assert (f["child"], f["unit"]) == ("刘文", "中坝村")
    assert "写「在校」" in f["detail"] and "统计仍按「辍学」" in f["detail"]
    assert names(conn, "unapplied_snapshot", date(2025, 3, 4)) == []
    history.add_manual(conn, child, "dropout", date(2025, 3, 6), "家访核实仍辍学")
    assert names(conn, "unapplied_snapshot") == []
    assert names(conn, "unapplied_snapshot", date(2025, 3, 5)) == ["刘文"]


def test_followup_saying_returned_with_no_return_in_the_history(base):
    conn = base["conn"]
    child = kid(base, "胡博俊")
    change(conn, child, "2025-03-01", "enrolled", "dropout")
    followup(conn, child, "2025-03-05", "学生暂未返校，继续劝返")
    assert names(conn, "unmatched_return") == []
    followup(conn, child, "2025-03-08", "已返校")
    followup(conn, child, "2025-03-10", "已劝返复学", by="汪东波")
    [f] = found(conn, "unmatched_return")                 # one per child: its latest record
    assert (f["child"], f["unit"], f["role"], f["person"]) == (
        "胡博俊", "后柳小学", "劝返人", "汪东波")
    assert "「已劝返复学」" in f["detail"] and "状态为「辍学」" in f["detail"]
    assert "2025-02-08 至 2025-03-20 没有劝返复学" in f["detail"]
    change(conn, child, "2025-03-12", "dropout", "enrolled")   # the school's record, after the visits
    assert names(conn, "unmatched_return") == []


def test_a_return_claimed_for_a_child_recorded_at_school_asks_for_the_missing_records(base):
    conn = base["conn"]
    child = kid(base, "唐一直")                       # at school in every record
    followup(conn, child, "2025-03-08", "已劝返复学")
    [f] = found(conn, "unmatched_return")
    assert "状态为「在校」" in f["detail"] and "补记辍学和返校" in f["detail"]


def test_only_children_of_compulsory_age_have_unmatched_returns(base):
    conn = base["conn"]
    older = kid(base, "郑老", "2008-08-01")              # 16 on 2024-08-31
    change(conn, older, "2025-03-01", "enrolled", "dropout")
    followup(conn, older, "2025-03-10", "已返校")
    assert names(conn, "unmatched_return") == []


@pytest.mark.parametrize("remark, status, claim", [
    ("重度残疾，暂缓入学", "never_enrolled", "暂缓入学"),
    ("已休学", "enrolled", "休学"),
    ("疑似辍学", "dropout", "疑似辍学"),              # the longest word, not 辍学 inside it
    ("2024.10.14辍学；2024.11.15劝返复学", "enrolled", None),   # dated: history
    ("2024年春季学期辍学", "dropout", None),
    ("未辍学，学习正常", "enrolled", None),             # negated, and 正常 is too common
    ("送教上门", "home_taught", None),
    ("思想动摇", "enrolled", None),
])
def test_remark_claims(remark, status, claim):
    assert remark_claim(remark, status) == claim


def test_remark_naming_another_status_in_the_latest_sheet(base):
    conn = base["conn"]
    child = kid(base, "曹甜紫", status=None, remarks="重度残疾，暂缓入学")
    kid(base, "赵磊", remarks="2024.10.14辍学；2024.11.15劝返复学")
    old = batch(conn, "census", base["village"], "2025-02-01")
    new = batch(conn, "census", base["village"], "2025-03-18")
    for day, batch_id, reason in (("2025-02-01", old, "已休学"),
                                  ("2025-03-18", new, "重度残疾，暂缓入学")):
        conn.execute("INSERT INTO status_events (child_id, date, status, kind, batch_id, reason) "
                     "VALUES (?, ?, 'never_enrolled', 'snapshot', ?, ?)",
                     (child, day, batch_id, reason))
    history.recompute_applied(conn, [child])
    [f] = found(conn, "remark_status")
    assert (f["child"], f["unit"]) == ("曹甜紫", "中坝村")
    assert "状态为「未入学」" in f["detail"] and "（暂缓入学）" in f["detail"]


def test_over_age_by_two_grades_or_more(base):
    conn = base["conn"]
    kid(base, "留级生", "2013-05-01", grade=3)       # nominal grade 6 (11 on 2024-08-31)
    kid(base, "晚一年", "2014-05-01", grade=4)       # nominal 5: one behind
    kid(base, "辍学生", "2013-05-01", status="dropout", grade=3)   # not at school
    [f] = found(conn, "over_age")
    assert (f["child"], f["unit"], f["person"]) == ("留级生", "后柳小学", "赵校长")
    assert "读3年级，按年龄应读6年级（低 3 级）" in f["detail"]


def test_open_reconcile_findings_for_the_unit_to_ask(base):
    conn = base["conn"]
    child = kid(base, "肖铭", "2016-05-01", status=None)
    census = batch(conn, "census", base["village"], "2025-03-18")
    conn.execute("INSERT INTO status_events (child_id, date, status, kind, batch_id) "
                 "VALUES (?, '2025-03-18', 'never_enrolled', 'snapshot', ?)", (child, census))
    history.recompute_applied(conn, [child])
    [f] = found(conn, "reconcile_not_on_roll")
    assert (f["child"], f["unit"], f["person"]) == ("肖铭", "中坝村", "张村长")
    assert f["kind_name"] == "人籍比对：有户籍无学籍"


def test_json_is_masked_unless_unmask(base, run):
    conn = base["conn"]
    child = kid(base, "刘文")
    change(conn, child, "2025-03-01", "enrolled", "dropout")
    result = run("check", "--as-of", "2025-03-20", "--format", "json")
    assert result.exit_code == 0, result.output
    [f] = [f for f in json.loads(result.stdout) if f["kind"] == "dropout_no_followup"]
    assert list(f) == ["kind", "kind_name", "unit", "role", "person", "phone", "child",
                       "id_number", "detail"]
    assert f["phone"] == "139****0003"
    assert f["id_number"].startswith("610922") and "********" in f["id_number"]
    full = json.loads(run("check", "--as-of", "2025-03-20", "--format", "json",
                          "--unmask").stdout)
    assert {g["phone"] for g in full} == {"13900000003"}
    assert all(len(g["id_number"]) == 18 for g in full if g["id_number"])


def test_table_summary_and_exit_codes(base, run):
    result = run("check", "--as-of", "2025-03-20", "--fail-on-alert")
    assert result.exit_code == 0, result.output
    assert "督查：未发现问题。" in result.stdout
    change(base["conn"], kid(base, "刘文"), "2025-03-01", "enrolled", "dropout")
    result = run("check", "--as-of", "2025-03-20", "--fail-on-alert")
    assert result.exit_code == 4
    assert "共 2 项：特殊群体儿童未落实包干教师 1，辍学、疑似辍学学生超期未劝返 1。" in result.stdout
    assert "校长 赵校长" in result.stdout and "139****0003" in result.stdout
