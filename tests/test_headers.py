"""Finding the header, mapping it per kind, guessing the kind and cutting out the data rows."""

import functools
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sheetmaker import CENSUS_HEADER, census_row, make_csv, make_xls, make_xlsx

from kcbx.errors import FileProblem, InvalidValue
from kcbx.headers import ALIASES, FIELDS, KINDS, guess_kind, normalize_header, parse_sheet
from kcbx.reading import RawSheet, read_file

ID = "610922201504045969"
ID2 = "61092220110118445X"
GUARDIAN_ID = "610922198001011234"
TITLE = "后柳镇中坝村2024年适龄儿童少年花名册"
FILED = "填报单位：中坝村村民委员会（盖章）        填报日期：2025年2月20日"


def parse(path: Path, **kwargs):
    sheets, _ = read_file(path)
    return parse_sheet(sheets[0], **kwargs)


def raw(rows, merged=()) -> RawSheet:
    return RawSheet(Path("表.xlsx"), "Sheet1", [list(r) for r in rows], list(merged))


def names(parsed):
    return [values["name"] for _, values in parsed.rows]


# --- header normalisation and alias tables --------------------------------------------------

@pytest.mark.parametrize(
    "written, expected",
    [("★姓名", "姓名"), ("*身份证号码", "身份证号码"), ("身份证\n号码", "身份证号码"), (" 性 别 ", "性别"),
     ("村（社区）", "村(社区)"), ("村【社区】", "村(社区)"), ("出生年月：", "出生年月"), ("联系电话:", "联系电话"),
     ("ＩＤ", "id"), ("姓\u3000名", "姓名")],
)
def test_normalize_header(written, expected):
    assert normalize_header(written) == expected


def test_alias_tables_only_name_fields_of_their_kind():
    assert set(ALIASES) == set(KINDS) == set(FIELDS)
    for kind, table in ALIASES.items():
        assert set(table.values()) <= set(FIELDS[kind]) | {"guardian_id"}, kind
        assert all(alias == normalize_header(alias) for alias in table)


def test_the_same_header_means_different_things_per_kind():
    assert ALIASES["followups"]["责任教师"] == "by_name"
    assert "责任教师" not in ALIASES["census"]
    assert ALIASES["changes"]["状态"] == "status" and ALIASES["teachers"]["状态"] == "active"
    assert ALIASES["followups"]["学校"] == "school" and ALIASES["followups"]["教师所在学校"] == "by_school"


# --- a census sheet with everything a village does to it -----------------------------------

def messy_census(tmp_path):
    """Title, 填报日期, merged 村/组, a blank row, a 合计 and a 填表人 line, full-width digits."""
    header = list(CENSUS_HEADER)
    header[1], header[3] = "★姓名", "身份证\n号码"
    rows = [
        [TITLE], [FILED], header,
        census_row(1, "王昊勇", ID, "中坝村", "1组"),
        census_row(2, "任静彤", "６１０９２２２０１１０１１８４４５Ｘ"),
        [""] * 18,
        census_row(3, " 任豪明 ", ID2, "", "第2组"),
        census_row(4, "吕杰锦", ID),
        ["合计", "", "", "4人"],
        ["填表人：王平", "", "", "审核人：李娟"],
    ]
    return make_xlsx(tmp_path / "census.xlsx", rows, merge=["A1:R1", "A2:R2", "G4:G8", "H4:H5", "H7:H8"])


def test_messy_census(tmp_path):
    parsed = parse(messy_census(tmp_path))
    assert parsed.kind == "census"
    assert parsed.title == TITLE and parsed.title_date == date(2025, 2, 20)
    assert [n for n, _ in parsed.rows] == [4, 5, 7, 8]  # Excel row numbers; row 6 is blank
    assert names(parsed) == ["王昊勇", "任静彤", " 任豪明 ", "吕杰锦"]  # values as read
    assert [v["village"] for _, v in parsed.rows] == ["中坝村"] * 4
    assert [v["group"] for _, v in parsed.rows] == ["1组", "1组", "第2组", "第2组"]
    assert parsed.rows[1][1]["id_number"] == "６１０９２２２０１１０１１８４４５Ｘ"
    assert parsed.column_headers["name"] == "★姓名" and parsed.column_headers["id_number"] == "身份证\n号码"
    assert parsed.columns[3] == "id_number" and parsed.unknown_headers == []
    assert set(parsed.rows[0][1]) == set(parsed.columns.values())


