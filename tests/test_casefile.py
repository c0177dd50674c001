"""`kcbx children show`: the 一人一案 file of a child with a full history (the JSON form)."""

import json

import pytest
from openpyxl import load_workbook

import town as world
from kcbx import settings

AS_OF = "2025-03-01"


@pytest.fixture
def full(conn):
    """王乐嘉: 辍学 in October, an unapplied 在校 census row, 劝返复学 in February, a pairing
    that ended and one that is open, a flag raised and one cleared, two follow-ups."""
    settings.put(conn, "town", "后柳镇")
    school = world.school(conn, "后柳小学", "primary")
    vid = world.village(conn, "中坝村")
    conn.execute("UPDATE units SET head_name = '张村长', head_phone = '13900000001' WHERE id = ?",
                 (vid,))
    conn.execute("UPDATE units SET head_name = '李校长', head_phone = '13900000002' WHERE id = ?",
                 (school,))
    head = world.teacher(conn, school, "徐云", head_grade=5, head_class_no=2, phone="13900000003")
    paired = world.teacher(conn, school, "汪东波", phone="13900000004")
    world.teacher(conn, school, "沈明", head_grade=5, head_class_no=1, phone="13900000005")
    kid = world.child(conn, "王乐嘉", "2014-05-01", school_name="后柳小学", village_id=vid,
                      grade=5, class_no=2, on="2024-09-01", village_group=3,
                      student_no="G2014001", ethnicity="汉族", left_behind=1,
                      guardian_name="王平", guardian_relation="父亲",
                      guardian_phone="13800000001", family_type="一般家庭", absences=12)
    batch = conn.execute(
        "INSERT INTO import_batches (file_name, sha256, kind, sheet, sheet_date, date_source, "
        "iso_week) VALUES ('census_中坝村.xlsx', 'x', 'census', 'Sheet1', '2025-02-20', "
        "'title', '2025-W08')").lastrowid
    world.event(conn, kid, "2024-10-15", "dropout", prev="enrolled", school="后柳小学")
    conn.execute("INSERT INTO status_events (child_id, date, status, school, kind, reason, "
                 "batch_id) VALUES (?, '2025-02-20', 'enrolled', '后柳小学', 'snapshot', "
                 "'在校', ?)", (kid, batch))
    world.event(conn, kid, "2025-02-25", "enrolled", prev="dropout", school="后柳小学")
    conn.execute("INSERT INTO flags (child_id, flag, reason, source, raised_on) VALUES "
                 "(?, 'wavering', '缺勤 12 天（≥10）', 'rule:wavering', '2025-02-21')", (kid,))
    conn.execute("INSERT INTO flags (child_id, flag, reason, source, raised_on, cleared_on, "
                 "cleared_by, cleared_reason) VALUES (?, 'struggling', '成绩 35 分', 'manual', "
                 "'2024-11-01', '2025-01-20', 'manual', '期末成绩 72 分')", (kid,))
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, end_date, "
                 "end_reason, source) VALUES (?, ?, '2024-10-20', '2025-01-10', '改为手工指定', "
                 "'auto')", (kid, head))
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                 "VALUES (?, ?, '2025-01-10', 'manual')", (kid, paired))
    return {"conn": conn, "kid": kid, "head": head, "paired": paired}


def show(run, *args):
    result = run("children", "show", "王乐嘉", "--as-of", AS_OF, *args)
    assert result.exit_code == 0, result.output
    return result


def test_the_json_file_has_every_section(full, run):
    run("followup", "add", "王乐嘉", "--method", "电话", "--by", "徐云", "--result",
        "学生暂未返校，继续劝返", "--date", "2024-10-16")
    run("followup", "add", "王乐嘉", "--method", "家访", "--by", "汪东波", "--result",
        "已返校", "--date", "2025-02-25", "--next", "2025-03-07")
    case = json.loads(show(run, "--format", "json").stdout)
    assert list(case) == ["as_of", "child", "guardian", "groups", "flags", "status_history",
                          "pairings", "followups", "chain", "edits"]
    assert case["as_of"] == AS_OF
    child = case["child"]
    assert child["id_number"].startswith("610922********")
    assert {k: child[k] for k in ("name", "gender", "birth_date", "ethnicity", "village",
                                  "group_no", "school", "grade", "class_no", "student_no",
                                  "status", "status_name", "since", "left_behind")} == {
        "name": "王乐嘉", "gender": "M", "birth_date": "2014-05-01", "ethnicity": "汉族",
        "village": "中坝村", "group_no": 3, "school": "后柳小学", "grade": 5, "class_no": 2,
        "student_no": "G2014001", "status": "enrolled", "status_name": "在校",
        "since": "2025-02-25", "left_behind": True}
    assert case["guardian"] == {"name": "王平", "relation": "父亲", "phone": "13800000001"}
    assert case["groups"] == [{"code": "left_behind", "name": "留守儿童"},
                              {"code": "wavering", "name": "动摇生"}]


def test_status_history_marks_the_unapplied_snapshot_and_the_return(full, run):
    history = json.loads(show(run, "--format", "json").stdout)["status_history"]
    brief = [(e["date"], e["kind"], e["prev_status"], e["status"], e["applied"], e["is_return"],
              e["batch"], e["file"]) for e in history]
    assert brief == [
        ("2024-09-01", "snapshot", None, "enrolled", True, False, None, None),
        ("2024-10-15", "change", "enrolled", "dropout", True, False, None, None),
        ("2025-02-20", "snapshot", None, "enrolled", False, False, 1, "census_中坝村.xlsx"),
        ("2025-02-25", "change", "dropout", "enrolled", True, True, None, None),
    ]
    assert history[2]["kind_name"] == "户籍花名册" and history[2]["reason"] == "在校"
    assert history[1]["school"] == "后柳小学" and history[1]["status_name"] == "辍学"


