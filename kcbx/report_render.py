"""The weekly report on paper and screen: table, md, html, xlsx and json renderings.

Every rendering but json is drawn from one *view* (`view`): the sections of the report
as titled tables of Chinese text, so the terminal, the group-chat message, the printed
page and the workbook say the same thing in the same words. Percentages are truncated as
SPEC §4 says (`metrics.format_percent`); a change of a rate is the difference of the two
displayed percentages, so a reader who subtracts gets the same number. IDs and phones
are masked throughout: this report is sent around (SPEC §7).

Nothing here computes a figure: `kcbx.report` does.
"""

from __future__ import annotations

import html
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kcbx import check, idcard
from kcbx.memory import cycle_collector_paused
from kcbx.metrics import Ratio, format_percent
from kcbx.render import Columns, boxed_cells, cell_text, neutralise, to_json
from kcbx.report import WeeklyReport, case_days
from kcbx.vocab import status_name

SECTION_TITLES = ("一、总体指标", "二、本周变化", "三、分村(社区)、分学校情况",
                  "四、辍学及疑似辍学学生劝返进展", "五、督查事项", "六、上报情况",
                  "附：本学年各周趋势")
# The status counts shown beside the rates (SPEC §4: never hidden), in this order.
COUNTED = ("dropout", "suspected", "never_enrolled", "unknown", "suspended", "deferred",
           "home_taught")
RATES = (("enrollment", "入学率"), ("disabled_enrollment", "残疾儿童少年入学率"),
         ("retention", "巩固率"))
CHANGE_NAMES = {"new_dropout": "新增辍学", "return": "劝返复学", "other": "其他变动"}
EVENT_KINDS = {"snapshot": "花名册", "change": "变动表", "manual": "手工确认"}
FLAG_NAMES = {"wavering": "动摇生", "hardship": "家困生", "struggling": "学困生"}
UNIT_KINDS = {"village": "村(社区)", "school": "学校"}


@dataclass
class Block:
    """One titled table of a section; `empty` is said instead when it has no rows."""

    title: str
    columns: Columns
    rows: list[dict]
    empty: str = "无。"


@dataclass
class Section:
    """A numbered section: notes (sentences), then tables."""

    title: str
    notes: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def title(report: WeeklyReport) -> str:
    """The report's title line."""
    return f"{report.town}控辍保学周报"


def subtitle(report: WeeklyReport) -> str:
    """Who reports, which week, as of which date (the 填报单位 and 日期 of the form)."""
    week = report.week
    return (f"填报单位：{report.town}　报告周：{week.label}（{week.start} 至 {week.end}）"
            f"　日期：{week.end.year}年{week.end.month}月{week.end.day}日")


def default_name(report: WeeklyReport, suffix: str) -> str:
    """后柳镇控辍保学周报-2025-W10.xlsx: the town and the week, never a person."""
    town = "".join(ch for ch in report.town if ch not in '/\\:*?"<>|')
    return f"{town}控辍保学周报-{report.week.label}.{suffix}"


# ---------------------------------------------------------------- the view


def view(report: WeeklyReport) -> list[Section]:
    """The report as sections of titled tables of display text."""
    return [_overview(report), _changes(report), _units(report), _cases(report),
            _findings(report.findings), _reporting(report), _trend(report)]


def percent(ratio: Ratio | None) -> str:
    """99.43% (truncated), or — when there is no rate."""
    return "—" if ratio is None else format_percent(ratio.num, ratio.den)


def rate_cell(ratio: Ratio | None) -> str:
    """99.43%（2658/2673）: the rate with its working."""
    if ratio is None or ratio.den == 0:
        return "—"
    return f"{percent(ratio)}（{ratio.num}/{ratio.den}）"


