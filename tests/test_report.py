"""`kcbx report weekly` over three weeks of dated imports and status changes.

One small town is built once through the CLI, week by week, and each week's report is
taken right after that week's work, as the clerk would on the Monday after. The figures
below are worked out by hand from the story in `three_weeks`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sheets import (FOLLOWUP_HEADERS, TEACHER_HEADERS, census, census_row, make_id, roster,
                    roster_row, write_xlsx)
from typer.testing import CliRunner

from kcbx.cli import app
from kcbx.report import iso_week, last_complete_week

BORN = {"王一": date(2015, 3, 4), "王二": date(2014, 5, 6), "王三": date(2013, 7, 8),
        "王四": date(2012, 2, 2), "李一": date(2015, 1, 1), "李二": date(2016, 6, 6),
        "李三": date(2010, 10, 10)}
IDS = {name: make_id(born, seq) for seq, (name, born) in enumerate(BORN.items(), start=1)}
WEEKS = ("2025-W10", "2025-W11", "2025-W12")


class Town:
    """The CLI against one database file, for a story told across several commands."""

    def __init__(self, folder):
        self.folder = folder
        self.db = folder / "kcbx.db"
        self.runner = CliRunner()

    def run(self, *args, code: int = 0):
        result = self.runner.invoke(app, ["--db", str(self.db), *map(str, args)])
        assert result.exit_code == code, (args, result.output)
        return result

    def report(self, week: str, *args) -> dict:
        return json.loads(self.run("report", "weekly", "--week", week, "--format", "json",
                                   *args).stdout)

    def sql(self, statement: str, *params) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute(statement, params)

    def census(self, village: str, on: str, rows: list[list]) -> None:
        path = census(self.folder / f"census-{village}-{on}.xlsx", rows, village=village)
        self.run("import", path, "--as-of", on)

    def roster(self, on: str, rows: list[list]) -> None:
        path = roster(self.folder / f"roster-{on}.xlsx", rows, school="后柳小学")
        self.run("import", path, "--as-of", on)


def zhongba(on: str, statuses: dict[str, str]) -> list[list]:
    """中坝村's census rows: 王一 (二年级, two below his age), 王二, 王三, 王四."""
    grades = {"王一": "二年级", "王二": "四年级", "王三": "六年级", "王四": "六年级"}
    return [census_row(i, name, IDS[name], grade=grades[name], status=statuses[name])
            for i, name in enumerate(grades, start=1)]


def yonghong() -> list[list]:
    """永红村's census: 李一 (disabled, at school), 李二 (disabled, 未入学, remark 暂缓入学,
    no guardian phone), 李三 (休学)."""
    rows = [census_row(1, "李一", IDS["李一"], village="永红村", grade="四年级", disabled="是",
                       dtype="肢体"),
            census_row(2, "李二", IDS["李二"], village="永红村", school="", grade="",
                       status="未入学", disabled="是", dtype="智力", remarks="暂缓入学"),
            census_row(3, "李三", IDS["李三"], village="永红村", school="", grade="八年级",
                       status="休学")]
    rows[1][10] = ""  # 联系电话
    return rows


def school_roll(statuses: dict[str, str]) -> list[list]:
    grades = {"王一": "二年级", "王二": "四年级", "王三": "六年级", "王四": "六年级", "李一": "四年级"}
    return [roster_row(i, name, IDS[name], grade=grades[name], status=status,
                       village="永红村" if name == "李一" else "中坝村")
            for i, (name, status) in enumerate(statuses.items(), start=1)]