def test_flags_pairings_followups_and_the_chain(full, run):
    run("followup", "add", "王乐嘉", "--method", "家访", "--by", "汪东波", "--result",
        "已返校", "--date", "2025-02-25", "--next", "2025-03-07", "--purpose", "劝返")
    case = json.loads(show(run, "--format", "json").stdout)
    assert [(f["flag"], f["open"], f["reason"], f["source"], f["cleared_reason"])
            for f in case["flags"]] == [
        ("struggling", False, "成绩 35 分", "manual", "期末成绩 72 分"),
        ("wavering", True, "缺勤 12 天（≥10）", "rule:wavering", None)]
    assert [(p["teacher_name"], p["teacher_phone"], p["start_date"], p["end_date"],
             p["end_reason"], p["source"], p["open"]) for p in case["pairings"]] == [
        ("徐云", "13900000003", "2024-10-20", "2025-01-10", "改为手工指定", "auto", False),
        ("汪东波", "13900000004", "2025-01-10", None, None, "manual", True)]
    assert case["followups"] == [{
        "date": "2025-02-25", "by_name": "汪东波", "by_school": "后柳小学", "method": "家访",
        "purpose": "劝返", "content": None, "result": "已返校", "next_date": "2025-03-07",
        "note": None}]
    assert [(c["role"], c["role_name"], c["unit"], c["name"], c["phone"], c["hint"])
            for c in case["chain"]] == [
        ("village_head", "村长", "中坝村", "张村长", "13900000001", None),
        ("school_head", "校长", "后柳小学", "李校长", "13900000002", None),
        ("head_teacher", "班主任", "后柳小学", "徐云", "13900000003", None),
        ("pairing_teacher", "包干教师", "后柳小学", "汪东波", "13900000004", None),
        ("guardian", "家长", "父亲", "王平", "13800000001", None)]


def test_unknown_links_say_what_to_do(conn, run):
    world.child(conn, "孤儿", "2014-05-01", status="dropout", guardian_name=None)
    chain = json.loads(run("children", "show", "孤儿", "--as-of", AS_OF, "--format",
                           "json").stdout)["chain"]
    assert all(c["name"] is None and c["phone"] is None and c["hint"] for c in chain)
    assert "kcbx assign" in chain[3]["hint"]


def test_a_dropout_answers_to_its_last_local_school(conn, run):
    school = world.school(conn, "后柳中学", "middle")
    conn.execute("UPDATE units SET head_name = '周校长' WHERE id = ?", (school,))
    kid = world.child(conn, "罗晨华", "2011-05-21", school_name="后柳中学", on="2024-09-01")
    world.event(conn, kid, "2024-11-01", "dropout", prev="enrolled")   # no school named
    conn.execute("UPDATE children SET school = NULL WHERE id = ?", (kid,))
    case = json.loads(run("children", "show", "罗晨华", "--as-of", AS_OF, "--format",
                          "json").stdout)
    assert case["chain"][1]["name"] == "周校长"


def test_id_masked_unless_unmask_and_phones_always_in_full(full, run, conn):
    full_id = conn.execute("SELECT id_number FROM children WHERE name = '王乐嘉'").fetchone()[0]
    masked = show(run)
    assert full_id not in masked.stdout and "13800000001" in masked.stdout
    assert full_id in show(run, "--unmask").stdout


def test_terminal_and_markdown_forms(full, run, tmp_path):
    screen = show(run).stdout
    assert "后柳镇控辍保学一人一案：王乐嘉" in screen and "未采用" in screen
    md = show(run, "--format", "md").stdout
    assert md.startswith("# 后柳镇控辍保学一人一案：王乐嘉")
    for section in ("## 基本信息", "## 双线七长", "## 状态历史", "## 包干教师", "## 劝返帮扶记录"):
        assert section in md
    assert "| 2025-02-25 | 变动 | " in md and "| 劝返复学 |" in md
    out = tmp_path / "案卷.md"
    show(run, "--format", "md", "--out", out)
    assert out.read_text(encoding="utf-8") == md


def test_xlsx_has_one_print_ready_sheet_per_section(full, run, tmp_path):
    out = tmp_path / "一人一案.xlsx"
    show(run, "--format", "xlsx", "--out", out)
    wb = load_workbook(out)
    assert wb.sheetnames == ["基本信息", "双线七长", "标记", "状态历史", "包干教师", "劝返帮扶记录",
                             "修改记录"]
    history = wb["状态历史"]
    assert history["A1"].value == "后柳镇控辍保学一人一案：王乐嘉"
    assert [c.value for c in history[6]][-1].startswith("未采用")


def test_xlsx_needs_out_and_table_refuses_it(full, run, tmp_path):
    result = run("children", "show", "王乐嘉", "--format", "xlsx")
    assert result.exit_code == 1 and "--out" in result.stderr
    result = run("children", "show", "王乐嘉", "--out", tmp_path / "x.txt")
    assert result.exit_code == 1 and "--out" in result.stderr