def test_an_xls_census(tmp_path):
    rows = [[TITLE], ["序号", "姓名", "身份证号", "村", "组", "就读状态"],
            [1, "张三", ID, "梧桐村", 3, "在校"], [2, "李四", ID2, "", "", "辍学"]]
    parsed = parse(make_xls(tmp_path / "old.xls", rows, merge=[(2, 3, 3, 3), (2, 3, 4, 4)]))
    assert parsed.kind == "census"
    assert [(v["village"], v["group"]) for _, v in parsed.rows] == [("梧桐村", 3.0), ("梧桐村", 3.0)]


def test_a_gbk_csv_census_lost_its_merged_cells_and_they_are_filled_down(tmp_path):
    rows = [[TITLE], [FILED], ["序号", "姓名", "身份证号码", "村(社区)", "所在组", "就读状态"],
            ["1", "张三", ID, "长兴村", "一组", "在校"], ["2", "李四", ID2, "", "", "在校"],
            ["", "", "", "", "", ""], ["3", "王五", ID, "", "二组", "辍学"]]
    parsed = parse(make_csv(tmp_path / "c.csv", rows, encoding="gbk"))
    assert parsed.kind == "census" and parsed.title_date == date(2025, 2, 20)
    assert [n for n, _ in parsed.rows] == [4, 5, 7]  # CSV line numbers
    assert [(v["village"], v["group"]) for _, v in parsed.rows] == [("长兴村", "一组"), ("长兴村", "一组"),
                                                                     ("长兴村", "二组")]


def test_a_sheet_with_merged_cells_keeps_its_blanks(tmp_path):
    rows = [["序号", "姓名", "身份证号", "村", "组", "就读状态"],
            [1, "张三", ID, "梧桐村", "1组", "在校"], [2, "李四", ID2, "", "", "在校"]]
    parsed = parse(make_xlsx(tmp_path / "m.xlsx", rows, merge=["D2:D3"]))
    assert [(v["village"], v["group"]) for _, v in parsed.rows] == [("梧桐村", "1组"), ("梧桐村", "")]
    unmerged = parse(make_xlsx(tmp_path / "u.xlsx", rows))
    assert [(v["village"], v["group"]) for _, v in unmerged.rows] == [("梧桐村", "1组"), ("梧桐村", "1组")]


def test_rows_after_the_data(tmp_path):
    rows = [["序号", "姓名", "身份证号", "村", "就读状态"],
            [1, "张三", ID, "梧桐村", "在校"],
            ["小计", "", "", "", "1"],
            [2, "李四", ID2, "兴坪村", "在校"],
            ["序号", "姓名", "身份证号", "村", "就读状态"],  # the header again, as printed per page
            [3, "王五", ID, "兴坪村", "在校"],
            [4, "", "", "", ""],  # numbered in advance, never filled in
            ["注：1. 就读状态填 在校/辍学 …", "", "", "", ""],
            [5, "赵六", ID, "兴坪村", "在校"]]
    parsed = parse(make_xlsx(tmp_path / "t.xlsx", rows))
    assert names(parsed) == ["张三", "李四", "王五"]
    assert [n for n, _ in parsed.rows] == [2, 4, 6]


@pytest.mark.parametrize("end", ["合计", "总 计", "说明：本表由村委会填写", "填表人：王平", "审核人：", "注"])
def test_a_total_or_a_note_ends_the_data(tmp_path, end):
    rows = [["姓名", "身份证号", "就读状态"], ["张三", ID, "在校"], [end, "", "3"], ["李四", ID2, "在校"]]
    assert names(parse(make_xlsx(tmp_path / "e.xlsx", rows))) == ["张三"]


def test_the_row_of_column_numbers_under_the_header_is_not_data(tmp_path):
    rows = [["序号", "姓名", "身份证号", "就读状态"], [1, 2, 3, 4], [1, "张三", ID, "在校"]]
    assert names(parse(make_xlsx(tmp_path / "n.xlsx", rows))) == ["张三"]


def test_a_sheet_starting_at_c4_reports_excel_row_numbers(tmp_path):
    rows = [["学籍花名册（截至2025年2月20日）"], ["学籍号", "姓名", "身份证号", "学籍状态"],
            ["G1", "张三", ID, "在读"], ["G2", "李四", ID2, "在读"]]
    parsed = parse(make_xlsx(tmp_path / "c4.xlsx", rows, origin="C4"))
    assert [n for n, _ in parsed.rows] == [6, 7]
    assert parsed.columns == {2: "student_no", 3: "name", 4: "id_number", 5: "status"}
    assert parsed.kind == "roster" and parsed.title_date == date(2025, 2, 20)


