"""Build small workbooks and CSVs in tmp_path, shaped like the sheets villages send."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import xlwt
from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

CENSUS_HEADER = ["序号", "姓名", "性别", "身份证号码", "出生年月", "民族", "村(社区)", "所在组",
                 "监护人", "与学生关系", "联系电话", "家庭类型", "是否留守儿童", "是否残疾",
                 "就读学校", "年级", "就读状态", "备注"]


def census_row(seq, name, id_number, village="", group="", status="在校"):
    """One census data row in CENSUS_HEADER order."""
    return [seq, name, "男", id_number, "2015.3.4", "汉族", village, group, "王平", "父亲",
            "18123545211", "一般家庭", "否", "否", "后柳小学", "四年级", status, ""]


def make_xlsx(path: Path, rows: list[list], *, sheet: str = "Sheet1", merge=(), hidden_columns=(),
              origin: str = "A1", more: dict[str, list[list]] | None = None, hidden_sheets=()) -> Path:
    """A workbook whose first sheet holds `rows` from `origin`; `more` adds sheets by name."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    col, row = coordinate_from_string(origin)
    _put(ws, rows, row, column_index_from_string(col))
    for rng in merge:
        ws.merge_cells(rng)
    for letter in hidden_columns:
        ws.column_dimensions[letter].hidden = True
    for name, extra_rows in (more or {}).items():
        _put(wb.create_sheet(name), extra_rows, 1, 1)
    for name in hidden_sheets:
        wb[name].sheet_state = "hidden"
    wb.save(path)
    return path


def _put(ws, rows, first_row, first_col):
    for i, values in enumerate(rows):
        for j, value in enumerate(values):
            if value not in ("", None):
                ws.cell(first_row + i, first_col + j, value)


def make_xls(path: Path, rows: list[list], *, sheet: str = "Sheet1", merge=()) -> Path:
    """An old-format .xls; merge holds (first_row, last_row, first_col, last_col), 0-based."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet(sheet)
    merged_cells = set()
    for r0, r1, c0, c1 in merge:
        ws.write_merge(r0, r1, c0, c1, rows[r0][c0])
        merged_cells |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    for i, values in enumerate(rows):
        for j, value in enumerate(values):
            if value not in ("", None) and (i, j) not in merged_cells:
                ws.write(i, j, value)
    wb.save(str(path))
    return path


def make_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    """A CSV as Excel writes it: CRLF lines, quotes only where needed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


_ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="{sheet}">{rows}</table:table>
</office:spreadsheet></office:body></office:document-content>"""
_ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def make_ods(path: Path, rows: list[list], *, sheet: str = "Sheet1") -> Path:
    """A minimal OpenDocument spreadsheet (WPS and LibreOffice save these) of text and numbers."""

    def cell(value):
        if isinstance(value, (int, float)):
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(map(cell, r)) + "</table:table-row>" for r in rows)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        z.writestr("content.xml", _ODS_CONTENT.format(sheet=escape(sheet), rows=body))
    return path
