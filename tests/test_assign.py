"""`kcbx assign` and the 包干责任表 through the CLI, over hand-built towns."""

import json
from collections import Counter

import pytest
from openpyxl import load_workbook

import town as world
from kcbx import settings

AS_OF = "2025-03-01"


@pytest.fixture
def town(conn):
    """后柳小学 with two teachers and three left-behind children of 中坝村."""
    settings.put(conn, "town", "后柳镇")
    school = world.school(conn, "后柳小学", "primary")
    vid = world.village(conn, "中坝村")
    teachers = {name: world.teacher(conn, school, name, phone=phone)
                for name, phone in (("汪东波", "13900000001"), ("沈明", "13900000002"))}
    kids = {name: world.child(conn, name, "2014-05-01", school_name="后柳小学",
                              village_id=vid, grade=5, class_no=1, left_behind=1,
                              guardian_name="家长" + name, guardian_phone="1380000000" + str(i))
            for i, name in enumerate(("罗慧", "王乐嘉", "陈萱诗"))}
    world.child(conn, "普通", "2014-06-01", school_name="后柳小学", village_id=vid, grade=5)
    return {"conn": conn, "school": school, "village": vid, "teachers": teachers, "kids": kids}


def assign(run, *args):
    result = run("assign", "--as-of", AS_OF, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def summary(run, *args):
    return json.loads(assign(run, "--format", "json", *args))


def one_line(text):
    """Rich wraps long messages at the console width; tests read them unwrapped."""
    return text.replace("\n", "")


def test_pairs_every_special_child_once_and_a_second_run_changes_nothing(town, run):
    out = assign(run)
    assert "新配对 3 人，保持 0 人，重新配对 0 人，结束 0 个，未能配对 0 人" in out
    pairs = world.open_pairings(town["conn"])
    assert set(pairs) == set(town["kids"].values())          # 普通 is in no group
    assert sorted(Counter(t for t, _ in pairs.values()).values()) == [1, 2]
    assert "新配对 0 人，保持 3 人" in assign(run)
    assert world.open_pairings(town["conn"]) == pairs


def test_dry_run_writes_nothing(town, run):
    out = assign(run, "--dry-run")
    assert "预演" in out and "新配对 3 人" in out
    assert world.open_pairings(town["conn"]) == {}


def test_teacher_leaves_and_the_next_run_re_pairs(town, run):
    assign(run)
    conn = town["conn"]
    wang = town["teachers"]["汪东波"]
    had = [c for c, (t, _) in world.open_pairings(conn).items() if t == wang]
    result = run("teachers", "set", "后柳小学/汪东波", "--inactive")
    assert result.exit_code == 0, result.output
    assert f"已结束其 {len(had)} 个包干关系" in result.stdout
    ended = conn.execute("SELECT end_reason FROM assignments WHERE teacher_id = ?",
                         (wang,)).fetchall()
    assert [r[0] for r in ended] == ["教师已不在岗"] * len(had)
    assert not set(had) & set(world.open_pairings(conn))
    assert f"新配对 {len(had)} 人，保持 {3 - len(had)} 人" in assign(run)
    assert {t for t, _ in world.open_pairings(conn).values()} == {town["teachers"]["沈明"]}


def test_capacity_shortfall_is_listed(town, run):
    out = assign(run, "--max-load", "1")
    assert "新配对 2 人" in out and "未能配对 1 人" in out
    assert len(world.open_pairings(town["conn"])) == 2
    again = summary(run, "--max-load", "1")
    assert (again["paired"], again["kept"]) == (0, 2)
    assert [(r["name"], r["reason"]) for r in again["left_over"]] == [
        ("陈萱诗", "后柳小学的在岗教师都已包干 1 人（上限）")]
    assert again["schools"] == [{"school": "后柳小学", "teachers": 2, "min": 1, "median": 1,
                                 "max": 1, "shortfall": 1}]


def test_school_without_teachers_is_listed(town, run):
    conn = town["conn"]
    other = world.school(conn, "后柳中学", "middle")
    world.child(conn, "初中生", "2011-03-01", school_name="后柳中学", village_id=town["village"],
                grade=8, disabled=1)
    result = summary(run)
    assert [r["reason"] for r in result["left_over"]] == ["后柳中学没有在岗教师（请导入该校教师名单）"]
    assert result["schools"][0] == {"school": "后柳中学", "teachers": 0, "min": None,
                                    "median": None, "max": None, "shortfall": 1}
    assert conn.execute("SELECT count(*) FROM assignments a JOIN teachers t "
                        "ON t.id = a.teacher_id WHERE t.school_id = ?", (other,)).fetchone()[0] == 0


def test_dropout_goes_to_its_catchment_school(town, run):
    conn = town["conn"]
    middle = world.school(conn, "后柳中学", "middle")
    teacher = world.teacher(conn, middle, "吕梅")
    village = world.village(conn, "梧桐村", middle=middle)
    never = world.child(conn, "未入学", "2011-03-01", status="never_enrolled",
                        village_id=village)                 # nominal grade 8: middle school
    assign(run)
    assert world.open_pairings(conn)[never] == (teacher, "auto")


def test_dropout_goes_to_the_derived_catchment_school(town, run):
    conn = town["conn"]
    middle = world.school(conn, "后柳中学", "middle")
    elsewhere = world.school(conn, "城关中学", "middle")
    world.teacher(conn, elsewhere, "别校")
    teacher = world.teacher(conn, middle, "吕梅")
    village = world.village(conn, "梧桐村")
    for name in ("甲", "乙"):     # most of 梧桐村's middle-school children attend 后柳中学
        world.child(conn, name, "2011-05-01", school_name="后柳中学", village_id=village, grade=8)
    world.child(conn, "丙", "2011-05-01", school_name="城关中学", village_id=village, grade=8)
    dropout = world.child(conn, "辍学", "2011-03-01", status="dropout", village_id=village)
    assign(run)
    assert world.open_pairings(conn)[dropout] == (teacher, "auto")


def test_dropout_with_no_school_and_no_catchment_is_listed(town, run):
    conn = town["conn"]
    village = world.village(conn, "梧桐村")
    world.child(conn, "去向不明", "2011-03-01", status="unknown", village_id=village)
    (left,) = summary(run)["left_over"]
    assert left["reason"].startswith("没有本地学校记录，梧桐村没有对口初中")
    assert left["groups"] == ["失辍学"] and "*" in left["id_number"]


def test_child_leaving_the_population_has_its_pairing_ended(town, run):
    assign(run)
    conn = town["conn"]
    gone = town["kids"]["罗慧"]
    world.event(conn, gone, "2025-02-25", "moved_out", prev="enrolled")
    out = assign(run)
    assert "结束 1 个（状态变为 迁出 1）" in out
    row = conn.execute("SELECT end_date, end_reason FROM assignments WHERE child_id = ?",
                       (gone,)).fetchone()
    assert tuple(row) == (AS_OF, "状态变为 迁出")


def test_transfer_to_another_school_re_pairs(town, run):
    assign(run)
    conn = town["conn"]
    other = world.school(conn, "后柳中坝小学", "primary")
    teacher = world.teacher(conn, other, "徐云")
    moved = town["kids"]["王乐嘉"]
    world.event(conn, moved, "2025-02-25", "enrolled", prev="enrolled", school="后柳中坝小学")
    out = assign(run)
    assert "重新配对 1 人" in out
    assert world.open_pairings(conn)[moved] == (teacher, "auto")


def test_manual_pairing_survives_auto_runs(town, run):
    conn = town["conn"]
    other = world.school(conn, "后柳中坝小学", "primary")
    xu = world.teacher(conn, other, "徐云")
    result = run("assign", "set", "王乐嘉", "徐云")
    assert result.exit_code == 0, result.output
    assert "包干教师已设为 后柳中坝小学/徐云" in result.stdout
    assign(run)
    assign(run)
    assert world.open_pairings(conn)[town["kids"]["王乐嘉"]] == (xu, "manual")


def test_manual_pairing_replaces_the_open_one(town, run):
    assign(run)
    conn = town["conn"]
    child = town["kids"]["罗慧"]
    before = world.open_pairings(conn)[child][0]
    other = next(t for t in town["teachers"].values() if t != before)
    id_number = conn.execute("SELECT id_number FROM children WHERE id = ?", (child,)).fetchone()[0]
    result = run("assign", "set", id_number, "后柳小学/" + ("汪东波" if other == town["teachers"]
                                                             ["汪东波"] else "沈明"))
    assert result.exit_code == 0, result.output
    assert "原包干教师" in result.stdout
    assert world.open_pairings(conn)[child] == (other, "manual")
    assert conn.execute("SELECT count(*) FROM assignments WHERE child_id = ?",
                        (child,)).fetchone()[0] == 2


def test_manual_pairing_refused_outside_the_groups(town, run):
    result = run("assign", "set", "普通", "沈明")
    assert result.exit_code == 1
    assert "不属于任何特殊群体" in one_line(result.stderr)


def test_manual_pairing_refused_for_inactive_teacher(town, run):
    run("teachers", "set", "沈明", "--inactive")
    result = run("assign", "set", "罗慧", "沈明")
    assert result.exit_code == 1 and "不在岗" in one_line(result.stderr)


def test_end_a_pairing_by_hand(town, run):
    assign(run)
    result = run("assign", "end", "陈萱诗", "--reason", "已转学外县")
    assert result.exit_code == 0, result.output
    reasons = town["conn"].execute("SELECT end_reason FROM assignments "
                                   "WHERE end_date IS NOT NULL").fetchall()
    assert [r[0] for r in reasons] == ["已转学外县"]
    again = run("assign", "end", "陈萱诗", "--reason", "再次")
    assert again.exit_code == 1 and "目前没有包干教师" in one_line(again.stderr)


def test_unknown_and_ambiguous_children(town, run):
    conn = town["conn"]
    other = world.village(conn, "永红村")
    world.child(conn, "罗慧", "2013-05-01", school_name="后柳小学", village_id=other,
                left_behind=1)
    result = run("assign", "end", "罗慧", "--reason", "x")
    assert result.exit_code == 1 and "有 2 个孩子叫「罗慧」" in one_line(result.stderr)
    assert "610922********" in one_line(result.stderr)        # IDs masked in the candidates
    narrowed = run("assign", "end", "罗慧", "--village", "永红村", "--reason", "x")
    assert "罗慧 目前没有包干教师" in one_line(narrowed.stderr)   # found: 永红村's has none
    missing = run("assign", "end", "无此人", "--reason", "x")
    assert missing.exit_code == 1 and "找不到孩子" in one_line(missing.stderr)


def test_list_json_has_the_documented_keys(town, run):
    assign(run)
    rows = json.loads(run("assign", "list", "--format", "json").stdout)
    assert len(rows) == 3
    assert set(rows[0]) == {"id_number", "name", "village", "school", "grade", "groups",
                            "teacher_name", "teacher_school", "teacher_phone", "since", "source"}
    first = rows[0]
    assert "*" in first["id_number"] and first["groups"] == ["留守儿童"]
    assert (first["village"], first["school"], first["grade"]) == ("中坝村", "后柳小学", 5)
    assert first["teacher_phone"].startswith("139") and "*" not in first["teacher_phone"]
    assert (first["since"], first["source"]) == (AS_OF, "auto")
    unmasked = json.loads(run("assign", "list", "--format", "json", "--unmask").stdout)
    assert all("*" not in r["id_number"] for r in unmasked)


def test_list_filters_by_teacher_and_school(town, run):
    assign(run)
    rows = json.loads(run("assign", "list", "--format", "json", "--teacher", "沈明").stdout)
    assert {r["teacher_name"] for r in rows} == {"沈明"}
    assert json.loads(run("assign", "list", "--format", "json", "--school", "后柳小学").stdout)
    unknown = run("assign", "list", "--school", "无此校")
    assert unknown.exit_code == 1 and "没有名为「无此校」的学校" in one_line(unknown.stderr)


def test_list_csv_shows_phones_in_full(town, run):
    assign(run)
    out = run("assign", "list", "--format", "csv").stdout
    header, *lines = out.splitlines()
    assert header.startswith("姓名,身份证号,村(社区)/组")
    assert any("13800000000" in line for line in lines)


def test_xlsx_round_trip(town, run, tmp_path):
    conn = town["conn"]
    middle = world.school(conn, "后柳中学", "middle")
    world.teacher(conn, middle, "吕梅", phone="13900000009")
    world.child(conn, "=初中生", "2011-03-01", school_name="后柳中学", village_id=town["village"],
                grade=8, class_no=2, village_group=3, disabled=1)
    assign(run)
    out = tmp_path / "包干责任表.xlsx"
    result = run("assign", "list", "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["后柳中学", "后柳小学"]
    ws = wb["后柳中学"]
    assert ws["A1"].value == "后柳镇控辍保学教师包干责任表"
    assert "制表单位：后柳镇" in ws["A2"].value and "日期：" in ws["A2"].value
    header = [c.value for c in ws[3]]
    assert header[:4] == ["姓名", "身份证号", "村(社区)/组", "学校"]
    row = dict(zip(header, [c.value for c in ws[4]]))
    assert row["姓名"] == "'=初中生"                            # formula neutralised
    assert "*" in row["身份证号"] and row["村(社区)/组"] == "中坝村3组"
    assert (row["年级班级"], row["特殊群体"], row["包干教师"], row["教师电话"]) == (
        "8年级2班", "残疾", "吕梅", "13900000009")
    assert ws.max_row == 4 and wb["后柳小学"].max_row == 6
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.print_title_rows == "$3:$3"
    assert ws["A3"].border.top.style == "thin"


def test_xlsx_needs_out(town, run):
    result = run("assign", "list", "--format", "xlsx")
    assert result.exit_code == 1 and "--out" in one_line(result.stderr)


def test_bad_as_of_is_a_clear_error(town, run):
    result = run("assign", "--as-of", "三月一日")
    assert result.exit_code == 1 and "2025-03-01" in one_line(result.stderr)
