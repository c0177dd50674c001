"""Reading files into raw sheets: formats, encodings, merged cells, and every unreadable file."""

import zipfile
from datetime import date

import pytest
from sheetmaker import CENSUS_HEADER, census_row, make_csv, make_ods, make_xls, make_xlsx

from kcbx import reading
from kcbx.errors import FileProblem
from kcbx.reading import RawSheet, _as_row_coordinates, read_file

ID = "610922201504045969"
TITLE = ["后柳镇长兴村2024年适龄儿童少年花名册"]


def read_one(path, **kwargs) -> RawSheet:
    sheets, notes = read_file(path, **kwargs)
    assert len(sheets) == 1, notes
    return sheets[0]


def problem(path, **kwargs) -> str:
    """The message of the FileProblem reading `path` raises (always one line)."""
    with pytest.raises(FileProblem) as caught:
        read_file(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- workbooks -----------------------------------------------------------------------------

def test_xlsx_cells_come_as_calamine_gives_them(tmp_path):
    rows = [TITLE, CENSUS_HEADER, census_row(1, "万彤晴", ID), [2, "陈萱", "女", 6.10922200908168e17]]
    raw = read_one(make_xlsx(tmp_path / "a.xlsx", rows, sheet="花名册"))
    assert raw.sheet == "花名册" and raw.file.name == "a.xlsx"
    assert raw.rows[0][0] == TITLE[0]
    assert raw.rows[2][3] == ID  # text stays text: an ID never passes through a float
    assert raw.rows[2][0] == 1.0
    assert raw.rows[3][3] == 6.10922200908168e17  # a number cell is left for the importer to report
    assert raw.rows[3][5] == ""


def test_merged_cells_are_filled_down_and_across(tmp_path):
    rows = [TITLE, CENSUS_HEADER] + [census_row(i, f"学生{i}", ID, "中坝村" if i == 1 else "",
                                                "1组" if i in (1, 3) else "") for i in range(1, 5)]
    path = make_xlsx(tmp_path / "m.xlsx", rows, merge=["A1:R1", "G3:G6", "H3:H4", "H5:H6"])
    raw = read_one(path)
    assert [r[6] for r in raw.rows[2:6]] == ["中坝村"] * 4
    assert [r[7] for r in raw.rows[2:6]] == ["1组", "1组", "1组", "1组"]
    assert raw.rows[0] == TITLE * 18
    assert ((2, 6), (5, 6)) in raw.merged and ((0, 0), (0, 17)) in raw.merged


def test_a_sheet_that_does_not_start_at_a1_keeps_excel_row_numbers(tmp_path):
    rows = [["标题"], ["姓名", "村"], ["张三", "梧桐村"], ["李四", ""]]
    raw = read_one(make_xlsx(tmp_path / "c4.xlsx", rows, origin="C4", merge=["D6:D7", "C4:D4"]))
    assert raw.rows[3][2] == "标题"  # Excel row 4, column C
    assert raw.rows[6][2:4] == ["李四", "梧桐村"]  # the merged D6:D7 filled into row 7
    assert raw.rows[3][3] == "标题"


def test_merged_ranges_are_shifted_when_rows_start_at_the_data():
    # A reader that trims the empty area gives rows from C4; the ranges stay in sheet terms.
    trimmed = [["标题", ""], ["姓名", "村"], ["张三", "梧桐村"], ["李四", ""]]
    ranges = _as_row_coordinates([((5, 3), (6, 3)), ((3, 2), (3, 3))], (6, 3), trimmed)
    assert ranges == [((2, 1), (3, 1)), ((0, 0), (0, 1))]


def test_hidden_columns_are_read_like_any_other(tmp_path):
    rows = [["姓名", "户主身份证号", "身份证号"], ["张三", "610922198001011234", ID]]
    raw = read_one(make_xlsx(tmp_path / "h.xlsx", rows, hidden_columns=["B"]))
    assert raw.rows[1] == ["张三", "610922198001011234", ID]


def test_full_width_digits_are_left_as_written(tmp_path):
    raw = read_one(make_xlsx(tmp_path / "f.xlsx", [["身份证号"], ["６１０９２２２０１４０６２７８１５２"]]))
    assert raw.rows[1][0] == "６１０９２２２０１４０６２７８１５２"  # normalising is not the reader's job


def test_empty_summary_and_hidden_sheets_are_skipped_with_a_note(tmp_path):
    data = [["姓名", "身份证号"], ["张三", ID]]
    path = make_xlsx(tmp_path / "w.xlsx", data, sheet="一年级",
                     more={"二年级": data, "Sheet2": [], "全校汇总": data, "数据统计": data, "下拉选项": [["男"]]},
                     hidden_sheets=["下拉选项"])
    sheets, notes = read_file(path)
    assert [s.sheet for s in sheets] == ["一年级", "二年级"]
    assert len(notes) == 4
    assert "w.xlsx：已跳过空工作表「Sheet2」" in notes
    assert "w.xlsx：已跳过汇总/统计工作表「全校汇总」" in notes
    assert "w.xlsx：已跳过汇总/统计工作表「数据统计」" in notes
    assert "w.xlsx：已跳过隐藏的工作表「下拉选项」（如需导入请用 --sheet 下拉选项）" in notes


def test_sheet_option_reads_only_that_sheet_whatever_it_is(tmp_path):
    data = [["姓名", "身份证号"], ["张三", ID]]
    path = make_xlsx(tmp_path / "w.xlsx", data, sheet="一年级", more={"全校汇总": [["姓名"], ["李四"]]})
    raw = read_one(path, sheet="全校汇总")
    assert raw.sheet == "全校汇总" and raw.rows[1] == ["李四"]


def test_unknown_sheet_name_lists_the_sheets(tmp_path):
    path = make_xlsx(tmp_path / "w.xlsx", [["姓名"], ["张三"]], sheet="一年级", more={"二年级": [["姓名"]]})
    message = problem(path, sheet="三年级")
    assert "三年级" in message and "一年级、二年级" in message


def test_naming_an_empty_sheet_is_an_error(tmp_path):
    path = make_xlsx(tmp_path / "w.xlsx", [["姓名"], ["张三"]], more={"Sheet2": []})
    assert "空的" in problem(path, sheet="Sheet2")


def test_a_workbook_of_empty_sheets_is_an_error(tmp_path):
    path = make_xlsx(tmp_path / "e.xlsx", [], more={"Sheet2": []})
    message = problem(path)
    assert "没有可导入的数据" in message and "Sheet2" in message


def test_xls_with_merged_cells(tmp_path):
    rows = [TITLE, ["姓名", "身份证号", "村"], ["张三", ID, "梧桐村"], ["李四", ID, ""], [12, 3.5, ""]]
    raw = read_one(make_xls(tmp_path / "old.xls", rows, sheet="花名册", merge=[(2, 3, 2, 2)]))
    assert raw.sheet == "花名册"
    assert raw.rows[2] == ["张三", ID, "梧桐村"]
    assert raw.rows[3] == ["李四", ID, "梧桐村"]
    assert raw.rows[4][:2] == [12.0, 3.5]


def test_ods(tmp_path):
    raw = read_one(make_ods(tmp_path / "wps.ods", [["姓名", "身份证号", "组"], ["张三", ID, 3]], sheet="表1"))
    assert raw.sheet == "表1" and raw.rows[1] == ["张三", ID, 3.0]


def test_xlsm_reads_like_xlsx(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["姓名"], ["张三"]])
    raw = read_one(path.rename(tmp_path / "a.xlsm"))
    assert raw.rows[1] == ["张三"]