def point_change(now: Ratio | None, before: Ratio | None) -> str:
    """The difference of two displayed percentages in percentage points: +0.03, -0.10."""
    if now is None or before is None or now.den == 0 or before.den == 0:
        return "—"
    diff = now.num * 10000 // now.den - before.num * 10000 // before.den
    sign = "+" if diff > 0 else "-" if diff < 0 else ""
    return f"{sign}{abs(diff) // 100}.{abs(diff) % 100:02d}"


def signed(n: int) -> str:
    """+1, -2, 0."""
    return f"+{n}" if n > 0 else str(n)


def _overview(report: WeeklyReport) -> Section:
    now, before = report.current, report.previous
    rates = [{"name": name, "num": getattr(now, key).num, "den": getattr(now, key).den,
              "now": percent(getattr(now, key)), "before": percent(getattr(before, key)),
              "change": point_change(getattr(now, key), getattr(before, key)),
              "target": "100%"} for key, name in RATES]
    counts = [{"name": status_name(code), "now": now.counts[code],
               "before": before.counts[code], "change": signed(now.counts[code] -
                                                               before.counts[code])}
              for code in COUNTED]
    counts.append({"name": "累计劝返复学", "now": now.returned, "before": before.returned,
                   "change": signed(now.returned - before.returned)})
    return Section(SECTION_TITLES[0], [
        f"统计截至 {report.week.end}，与上周末（{report.week.previous.end}）比较；"
        f"巩固率、劝返复学自 {report.school_year_start} 起计；目标：入学率、巩固率均为 100%。"
    ], [
        Block("入学率、巩固率", [("name", "指标"), ("num", "分子"), ("den", "分母"),
                             ("now", "本周"), ("before", "上周"),
                             ("change", "比上周（百分点）"), ("target", "目标")], rates),
        Block("各类人数", [("name", "项目"), ("now", "本周"), ("before", "上周"),
                       ("change", "比上周")], counts),
    ])


def _changes(report: WeeklyReport) -> Section:
    changes = report.changes
    n = changes.counts()
    status = [{"date": c.date, "name": c.name, "id_number": idcard.mask(c.id_number),
               "village": c.village, "school": c.school,
               "before": status_name(c.before) or "（无记录）", "after": status_name(c.after),
               "change": CHANGE_NAMES[c.change], "kind": EVENT_KINDS[c.kind],
               "event_type": c.event_type, "reason": c.reason} for c in changes.status]
    flags = [{"date": f.date, "name": f.name, "id_number": idcard.mask(f.id_number),
              "village": f.village, "flag": FLAG_NAMES.get(f.flag, f.flag),
              "change": "新增" if f.change == "raised" else "解除",
              "source": "手工" if f.source == "manual" else "规则", "reason": f.reason}
             for f in changes.flags]
    pairings = [{"date": p.date, "name": p.name, "id_number": idcard.mask(p.id_number),
                 "village": p.village, "teacher": f"{p.teacher_school}/{p.teacher}",
                 "change": "新增包干" if p.change == "started" else "结束包干",
                 "source": "手工" if p.source == "manual" else "自动", "reason": p.reason}
                for p in changes.pairings]
    return Section(SECTION_TITLES[1], [
        f"本周（{report.week.start} 至 {report.week.end}）新增辍学 {n['new_dropouts']} 人，"
        f"劝返复学 {n['returns']} 人，状态变动共 {n['status_changes']} 人次；"
        f"新增标记 {n['flags_raised']} 个，解除标记 {n['flags_cleared']} 个；"
        f"新增包干 {n['pairings_started']} 人，结束包干 {n['pairings_ended']} 人。"
    ], [
        Block("状态变动", [("date", "日期"), ("name", "姓名"), ("id_number", "身份证号"),
                       ("village", "村(社区)"), ("school", "学校"), ("before", "变动前"),
                       ("after", "变动后"), ("change", "类别"), ("kind", "来源"),
                       ("event_type", "变动类型"), ("reason", "备注")], status, "本周无状态变动。"),
        Block("动摇生、家困生、学困生标记", [
            ("date", "日期"), ("name", "姓名"), ("id_number", "身份证号"),
            ("village", "村(社区)"), ("flag", "标记"), ("change", "变动"), ("source", "方式"),
            ("reason", "依据")], flags, "本周无标记变动。"),
        Block("教师包干", [("date", "日期"), ("name", "姓名"), ("id_number", "身份证号"),
                       ("village", "村(社区)"), ("teacher", "包干教师"), ("change", "变动"),
                       ("source", "方式"), ("reason", "原因")], pairings, "本周无包干变动。"),
    ])


