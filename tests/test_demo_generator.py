"""The synthetic township: deterministic, valid, and its recorded mess really in the files."""

import csv
from collections import Counter
from datetime import date

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from kcbx import idcard
from kcbx.dates import compulsory_window
from kcbx.demo import (
    generate,
    ground_truth_counts,
    status_on,
    write_roster_xlsx,
    write_sheets,
)
from kcbx.demo import sheets as demo_sheets
from kcbx.demo import words
from kcbx.vocab import NOT_STATUSES, RECEIVING_STATUSES

AS_OF = date(2025, 3, 1)
ID_CODES = ("bad_checksum", "scientific_notation", "bad_length")


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """generate(2000, seed=1) written with mess, as the demo and the importer tests use it."""
    t = generate(2000, seed=1)
    folder = tmp_path_factory.mktemp("town")
    write_sheets(t, folder, mess=True)
    return t, folder


def read_rows(path, sheet=None):
    """Every row of a sheet as calamine reads it (row N of Excel is item N-1)."""
    if path.suffix == ".csv":
        encoding = "gbk" if path.name.startswith("census_") else "utf-8-sig"
        with path.open(encoding=encoding, newline="") as handle:
            return list(csv.reader(handle))
    book = CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(sheet or book.sheet_names[0]).to_python()


def all_cells(folder):
    """{(file, sheet): rows} for every file in the folder."""
    cells = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            cells[(path.name, None)] = read_rows(path)
        else:
            book = CalamineWorkbook.from_path(str(path))
            for name in book.sheet_names:
                cells[(path.name, name)] = book.get_sheet_by_name(name).to_python()
    return cells


def data_rows(path, sheet, header_row):
    """(Excel row, cells) of data rows: not blank, not a 合计 row."""
    rows = read_rows(path, sheet)
    for number, cells in enumerate(rows[header_row:], header_row + 1):
        if any(c not in ("", None) for c in cells) and cells[0] != "合计":
            yield number, cells


def test_same_seed_gives_the_same_sheets(tmp_path):
    first, second = generate(300, seed=7), generate(300, seed=7)
    write_sheets(first, tmp_path / "a")
    write_sheets(second, tmp_path / "b")
    assert all_cells(tmp_path / "a") == all_cells(tmp_path / "b")
    assert first.injected == second.injected
    assert [c.id_number for c in generate(300, seed=8).children] != [c.id_number for c in first.children]


def test_every_id_is_valid_unique_and_agrees_with_gender_and_birth_date(town):
    t, _ = town
    ids = [c.id_number for c in t.children]
    assert len(set(ids)) == len(ids) == 2000
    for child in t.children:
        assert idcard.validate(child.id_number) is None
        assert child.id_number.startswith("610922")
        assert idcard.birth_date(child.id_number) == child.birth_date
        assert child.gender == ("男" if idcard.gender(child.id_number) == "M" else "女")
        assert child.student_no in (None, "G" + child.id_number)


def test_every_word_fits_a_gbk_csv():
    texts = [v for v in vars(words).values() if isinstance(v, str)]
    texts += [str(v) for v in vars(words).values() if isinstance(v, tuple)]
    for text in texts:
        text.encode("gbk")


def test_names_and_phones_look_real(town):
    t, _ = town
    phones = [c.guardian_phone for c in t.children] + [x.phone for x in t.teachers]
    assert all(len(p) == 11 and p.isdigit() and p[:2] in ("13", "15", "17", "18", "19") for p in phones)
    assert all(2 <= len(c.name) <= 3 for c in t.children)
    households = Counter((c.guardian_name, c.guardian_phone) for c in t.children)
    assert max(households.values()) >= 2  # siblings share a guardian


def test_the_rejected_rows_are_exactly_the_planned_ones(town):
    t, _ = town
    rejected = Counter(i.code for i in t.injected if i.code)
    assert rejected == {
        "bad_checksum": 3, "scientific_notation": 2, "bad_length": 1, "birth_mismatch": 2,
        "name_conflict": 2, "bad_value": 1,
    }