def test_dates_come_as_dates(tmp_path):
    raw = read_one(make_xlsx(tmp_path / "d.xlsx", [["出生日期"], [date(2015, 3, 4)]]))
    assert raw.rows[1][0] == date(2015, 3, 4)


# --- CSV / TXT -----------------------------------------------------------------------------

CSV_ROWS = [TITLE, ["姓名", "身份证号", "组"], ["张三", ID, "一组"], ["", "", ""], ["李四", ID, "1"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    raw = read_one(make_csv(tmp_path / "c.csv", CSV_ROWS, encoding=encoding))
    assert raw.sheet is None and raw.merged == []
    assert raw.rows[0][0] == TITLE[0]  # no BOM left in the first cell
    assert raw.rows[2] == ["张三", ID, "一组"]
    assert raw.rows[4] == ["李四", ID, "1"]  # CSV cells stay text


def test_excel_unicode_text_is_utf16_and_tab_separated(tmp_path):
    path = tmp_path / "u.txt"
    path.write_bytes("\ufeff姓名\t身份证号\r\n张三\t" .encode("utf-16-le") + f"{ID}\r\n".encode("utf-16-le"))
    assert read_one(path).rows == [["姓名", "身份证号"], ["张三", ID]]


def test_tab_separated_txt(tmp_path):
    raw = read_one(make_csv(tmp_path / "t.txt", CSV_ROWS, delimiter="\t", encoding="gbk"))
    assert raw.rows[2] == ["张三", ID, "一组"]


def test_encoding_option_overrides_detection(tmp_path):
    path = make_csv(tmp_path / "c.csv", [["姓名"], ["张三"]], encoding="gbk")
    assert read_one(path, encoding="gbk").rows[1] == ["张三"]
    utf8 = make_csv(tmp_path / "u.csv", [["姓名"], ["张三"]], encoding="utf-8")
    # UTF-8 bytes read as GB18030 are mojibake, not an error: the clerk asked for it.
    assert read_one(utf8, encoding="gb18030").rows[1] not in ([], ["张三"])


def test_wrong_encoding_option_says_so(tmp_path):
    path = make_csv(tmp_path / "c.csv", [["姓名"], ["张三"]], encoding="gbk")
    assert "utf-8" in problem(path, encoding="utf-8")
    assert "不认识的编码" in problem(path, encoding="klingon")


def test_undecodable_csv_suggests_an_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("姓名,备注\r\n".encode("utf-8") + b"Jos\xe9,\xff\xfe\xff\r\n")
    assert "--encoding gbk" in problem(path)


def test_multi_line_cells_keep_line_numbers(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text('姓名,备注\r\n张三,"第一行\r\n第二行"\r\n李四,\r\n', encoding="utf-8")
    rows = read_one(path).rows
    assert rows[1] == ["张三", "第一行\r\n第二行"]
    assert rows[2] == []  # line 3 belongs to the cell above
    assert rows[3] == ["李四", ""]  # line 4, as a text editor numbers it


# --- files that cannot be read -------------------------------------------------------------

def test_missing_file(tmp_path):
    assert "找不到文件" in problem(tmp_path / "nope.xlsx")


def test_directory(tmp_path):
    (tmp_path / "村表.xlsx").mkdir()
    assert "文件夹" in problem(tmp_path / "村表.xlsx")


@pytest.mark.parametrize("name", ["zero.xlsx", "zero.csv", "zero.xls"])
def test_zero_byte_file(tmp_path, name):
    (tmp_path / name).touch()
    assert "空文件" in problem(tmp_path / name)


def test_csv_named_xlsx(tmp_path):
    path = make_csv(tmp_path / "really_csv.xlsx", [["姓名"], ["张三"]], encoding="gbk")
    assert "扩展名改为 .csv" in problem(path)


def test_xlsx_named_csv(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["姓名"], ["张三"]]).rename(tmp_path / "a.csv")
    assert "扩展名改为 .xlsx" in problem(path)


def test_xls_named_xlsx_and_the_reverse(tmp_path):
    xls = make_xls(tmp_path / "a.xls", [["姓名"], ["张三"]]).rename(tmp_path / "b.xlsx")
    assert "其实是旧版 .xls 格式：请把扩展名改为 .xls，" in problem(xls)
    assert "其实是旧版 Excel 文件（.xls）" in problem(xls.rename(tmp_path / "c.csv"))
    xlsx = make_xlsx(tmp_path / "d.xlsx", [["姓名"], ["张三"]]).rename(tmp_path / "e.xls")
    assert "其实是 .xlsx 格式：请把扩展名改为 .xlsx" in problem(xlsx)


def test_web_page_saved_as_xls(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<html><table><tr><td>姓名</td></tr></table></html>", encoding="utf-8")
    assert "网页" in problem(path)


def test_truncated_xlsx(tmp_path):
    full = make_xlsx(tmp_path / "full.xlsx", [["姓名"], ["张三"]]).read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(full[: len(full) // 2])
    assert "损坏" in problem(tmp_path / "cut.xlsx")


def test_zip_that_is_no_workbook(tmp_path):
    with zipfile.ZipFile(tmp_path / "docs.xlsx", "w") as z:
        z.writestr("readme.txt", "not a workbook")
    assert "另存为 .xlsx" in problem(tmp_path / "docs.xlsx")


def test_garbage_bytes(tmp_path):
    (tmp_path / "g.xlsx").write_bytes(bytes(range(256)) * 4)
    assert "不是有效的 Excel 文件" in problem(tmp_path / "g.xlsx")


def test_password_protected_xlsx(tmp_path):
    # Excel saves an encrypted .xlsx as an OLE container with an EncryptedPackage stream.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000) + "EncryptedPackage".encode("utf-16-le"))
    assert "密码" in problem(path)


def test_truncated_xls(tmp_path):
    full = make_xls(tmp_path / "full.xls", [["姓名"], ["张三"]] * 50).read_bytes()
    (tmp_path / "cut.xls").write_bytes(full[:1500])
    assert "损坏" in problem(tmp_path / "cut.xls")


def test_a_panic_inside_calamine_is_a_damaged_file(tmp_path, monkeypatch):
    # A corrupt .xls can make calamine's Rust code panic; pyo3 raises PanicException,
    # a BaseException. (It can also abort the process outright: see the module notes.)
    class PanicException(BaseException):
        pass

    def panic(path):
        raise PanicException("range start index 116 out of range for slice of length 70")

    monkeypatch.setattr(reading.CalamineWorkbook, "from_path", panic)
    assert "损坏" in problem(make_xls(tmp_path / "p.xls", [["姓名"], ["张三"]]))


def test_interrupting_a_read_is_not_turned_into_a_file_problem(tmp_path, monkeypatch):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(reading.CalamineWorkbook, "from_path", interrupted)
    with pytest.raises(KeyboardInterrupt):
        read_file(make_xlsx(tmp_path / "k.xlsx", [["姓名"], ["张三"]]))


@pytest.mark.parametrize("name", ["notes.docx", "花名册.et", "README"])
def test_unknown_extension(tmp_path, name):
    (tmp_path / name).write_bytes(b"x")
    assert ".xlsx、.xls、.ods 或 .csv" in problem(tmp_path / name)


# --- the sample township --------------------------------------------------------------------

def test_every_sample_file_reads(samples):
    files = sorted(p for p in samples.iterdir() if p.suffix in (".xlsx", ".csv"))
    assert len(files) == 14
    for path in files:
        sheets, _ = read_file(path)
        assert sheets and all(len(s.rows) > 60 for s in sheets), path.name


def test_sample_census_workbooks_skip_their_empty_sheets(samples):
    sheets, notes = read_file(samples / "census_后柳社区.xlsx")
    assert [s.sheet for s in sheets] == ["后柳社区花名册"]
    assert notes == ["census_后柳社区.xlsx：已跳过空工作表「Sheet2」", "census_后柳社区.xlsx：已跳过空工作表「Sheet3」"]


def test_sample_primary_school_has_a_sheet_per_grade(samples):
    sheets, notes = read_file(samples / "roster_后柳小学.xlsx")
    assert [s.sheet for s in sheets] == ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]
    assert notes == []


def test_sample_gbk_csv(samples):
    raw = read_one(samples / "census_长兴村.csv")
    assert raw.rows[1][0].startswith("填报单位：长兴村")
    assert raw.rows[2][:4] == ["序号", "姓名", "性别", "身份证号码"]


def test_sample_merged_village_cells_are_filled(samples):
    raw = read_one(samples / "census_中坝村.xlsx")
    villages = [row[6] for row in raw.rows[3:] if any(c != "" for c in row)]
    assert len(villages) == 434 and set(villages) == {"中坝村"}