def _unit_rows(units) -> list[dict]:
    rows = []
    for unit in units:
        g = unit.group
        rows.append({"name": g.key if g.key is not None else "（未填村）", "head": unit.head,
                     **{key: rate_cell(getattr(g, key)) for key, _ in RATES},
                     **{code: g.counts[code] for code in COUNTED},
                     "new_dropouts": unit.new_dropouts, "returns": unit.returns,
                     "returned": g.returned})
    return rows


def _units(report: WeeklyReport) -> Section:
    counts = [(code, status_name(code)) for code in COUNTED]
    weekly = [("new_dropouts", "本周新增辍学"), ("returns", "本周劝返复学"),
              ("returned", "累计劝返复学")]
    return Section(SECTION_TITLES[2], [
        "村(社区)按户籍儿童统计，学校按本校学籍统计（学校不计入学率）；比率后括号内为分子/分母。"
    ], [
        Block("分村(社区)", [("name", "村(社区)"), ("head", "村长"), *RATES, *counts, *weekly],
              _unit_rows(report.villages), "还没有村(社区)。"),
        Block("分学校", [("name", "学校"), ("head", "校长"), RATES[2], *counts, *weekly],
              _unit_rows(report.schools), "还没有本镇学校。"),
    ])


def _cases(report: WeeklyReport) -> Section:
    rows = []
    for c in report.cases:
        days = case_days(c, report.week.end)
        rows.append({
            "name": c.name, "id_number": idcard.mask(c.id_number), "village": c.village,
            "school": c.school, "status": status_name(c.status),
            "since": c.since or "记录以前", "days": days if days is not None else "—",
            "teacher": f"{c.teacher_school}/{c.teacher}" if c.teacher else "未落实",
            "teacher_phone": idcard.mask_phone(c.teacher_phone),
            "guardian": c.guardian_name, "guardian_phone": idcard.mask_phone(c.guardian_phone),
            "last_followup": c.last_followup or "无", "last_method": c.last_method,
            "last_by": c.last_by, "last_result": c.last_result})
    tally = Counter(c.status for c in report.cases)
    return Section(SECTION_TITLES[3], [
        f"辍学 {tally['dropout']} 人，疑似辍学 {tally['suspected']} 人（含本镇学校学籍上的外地户籍学生）。"
    ], [Block("劝返进展", [
        ("name", "姓名"), ("id_number", "身份证号"), ("village", "村(社区)"), ("school", "学校"),
        ("status", "状态"), ("since", "起始日期"), ("days", "天数"), ("teacher", "包干教师"),
        ("teacher_phone", "教师电话"), ("guardian", "监护人"), ("guardian_phone", "监护人电话"),
        ("last_followup", "最近劝返"), ("last_method", "方式"), ("last_by", "劝返人"),
        ("last_result", "结果")], rows, "没有辍学或疑似辍学的学生。")])


FINDING_COLUMNS = [("kind_name", "类别"), ("unit", "责任单位"), ("person", "责任人"),
                   ("phone", "电话"), ("child", "儿童"), ("id_number", "身份证号"),
                   ("detail", "说明")]