def three_weeks(town: Town) -> dict[str, dict]:
    """Tell the story; return each week's report (JSON) as taken right after that week."""
    taken = {}
    town.run("init", "--town", "后柳镇")
    # W10 (03-03 … 03-09): every unit sends its sheets
    town.census("中坝村", "2025-03-04", zhongba("03-04", {
        "王一": "在校", "王二": "在校", "王三": "辍学", "王四": "疑似辍学"}))
    town.census("永红村", "2025-03-05", yonghong())
    town.roster("2025-03-06", school_roll({"王一": "在读", "王二": "在读", "王四": "疑似辍学",
                                           "李一": "在读"}))
    for unit, head, phone in (("中坝村", "张村长", "13900000001"),
                              ("永红村", "李村长", "13900000002"),
                              ("后柳小学", "赵校长", "13900000003")):
        town.run("units", "set", unit, "--head", head, "--phone", phone)
    town.sql("INSERT INTO flags (child_id, flag, reason, source, raised_on) SELECT id, "
             "'hardship', '家庭困难', 'manual', '2025-03-03' FROM children WHERE name = '李一'")
    taken["2025-W10"] = town.report("2025-W10")
    # W11 (03-10 … 03-16): 王二 drops out; 中坝村's census still says 在校 for him, and 王四
    # is back at school; 永红村 and 后柳小学 send nothing
    town.run("status", "set", "王二", "辍学", "--date", "2025-03-12", "--reason", "连续旷课一个月")
    town.census("中坝村", "2025-03-14", zhongba("03-14", {
        "王一": "在校", "王二": "在校", "王三": "辍学", "王四": "在校"}))
    taken["2025-W11"] = town.report("2025-W11")
    # W12 (03-17 … 03-23): teachers, pairing, follow-ups, 王三 returns; 永红村 silent again
    path = write_xlsx(town.folder / "teachers.xlsx", TEACHER_HEADERS, [
        [1, "张芳", "女", "后柳小学", "13700000001", "语文", "", "在岗", ""],
        [2, "刘强", "男", "后柳小学", "13700000002", "数学", "", "在岗", ""]])
    town.run("import", path, "--as-of", "2025-03-17")
    town.sql("INSERT INTO flags (child_id, flag, reason, source, raised_on) SELECT id, "
             "'wavering', '思想动摇', 'manual', '2025-03-18' FROM children WHERE name = '王一'")
    town.run("assign", "--as-of", "2025-03-18")
    path = write_xlsx(town.folder / "followups.xlsx", FOLLOWUP_HEADERS, [
        [1, "王三", IDS["王三"], "中坝村", "后柳小学", "劝返", "2025-03-19", "张芳", "后柳小学",
         "家访", "家访劝返", "学生暂未返校，继续劝返"],
        [2, "王二", IDS["王二"], "中坝村", "后柳小学", "劝返", "2025-03-20", "刘强", "后柳小学",
         "电话", "电话回访", "已返校"]])
    town.run("import", path, "--as-of", "2025-03-20")
    town.run("status", "set", "王三", "在校", "--date", "2025-03-19", "--reason", "劝返成功")
    town.sql("UPDATE flags SET cleared_on = '2025-03-20', cleared_by = 'manual', "
             "cleared_reason = '已享受资助' WHERE flag = 'hardship'")
    town.roster("2025-03-20", school_roll({"王一": "在读", "王二": "辍学", "王三": "在读",
                                           "王四": "在读", "李一": "在读"}))
    town.census("中坝村", "2025-03-21", zhongba("03-21", {
        "王一": "在校", "王二": "辍学", "王三": "在校", "王四": "在校"}))
    taken["2025-W12"] = town.report("2025-W12")
    return taken


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """The town after three weeks, and the reports taken along the way."""
    town = Town(tmp_path_factory.mktemp("three-weeks"))
    return town, three_weeks(town)


def ratio(num, den):
    return {"num": num, "den": den, "rate": round(num / den, 4)}


def counts(**nonzero):
    codes = ("enrolled", "inclusive", "special_school", "home_taught", "away", "suspected",
             "dropout", "never_enrolled", "unknown", "suspended", "deferred", "completed",
             "moved_out", "deceased")
    return {code: nonzero.get(code, 0) for code in codes}


