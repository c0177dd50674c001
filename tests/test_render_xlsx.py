"""The print-ready list sheets (render.xlsx_sheet): every table cell boxed, the header bold.

Data cells copy the first table cell's style (render.boxed_cells) instead of setting
their own: the look must be the same on every row, as a clerk prints it.
"""

from __future__ import annotations

from openpyxl import load_workbook

from kcbx import render

COLUMNS = [("name", "姓名"), ("village", "村"), ("note", "备注")]


def test_every_table_cell_is_boxed_and_only_the_header_is_bold(tmp_path):
    rows = [{"name": f"学生{i}", "village": "中坝村", "note": "=1+1" if i == 2 else None}
            for i in range(1, 6)]
    out = tmp_path / "名单.xlsx"
    render.emit(rows, COLUMNS, "xlsx", title="名单", out=out, subtitle="制表：后柳镇")
    ws = load_workbook(out).active
    assert (ws["A1"].value, ws["A1"].font.b, ws["A1"].font.sz) == ("名单", True, 14)
    assert [c.value for c in ws[3]] == ["姓名", "村", "备注"]
    table = list(ws.iter_rows(min_row=3, max_row=8, max_col=3))
    assert len(table) == 6
    for line, cells in enumerate(table):
        for cell in cells:
            sides = {side.style for side in (cell.border.left, cell.border.right,
                                             cell.border.top, cell.border.bottom)}
            assert sides == {"thin"}, cell.coordinate
            assert (cell.alignment.wrap_text, cell.alignment.vertical) == (True, "center")
            assert cell.font.b is (line == 0), cell.coordinate
    assert ws["C5"].value == "'=1+1"  # neutralised, as before