def finding_rows(findings: list[check.Finding], unmask: bool = False) -> list[dict]:
    """Findings as display rows: the responsible person with their role (校长 王芳)."""
    rows = []
    for f in findings:
        row = f.to_dict(unmask)
        role, person = row["role"], row["person"]
        row["person"] = f"{role} {person}" if person else f"{role}（未登记）" if role else ""
        rows.append(row)
    return rows


def finding_summary(findings: list[check.Finding]) -> str:
    """共 N 项：kind n，…; or a clean bill."""
    if not findings:
        return "未发现问题。"
    tally = Counter(f.kind for f in findings)
    parts = "，".join(f"{check.KINDS[kind]} {n}" for kind, n in tally.items())
    return f"共 {len(findings)} 项：{parts}。"


def _findings(findings: list[check.Finding]) -> Section:
    return Section(SECTION_TITLES[4], [finding_summary(findings)],
                   [Block("督查事项", FINDING_COLUMNS, finding_rows(findings), "无。")])


def _reporting(report: WeeklyReport) -> Section:
    rows = [{"unit": r.unit, "kind": UNIT_KINDS[r.kind], "head": r.head,
             "reported": "已报送" if r.reported else "未报送",
             "kinds": "、".join(check.SHEET_NAMES[k] for k in r.kinds), "sheets": r.sheets,
             "last_sheet": r.last_sheet or "从未报送"} for r in report.reporting]
    missing = [r.unit for r in report.reporting if not r.reported]
    note = (f"应报 {len(rows)} 个单位，已报 {len(rows) - len(missing)} 个"
            + (f"，未报：{'、'.join(missing)}。" if missing else "，全部已报。"))
    return Section(SECTION_TITLES[5], [note], [Block("上报情况", [
        ("unit", "单位"), ("kind", "类型"), ("head", "负责人"), ("reported", "本周"),
        ("kinds", "报送表格"), ("sheets", "份数"), ("last_sheet", "最近一次表格日期")], rows,
        "还没有村(社区)或学校。")])


TREND_COLUMNS = [("week", "周"), ("as_of", "截至"), ("enrollment", "入学率"),
                 ("disabled_enrollment", "残疾儿童少年入学率"), ("retention", "巩固率"),
                 ("dropouts", "辍学"), ("suspected", "疑似辍学"), ("returned", "累计劝返复学")]


def _trend(report: WeeklyReport) -> Section:
    rows = [{"week": p.week.label, "as_of": p.week.end,
             **{key: percent(getattr(p.group, key)) for key, _ in RATES},
             "dropouts": p.group.dropouts, "suspected": p.group.counts["suspected"],
             "returned": p.group.returned} for p in report.trend]
    return Section(SECTION_TITLES[6], [f"自 {report.school_year_start} 起每周末的全镇指标。"],
                   [Block("各周趋势", TREND_COLUMNS, rows)])


# ---------------------------------------------------------------- text, markdown, html


def text(report: WeeklyReport) -> str:
    """Plain aligned text (no colour, no box drawing): the table format off a terminal."""
    from kcbx.render import plain_table

    out = [title(report), subtitle(report), ""]
    for section in view(report):
        out += [section.title, *section.notes]
        for block in section.blocks:
            if block.rows:
                out.append(plain_table(block.rows, block.columns, title=f"【{block.title}】"))
            else:
                out += [f"【{block.title}】{block.empty}", ""]
    return "\n".join(out)


def show(report: WeeklyReport, console) -> None:
    """The table format: rich tables on a terminal, plain text into a pipe or file."""
    from kcbx.render import is_terminal, table

    if not is_terminal():
        sys.stdout.write(text(report))
        return
    console.print(title(report), style="bold", markup=False)
    console.print(subtitle(report), markup=False)
    for section in view(report):
        console.print(f"\n{section.title}", style="bold", markup=False)
        for note in section.notes:
            console.print(note, markup=False, soft_wrap=True)
        for block in section.blocks:
            if block.rows:
                console.print(table(block.rows, block.columns, title=block.title))
            else:
                console.print(f"{block.title}：{block.empty}", markup=False)