# The town's figures at the end of each week, by hand (户籍 children of compulsory age:
# the seven of the story). W10: 王三 辍学, 李二 未入学, 王四 疑似辍学 (RECEIVING), 李三 休学
# (EXCLUDED); the cohort of 巩固率 is 王一, 王二, 王四, 李一 (RECEIVING on 2024-09-01: the
# first sheets hold back to the start of the records).
FIGURES = {
    "2025-W10": {"enrollment": ratio(4, 6), "disabled_enrollment": ratio(1, 2),
                 "retention": ratio(4, 4), "dropouts": 1, "returned": 0,
                 "counts": counts(enrolled=3, suspected=1, dropout=1, never_enrolled=1,
                                  suspended=1)},
    "2025-W11": {"enrollment": ratio(3, 6), "disabled_enrollment": ratio(1, 2),
                 "retention": ratio(3, 4), "dropouts": 2, "returned": 1,
                 "counts": counts(enrolled=3, dropout=2, never_enrolled=1, suspended=1)},
    "2025-W12": {"enrollment": ratio(4, 6), "disabled_enrollment": ratio(1, 2),
                 "retention": ratio(3, 4), "dropouts": 1, "returned": 2,
                 "counts": counts(enrolled=4, dropout=1, never_enrolled=1, suspended=1)},
}
# (date, name, before, after, change) of each week's status changes
STATUS_CHANGES = {
    "2025-W10": [],
    "2025-W11": [("2025-03-12", "王二", "enrolled", "dropout", "new_dropout"),
                 ("2025-03-14", "王四", "suspected", "enrolled", "return")],
    "2025-W12": [("2025-03-19", "王三", "dropout", "enrolled", "return")],
}
CHANGE_COUNTS = {
    "2025-W10": dict(status_changes=0, new_dropouts=0, returns=0, flags_raised=1,
                     flags_cleared=0, pairings_started=0, pairings_ended=0),
    "2025-W11": dict(status_changes=2, new_dropouts=1, returns=1, flags_raised=0,
                     flags_cleared=0, pairings_started=0, pairings_ended=0),
    "2025-W12": dict(status_changes=1, new_dropouts=0, returns=1, flags_raised=1,
                     flags_cleared=1, pairings_started=5, pairings_ended=0),
}


@pytest.mark.parametrize("week", WEEKS)
def test_each_weeks_figures_and_changes(story, week):
    _, taken = story
    data = taken[week]
    overview = data["overview"]
    assert overview["current"] == FIGURES[week]
    previous = FIGURES[WEEKS[WEEKS.index(week) - 1]] if week != WEEKS[0] else FIGURES[week]
    assert overview["previous"] == previous       # before W10 the first sheets hold back
    assert overview["change"]["dropouts"] == (overview["current"]["dropouts"]
                                              - previous["dropouts"])
    assert data["changes"]["counts"] == CHANGE_COUNTS[week]
    assert [(c["date"], c["name"], c["before"], c["after"], c["change"])
            for c in data["changes"]["status"]] == STATUS_CHANGES[week]
    assert data["week"]["label"] == week


def test_week_boundaries_and_the_change_since_last_week(story):
    _, taken = story
    w11 = taken["2025-W11"]
    assert w11["week"] == {"label": "2025-W11", "start": "2025-03-10", "end": "2025-03-16"}
    assert w11["overview"]["previous_as_of"] == "2025-03-09"
    assert w11["overview"]["change"]["enrollment"] == round(0.5 - 0.6667, 4)
    assert w11["overview"]["change"]["retention"] == -0.25
    assert w11["overview"]["change"]["counts"]["dropout"] == 1


def test_village_and_school_rows_count_the_weeks_dropouts_and_returns(story):
    _, taken = story
    w11 = taken["2025-W11"]
    rows = {(u["kind"], u["name"]): u for u in w11["villages"] + w11["schools"]}
    assert (rows[("village", "中坝村")]["new_dropouts"], rows[("village", "中坝村")]["returns"]) \
        == (1, 1)
    assert (rows[("village", "永红村")]["new_dropouts"], rows[("village", "永红村")]["returns"]) \
        == (0, 0)
    school = rows[("school", "后柳小学")]
    assert (school["new_dropouts"], school["returns"], school["head"]) == (1, 1, "赵校长")
    assert rows[("village", "中坝村")]["enrollment"] == ratio(2, 4)
    assert rows[("village", "永红村")]["enrollment"] == ratio(1, 2)
    assert school["enrollment"] is None          # a school has no 入学率 (SPEC §5)