# --- group header rows and second ID columns --------------------------------------------------

def test_group_row_over_guardian_columns(tmp_path):
    rows = [[TITLE],
            ["序号", "姓名", "身份证号", "监护人信息", "", "", "", "就读状态"],
            ["", "", "", "姓名", "身份证号", "联系电话", "与学生关系", ""],
            [1, "张三", ID, "张父", GUARDIAN_ID, "18123545211", "父亲", "在校"]]
    path = make_xlsx(tmp_path / "g.xlsx", rows, merge=["A2:A3", "B2:B3", "C2:C3", "D2:G2", "H2:H3"])
    parsed = parse(path)
    assert parsed.columns == {0: "seq", 1: "name", 2: "id_number", 3: "guardian_name", 4: "guardian_id",
                              5: "phone", 6: "guardian_relation", 7: "status"}
    values = parsed.rows[0][1]
    assert (values["name"], values["id_number"]) == ("张三", ID)
    assert parsed.rows[0][0] == 4 and parsed.title == TITLE
    assert parsed.column_headers["guardian_name"] == "监护人信息/姓名"


def test_group_row_next_to_headers_merged_down(tmp_path):
    rows = [["姓名", "出生日期", "家庭成员", "", "备注"],
            ["", "", "姓名", "身份证号", ""],
            ["张三", "2015.3.4", "张父", GUARDIAN_ID, ""]]
    path = make_xlsx(tmp_path / "d.xlsx", rows, merge=["A1:A2", "B1:B2", "C1:D1", "E1:E2"])
    parsed = parse(path, kind="census")
    assert parsed.columns == {0: "name", 1: "birth_date", 2: "guardian_name", 3: "guardian_id", 4: "remarks"}


@pytest.mark.parametrize("title", ["家长联系", "监护人信息"])
def test_a_short_title_over_every_column_is_no_group(tmp_path, title):
    rows = [[title], ["姓名", "身份证号", "就读状态"], ["张三", ID, "在校"]]
    parsed = parse(make_xlsx(tmp_path / "t.xlsx", rows, merge=["A1:C1"]))
    assert parsed.columns == {0: "name", 1: "id_number", 2: "status"} and parsed.title == title
    csv_parsed = parse(make_csv(tmp_path / "t.csv", rows))
    assert csv_parsed.columns == parsed.columns


def test_group_row_in_a_csv_of_a_two_row_header(tmp_path):
    rows = [["序号", "姓名", "身份证号", "监护人信息", "", "", "就读状态"],
            ["", "", "", "姓名", "身份证号", "联系电话", ""],
            ["1", "张三", ID, "张父", GUARDIAN_ID, "18123545211", "在校"]]
    parsed = parse(make_csv(tmp_path / "g.csv", rows))
    assert parsed.columns == {0: "seq", 1: "name", 2: "id_number", 3: "guardian_name", 4: "guardian_id",
                              5: "phone", 6: "status"}
    assert parsed.rows == [(3, {"seq": "1", "name": "张三", "id_number": ID, "guardian_name": "张父",
                                "guardian_id": GUARDIAN_ID, "phone": "18123545211", "status": "在校"})]


def test_a_teachers_group_never_gives_the_childs_fields(tmp_path):
    rows = [["学生信息", "", "帮扶教师", "", "就读情况", ""],
            ["姓名", "身份证号", "姓名", "联系电话", "学校", "状态"],
            ["张三", ID, "李老师", "13900000000", "后柳小学", "在校"]]
    parsed = parse(make_xlsx(tmp_path / "t.xlsx", rows, merge=["A1:B1", "C1:D1", "E1:F1"]), kind="census")
    assert parsed.columns == {0: "name", 1: "id_number", 4: "school", 5: "status"}
    assert parsed.unknown_headers == ["帮扶教师/姓名", "帮扶教师/联系电话"]