def _md_cell(value: object) -> str:
    """A table cell in markdown: a | would end the cell and a line break the row."""
    text = value if isinstance(value, str) else cell_text(value)
    if "|" in text or "\n" in text:
        return text.replace("|", "\\|").replace("\n", " ")
    return text


def markdown(report: WeeklyReport) -> str:
    """Markdown for a group chat or an e-mail: headings, notes and pipe tables."""
    out = [f"# {title(report)}", "", subtitle(report), ""]
    for section in view(report):
        out += [f"## {section.title}", ""]
        for note in section.notes:
            out += [note, ""]
        for block in section.blocks:
            out += [f"**{block.title}**", ""]
            if not block.rows:
                out += [block.empty, ""]
                continue
            out.append("| " + " | ".join(header for _, header in block.columns) + " |")
            out.append("|" + "---|" * len(block.columns))
            out += ["| " + " | ".join(_md_cell(row.get(key)) for key, _ in block.columns) + " |"
                    for row in block.rows]
            out.append("")
    return "\n".join(out)


_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;
color:#111;font-size:14px}
h1{text-align:center;font-size:22px;margin:0 0 .3em}
.sub{text-align:center;margin:0 0 1.5em}
h2{font-size:17px;border-bottom:2px solid #333;padding-bottom:.2em;margin-top:1.8em}
h3{font-size:15px;margin:1em 0 .4em}
table{border-collapse:collapse;width:100%;margin-bottom:1em}
th,td{border:1px solid #444;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}
.chart{width:100%;max-width:900px;height:auto}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;font-size:11px}h2{break-after:avoid}tr{break-inside:avoid}}
"""


def html_page(report: WeeklyReport) -> str:
    """One self-contained printable page: inline CSS and chart, every text escaped."""
    esc = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
             f"<title>{esc(title(report))} {esc(report.week.label)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{esc(title(report))}</h1>", f"<p class=\"sub\">{esc(subtitle(report))}</p>"]
    for section in view(report):
        parts.append(f"<h2>{esc(section.title)}</h2>")
        if section.title == SECTION_TITLES[-1]:
            parts.append(trend_svg(report))
        parts += [f"<p>{esc(note)}</p>" for note in section.notes]
        for block in section.blocks:
            parts.append(f"<h3>{esc(block.title)}</h3>")
            if not block.rows:
                parts.append(f"<p>{esc(block.empty)}</p>")
                continue
            head = "".join(f"<th>{esc(h)}</th>" for _, h in block.columns)
            body = "".join("<tr>" + "".join(f"<td>{esc(cell_text(row.get(k)))}</td>"
                                            for k, _ in block.columns) + "</tr>"
                           for row in block.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _truncated(ratio: Ratio) -> float | None:
    """A rate as its displayed (truncated) fraction: 0.9943 for 99.43%."""
    return None if ratio.den == 0 else (ratio.num * 10000 // ratio.den) / 10000


def trend_svg(report: WeeklyReport) -> str:
    """An inline SVG line chart: 入学率 and 巩固率 (left scale), 辍学人数 (right scale)."""
    points = report.trend
    width, height, left, right, top, bottom = 860, 260, 60, 60, 20, 40
    span_x = max(len(points) - 1, 1)
    rates = [v for p in points for v in (_truncated(p.group.enrollment),
                                          _truncated(p.group.retention)) if v is not None]
    low = min(rates + [1.0]) - 0.001
    most = max([p.group.dropouts for p in points] + [1])

    def x(i: int) -> float:
        return left + (width - left - right) * i / span_x

    def y(fraction: float) -> float:
        return top + (height - top - bottom) * (1 - fraction)

    def line(values, colour: str) -> str:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None)
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'

    series = [("入学率", "#1f77b4", [_rate_y(_truncated(p.group.enrollment), low)
                                  for p in points]),
              ("巩固率", "#2ca02c", [_rate_y(_truncated(p.group.retention), low) for p in points]),
              ("辍学人数（右轴）", "#d62728", [p.group.dropouts / most for p in points])]
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"'
           f' role="img" aria-label="本学年各周趋势">',
           f'<rect x="{left}" y="{top}" width="{width - left - right}" '
           f'height="{height - top - bottom}" fill="none" stroke="#999"/>',
           f'<text x="{left - 6}" y="{y(1) + 4:.1f}" text-anchor="end" font-size="11">100%</text>',
           f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end" font-size="11">'
           f'{html.escape(format_percent(int(low * 10000), 10000))}</text>',
           f'<text x="{width - right + 6}" y="{y(1) + 4:.1f}" font-size="11">{most} 人</text>',
           f'<text x="{width - right + 6}" y="{y(0) + 4:.1f}" font-size="11">0 人</text>']
    for i, p in enumerate(points):
        if i in (0, len(points) - 1) or i % 4 == 0:
            out.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                       f'font-size="10">{html.escape(p.week.end.strftime("%m-%d"))}</text>')
    for n, (name, colour, values) in enumerate(series):
        out.append(line(values, colour))
        out.append(f'<text x="{left + 10 + 150 * n}" y="{height - 6}" font-size="11" '
                   f'fill="{colour}">■ {html.escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _rate_y(value: float | None, low: float) -> float | None:
    """A rate placed on the chart's 0 … 1 height, `low` at the bottom and 100% at the top."""
    return None if value is None else (value - low) / (1 - low)