@pytest.mark.parametrize("code", [*ID_CODES, "birth_mismatch", "bad_value"])
def test_each_rejected_row_is_in_its_file_at_its_row(town, code):
    t, folder = town
    for record in (i for i in t.injected if i.code == code):
        cells = read_rows(folder / record.file, record.sheet)[record.row - 1]
        header = read_rows(folder / record.file, record.sheet)[2 if record.file.startswith("census_") else 1]
        value = cells[header.index(record.column)]
        assert value == record.value
        if code in ID_CODES:
            assert idcard.validate(idcard.normalize(value)) == code
        elif code == "birth_mismatch":
            id_cell = cells[header.index("身份证号码" if record.file.startswith("census_") else "身份证号")]
            assert idcard.validate(idcard.normalize(id_cell)) is None
            assert (value.year, value.month) != (record.id_number[6:10], record.id_number[10:12])
            assert value.month != idcard.birth_date(record.id_number).month
        else:
            assert value.startswith("=")


def test_a_name_conflict_is_one_id_under_two_names_in_two_censuses(town):
    t, folder = town
    rows = [i for i in t.injected if i.code == "name_conflict"]
    assert len({i.id_number for i in rows}) == 1 and len({i.file for i in rows}) == 2
    seen = []
    for record in rows:
        cells = read_rows(folder / record.file, record.sheet)[record.row - 1]
        assert idcard.normalize(cells[3]) == record.id_number
        seen.append(cells[1])
    assert seen[0] != seen[1]


def test_only_the_recorded_rows_have_bad_ids(town):
    t, folder = town
    bad = {(i.file, i.row) for i in t.injected if i.code in ID_CODES}
    checked = 0
    for path in folder.iterdir():
        if not path.name.startswith(("census_", "roster_")):
            continue
        census = path.name.startswith("census_")
        sheets = [None] if path.suffix == ".csv" else CalamineWorkbook.from_path(str(path)).sheet_names
        for sheet in sheets:
            if sheet in ("Sheet2", "Sheet3"):
                continue
            for row, cells in data_rows(path, sheet, 3 if census else 2):
                problem = idcard.validate(idcard.normalize(cells[3 if census else 4]))
                assert (problem is not None) == ((path.name, row) in bad), (path.name, row)
                checked += 1
    assert checked > 3000


def test_harmless_mess_is_where_it_is_recorded(town):
    t, folder = town
    kinds = Counter(i.kind for i in t.injected if i.row and not i.code)
    assert {"fullwidth_id", "spaced_id", "lowercase_x", "padded_name", "blank_row", "total_row"} <= set(kinds)
    for record in (i for i in t.injected if i.row and not i.code):
        rows = read_rows(folder / record.file, record.sheet)
        cells = rows[record.row - 1]
        if record.kind == "blank_row":
            assert all(c in ("", None) for c in cells)
        elif record.kind == "total_row":
            assert cells[0] == "合计" and record.row == len(rows)
        elif record.column.startswith("身份证号"):
            value = cells[rows[2 if record.file.startswith("census_") else 1].index(record.column)]
            assert value == record.value != record.id_number
            assert idcard.normalize(value) == record.id_number
        else:
            name = cells[1 if record.file.startswith("census_") else 2]
            assert name == record.value and "".join(name.split()) != name


def test_merged_cells_are_really_merged(town):
    t, folder = town
    merged = [i for i in t.injected if i.kind == "merged_cells"]
    assert {i.column for i in merged} == {"村(社区)", "所在组"}
    assert any(i.file.startswith("roster_") for i in merged)
    for record in merged:
        sheet = openpyxl.load_workbook(folder / record.file)[record.sheet]
        ranges = {str(r) for r in sheet.merged_cells.ranges}
        assert record.value and set(record.value) <= ranges
        for cells in record.value:
            first, *rest = [row[0] for row in sheet[cells]]
            assert first.value not in (None, "") and all(c.value is None for c in rest)


