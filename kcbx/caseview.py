"""How the 一人一案 file (`kcbx.casefile`) reads: on a terminal, as Markdown, as a workbook.

All three are drawn from the same sections (title, rows, columns), so a field shown on
screen is also in the printout. Codes become Chinese words here; unapplied snapshots are
marked 未采用 and returns 劝返复学. The JSON form is `case_file` itself, not this module.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kcbx.children import class_label, gender_name
from kcbx.errors import InvalidValue
from kcbx.render import (Columns, cell_text, console, err_console, is_terminal, new_workbook,
                         save_workbook, table, to_json, write_text, xlsx_sheet)
from kcbx.render import plain_table

Section = tuple[str, list[dict], Columns]

ITEM_COLUMNS = [("item", "项目"), ("value", "内容")]
CHAIN_COLUMNS = [("role_name", "职责"), ("unit", "单位"), ("name", "姓名"), ("phone", "电话"),
                 ("hint", "说明")]
FLAG_COLUMNS = [("flag_name", "标记"), ("state", "现状"), ("reason", "依据"),
                ("source", "来源"), ("raised_on", "标记日期"), ("cleared_on", "清除日期"),
                ("cleared_reason", "清除原因")]
HISTORY_COLUMNS = [("date", "日期"), ("kind_name", "类型"), ("event_type", "变动类型"),
                   ("prev_status_name", "此前状态"), ("status_name", "状态"),
                   ("school", "学校"), ("reason", "原因或备注"), ("origin", "来源"),
                   ("mark", "说明")]
PAIRING_COLUMNS = [("teacher_name", "包干教师"), ("teacher_school", "学校"),
                   ("teacher_phone", "电话"), ("start_date", "起始日期"),
                   ("end_date", "结束日期"), ("end_reason", "结束原因"), ("source_name", "方式")]
FOLLOWUP_COLUMNS = [("date", "日期"), ("by_name", "人员"), ("by_school", "单位"),
                    ("method", "方式"), ("purpose", "类型"), ("content", "内容"),
                    ("result", "结果"), ("next_date", "下次跟进"), ("note", "备注")]
EDIT_COLUMNS = [("field_name", "项目"), ("old_value", "原值"), ("new_value", "新值"),
                ("reason", "理由"), ("edited_at", "时间")]
FIELD_NAMES = {"name": "姓名"}


def _yes(value: bool) -> str:
    """是/否, as the clerk's forms write a yes/no field."""
    return "是" if value else "否"


def _identity_rows(case: dict) -> list[dict]:
    """基本信息 as item/value pairs, guardian and groups included."""
    c, g = case["child"], case["guardian"]
    group = f"{c['group_no']}组" if c["group_no"] is not None else ""
    disability = "、".join(x for x in (c["disability_type"], c["disability_level"]) if x)
    status = c["status_name"] or "（无记录）"
    if c["since"]:
        status += f"（自 {c['since']}）"
    items = [
        ("姓名", c["name"]), ("身份证号", c["id_number"]), ("性别", gender_name(c["gender"])),
        ("出生日期", c["birth_date"]), ("民族", c["ethnicity"]),
        ("村(社区)/组", f"{c['village'] or ''}{group}"), ("家庭住址", c["address"]),
        ("就读学校", c["school"]),
        ("年级班级", class_label(c["grade"], c["grade_text"], c["class_no"])),
        ("学籍号", c["student_no"]), (f"状态（{case['as_of']}）", status),
        ("户籍在本镇", _yes(c["in_census"])), ("留守儿童", _yes(c["left_behind"])),
        ("残疾", f"是（{disability}）" if c["disabled"] and disability else _yes(c["disabled"])),
        ("家庭类型", c["family_type"]), ("最近考试成绩", c["last_score"]),
        ("缺勤天数", c["absences"]), ("备注", c["remarks"]),
        ("监护人", f"{g['name'] or ''}" + (f"（{g['relation']}）" if g["relation"] else "")),
        ("监护人电话", g["phone"]),
        ("特殊群体", "、".join(x["name"] for x in case["groups"]) or "无"),
    ]
    return [{"item": item, "value": value} for item, value in items]