def test_a_hidden_household_id_column_is_never_the_childs(tmp_path):
    rows = [["序号", "户主姓名", "户主身份证号", "姓名", "身份证号", "村", "就读状态"],
            [1, "张父", GUARDIAN_ID, "张三", ID, "梧桐村", "在校"]]
    parsed = parse(make_xlsx(tmp_path / "h.xlsx", rows, hidden_columns=["C"]))
    assert parsed.columns[2] == "guardian_id" and parsed.columns[4] == "id_number"
    assert parsed.rows[0][1]["id_number"] == ID and parsed.rows[0][1]["name"] == "张三"


@pytest.mark.parametrize("other", ["身份证号(户主)", "父亲身份证号", "家庭成员身份证号", "身份证号（监护人）"])
def test_only_exact_child_id_headers_map_to_the_id(other):
    parsed = parse_sheet(raw([["姓名", other, "村", "就读状态"], ["张三", GUARDIAN_ID, "梧桐村", "在校"]]))
    assert "id_number" not in parsed.columns.values()


def test_a_second_id_column_with_the_same_header_is_not_used():
    parsed = parse_sheet(raw([["姓名", "身份证号", "监护人", "身份证号", "就读状态"],
                              ["张三", ID, "张父", GUARDIAN_ID, "在校"]]))
    assert parsed.columns == {0: "name", 1: "id_number", 2: "guardian_name", 4: "status"}
    assert parsed.unknown_headers == ["身份证号"]


@pytest.mark.parametrize("written", ["身份证号(必填)", "★身份证号码", "公民身份号码"])
def test_marked_child_id_headers_still_map(written):
    parsed = parse_sheet(raw([["姓名", written, "就读状态"], ["张三", ID, "在校"]]))
    assert parsed.columns[1] == "id_number"


def test_unknown_headers_are_reported_once():
    parsed = parse_sheet(raw([["姓名", "身份证号", "就读状态", "辍学原因", "辍学原因", "去向"],
                              ["张三", ID, "辍学", "厌学", "厌学", "务工"]]))
    assert parsed.unknown_headers == ["辍学原因", "去向"]


def test_no_header_at_all():
    with pytest.raises(FileProblem, match="找不到表头"):
        parse_sheet(raw([["张三", ID], ["李四", ID2]]), kind="census")


# --- kinds ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "header, kind",
    [(["姓名", "身份证号", "村(社区)", "所在组", "就读学校", "就读状态"], "census"),
     (["姓名", "身份证号", "就读学校", "就读状态"], "census"),
     (["学籍号", "姓名", "身份证号", "班级", "家庭住址", "学籍状态"], "roster"),
     (["姓名", "身份证号", "学业成绩", "缺勤天数"], "roster"),
     (["姓名", "性别", "任教学校", "任教学科", "在岗情况"], "teachers"),
     (["身份证号", "姓名", "变动日期", "变动类型", "变动后状态"], "changes"),
     (["学生姓名", "身份证号", "帮扶类型", "日期", "责任教师", "方式", "结果"], "followups"),
     (["名称", "类型", "负责人", "负责人电话"], "units")],
)
def test_kind_is_guessed_from_headers(header, kind):
    assert guess_kind(raw([header, ["x"] * len(header)])) == kind


def test_ambiguous_kind_names_the_candidates():
    sheet = raw([["姓名", "身份证号", "就读状态", "学籍状态"], ["张三", ID, "在校", "在读"]])
    with pytest.raises(FileProblem) as caught:
        guess_kind(sheet)
    message = str(caught.value)
    assert "--kind census" in message and "--kind roster" in message and "--kind teachers" not in message


def test_no_kind_at_all_lists_every_kind():
    with pytest.raises(FileProblem) as caught:
        guess_kind(raw([["姓名", "身份证号"], ["张三", ID]]))
    assert all(f"--kind {k}" in str(caught.value) for k in KINDS)


def test_kind_option_wins_over_the_guess():
    sheet = raw([["姓名", "身份证号", "就读状态", "学籍状态"], ["张三", ID, "在校", "在读"]])
    assert parse_sheet(sheet, kind="roster").kind == "roster"
    with pytest.raises(InvalidValue, match="census"):
        parse_sheet(sheet, kind="花名册")