def json_text(report: WeeklyReport) -> str:
    """The stable JSON of `WeeklyReport.to_dict` (keys documented in kcbx.report)."""
    return to_json(report.to_dict()) + "\n"


# ---------------------------------------------------------------- xlsx


def workbook(report: WeeklyReport):
    """A print-ready workbook: a sheet per section, and the trend with a native line chart."""
    from kcbx.render import new_workbook

    wb = new_workbook()
    sheet_names = ("总体指标", "本周变化", "分村分校", "劝返进展", "督查事项", "上报情况")
    for name, section in zip(sheet_names, view(report)):
        _section_sheet(wb, name, section, report)
    _trend_sheet(wb, report)
    return wb


def _section_sheet(wb, name: str, section: Section, report: WeeklyReport) -> None:
    """One section as a form: title, 填报单位/日期, then each block with borders; A4.

    Rows are written by number and boxed by copying the style of the first table cell
    (render.boxed_cells): openpyxl's `max_row` and style setters cost time per call,
    which made a county's workbook (a few thousand findings) take several seconds.
    """
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(name)
    width = max(len(block.columns) for block in section.blocks)
    line = 0

    def merged(text: str, **style) -> None:
        nonlocal line
        line += 1
        cell = ws.cell(line, 1, text)
        ws.merge_cells(start_row=line, start_column=1, end_row=line, end_column=width)
        for attribute, value in style.items():
            setattr(cell, attribute, value)

    merged(f"{title(report)}　{section.title}", font=Font(bold=True, size=14),
           alignment=Alignment(horizontal="center"))
    merged(subtitle(report), alignment=Alignment(horizontal="center"))
    for note in section.notes:
        merged(note, alignment=Alignment(wrap_text=True, vertical="center"))
        ws.row_dimensions[line].height = 30
    bold = Font(bold=True)
    boxed = boxed_cells()

    widths = [6.0] * width
    for block in section.blocks:
        line += 2
        ws.cell(line, 1, block.title if block.rows else f"{block.title}：{block.empty}").font = bold
        if not block.rows:
            continue
        line += 1
        for i, (_, text) in enumerate(block.columns, start=1):
            cell = ws.cell(line, i, text)
            boxed(cell)
            cell.font = bold
        for row in block.rows:
            line += 1
            for i, (key, _) in enumerate(block.columns, start=1):
                cell = ws.cell(line, i)
                boxed(cell)
                _put(cell, row.get(key))
        for i, (key, text) in enumerate(block.columns):
            longest = max([len(text)] + [len(cell_text(r.get(key))) for r in block.rows[:200]])
            widths[i] = max(widths[i], min(longest * 1.8 + 2, 40))
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    _a4(ws, landscape=width > 6)


