"""kcbx import end to end: writing, batches, conflicts, undo, dry-run, atomicity."""

import json
import sqlite3
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcbx import db as kdb
from kcbx import childsheets, importer
from tests.sheets import (CHANGE_HEADERS, FOLLOWUP_HEADERS, TEACHER_HEADERS, census, census_row,
                          make_id, roster, roster_row, write_xlsx)

A = make_id(date(2015, 3, 4), 1)
B = make_id(date(2016, 5, 6), 2, male=False)
C = make_id(date(2012, 1, 2), 3)


def dump(path):
    """Every kcbx table's rows, for before/after comparisons."""
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT IN ('import_batches', 'batch_changes', 'import_errors') ORDER BY name")]
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


@pytest.fixture
def village_sheet(tmp_path):
    return census(tmp_path / "census.xlsx", [
        census_row(1, "王小明", A, born="2015.3.4"),
        census_row(2, " 李 红 ", B, group="", village="", status="外出就读", school="西安市第一小学"),
        census_row(3, "赵强", C, grade="七年级", school="后柳中学", status="辍学", family="脱贫户/低保户"),
    ])


def test_census_import_writes_children_and_snapshots(run, db_path, village_sheet):
    result = run("import", village_sheet, "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    batch = out["batches"][0]
    assert batch["kind"] == "census" and batch["sheet_date"] == "2025-02-20"
    assert (batch["rows"], batch["inserted"], batch["rejected"]) == (3, 3, 0)
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    kids = {r["id_number"]: r for r in conn.execute("SELECT * FROM children")}
    assert kids[B]["name"] == "李红"  # inner and outer spaces removed
    assert kids[B]["gender"] == "F" and kids[A]["birth_date"] == "2015-03-04"
    village = conn.execute("SELECT id FROM units WHERE kind='village' AND name='中坝村'").fetchone()[0]
    assert {k["village_id"] for k in kids.values()} == {village}  # merged/blank cells: the sheet's village
    assert all(k["in_census"] == 1 for k in kids.values())
    assert kids[C]["family_type"] == "脱贫户、低保户" and kids[C]["grade"] == 7
    events = conn.execute("SELECT status, date, kind FROM status_events ORDER BY child_id").fetchall()
    assert [tuple(e) for e in events] == [("enrolled", "2025-02-20", "snapshot"),
                                          ("away", "2025-02-20", "snapshot"),
                                          ("dropout", "2025-02-20", "snapshot")]
    assert kids[C]["status"] == "dropout"


def test_reimport_same_file_is_a_noop_unless_forced(run, db_path, village_sheet):
    run("import", village_sheet)
    before = dump(db_path)
    again = run("import", village_sheet)
    assert again.exit_code == 0
    assert "已经导入过" in again.stderr
    assert dump(db_path) == before
    forced = run("import", village_sheet, "--force", "--format", "json")
    assert json.loads(forced.stdout)["batches"][0]["unchanged"] == 3


def test_undo_restores_previous_state_exactly(run, db_path, village_sheet, tmp_path):
    run("import", village_sheet)
    before = dump(db_path)
    changed = census(tmp_path / "census2.xlsx", [
        census_row(1, "王小明", A, status="辍学", family="监测户"),
        census_row(2, "新来", make_id(date(2014, 1, 1), 9)),
    ], day="2025年3月20日")
    assert run("import", changed).exit_code == 0
    assert dump(db_path) != before
    result = run("undo", "2")
    assert result.exit_code == 0, result.output
    assert dump(db_path) == before
    assert "已撤销" in result.stdout
    assert run("undo", "2").exit_code == 1  # twice is an error


def test_undo_refuses_when_a_later_batch_touched_the_rows(run, db_path, village_sheet, tmp_path):
    run("import", village_sheet)
    later = census(tmp_path / "later.xlsx", [census_row(1, "王小明", A, status="辍学")],
                   day="2025年3月20日")
    run("import", later)
    result = run("undo", "1")
    assert result.exit_code == 1
    assert "第 2 批" in result.stderr
    assert run("undo", "1", "--force").exit_code == 0


def test_dry_run_writes_nothing(run, db_path, village_sheet):
    run("init")
    before = dump(db_path)
    result = run("import", village_sheet, "--dry-run")
    assert result.exit_code == 0
    assert "未写入" in result.stdout
    assert dump(db_path) == before


def test_exception_mid_import_leaves_no_trace(db_path, village_sheet, monkeypatch):
    conn = kdb.connect(db_path)
    before = dump(db_path)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(childsheets, "_update_children", boom)  # after the inserts
    with pytest.raises(RuntimeError):
        importer.import_files(conn, [village_sheet], importer.Options())
    assert dump(db_path) == before
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 0


def test_same_id_two_names_in_one_call_rejects_both(run, db_path, tmp_path):
    one = census(tmp_path / "a.xlsx", [census_row(1, "张三", A)], village="中坝村")
    two = census(tmp_path / "b.xlsx", [census_row(1, "张山", A), census_row(2, "李四", B)],
                 village="永红村")
    result = run("import", one, two, "--format", "json")
    assert result.exit_code == 3
    errors = [e for b in json.loads(result.stdout)["batches"] for e in b["errors"]]
    assert [e["code"] for e in errors] == ["name_conflict", "name_conflict"]
    assert A not in result.stdout  # masked
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name FROM children").fetchall() == [("李四",)]


def test_stored_name_conflict_is_rejected_not_overwritten(run, db_path, village_sheet, tmp_path):
    run("import", village_sheet)
    other = census(tmp_path / "c.xlsx", [census_row(1, "王晓明", A)], day="2025年3月1日")
    result = run("import", other, "--format", "json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["batches"][0]["errors"][0]
    assert error["code"] == "name_conflict" and "children set" in error["message"]
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name FROM children WHERE id_number=?", (A,)).fetchone()[0] == "王小明"
    assert conn.execute("SELECT child_id FROM import_errors WHERE code='name_conflict'").fetchone()[0]


def test_a_child_listed_twice_in_a_sheet_takes_the_later_row(run, db_path, village_sheet, tmp_path):
    run("import", village_sheet)
    twice = roster(tmp_path / "r.xlsx", [roster_row(1, "王小明", A, score=70, cls="1班"),
                                         roster_row(2, "王小明", A, score=60, cls=""),
                                         roster_row(3, "新生", make_id(date(2016, 1, 1), 8), score=50),
                                         roster_row(4, "新生", make_id(date(2016, 1, 1), 8), score=55)])
    conn = sqlite3.connect(db_path)

    def score_class():
        return conn.execute("SELECT last_score, class_no FROM children WHERE id_number IN (?, ?) "
                            "ORDER BY id", (A, make_id(date(2016, 1, 1), 8))).fetchall()

    counts = json.loads(run("import", twice, "--format", "json").stdout)["batches"][0]
    assert (counts["inserted"], counts["updated"], counts["unchanged"]) == (1, 1, 2)
    assert score_class() == [(60.0, 1), (55.0, 1)]  # a blank class does not erase the 1班 above
    again = json.loads(run("import", twice, "--force", "--format", "json").stdout)["batches"][0]
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert score_class() == [(60.0, 1), (55.0, 1)]
    assert conn.execute("SELECT count(*) FROM status_events e JOIN children c ON c.id = e.child_id "
                        "WHERE c.id_number = ?", (A,)).fetchone()[0] == 5  # census + 2 × 2 rows


def test_each_row_of_a_child_listed_twice_keeps_its_own_snapshot(run, db_path, tmp_path):
    kid = make_id(date(2013, 5, 6), 4)
    path = write_xlsx(tmp_path / "r.xlsx", ["姓名", "身份证号", "学校名称", "学籍状态"], [
        ["周七", kid, "后柳小学", "在读"], ["周七", kid, "后柳中学", "休学"]],
        title="学籍花名册", subtitle="填报日期：2025年3月3日")
    assert run("import", path).exit_code == 0
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT school, status FROM status_events ORDER BY id").fetchall() == [
        ("后柳小学", "enrolled"), ("后柳中学", "suspended")]
    assert conn.execute("SELECT school, status FROM children").fetchall() == [("后柳中学", "suspended")]


def test_bad_rows_are_reported_with_codes_and_the_rest_imported(run, db_path, tmp_path):
    path = census(tmp_path / "bad.xlsx", [
        census_row(1, "好孩子", A),
        census_row(2, "校验错", A[:-1] + ("0" if A[-1] != "0" else "1")),
        census_row(3, "科学计数", 6.10922201503041e17),
        census_row(4, "十五位", "610922150304123"),
        census_row(5, "生日错", B, born="2016-05-07"),
        census_row(6, "=HYPERLINK(1)", C),
        census_row(7, "没状态", make_id(date(2013, 1, 1), 5), status=""),
    ])
    errors_file = tmp_path / "errors.xlsx"
    result = run("import", path, "--format", "json", "--errors", errors_file)
    assert result.exit_code == 3
    batch = json.loads(result.stdout)["batches"][0]
    codes = {e["row"]: e["code"] for e in batch["errors"]}
    assert codes == {5: "bad_checksum", 6: "scientific_notation", 7: "bad_length",
                     8: "birth_mismatch", 9: "bad_value", 10: "missing_field"}
    assert batch["inserted"] == 1 and batch["rejected"] == 6
    assert "文本" in next(e["message"] for e in batch["errors"] if e["code"] == "scientific_notation")
    from openpyxl import load_workbook
    ws = load_workbook(errors_file).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "bad_checksum" in values and A[:-1] not in " ".join(map(str, values))


def test_strict_rejects_the_whole_call(run, db_path, tmp_path):
    run("init")
    before = dump(db_path)
    path = census(tmp_path / "bad.xlsx", [census_row(1, "好孩子", A),
                                          census_row(2, "坏", "123")])
    result = run("import", path, "--strict")
    assert result.exit_code == 3
    assert "--strict" in result.stderr
    assert dump(db_path) == before


def test_roster_then_changes_then_followups(run, db_path, village_sheet, tmp_path):
    run("import", village_sheet)
    school = roster(tmp_path / "roster.xlsx", [
        roster_row(1, "王小明", A, score=35, absences=12, remarks="思想动摇"),
    ])
    changes = write_xlsx(tmp_path / "changes.xlsx", CHANGE_HEADERS, [
        [1, A, "王小明", "中坝村", "2025/02/25", "辍学", "在校", "辍学", "后柳小学", "", 3, "某", ""],
        [2, make_id(date(2011, 1, 1), 7), "陌生人", "", "2025-02-26", "转入", "", "在校", "", "后柳小学", 3, "", ""],
    ])
    followups = write_xlsx(tmp_path / "f.xlsx", FOLLOWUP_HEADERS, [
        [1, "王小明", A, "中坝村", "后柳小学", "劝返", "2025.2.27", "吕梅", "后柳小学", "家访", "谈心", "已返校"],
    ])
    result = run("import", followups, changes, school, "--format", "json")  # any order
    assert result.exit_code == 3  # the stranger is unknown_id
    kinds = [b["kind"] for b in json.loads(result.stdout)["batches"]]
    assert kinds == ["roster", "changes", "followups"]
    conn = sqlite3.connect(db_path)
    row = conn.execute("SELECT status, status_since, last_score, absences, school, class_no "
                       "FROM children WHERE id_number=?", (A,)).fetchone()
    assert row == ("dropout", "2025-02-25", 35.0, 12, "后柳小学", 1)
    assert conn.execute("SELECT result FROM followups").fetchone()[0] == "已返校"
    assert conn.execute("SELECT level FROM units WHERE name='后柳小学'").fetchone()[0] == "primary"
    errs = json.loads(result.stdout)["batches"][1]["errors"]
    assert [e["code"] for e in errs] == ["unknown_id"]


def test_teachers_full_list_retires_missing(run, db_path, tmp_path):
    first = write_xlsx(tmp_path / "t1.xlsx", TEACHER_HEADERS, [
        [1, "吕梅", "女", "后柳中学", 13800000001.0, "语文", "七年级(1)班", "在岗", ""],
        [2, "魏莲", "女", "后柳中学", "13800000002", "数学", "", "在岗", ""],
        [3, "胡荣祥", "男", "后柳小学", "13800000003", "音乐", "", "长期病假", ""],
    ])
    assert run("import", first).exit_code == 0
    second = write_xlsx(tmp_path / "t2.xlsx", TEACHER_HEADERS, [
        [1, "吕梅", "女", "后柳中学", "13800000001", "语文", "七年级(1)班", "在岗", ""],
    ])
    assert run("import", second).exit_code == 0
    conn = sqlite3.connect(db_path)
    rows = dict(conn.execute("SELECT name, active FROM teachers").fetchall())
    assert rows == {"吕梅": 1, "魏莲": 0, "胡荣祥": 0}
    assert conn.execute("SELECT head_grade, head_class_no, phone FROM teachers WHERE name='吕梅'"
                        ).fetchone() == (7, 1, "13800000001")


def test_as_of_wins_over_title_date(run, db_path, village_sheet):
    result = run("import", village_sheet, "--as-of", "2025-03-01", "--format", "json")
    assert json.loads(result.stdout)["batches"][0]["sheet_date"] == "2025-03-01"


def test_missing_file_is_a_clear_error(run, tmp_path):
    result = run("import", tmp_path / "nope.xlsx")
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：") and "Traceback" not in result.output


junk = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=True, allow_infinity=True), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(junk, min_size=20, max_size=20), min_size=1, max_size=5))
def test_random_junk_never_crashes(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("junk") / "junk.xlsx"
    from tests.sheets import CENSUS_HEADERS
    clean = [[None if isinstance(v, float) and v != v else v for v in row] for row in rows]
    clean = [[v if not (isinstance(v, float) and abs(v) == float("inf")) else None for v in row]
             for row in clean]
    write_xlsx(path, CENSUS_HEADERS, clean, title="后柳镇中坝村2024年适龄儿童少年花名册")
    conn = kdb.connect(tmp_path_factory.mktemp("db") / "k.db")
    result = importer.import_files(conn, [path], importer.Options(kind="census"))
    for batch in result.batches:
        assert batch.inserted + batch.updated + batch.unchanged + batch.rejected <= batch.rows


def test_units_sheet_sets_heads_phones_and_catchments(run, db_path, tmp_path):
    path = write_xlsx(tmp_path / "units.xlsx", ["单位名称", "类型", "负责人", "负责人电话", "对口小学", "对口中学"], [
        ["中坝村", "村", "张村长", 13900000001.0, "后柳中坝小学", "后柳中学"],
        ["后柳中学", "学校", "李校长", "13900000002", "", ""],
    ])
    result = run("import", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["batches"][0]["kind"] == "units"
    listed = {u["name"]: u for u in json.loads(run("units", "list", "--format", "json").stdout)}
    assert listed["中坝村"]["head_name"] == "张村长" and listed["中坝村"]["head_phone"] == "13900000001"
    assert listed["中坝村"]["catchment_primary"] == "后柳中坝小学"
    assert listed["中坝村"]["catchment_middle"] == "后柳中学"
    assert listed["后柳中学"]["head_name"] == "李校长"
    assert run("undo", "1").exit_code == 0
    assert json.loads(run("units", "list", "--format", "json").stdout) == []


def test_files_read_side_by_side_are_taken_in_the_order_given(run, tmp_path):
    villages = ["中坝村", "兴坪村", "双河村", "喜河村", "建华村"]
    paths = [census(tmp_path / f"{v}.xlsx", [census_row(n + 1, f"王{v}{n}", make_id(date(2015, 1, 1 + i), n + 1),
                                                        village=v) for n in range(40 - 8 * i)])
             for i, v in enumerate(villages)]  # the first file the biggest: read last to finish
    result = run("import", *paths, "--format", "json")
    batches = json.loads(result.stdout)["batches"]
    assert [b["file"] for b in batches] == [p.name for p in paths]
    assert [b["batch"] for b in batches] == [1, 2, 3, 4, 5]


def test_an_unreadable_file_stops_the_call_before_the_rest_are_read(run, db_path, tmp_path, monkeypatch):
    import time

    from kcbx import reading

    good = [census(tmp_path / f"c{i}.xlsx", [census_row(1, "王小明", A)]) for i in range(8)]
    broken = tmp_path / "坏文件.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    read, calls = reading.read_file, []

    def slow_read(path, **kwargs):
        calls.append(path.name)
        if path != broken:
            time.sleep(0.2)
        return read(path, **kwargs)

    monkeypatch.setattr(reading, "read_file", slow_read)
    result = run("import", good[0], broken, *good[1:])
    assert result.exit_code == 1 and "坏文件.xlsx" in result.stderr
    assert len(calls) < 9  # the files queued behind the broken one were never opened
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM children").fetchone()[0] == 0


def test_the_same_file_twice_in_one_call_is_imported_once(run, db_path, village_sheet, tmp_path):
    copy = tmp_path / "census (1).xlsx"
    copy.write_bytes(village_sheet.read_bytes())
    result = run("import", village_sheet, village_sheet, copy, "--force", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [b["file"] for b in json.loads(result.stdout)["batches"]] == ["census.xlsx"]
    assert result.stderr.count("与本次导入的 census.xlsx 内容相同，已跳过") == 2
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM status_events").fetchone()[0] == 3
    assert run("undo", "1").exit_code == 0