def test_followup_headers(tmp_path):
    rows = [["后柳镇控辍保学劝返及帮扶工作记录（2024年秋季学期至2025年3月1日）"],
            ["序号", "学生姓名", "身份证号", "所在村(社区)", "学校", "帮扶类型", "日期", "责任教师",
             "教师所在学校", "劝返方式", "内容", "劝返结果", "下次跟进日期"],
            [1, "刘军熙", ID, "梧桐村", "后柳中学", "劝返", "2024.9.2", "吕梅", "后柳中学", "电话", "宣传", "返校", ""]]
    parsed = parse(make_xlsx(tmp_path / "f.xlsx", rows))
    assert parsed.kind == "followups" and parsed.title_date == date(2025, 3, 1)
    assert list(parsed.columns.values()) == ["seq", "name", "id_number", "village", "school", "purpose", "date",
                                             "by_name", "by_school", "method", "content", "result", "next_date"]


def test_teacher_and_change_headers():
    teachers = parse_sheet(raw([["姓名", "任教学校", "联系电话", "任教学科", "班主任班级", "在岗情况"], ["x"] * 6]))
    assert list(teachers.columns.values()) == ["name", "school", "phone", "subject", "head_class", "active"]
    changes = parse_sheet(raw([["身份证号", "姓名", "变动日期", "变动类型", "变动前状态", "变动后状态", "原学校",
                                "现学校", "经办人"], ["x"] * 9]))
    assert list(changes.columns.values()) == ["id_number", "name", "date", "event", "prev_status", "status",
                                              "prev_school", "school", "handler"]


# --- --map ---------------------------------------------------------------------------------

def test_map_extends_and_overrides_the_aliases():
    sheet = raw([["姓名", "证件号", "学籍号", "在校否"], ["张三", ID, "G1", "在校"]])
    parsed = parse_sheet(sheet, kind="census", mapping={"证件号": "id_number", "学籍号": "ignore", "在校否": "status"})
    assert parsed.columns == {0: "name", 1: "id_number", 3: "status"}
    assert parsed.unknown_headers == []


def test_map_keys_are_compared_normalised():
    parsed = parse_sheet(raw([["姓名", "证件\n号码（学生）"], ["张三", ID]]), kind="census",
                         mapping={"证件号码(学生)": "id_number"})
    assert parsed.columns[1] == "id_number"


def test_map_to_an_unknown_field_lists_the_fields():
    with pytest.raises(InvalidValue) as caught:
        parse_sheet(raw([["姓名", "身份证号"], ["张三", ID]]), kind="teachers", mapping={"身份证号": "id_number"})
    assert "subject" in str(caught.value) and "head_class" in str(caught.value)


# --- title dates ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "lines, expected",
    [([TITLE, FILED], date(2025, 2, 20)),
     (["学籍花名册（截至2025年2月20日）"], date(2025, 2, 20)),
     (["学籍花名册（截至2025-02-20）"], date(2025, 2, 20)),
     (["花名册", "日期：2025.2.20"], date(2025, 2, 20)),
     (["花名册", "填报日期： 2025 年 2 月 20 日"], date(2025, 2, 20)),
     (["2024年9月1日至2025年2月20日变动情况"], date(2025, 2, 20)),
     (["2024-2025学年花名册"], None),
     (["花名册 2025年2月20日"], date(2025, 2, 20)),
     (["2025年1月1日 与 2025年2月1日 对比"], None),
     (["截至2025年2月30日"], None),
     ([], None)],
)
def test_title_date(lines, expected):
    rows = [[line] for line in lines] + [["姓名", "身份证号", "就读状态"], ["张三", ID, "在校"]]
    assert parse_sheet(raw(rows)).title_date == expected


def test_title_date_in_a_date_cell_next_to_its_label(tmp_path):
    rows = [[TITLE], ["填报单位：中坝村", "", "填报日期：", date(2025, 2, 20)],
            ["姓名", "身份证号", "就读状态"], ["张三", ID, "在校"]]
    parsed = parse(make_xlsx(tmp_path / "d.xlsx", rows))
    assert parsed.title_date == date(2025, 2, 20) and parsed.title == TITLE


# --- the sample township --------------------------------------------------------------------

SAMPLE_KINDS = {"census_中坝村.xlsx": "census", "census_兴坪村.xlsx": "census", "census_后柳社区.xlsx": "census",
                "census_喜河村.xlsx": "census", "census_梧桐村.xlsx": "census", "census_永红村.xlsx": "census",
                "census_长兴村.csv": "census", "census_黄荆坝村.xlsx": "census",
                "roster_后柳中坝小学.xlsx": "roster", "roster_后柳中学.xlsx": "roster",
                "roster_后柳小学.xlsx": "roster", "teachers.xlsx": "teachers", "followups.xlsx": "followups",
                "status_changes.csv": "changes"}