_NUMBER = re.compile(r"[+-]?\d+(\.\d\d)?")


def _put(cell, value: object) -> None:
    """A cell's value: numbers stay numbers, and so do numbers written as text, such as a
    change +1 or -16.66 (shown with its sign); other text is neutralised so a spreadsheet
    never runs it (SPEC §7)."""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        decimals = "." in value
        cell.value = float(value) if decimals else int(value)
        cell.number_format = "+0.00;-0.00;0.00" if decimals else "+0;-0;0"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.value = value
    else:
        cell.value = neutralise(cell_text(value))


def _a4(ws, *, landscape: bool) -> None:
    """A4, fitted to one page wide, as an official form prints."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _trend_sheet(wb, report: WeeklyReport) -> None:
    """The weekly figures since A as numbers, and a line chart of them beside the table."""
    from openpyxl.chart import LineChart, Reference
    from openpyxl.styles import Alignment, Border, Font, Side

    ws = wb.create_sheet("趋势")
    ws.append([f"{title(report)}　{SECTION_TITLES[-1]}"])
    ws.append([subtitle(report)])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    headers = [header for _, header in TREND_COLUMNS]
    ws.append(headers)
    header_row = ws.max_row
    for p in report.trend:
        g = p.group
        ws.append([p.week.label, p.week.end.isoformat(), _truncated(g.enrollment),
                   _truncated(g.disabled_enrollment), _truncated(g.retention), g.dropouts,
                   g.counts["suspected"], g.returned])
        for column in (3, 4, 5):
            ws.cell(ws.max_row, column).number_format = "0.00%"
    side = Side(style="thin")
    for cells in ws.iter_rows(min_row=header_row, max_row=ws.max_row, max_col=len(headers)):
        for cell in cells:
            cell.border = Border(left=side, right=side, top=side, bottom=side)
            cell.alignment = Alignment(horizontal="center")
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for letter, w in zip("ABCDEFGH", (10, 12, 10, 12, 10, 8, 10, 12)):
        ws.column_dimensions[letter].width = w
    last = ws.max_row
    rates = LineChart()
    rates.title = "本学年各周入学率、巩固率与辍学人数"
    rates.y_axis.title = "比率"
    rates.y_axis.number_format = "0.0%"
    rates.x_axis.title = "周"
    rates.add_data(Reference(ws, min_col=3, max_col=5, min_row=header_row, max_row=last),
                   titles_from_data=True)
    rates.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last))
    dropouts = LineChart()
    dropouts.add_data(Reference(ws, min_col=6, max_col=6, min_row=header_row, max_row=last),
                      titles_from_data=True)
    dropouts.y_axis.axId = 200
    dropouts.y_axis.title = "辍学人数"
    dropouts.y_axis.crosses = "max"
    for axis in (rates.x_axis, rates.y_axis, dropouts.y_axis):
        axis.delete = False  # openpyxl ≥ 3.1 hides axes unless told otherwise
    rates += dropouts
    rates.width, rates.height = 24, 12
    ws.add_chart(rates, "J3")
    _a4(ws, landscape=True)


def save_xlsx(report: WeeklyReport, path: Path) -> Path:
    """Write the workbook atomically (a reader never sees half a file; mode 0600).

    A county's workbook is hundreds of thousands of cells: made with Python's cycle
    collector paused (kcbx.memory).
    """
    from kcbx.render import save_workbook

    with cycle_collector_paused():
        return save_workbook(workbook(report), path)