def test_flags_and_pairings_of_the_week(story):
    _, taken = story
    flags = taken["2025-W12"]["changes"]["flags"]
    assert [(f["date"], f["name"], f["flag"], f["change"], f["reason"]) for f in flags] == [
        ("2025-03-18", "王一", "wavering", "raised", "思想动摇"),
        ("2025-03-20", "李一", "hardship", "cleared", "已享受资助")]
    pairings = taken["2025-W12"]["changes"]["pairings"]
    assert {p["name"] for p in pairings} == {"王一", "王二", "王三", "李一", "李二"}
    assert {p["teacher_school"] for p in pairings} == {"后柳小学"}
    assert all(p["change"] == "started" and p["date"] == "2025-03-18" for p in pairings)


def test_cases_with_teacher_and_last_followup_masked(story):
    _, taken = story
    [case] = taken["2025-W12"]["cases"]
    assert (case["name"], case["status"], case["since"], case["days"]) == (
        "王二", "dropout", "2025-03-12", 11)
    assert (case["last_followup"], case["last_result"], case["last_by"]) == (
        "2025-03-20", "已返校", "刘强")
    assert case["teacher_school"] == "后柳小学" and case["teacher"] in ("张芳", "刘强")
    assert case["id_number"] == IDS["王二"][:6] + "********" + IDS["王二"][-4:]
    assert case["guardian_phone"] == "138****0000"
    assert re.fullmatch(r"137\*\*\*\*000[12]", case["teacher_phone"])
    w11 = {c["name"]: c for c in taken["2025-W11"]["cases"]}
    assert set(w11) == {"王二", "王三"} and w11["王三"]["teacher"] is None


def findings(data) -> set[tuple[str, str | None]]:
    return {(f["kind"], f["child"] or f["unit"]) for f in data["findings"]
            if not f["kind"].startswith("reconcile_")}


def test_each_weeks_inspection(story):
    _, taken = story
    always = {("remark_status", "李二"), ("over_age", "王一"), ("no_guardian_phone", "李二")}
    assert findings(taken["2025-W10"]) == always | {
        ("no_teacher", name) for name in ("王三", "李二", "李一")}
    assert findings(taken["2025-W11"]) == always | {
        ("no_teacher", name) for name in ("王二", "王三", "李二", "李一")} | {
        ("dropout_no_followup", "王三"), ("unapplied_snapshot", "王二"),
        ("not_reported", "永红村"), ("not_reported", "后柳小学")}
    assert findings(taken["2025-W12"]) == always | {
        ("unmatched_return", "王二"), ("not_reported", "永红村")}


def test_reporting_by_sheet_date(story):
    _, taken = story
    sent = {week: {r["unit"]: r["reported"] for r in taken[week]["reporting"]}
            for week in WEEKS}
    assert sent["2025-W10"] == {"中坝村": True, "永红村": True, "后柳小学": True}
    assert sent["2025-W11"] == {"中坝村": True, "永红村": False, "后柳小学": False}
    assert sent["2025-W12"] == {"中坝村": True, "永红村": False, "后柳小学": True}
    yonghong = next(r for r in taken["2025-W12"]["reporting"] if r["unit"] == "永红村")
    assert (yonghong["last_sheet"], yonghong["head"], yonghong["kinds"]) == (
        "2025-03-05", "李村长", [])


def test_regenerating_past_weeks_gives_the_same_report(story):
    """Later work never changes a past week's figures, changes, cases or reporting.

    The 督查 list is left out: it reads some facts as they are now (the open flags that
    put a child in a special group, a child's grade and guardian phone).
    """
    town, taken = story
    for week in WEEKS:
        again = town.report(week)
        assert {k: v for k, v in again.items() if k != "findings"} == \
            {k: v for k, v in taken[week].items() if k != "findings"}, week