def _nonblank_rows_below(sheet, header_row):
    return sum(1 for row in sheet.rows[header_row + 1:] if any(str(c).strip() for c in row))


@functools.lru_cache(maxsize=1)
def parse_samples(directory: Path) -> dict[str, list]:
    """Every sample file: [(raw sheet, parsed sheet), …], parsed once for all tests."""
    return {name: [(sheet, parse_sheet(sheet)) for sheet in read_file(directory / name)[0]]
            for name in SAMPLE_KINDS}


def test_sample_kinds_are_guessed(samples):
    for name, sheets in parse_samples(samples).items():
        assert {parsed.kind for _, parsed in sheets} == {SAMPLE_KINDS[name]}, name
        assert all(parsed.unknown_headers == [] for _, parsed in sheets), name


def test_sample_title_dates(samples):
    for name, sheets in parse_samples(samples).items():
        expected = {"census": date(2025, 2, 20), "roster": date(2025, 2, 20), "followups": date(2025, 3, 1)}
        assert {parsed.title_date for _, parsed in sheets} == {expected.get(SAMPLE_KINDS[name])}, name


def test_sample_rows_are_every_nonblank_row_below_the_header(samples):
    counts = {}
    for name, sheets in parse_samples(samples).items():
        for sheet, parsed in sheets:
            header_row = parsed.rows[0][0] - 2
            assert len(parsed.rows) == _nonblank_rows_below(sheet, header_row), (name, sheet.sheet)
            counts[(name, sheet.sheet)] = len(parsed.rows)
    assert counts[("census_中坝村.xlsx", "中坝村花名册")] == 434  # one blank row in the middle
    assert counts[("census_长兴村.csv", None)] == 302
    assert counts[("roster_后柳中学.xlsx", "学籍花名册")] == 681
    assert counts[("teachers.xlsx", "教师名单")] == 76
    assert counts[("followups.xlsx", "劝返帮扶记录")] == 377
    assert counts[("status_changes.csv", None)] == 64
    primary = [counts[("roster_后柳小学.xlsx", g)] for g in ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")]
    assert primary == [123, 105, 108, 111, 128, 119]


def test_sample_census_village_and_group_are_filled_down(samples):
    for name, sheets in parse_samples(samples).items():
        if SAMPLE_KINDS[name] != "census":
            continue
        (_, parsed), = sheets
        village = name.removeprefix("census_").rsplit(".", 1)[0]
        assert {values["village"] for _, values in parsed.rows} == {village}, name
        assert all(values["group"] != "" for _, values in parsed.rows), name


def test_sample_rows_keep_raw_cells(samples):
    (_, census), = parse_samples(samples)["census_后柳社区.xlsx"]
    line, first = census.rows[0]
    assert line == 4
    assert first["birth_date"] == 40086.0 and first["phone"] == 18123545211.0 and first["group"] == "第1组"
    (_, roster), = parse_samples(samples)["roster_后柳中学.xlsx"]
    assert roster.rows[0][1]["address"] == "石泉县后柳镇梧桐村1组"


# --- anything at all -------------------------------------------------------------------------

WORDS = ["姓名", "身份证号", "就读状态", "学籍号", "监护人信息", "合计", "注：", "填报日期：2025年2月20日",
         "村(社区)", "组", "任教学校", "变动日期", "帮扶类型", "类型", "负责人", "小计", "序号", "1", ""]
CELL = st.one_of(st.sampled_from(WORDS), st.text(max_size=6), st.floats(), st.integers(), st.none(),
                 st.dates(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(CELL, max_size=7), max_size=12), kind=st.sampled_from((None,) + KINDS),
       merged=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 6), st.integers(0, 3), st.integers(0, 3)),
                       max_size=3))
def test_any_sheet_parses_or_says_why(rows, kind, merged):
    width = max(map(len, rows), default=0)  # rows stay ragged, as CSV records are
    ranges = [((r, c), (min(r + h, len(rows) - 1), min(c + w, width - 1)))
              for r, c, h, w in merged if r < len(rows) and c < width]
    try:
        parsed = parse_sheet(RawSheet(Path("x.xlsx"), "S", rows, ranges), kind=kind)
    except FileProblem:
        return
    assert parsed.kind in KINDS
    assert all(1 <= line <= len(rows) for line, _ in parsed.rows)
    assert all(set(values) == set(parsed.columns.values()) for _, values in parsed.rows)
