"""kcbx reconcile (人籍比对): hand-built worlds per finding kind, the output forms, the samples."""

import csv
import json
import re
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from openpyxl import Workbook

from kcbx import db as kdb
from kcbx.dates import compulsory_window
from kcbx.demo import generate, status_on, write_sheets
from kcbx.reconcile import KINDS, Finding, reconcile
from tests.sheets import (CHANGE_HEADERS, ROSTER_HEADERS, census, census_row, make_id, roster,
                          roster_row, write_xlsx)

D = date(2025, 3, 1)
KEPT = make_id(date(2015, 3, 4), 1)           # 在校 at 后柳小学 and on its roll
MISSING = make_id(date(2016, 5, 6), 2)        # 在校 at 后柳小学, not on its roll
NEVER = make_id(date(2017, 1, 2), 3)          # 未入学
NO_SCHOOL = make_id(date(2014, 2, 3), 4)      # 在校, no school named
AWAY = make_id(date(2013, 4, 5), 5)           # 外出就读
ELSEWHERE = make_id(date(2012, 6, 7), 6)      # 在校 at a school outside the town
CLASH = make_id(date(2015, 8, 9), 7)          # census 在校, roll 辍学 on the same date
OLD = make_id(date(2007, 5, 5), 8)            # 17: out of compulsory age, not on a roll
YOUNG = make_id(date(2019, 3, 3), 9)          # 5: out of compulsory age, 未入学
OUTSIDER = make_id(date(2014, 10, 10), 10)    # on the roll, in no census (外在本)


def village_rows():
    return [
        census_row(1, "王小明", KEPT),
        census_row(2, "李红", MISSING),
        census_row(3, "赵强", NEVER, school="", grade="", status="未入学"),
        census_row(4, "钱多", NO_SCHOOL, school="", grade=""),
        census_row(5, "孙外", AWAY, school="西安市第一小学", status="外出就读"),
        census_row(6, "周远", ELSEWHERE, school="石泉县城关第一小学"),
        census_row(7, "吴争", CLASH),
        census_row(8, "郑老", OLD),
        census_row(9, "冯小", YOUNG, school="", grade="", status="未入学"),
    ]


def school_rows():
    return [
        roster_row(1, "王小明", KEPT),
        roster_row(2, "吴争", CLASH, status="辍学"),
        roster_row(3, "陈客", OUTSIDER, village="汉阴县城关镇"),
    ]


@pytest.fixture
def world(run, tmp_path):
    """中坝村's census and 后柳小学's roll, both of 2025-02-20, imported in one call."""
    result = run("import", census(tmp_path / "c.xlsx", village_rows()),
                 roster(tmp_path / "r.xlsx", school_rows()))
    assert result.exit_code == 0, result.output
    return tmp_path