def test_the_trend_is_rates_at_every_week_end(story):
    town, taken = story
    trend = taken["2025-W12"]["trend"]
    assert trend[0]["as_of"] == "2024-09-01" and trend[-1]["as_of"] == "2025-03-23"
    assert len(trend) == 30 and trend[-1]["week"] == "2025-W12"
    for point in trend[-4:] + trend[:1]:
        rates = json.loads(town.run("rates", "--as-of", point["as_of"], "--format",
                                    "json").stdout)["groups"][0]
        assert {k: v for k, v in point.items() if k not in ("week", "as_of")} == \
            {k: v for k, v in rates.items() if k not in ("by", "key")}


def test_json_agrees_with_kcbx_rates(story):
    town, taken = story
    rates = json.loads(town.run("rates", "--as-of", "2025-03-23", "--by", "village",
                                "--format", "json").stdout)["groups"]
    data = taken["2025-W12"]
    assert {k: v for k, v in rates[0].items() if k not in ("by", "key")} == \
        data["overview"]["current"]
    by_name = {g["key"]: g for g in rates[1:]}
    for village in data["villages"]:
        figures = {k: v for k, v in village.items()
                   if k not in ("kind", "name", "head", "new_dropouts", "returns")}
        assert figures == {k: v for k, v in by_name[village["name"]].items()
                           if k not in ("by", "key")}


def md_table(markdown: str, title: str) -> list[dict]:
    """The pipe table under a bold title in the markdown report."""
    lines = markdown.split(f"**{title}**\n\n", 1)[1].splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))))
    return rows


def test_markdown_agrees_with_json(story):
    town, _ = story
    md = town.run("report", "weekly", "--week", "2025-W11", "--format", "md").stdout
    data = town.report("2025-W11")
    assert md.startswith("# 后柳镇控辍保学周报\n")
    rates = {row["指标"]: row for row in md_table(md, "入学率、巩固率")}
    for key, name in (("enrollment", "入学率"), ("disabled_enrollment", "残疾儿童少年入学率"),
                      ("retention", "巩固率")):
        figure = data["overview"]["current"][key]
        assert (int(rates[name]["分子"]), int(rates[name]["分母"])) == (figure["num"],
                                                                     figure["den"])
        assert rates[name]["目标"] == "100%"
    assert (rates["入学率"]["本周"], rates["入学率"]["上周"], rates["入学率"]["比上周（百分点）"]) \
        == ("50.00%", "66.66%", "-16.66")
    numbers = {row["项目"]: row for row in md_table(md, "各类人数")}
    assert (numbers["辍学"]["本周"], numbers["辍学"]["上周"], numbers["辍学"]["比上周"]) == (
        "2", "1", "+1")
    assert numbers["累计劝返复学"]["本周"] == str(data["overview"]["current"]["returned"])
    villages = {row["村(社区)"]: row for row in md_table(md, "分村(社区)")}
    assert villages["中坝村"]["入学率"] == "50.00%（2/4）"
    assert villages["中坝村"]["本周新增辍学"] == "1"
    changes = md_table(md, "状态变动")
    assert [(r["日期"], r["姓名"], r["类别"]) for r in changes] == [
        (c["date"], c["name"], {"new_dropout": "新增辍学", "return": "劝返复学"}[c["change"]])
        for c in data["changes"]["status"]]
    inspected = md_table(md, "督查事项")
    assert len(inspected) == len(data["findings"])
    assert all(IDS[name] not in md for name in IDS)    # IDs masked everywhere