def test_the_csv_census_is_gbk_with_first_row_only_villages(town):
    t, folder = town
    path = next(folder.glob("census_*.csv"))
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")
    rows = read_rows(path)
    assert rows[0][0].endswith("年适龄儿童少年花名册") and "填报日期：2025年2月20日" in rows[1][0]
    villages = [r[6] for r in rows[3:] if any(r) and r[0] != "合计"]
    assert villages[0] and villages.count("") > len(villages) // 2
    assert (folder / "status_changes.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_sheet_titles_and_headers_are_the_clerks(town):
    t, folder = town
    census = read_rows(folder / "census_后柳社区.xlsx")
    assert census[0][0] == "后柳镇后柳社区2024年适龄儿童少年花名册"
    assert census[1][0] == "填报单位：后柳社区居民委员会（盖章）        填报日期：2025年2月20日"
    assert census[2] == demo_sheets.CENSUS_HEADER
    book = CalamineWorkbook.from_path(str(folder / "roster_后柳小学.xlsx"))
    assert book.sheet_names == ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"]
    assert read_rows(folder / "roster_后柳小学.xlsx", "三年级")[0][0] == (
        "后柳小学2024-2025学年三年级学籍花名册（截至2025年2月20日）"
    )
    assert read_rows(folder / "roster_后柳中学.xlsx")[1][8] == "家庭住址"


def test_census_and_rosters_list_the_right_children(town):
    t, folder = town
    census_ids, roster_ids = Counter(), set()
    for path in folder.iterdir():
        census = path.name.startswith("census_")
        if not path.name.startswith(("census_", "roster_")):
            continue
        book = None if path.suffix == ".csv" else CalamineWorkbook.from_path(str(path))
        for sheet in [None] if book is None else book.sheet_names:
            for _, cells in data_rows(path, sheet, 3 if census else 2):
                text = idcard.normalize(cells[3 if census else 4])
                (census_ids.update if census else roster_ids.update)([text])
    truth = {c.id_number for c in t.children if c.in_census}
    unreadable = {i.id_number for i in t.injected if i.code in ID_CODES and i.file.startswith("census_")}
    assert truth - set(census_ids) == unreadable
    assert [i for i, n in census_ids.items() if n > 1] == [
        next(i.id_number for i in t.injected if i.code == "name_conflict")
    ]
    on_roll = {c.id_number for c in t.children if t.on_local_roll(c)}
    bad_roster = {i.id_number for i in t.injected if i.code and i.file.startswith("roster_")}
    assert on_roll - roster_ids == bad_roster
    outside = [c for c in t.children if not c.in_census]
    assert outside and all(t.on_local_roll(c) for c in outside)


def test_status_history_is_consistent(town):
    t, _ = town
    by_child = {}
    for change in t.changes:
        by_child.setdefault(change.id_number, []).append(change)
    children = {c.id_number: c for c in t.children}
    assert {c.kind for c in t.changes} >= {"辍学", "劝返复学", "转出", "转入", "迁出", "迁入", "休学", "复学", "入学", "死亡"}
    assert all(t.school_year_start < c.day <= t.reference_date for c in t.changes)
    assert any(c.day > t.sheet_date for c in t.changes)  # only status_changes.csv knows these
    for id_number, changes in by_child.items():
        child = children[id_number]
        for before, after in zip(changes, changes[1:]):
            assert after.prev_status == before.next_status and after.from_school == before.to_school
        on_sheet = [c for c in changes if c.day <= t.sheet_date]
        if on_sheet:
            assert child.status == on_sheet[-1].next_status
        else:
            assert child.status == changes[0].prev_status
        assert status_on(child, changes, t.sheet_date, t.sheet_date) == child.status
        assert status_on(child, changes, t.sheet_date, t.reference_date) == changes[-1].next_status
        if changes[0].kind == "迁入":
            assert status_on(child, changes, t.sheet_date, t.school_year_start) is None


def test_returns_are_followed_by_a_record_of_the_return(town):
    t, _ = town
    returns = {(c.id_number, c.day) for c in t.changes if c.kind == "劝返复学"}
    done = {(f.id_number, f.day) for f in t.followups if f.result == "已劝返复学"}
    assert returns and returns == done
    active = {(x.school, x.name) for x in t.teachers if x.active}
    assert all((f.teacher_school, f.teacher) in active for f in t.followups)


def test_status_counts_are_in_the_intended_proportions(town):
    t, _ = town
    counts = ground_truth_counts(t, AS_OF)
    receiving = sum(counts[s] for s in RECEIVING_STATUSES)
    not_receiving = sum(counts[s] for s in NOT_STATUSES)
    assert 0.70 < counts["enrolled"] / receiving < 0.80
    assert 0.18 < counts["away"] / receiving < 0.27
    assert 10 <= counts["inclusive"] + counts["home_taught"] + counts["special_school"] <= 45
    assert 3 <= counts["dropout"] <= 15 and 1 <= counts["never_enrolled"] <= 8
    assert 0.99 < receiving / (receiving + not_receiving) < 1
    assert 150 < counts["completed"] < 300
    for status in ("suspended", "moved_out", "deceased"):
        assert 1 <= counts[status] <= 12


def test_ground_truth_leaves_out_the_rejected_census_children(town):
    t, _ = town
    first, last = compulsory_window(AS_OF)
    assert (first, last) == (date(2008, 9, 1), date(2018, 8, 31))
    rejected = t.rejected_census_ids()
    assert len(rejected) == 9  # 2+2+1+2+1+1 children, the name conflict one child in two rows
    with_rejections = sum(ground_truth_counts(t, AS_OF).values())
    saved, t.injected = t.injected, []
    try:
        assert sum(ground_truth_counts(t, AS_OF).values()) - with_rejections == len(rejected)
    finally:
        t.injected = saved


def test_changes_after_the_sheet_date_move_the_figures(town):
    t, _ = town
    on_sheet, later = ground_truth_counts(t, t.sheet_date), ground_truth_counts(t, AS_OF)
    assert on_sheet != later


def test_teachers_one_name_at_two_schools_and_some_not_in_post(town):
    t, _ = town
    keys = [(x.school, x.name) for x in t.teachers]
    assert len(keys) == len(set(keys))
    schools_of = Counter(x.name for x in t.teachers)
    assert any(n > 1 for n in schools_of.values())
    assert sorted(x.duty for x in t.teachers if not x.active) == ["调离", "退休", "长期病假"]
    heads = [x.head_class for x in t.teachers if x.head_class]
    assert len(heads) == len({(x.school, x.head_class) for x in t.teachers if x.head_class})


def test_clean_sheets_have_no_mess(tmp_path):
    t = generate(400, seed=3)
    write_sheets(t, tmp_path, mess=False)
    assert t.injected == []
    for path in tmp_path.glob("*.xlsx"):
        for sheet in openpyxl.load_workbook(path).worksheets:
            assert all(r.min_row <= 2 for r in sheet.merged_cells.ranges)  # title rows only
    rows = list(data_rows(tmp_path / "census_后柳社区.xlsx", None, 3))
    assert all(cells[6] == "后柳社区" and cells[7] for _, cells in rows)
    assert all(idcard.validate(idcard.normalize(cells[3])) is None for _, cells in rows)


def test_big_sheets_are_streamed_with_every_value_filled(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_sheets, "NORMAL_MODE_MAX_ROWS", 50)
    t = generate(600, seed=2)
    write_sheets(t, tmp_path, mess=True)
    assert not [i for i in t.injected if i.kind == "merged_cells"]
    for record in (i for i in t.injected if i.code):
        cells = read_rows(tmp_path / record.file, record.sheet)[record.row - 1]
        assert record.value in cells
    rows = list(data_rows(tmp_path / "census_后柳社区.xlsx", None, 3))
    assert all(cells[6] == "后柳社区" for _, cells in rows)


def test_one_big_roster_of_every_pupil_on_a_local_roll(tmp_path):
    t = generate(500, seed=4)
    count = write_roster_xlsx(t, tmp_path / "roster.xlsx")
    rows = read_rows(tmp_path / "roster.xlsx")
    assert rows[1][:3] == ["序号", "学校名称", "学籍号"]
    assert count == len(rows) - 2 == sum(1 for c in t.children if t.on_local_roll(c))
    assert {r[1] for r in rows[2:]} == set(t.local_schools)


@pytest.mark.parametrize(
    ("number", "text"),
    [(7, "七"), (10, "十"), (12, "十二"), (40, "四十"), (99, "九十九"), (100, "一百"), (105, "一百零五"),
     (110, "一百一十"), (123, "一百二十三")],
)
def test_chinese_numerals_for_big_classes(number, text):
    assert demo_sheets._cn(number) == text


def test_a_tiny_township_still_writes(tmp_path):
    t = generate(12, seed=5)
    paths = write_sheets(t, tmp_path)
    assert len(t.children) == 12 and all(p.exists() for p in paths)