def _history_rows(case: dict) -> list[dict]:
    """Status events with where they came from and what the clerk must notice."""
    rows = []
    for e in case["status_history"]:
        origin = f"第{e['batch']}批 {e['file']}" if e["batch"] else "手工"
        mark = "未采用（与先前的变动矛盾，请核实）" if not e["applied"] else (
            "劝返复学" if e["is_return"] else "")
        rows.append({**e, "origin": origin, "mark": mark})
    return rows


def sections(case: dict) -> list[Section]:
    """The file's sections in reading order: (title, rows, columns)."""
    flags = [{**f, "state": "在" if f["open"] else "已清除"} for f in case["flags"]]
    pairings = [{**p, "source_name": {"auto": "自动", "manual": "手工"}[p["source"]]}
                for p in case["pairings"]]
    edits = [{**e, "field_name": FIELD_NAMES.get(e["field"], e["field"])}
             for e in case["edits"]]
    return [("基本信息", _identity_rows(case), ITEM_COLUMNS),
            ("双线七长", case["chain"], CHAIN_COLUMNS),
            ("标记（动摇生、家困生、学困生）", flags, FLAG_COLUMNS),
            ("状态历史", _history_rows(case), HISTORY_COLUMNS),
            ("包干教师", pairings, PAIRING_COLUMNS),
            ("劝返帮扶记录", case["followups"], FOLLOWUP_COLUMNS),
            ("修改记录", edits, EDIT_COLUMNS)]


def title(case: dict, town: str) -> str:
    """The heading of every form of the file."""
    return f"{town}控辍保学一人一案：{case['child']['name']}"


def print_case(case: dict, town: str) -> None:
    """The file on screen: a heading, then one table per section (plain text into a pipe,
    where rich would fold long cells into narrow columns)."""
    console.print(f"{title(case, town)}（{case['as_of']}）", markup=False)
    for name, rows, columns in sections(case):
        if not rows:
            console.print(f"\n{name}：无", markup=False)
        elif is_terminal():
            console.print(table(rows, columns, title=name))
        else:
            sys.stdout.write("\n" + plain_table(rows, columns, title=name))


def _md_cell(value: object) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(cell_text(value).split()).replace("|", "\\|")


def to_markdown(case: dict, town: str) -> str:
    """The file as Markdown, for printing or sending."""
    lines = [f"# {title(case, town)}", "", f"日期：{case['as_of']}", ""]
    for name, rows, columns in sections(case):
        lines += [f"## {name}", ""]
        if not rows:
            lines += ["无", ""]
            continue
        lines.append("| " + " | ".join(header for _, header in columns) + " |")
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(_md_cell(r.get(key)) for key, _ in columns) + " |"
                  for r in rows]
        lines.append("")
    return "\n".join(lines)


def write_workbook(case: dict, town: str, out: Path) -> Path:
    """A print-ready workbook: one sheet per section, the file's heading on each."""
    wb = new_workbook()
    heading = title(case, town)
    for name, rows, columns in sections(case):
        xlsx_sheet(wb, name.split("（")[0], rows, columns, heading=heading,
                   subtitle=f"{name}　　日期：{case['as_of']}",
                   landscape=len(columns) > 4)
    return save_workbook(wb, out)


def emit(case: dict, fmt: str, town: str, out: Path | None = None) -> None:
    """Show the file in `fmt` (table | md | json | xlsx): printed, or written to `out`.

    The terminal form is for reading on screen only; md and json go to `out` when given,
    xlsx always does.
    """
    if fmt == "table":
        if out is not None:
            raise InvalidValue("--out 只用于 md、json 或 xlsx 格式，例如 --format xlsx --out 一人一案.xlsx")
        print_case(case, town)
        return
    if fmt == "xlsx":
        if out is None:
            raise InvalidValue("xlsx 格式需要用 --out 指定输出文件，例如 --out 一人一案.xlsx")
        write_workbook(case, town, out)
    else:
        text = to_json(case) + "\n" if fmt == "json" else to_markdown(case, town)
        if out is None:
            sys.stdout.write(text)
            return
        write_text(out, text)
    err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)