def findings(run, *args):
    result = run("reconcile", "--as-of", D, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_kind(items):
    return {k: sorted((f["name"] for f in items if f["kind"] == k)) for k in KINDS}


def test_each_kind_in_a_small_world(run, world):
    found = by_kind(findings(run))
    assert found == {
        "not_on_roll": ["赵强", "钱多"],
        "missing_from_roll": ["李红"],
        "not_in_census": ["陈客"],
        "identity_mismatch": [],
        "status_mismatch": ["吴争"],
    }  # 王小明 agrees; 孙外 and 周远 study elsewhere; 郑老 and 冯小 are out of age


def test_json_shape_masks_ids_and_names_the_units_to_ask(run, world):
    items = findings(run)
    assert all(list(f) == ["kind", "kind_name", "id_number", "name", "village", "school",
                           "census_status", "roll_status", "detail"] for f in items)
    missing = next(f for f in items if f["kind"] == "missing_from_roll")
    assert missing == {
        "kind": "missing_from_roll", "kind_name": KINDS["missing_from_roll"],
        "id_number": MISSING[:6] + "*" * 8 + MISSING[-4:], "name": "李红",
        "village": "中坝村", "school": "后柳小学", "census_status": "enrolled",
        "roll_status": None, "detail": missing["detail"]}
    assert "后柳小学最新学籍花名册（2025-02-20）中没有" in missing["detail"]
    clash = next(f for f in items if f["kind"] == "status_mismatch")
    assert (clash["census_status"], clash["roll_status"]) == ("enrolled", "dropout")
    assert "目前按「辍学」统计" in clash["detail"]  # same date: the roster was imported later
    outsider = next(f for f in items if f["kind"] == "not_in_census")
    assert (outsider["census_status"], outsider["roll_status"]) == (None, "enrolled")
    assert "外在本" in outsider["detail"]
    shown = json.dumps(items)
    assert not any(full in shown for full in (MISSING, NEVER, NO_SCHOOL, CLASH, OUTSIDER))


def test_unmask_shows_the_whole_id(run, world):
    items = findings(run, "--unmask")
    assert {f["id_number"] for f in items} >= {MISSING, NEVER, NO_SCHOOL, CLASH, OUTSIDER}


def test_never_enrolled_child_is_sent_to_the_catchment_school(run, world):
    never = next(f for f in findings(run) if f["name"] == "赵强")
    assert (never["kind"], never["village"], never["school"]) == ("not_on_roll", "中坝村", "后柳小学")
    assert never["census_status"] == "never_enrolled" and never["detail"].startswith("未入学")
    no_school = next(f for f in findings(run) if f["name"] == "钱多")
    assert "没有写就读学校" in no_school["detail"]


def test_library_returns_findings_and_never_prints(world, db_path, capsys):
    conn = kdb.connect(db_path)
    result = reconcile(conn, D)
    assert all(isinstance(f, Finding) for f in result)
    assert [f.kind for f in result] == sorted((f.kind for f in result), key=list(KINDS).index)
    assert {f.id_number for f in result if f.kind == "missing_from_roll"} == {MISSING}
    assert capsys.readouterr() == ("", "")


def test_a_dated_change_settles_a_status_disagreement(run, world, tmp_path):
    changes = write_xlsx(tmp_path / "changes.xlsx", CHANGE_HEADERS, [
        [1, CLASH, "吴争", "中坝村", "2025-02-25", "劝返复学", "辍学", "在校", "后柳小学",
         "后柳小学", 3, "吕梅", ""]])
    assert run("import", changes).exit_code == 0
    assert by_kind(findings(run))["status_mismatch"] == []


def test_a_later_change_out_of_town_clears_a_missing_child(run, world, tmp_path):
    changes = write_xlsx(tmp_path / "changes.xlsx", CHANGE_HEADERS, [
        [1, MISSING, "李红", "中坝村", "2025-02-26", "转出", "在校", "外出就读", "后柳小学",
         "西安市第一小学", 3, "吕梅", ""]])
    assert run("import", changes).exit_code == 0
    assert by_kind(findings(run))["missing_from_roll"] == []


def test_only_the_latest_roll_on_or_before_the_date_counts(run, world, tmp_path):
    later = roster(tmp_path / "r2.xlsx", [roster_row(1, "吴争", CLASH, status="辍学")],
                   day="2025年2月27日")
    assert run("import", later).exit_code == 0
    assert "王小明" in by_kind(findings(run))["missing_from_roll"]
    early = run("reconcile", "--as-of", "2025-02-25", "--format", "json")
    assert "王小明" not in by_kind(json.loads(early.stdout))["missing_from_roll"]
    before_any = run("reconcile", "--as-of", "2025-02-19", "--format", "json")
    assert json.loads(before_any.stdout) == []  # no sheet is dated on or before that day


def test_every_sheet_of_the_latest_roster_file_is_the_roll(run, tmp_path):
    wb = Workbook()
    for sheet, rows in (("一年级", [roster_row(1, "王小明", KEPT, grade="一年级")]),
                        ("三年级", [roster_row(1, "李红", MISSING)])):
        ws = wb.create_sheet(sheet)
        ws.append(["后柳小学2024-2025学年学籍花名册（截至2025年2月20日）"])
        ws.append(ROSTER_HEADERS)
        ws.append(rows[0])
    wb.remove(wb["Sheet"])
    wb.save(tmp_path / "grades.xlsx")
    village = census(tmp_path / "c.xlsx", [census_row(1, "王小明", KEPT),
                                           census_row(2, "李红", MISSING)])
    assert run("import", village, tmp_path / "grades.xlsx").exit_code == 0
    assert findings(run) == []


def test_home_taught_child_belongs_on_its_schools_roll(run, tmp_path):
    village = census(tmp_path / "c.xlsx", [census_row(1, "王小明", KEPT, status="送教上门"),
                                           census_row(2, "吴争", CLASH)])
    school = roster(tmp_path / "r.xlsx", [roster_row(1, "吴争", CLASH)])
    assert run("import", village, school).exit_code == 0
    assert [(f["kind"], f["census_status"]) for f in findings(run)] == [
        ("missing_from_roll", "home_taught")]


def test_a_child_the_latest_census_dropped_is_asked_about(run, world, tmp_path):
    later = census(tmp_path / "c2.xlsx", [r for r in village_rows() if r[1] != "王小明"],
                   day="2025年2月25日")
    assert run("import", later).exit_code == 0
    gone = next(f for f in findings(run) if f["name"] == "王小明")
    assert (gone["kind"], gone["village"], gone["school"]) == ("not_in_census", "中坝村", "后柳小学")
    assert "户籍是否迁出" in gone["detail"]


def test_identity_problems_come_from_rejected_rows(run, tmp_path):
    village = census(tmp_path / "c.xlsx", [census_row(1, "王小明", KEPT),
                                           census_row(2, "李红", MISSING, born="2016.1.1")])
    assert run("import", village).exit_code == 3  # 李红's birth date contradicts the ID
    school = roster(tmp_path / "r.xlsx", [roster_row(1, "王晓明", KEPT)])
    assert run("import", school).exit_code == 3  # the ID is stored as 王小明
    items = findings(run)
    assert by_kind(items)["missing_from_roll"] == []  # 王小明 is on the roll, under another name
    identity = [f for f in items if f["kind"] == "identity_mismatch"]
    assert len(identity) == 2
    name = next(f for f in identity if f["name"] == "王小明")
    assert name["school"] == "后柳小学" and "写作「王晓明」" in name["detail"]
    assert name["id_number"] == KEPT[:6] + "*" * 8 + KEPT[-4:]
    birth = next(f for f in identity if f["name"] == "")
    assert birth["village"] == "中坝村" and "2016.1.1" in birth["detail"]


def test_table_groups_by_kind_with_counts(run, world):
    result = run("reconcile", "--as-of", D)
    assert result.exit_code == 0
    assert "共 5 条" in result.stdout
    assert "有户籍无学籍（2 条）" in result.stdout
    assert "身份信息不一致 0" in result.stdout and "身份信息不一致（" not in result.stdout


def test_table_names_the_sheets_compared(run, world):
    result = run("reconcile", "--as-of", D)
    assert "比对所用户籍花名册：中坝村 2025-02-20" in result.stderr
    assert "比对所用学籍花名册：后柳小学 2025-02-20" in result.stderr


def test_nothing_to_compare_is_said_not_hidden(run):
    result = run("reconcile", "--as-of", D, "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "没有导入任何户籍花名册" in result.stderr and "没有导入任何学籍花名册" in result.stderr


def test_xlsx_has_a_sheet_per_kind(run, world, tmp_path):
    out = tmp_path / "人籍比对.xlsx"
    result = run("reconcile", "--as-of", D, "--format", "xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", *[name[:31] for name in KINDS.values()]]
    ws = wb[KINDS["missing_from_roll"]]
    assert [c.value for c in ws[3]][:3] == ["村(社区)", "学校", "姓名"]
    assert [c.value for c in ws[4]][:5] == ["中坝村", "后柳小学", "李红",
                                           MISSING[:6] + "*" * 8 + MISSING[-4:], "在校"]


def test_xlsx_needs_out(run, world):
    result = run("reconcile", "--format", "xlsx")
    assert result.exit_code == 1
    assert "--out" in result.stderr


# ---------------------------------------------------------------- independent checks

# statuses on D under which a child is no local school's charge; statuses that need a roll
GONE = {"away", "special_school", "suspended", "deferred", "completed", "moved_out", "deceased"}
ON_ROLL = {"enrolled", "inclusive", "suspected", "home_taught"}


def test_clean_demo_township_against_its_ground_truth(run, tmp_path):
    """Clean sheets of a generated town: only 外在本 and children out of school are findings."""
    town = generate(1500, seed=3)
    files = write_sheets(town, tmp_path / "sheets", mess=False)
    assert run("import", *files).exit_code == 0
    day = town.reference_date
    earliest, latest = compulsory_window(day)
    changes = {}
    for change in sorted(town.changes, key=lambda c: c.day):
        changes.setdefault(change.id_number, []).append(change)
    expected = {"not_on_roll": set(), "not_in_census": set()}
    for child in town.children:
        if not earliest <= child.birth_date <= latest:
            continue
        if town.on_local_roll(child):
            if not child.in_census:
                expected["not_in_census"].add(child.id_number)
            continue
        mine = [c for c in changes.get(child.id_number, []) if c.day <= day]
        status = status_on(child, mine, town.sheet_date, day)
        school = mine[-1].to_school if mine else child.school
        at_school = status in {"enrolled", "inclusive", "suspected"} and school
        if child.in_census and status not in GONE | {"home_taught"} and not at_school:
            expected["not_on_roll"].add(child.id_number)
    got = json.loads(run("reconcile", "--as-of", day, "--format", "json", "--unmask").stdout)
    assert {k: {f["id_number"] for f in got if f["kind"] == k} for k in KINDS} == {
        **{k: set() for k in KINDS}, **expected}
    assert expected["not_in_census"] and expected["not_on_roll"]


# the sample township: its local schools and the status words its sheets use
LOCAL = {"后柳小学", "后柳中学", "后柳中坝小学"}
WORDS = {"在校": "enrolled", "在读": "enrolled", "随班就读": "inclusive", "送教上门": "home_taught",
         "特教学校就读": "special_school", "外出就读": "away", "辍学": "dropout",
         "未入学": "never_enrolled", "休学": "suspended", "已完成义务教育": "completed",
         "迁出": "moved_out", "死亡": "deceased"}


def _sheets(path):
    """Every data sheet of a file as a list of {header: text} rows, header row found by 身份证号."""
    if path.suffix == ".csv":
        encoding = "gb18030" if path.name.startswith("census") else "utf-8-sig"
        with open(path, encoding=encoding, newline="") as fh:
            tables = [list(csv.reader(fh))]
    else:
        wb = openpyxl.load_workbook(path, read_only=True)
        tables = [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]
    for rows in tables:
        for i, row in enumerate(rows):
            header = [str(c or "").strip() for c in row]
            if "身份证号" in header or "身份证号码" in header:
                yield [dict(zip(header, r)) for r in rows[i + 1:]]
                break


def _text(value):
    """A cell as NFKC text without any whitespace."""
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split())


def _valid_id(value):
    """The normalised ID when it has 18 characters and the right check digit, else None."""
    text = _text(value).upper()
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return None
    check = "10X98765432"[sum(int(d) * w for d, w in zip(text, weights)) % 11]
    return text if check == text[17] else None


def _date(value):
    """(date, precision) of the forms the sample sheets use."""
    if isinstance(value, datetime):
        return value.date(), "day"
    text = _text(value)
    if re.fullmatch(r"\d{5}", text):
        return date(1899, 12, 30) + timedelta(days=int(text)), "day"
    if re.fullmatch(r"\d{6}", text):
        return date(int(text[:4]), int(text[4:]), 1), "month"
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:])), "day"
    y, m, d = (int(p) for p in re.findall(r"\d+", text))
    return date(y, m, d), "day"