def test_xlsx_is_a_printable_form_with_the_chart(story, tmp_path):
    town, _ = story
    out = tmp_path / "周报.xlsx"
    town.run("report", "weekly", "--week", "2025-W12", "--format", "xlsx", "--out", out)
    assert os.stat(out).st_mode & 0o777 == 0o600
    wb = load_workbook(out)
    assert wb.sheetnames == ["总体指标", "本周变化", "分村分校", "劝返进展", "督查事项", "上报情况",
                             "趋势"]
    first = wb["总体指标"]
    assert first["A1"].value == "后柳镇控辍保学周报　一、总体指标"
    assert "填报单位：后柳镇" in first["A2"].value and "日期：2025年3月23日" in first["A2"].value
    assert int(first.page_setup.paperSize) == int(first.PAPERSIZE_A4)          # A4
    values = [[c.value for c in row] for row in first.iter_rows()]
    assert ["入学率", 4, 6, "66.66%", "50.00%", 16.66, "100%"] in values
    assert first.cell(values.index(["入学率", 4, 6, "66.66%", "50.00%", 16.66, "100%"]) + 1,
                      6).number_format == "+0.00;-0.00;0.00"
    trend = wb["趋势"]
    [chart] = trend._charts
    assert chart.tagname == "lineChart"
    assert trend.cell(trend.max_row, 1).value == "2025-W12"
    assert trend.cell(trend.max_row, 3).value == 0.6666      # truncated, shown as 66.66%
    assert trend.cell(trend.max_row, 6).value == 1           # dropouts
    cases = [[c.value for c in row] for row in wb["劝返进展"].iter_rows()]
    assert any(row[0] == "王二" and row[1].startswith("610922****") for row in cases)


GOLDEN = Path(__file__).parent / "golden" / "weekly-2025-W12.json"


