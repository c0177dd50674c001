"""Helpers that write small spreadsheets the way villages and schools send them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook

from kcbx.idcard import check_char

CENSUS_HEADERS = ["序号", "姓名", "性别", "身份证号码", "出生年月", "民族", "村(社区)", "所在组",
                  "监护人", "与学生关系", "联系电话", "家庭类型", "是否留守儿童", "是否残疾",
                  "残疾类别", "残疾等级", "就读学校", "年级", "就读状态", "备注"]
ROSTER_HEADERS = ["序号", "学籍号", "姓名", "性别", "身份证号", "出生日期", "年级", "班级",
                  "村(社区)", "监护人姓名", "联系电话", "是否留守", "残疾类别", "学业成绩",
                  "缺勤天数", "学籍状态", "备注"]
CHANGE_HEADERS = ["序号", "身份证号", "姓名", "所在村(社区)", "变动日期", "变动类型", "变动前状态",
                  "变动后状态", "原学校", "现学校", "年级", "经办人", "备注"]
TEACHER_HEADERS = ["序号", "姓名", "性别", "任教学校", "联系电话", "任教学科", "班主任班级", "在岗情况", "备注"]
FOLLOWUP_HEADERS = ["序号", "学生姓名", "身份证号", "所在村(社区)", "学校", "帮扶类型", "日期",
                    "责任教师", "教师所在学校", "方式", "内容", "结果"]


def make_id(born: date, seq: int = 1, male: bool = True, area: str = "610922") -> str:
    """A valid 18-digit ID number for a child born on `born`."""
    order = seq * 2 + (1 if male else 0)
    first17 = f"{area}{born:%Y%m%d}{order % 1000:03d}"
    return first17 + check_char(first17)


def write_xlsx(path: Path, header: list[str], rows: list[list], *, title: str | None = None,
               subtitle: str | None = None, sheet: str = "Sheet1") -> Path:
    """One sheet: optional title rows, a header row, data rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    if subtitle:
        ws.append([subtitle])
    ws.append(header)
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows():
        for cell in cells:  # text typed as "=…" stays text, as in a clerk's sheet
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    wb.save(path)
    return path


def _gender(id_number) -> str:
    text = str(id_number)
    return ("男" if int(text[16]) % 2 else "女") if len(text) >= 17 and text[16].isdigit() else ""


def census_row(seq, name, id_number, *, village="中坝村", group="1组", school="后柳小学",
               grade="三年级", status="在校", family="一般家庭", left="否", disabled="否",
               dtype="", remarks="", born=None):
    return [seq, name, _gender(id_number), id_number, born or "",
            "汉族", village, group, "王平", "父亲", "13800000000", family, left, disabled, dtype,
            "", school, grade, status, remarks]


def census(path: Path, rows: list[list], village: str = "中坝村",
           day: str = "2025年2月20日") -> Path:
    return write_xlsx(path, CENSUS_HEADERS, rows,
                      title=f"后柳镇{village}2024年适龄儿童少年花名册",
                      subtitle=f"填报单位：{village}村民委员会（盖章）        填报日期：{day}")


def roster_row(seq, name, id_number, *, grade="三年级", cls="1班", village="中坝村",
               score=70, absences=0, status="在读", remarks="", dtype=""):
    return [seq, f"G{id_number}", name, _gender(id_number), id_number, "",
            grade, cls, village, "王平", "13800000000", "否", dtype, score, absences, status, remarks]


def roster(path: Path, rows: list[list], school: str = "后柳小学",
           day: str = "2025年2月20日") -> Path:
    return write_xlsx(path, ROSTER_HEADERS, rows,
                      title=f"{school}2024-2025学年学籍花名册（截至{day}）")