def _rows_of(paths, id_header):
    """(id, name, path, row, birth_ok) of every row with a valid ID and a name that is no formula."""
    for path in paths:
        for rows in _sheets(path):
            for row in rows:
                id_number = _valid_id(row.get(id_header))
                name = _text(row.get("姓名"))
                if not id_number or not name or name[0] in "=+-@":
                    continue
                born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
                stated = row.get("出生年月") or row.get("出生日期")
                birth_ok = True
                if stated:
                    value, precision = _date(stated)
                    birth_ok = value == (born if precision == "day" else born.replace(day=1))
                yield id_number, name, path, row, birth_ok


def _independent_counts(samples):
    """The five kinds by plain Python over the sheets, without kcbx."""
    census_all = list(_rows_of(sorted(samples.glob("census_*")), "身份证号码"))
    roster_all = list(_rows_of(sorted(samples.glob("roster_*")), "身份证号"))
    names = {}
    for id_number, name, *_ in census_all + roster_all:
        names.setdefault(id_number, set()).add(name)
    clashing = {i for i, n in names.items() if len(n) > 1}
    census_rows = [r for r in census_all if r[4] and r[0] not in clashing]
    roster_rows = [r for r in roster_all if r[4] and r[0] not in clashing]
    census_of = {i: (WORDS[_text(r["就读状态"])], _text(r["就读学校"]))
                 for i, _, _, r, _ in census_rows}
    roll_of = {}
    for i, _, path, r, _ in roster_rows:
        roll_of.setdefault(i, {})[path.stem.removeprefix("roster_")] = WORDS[_text(r["学籍状态"])]
    changes = {}
    with open(samples / "status_changes.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            day = _date(row["变动日期"])[0]
            if day <= D:
                changes.setdefault(_valid_id(row["身份证号"]), []).append(
                    (day, WORDS[_text(row["变动后状态"])], _text(row["现学校"])))
    in_age = {i for i in set(census_of) | set(roll_of) if "20080901" <= i[6:14] <= "20180831"}
    counts = Counter()
    for i in in_age & set(census_of):
        status, school = census_of[i]
        latest = sorted(changes.get(i, []), key=lambda c: c[0])
        status_d, school_d = latest[-1][1:] if latest else (status, school)
        rolls = roll_of.get(i, {})
        if status in ON_ROLL and school in LOCAL and school not in rolls:
            counts["missing_from_roll"] += status_d not in GONE
        elif not rolls and status_d not in GONE | {"home_taught"} and not (
                status_d in {"enrolled", "inclusive", "suspected"} and school_d):
            counts["not_on_roll"] += 1
        if not any(day >= date(2025, 2, 20) for day, _, _ in latest):
            counts["status_mismatch"] += sum(s != status for s in rolls.values())
    counts["not_in_census"] = sum(len(roll_of[i]) for i in in_age - set(census_of))
    counts["identity_mismatch"] = sum(1 for i, _, _, _, birth_ok in census_all + roster_all
                                      if i in clashing or not birth_ok)
    return {k: counts[k] for k in KINDS}


def test_sample_township_on_the_reference_date(run, samples):
    files = sorted(samples.glob("*.xlsx")) + sorted(samples.glob("*.csv"))
    assert run("import", *files).exit_code == 3  # the README's 11 rejected rows
    items = findings(run)
    got = dict(Counter(f["kind"] for f in items))
    expected = _independent_counts(samples)
    assert {k: got.get(k, 0) for k in KINDS} == expected
    assert expected == {"not_on_roll": 6, "missing_from_roll": 0, "not_in_census": 0,
                        "identity_mismatch": 4, "status_mismatch": 0}
    never = [f for f in items if f["census_status"] == "never_enrolled"]
    assert len(never) == 3 and all(f["school"] in LOCAL for f in never)