def test_xlsx_is_the_same_workbook_cell_by_cell(story, tmp_path):
    """The W12 workbook as a reader sees it, compared with the one kcbx wrote before its
    xlsx writer was made faster: every cell's value and type, number format, font, border,
    alignment and fill; merged ranges, column widths, row heights, print settings; the
    chart's sub-charts, series, axes and place. A change to the workbook fails here; when
    the change is meant, rewrite the reference with KCBX_WRITE_GOLDEN=1 and read its diff.
    """
    town, _ = story
    out = tmp_path / "周报.xlsx"
    town.run("report", "weekly", "--week", "2025-W12", "--format", "xlsx", "--out", out)
    got = workbook_print(out)
    if os.environ.get("KCBX_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(golden_text(got), encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert list(got) == list(want)                       # the sheets, in order
    for name in want:
        for part in want[name]:
            assert got[name][part] == want[name][part], (name, part)


def workbook_print(path: Path) -> dict:
    """What a reader of the workbook at `path` sees, as plain JSON-able data: each cell as
    [coordinate, value, type, number of its look in "styles"]."""
    wb = load_workbook(path)
    return {ws.title: sheet_print(ws) for ws in wb.worksheets}


def sheet_print(ws) -> dict:
    """One sheet: its cells (with or without a value, if styled) and its page."""
    styles: dict[str, int] = {}
    cells = [[cell.coordinate, cell.value, cell.data_type,
              styles.setdefault(style_print(cell), len(styles))]
             for row in ws.iter_rows() for cell in row
             if cell.value is not None or cell.has_style]
    return {
        "styles": list(styles),
        "cells": cells,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "widths": {k: d.width for k, d in sorted(ws.column_dimensions.items()) if d.customWidth},
        "heights": {str(k): d.height for k, d in sorted(ws.row_dimensions.items()) if d.height},
        "page": {"freeze": ws.freeze_panes, "titles": ws.print_title_rows,
                 "area": ws.print_area, "paper": str(ws.page_setup.paperSize),
                 "orientation": ws.page_setup.orientation,
                 "fit": [ws.sheet_properties.pageSetUpPr.fitToPage, ws.page_setup.fitToWidth,
                         ws.page_setup.fitToHeight],
                 "margins": dict(ws.page_margins), "gridlines": ws.sheet_view.showGridLines},
        "charts": [chart_print(chart) for chart in ws._charts],
    }


def golden_text(data: dict) -> str:
    """The reference as JSON with a line per cell and per style, so that a diff reads well."""
    def one(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{"]
    for i, (name, parts) in enumerate(data.items()):
        lines.append(f" {one(name)}: {{")
        for j, (part, value) in enumerate(parts.items()):
            if isinstance(value, list) and value:
                lines += [f"  {one(part)}: [", ",\n".join(f"   {one(v)}" for v in value), "  ]"]
            else:
                lines.append(f"  {one(part)}: {one(value)}")
            lines[-1] += "," if j < len(parts) - 1 else ""
        lines.append(" }," if i < len(data) - 1 else " }")
    return "\n".join(lines + ["}", ""])


def style_print(cell) -> str:
    """A cell's look in one line: font, border, alignment, fill, number format."""
    f, b, a = cell.font, cell.border, cell.alignment
    colour = None if f.color is None else (f.color.type, f.color.value)
    sides = [side and side.style for side in (b.left, b.right, b.top, b.bottom)]
    return (f"font {f.name} {f.sz} b={f.b} i={f.i} u={f.u} strike={f.strike} {colour}"
            f" | border {sides}"
            f" | align {a.horizontal} {a.vertical} wrap={a.wrap_text} indent={a.indent}"
            f" | fill {cell.fill.fill_type} | format {cell.number_format}"
            f" | protect {cell.protection.locked} {cell.protection.hidden}")


def chart_print(chart) -> dict:
    """A chart's kind, title, place and size; each sub-chart's series and axes."""
    def words(title) -> str | None:
        return None if title is None else "".join(r.t for p in title.tx.rich.p
                                                  for r in (p.r or []))

    def ref(source) -> str | None:
        if source is None:
            return None
        found = getattr(source, "numRef", None) or source.strRef
        return found and found.f

    anchor = chart.anchor
    return {"kind": chart.tagname, "title": words(chart.title),
            "at": [anchor._from.col, anchor._from.row, anchor.ext.width, anchor.ext.height],
            "legend": chart.legend and chart.legend.position,
            "charts": [{"kind": sub.tagname, "grouping": sub.grouping, "axes": [
                [ax.tagname, ax.axId, ax.crossAx, ax.crosses, ax.delete, words(ax.title),
                 ax.numFmt and ax.numFmt.formatCode] for ax in (sub.x_axis, sub.y_axis)],
                "series": [[s.idx, ref(s.tx), ref(s.val), ref(s.cat)] for s in sub.series]}
                for sub in chart._charts]}


def test_default_file_name_holds_town_and_week_never_an_id(story, tmp_path, monkeypatch):
    town, _ = story
    monkeypatch.chdir(tmp_path)
    result = town.run("report", "weekly", "--week", "2025-W12", "--format", "html")
    assert "已写入 后柳镇控辍保学周报-2025-W12.html" in result.stderr
    html = (tmp_path / "后柳镇控辍保学周报-2025-W12.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert not re.search(r"(src|href)=", html)               # no external assets
    folder = tmp_path / "reports"
    folder.mkdir()
    town.run("report", "weekly", "--week", "2025-W11", "--format", "md", "--out", folder)
    assert [p.name for p in folder.iterdir()] == ["后柳镇控辍保学周报-2025-W11.md"]


def test_html_escapes_what_the_clerk_typed(story, tmp_path):
    town, _ = story
    town.run("status", "set", "李三", "在校", "--date", "2025-03-26",
             "--reason", "<script>alert(1)</script>复学")
    out = tmp_path / "w13.html"
    town.run("report", "weekly", "--week", "2025-W13", "--format", "html", "--out", out)
    page = out.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;复学" in page and "<script>" not in page


def test_table_into_a_pipe_has_no_colour_or_box_drawing(story):
    town, _ = story
    out = town.run("report", "weekly", "--week", "2025-W12").stdout
    assert "一、总体指标" in out and "六、上报情况" in out and "66.66%" in out
    assert "\x1b[" not in out
    assert not re.search("[\u2500-\u257f]", out)


def test_fail_on_alert_exits_4_only_when_something_is_found(story, tmp_path):
    town, _ = story
    result = town.run("report", "weekly", "--week", "2025-W12", "--format", "json",
                      "--fail-on-alert", code=4)
    assert json.loads(result.stdout)["findings"]           # the report is still printed
    assert "督查发现" in result.stderr
    town.run("check", "--as-of", "2025-03-23", "--fail-on-alert", code=4)
    town.run("check", "--as-of", "2025-03-23")
    empty = Town(tmp_path)
    empty.run("init", "--town", "空镇")
    empty.run("report", "weekly", "--week", "2025-W12", "--format", "md", "--fail-on-alert")
    empty.run("check", "--as-of", "2025-03-23", "--fail-on-alert")


def test_week_options(story):
    town, _ = story
    as_of = town.report("2025-W12")
    same = json.loads(town.run("report", "weekly", "--as-of", "2025-03-23", "--format",
                               "json").stdout)
    assert same["week"] == {"label": "2025-W12", "start": "2025-03-17", "end": "2025-03-23"}
    assert same["overview"] == as_of["overview"]
    midweek = json.loads(town.run("report", "weekly", "--as-of", "2025-03-19", "--format",
                                  "json").stdout)
    assert midweek["week"] == {"label": "2025-03-19", "start": "2025-03-13", "end": "2025-03-19"}
    assert [c["name"] for c in midweek["changes"]["status"]] == ["王四", "王三"]
    result = town.run("report", "weekly", "--week", "2025-W12", "--as-of", "2025-03-19", code=1)
    assert "只能用一个" in result.stderr
    assert "2025-W10" in town.run("report", "weekly", "--week", "W10", code=1).stderr


def test_first_week_of_a_school_year_compares_with_the_year_before(story):
    town, _ = story
    data = town.report("2024-W35")                   # 2024-08-26 … 2024-09-01 (A)
    assert [p["as_of"] for p in data["trend"]] == ["2024-09-01"]
    assert data["overview"]["previous_as_of"] == "2024-08-25"
    before = json.loads(town.run("rates", "--as-of", "2024-08-25", "--format",
                                 "json").stdout)["groups"][0]
    assert data["overview"]["previous"] == {k: v for k, v in before.items()
                                            if k not in ("by", "key")}


@pytest.mark.parametrize("today, label", [
    (date(2025, 3, 12), "2025-W10"),    # a Wednesday: last week
    (date(2025, 3, 16), "2025-W10"),    # a Sunday: this week is not over yet
    (date(2025, 3, 17), "2025-W11"),    # the Monday after
    (date(2025, 1, 1), "2024-W52"),     # ISO years: 2024-12-23 … 2024-12-29
])
def test_last_complete_week(today, label):
    week = last_complete_week(today)
    assert week.label == label
    assert (week.start.weekday(), (week.end - week.start).days) == (0, 6)
    assert iso_week(label) == week


def test_json_keys_are_the_documented_ones(story):
    _, taken = story
    data = taken["2025-W12"]
    figures = ["enrollment", "disabled_enrollment", "retention", "dropouts", "returned", "counts"]
    assert list(data) == ["town", "week", "school_year_start", "target", "overview", "changes",
                          "villages", "schools", "cases", "findings", "reporting", "trend"]
    assert list(data["overview"]) == ["current", "previous", "previous_as_of", "change"]
    assert list(data["overview"]["current"]) == figures
    assert list(data["changes"]) == ["counts", "status", "flags", "pairings"]
    assert list(data["changes"]["status"][0]) == [
        "date", "name", "id_number", "village", "school", "before", "after", "kind",
        "event_type", "reason", "change"]
    assert list(data["changes"]["flags"][0]) == [
        "date", "name", "id_number", "village", "flag", "change", "source", "reason"]
    assert list(data["changes"]["pairings"][0]) == [
        "date", "name", "id_number", "village", "teacher", "teacher_school", "change",
        "source", "reason"]
    assert list(data["villages"][0]) == ["kind", "name", "head", "new_dropouts", "returns",
                                         *figures]
    assert list(data["cases"][0]) == [
        "name", "id_number", "village", "school", "status", "since", "days", "teacher",
        "teacher_school", "teacher_phone", "guardian_name", "guardian_phone", "last_followup",
        "last_method", "last_by", "last_result"]
    assert list(data["findings"][0]) == ["kind", "kind_name", "unit", "role", "person", "phone",
                                         "child", "id_number", "detail"]
    assert list(data["reporting"][0]) == ["unit", "kind", "head", "reported", "sheets", "kinds",
                                          "last_sheet"]
    assert list(data["trend"][0]) == ["week", "as_of", *figures]
