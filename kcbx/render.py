"""Turning rows into what the clerk reads: terminal tables, CSV, JSON and print-ready xlsx.

The only module that draws tables or writes export files. Rows are plain dicts; a
listing declares its columns as (key, 中文表头) pairs. Text that a spreadsheet would run
as a formula (= + - @, tab, CR at the start) is neutralised in CSV and xlsx (SPEC §7).
Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from kcbx.memory import cycle_collector_paused

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

Columns = Sequence[tuple[str, str]]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would treat as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def cell_text(value: object) -> str:
    """How a value reads in a table or CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "、".join(cell_text(v) for v in value)
    return str(value)


def is_terminal() -> bool:
    """True when stdout is a terminal (colour, box drawing and progress bars allowed)."""
    return sys.stdout.isatty()


def table(rows: Iterable[dict], columns: Columns, title: str | None = None) -> Table:
    """A rich table of `rows`; plain (no box drawing) when the output is not a terminal."""
    from rich import box

    t = Table(title=title, box=box.SIMPLE_HEAD if is_terminal() else box.ASCII2,
              show_edge=False, title_justify="left")
    for _, header in columns:
        t.add_column(header, overflow="fold")
    for row in rows:
        t.add_row(*(cell_text(row.get(key)) for key, _ in columns))
    return t


def plain_table(rows: Sequence[dict], columns: Columns, title: str | None = None) -> str:
    """The rows as aligned text: optional title, header, a dashed rule, one line per row."""
    headers = [header for _, header in columns]
    lines = [headers] + [[cell_text(row.get(key)) for key, _ in columns] for row in rows]
    lengths = [[cell_len(text) for text in line] for line in lines]
    widths = [max(column) for column in zip(*lengths)]
    right = [bool(rows) and all(isinstance(row.get(key), int) for row in rows)
             for key, _ in columns]

    def render(n: int) -> str:
        padded = []
        for i, (text, length) in enumerate(zip(lines[n], lengths[n])):
            gap = " " * (widths[i] - length)
            padded.append(gap + text if right[i] and n else text + gap)
        return (" " + " | ".join(padded)).rstrip()

    out = [title] if title else []
    out.append(render(0))
    out.append("-" + "-+-".join("-" * w for w in widths) + "-")
    out.extend(render(n) for n in range(1, len(lines)))
    return "\n".join(out) + "\n"


def show_table(rows: Sequence[dict], columns: Columns, title: str | None = None, *,
               err: bool = False) -> None:
    """Print a table: rich on a terminal, plain aligned text into a pipe or file.

    rich folds wide Chinese headers at 80 columns when it cannot see a terminal and takes
    0.4 ms a row; plain text keeps every row on one line and is fast (SPEC §5: no box
    drawing when the output is not a terminal).
    """
    stream = sys.stderr if err else sys.stdout
    if stream.isatty() and len(rows) <= 200:
        (err_console if err else console).print(table(rows, columns, title=title))
    else:
        stream.write(plain_table(rows, columns, title=title))


def to_json(data: object) -> str:
    """Stable JSON: UTF-8 text, dates as YYYY-MM-DD."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_csv(rows: Iterable[dict], columns: Columns) -> str:
    """CSV with Chinese headers; every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([header for _, header in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(key)) for key, _ in columns])
    return buffer.getvalue()


def _csv_cell(value: object) -> str:
    r"""A neutralised cell whose line breaks are all \n.

    The csv module quotes a cell that holds its line terminator (\n) but not a lone CR,
    which Excel and csv readers take for the end of the row: '备注\r=HYPERLINK(…)'
    became a row of its own that starts with =.
    """
    return neutralise(cell_text(value)).replace("\r\n", "\n").replace("\r", "\n")


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` then rename tmp to `path` (mode 0600 through the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".kcbx-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str, *, bom: bool = False) -> Path:
    """Write text atomically (UTF-8; with a BOM for CSV that Excel opens)."""
    encoding = "utf-8-sig" if bom else "utf-8"
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding=encoding))


@cycle_collector_paused()  # a county's list is hundreds of thousands of cells
def xlsx_sheet(wb, title: str, rows: Sequence[dict], columns: Columns, *,
               heading: str, subtitle: str = "", landscape: bool = True):
    """Add a print-ready sheet: title row, subtitle (制表单位/日期), borders, A4, header repeated."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title=_sheet_title(title))
    width = max(len(columns), 1)
    ws.append([heading])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([subtitle])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.append([header for _, header in columns])
    for row in rows:
        ws.append([_xlsx_value(row.get(key)) for key, _ in columns])
    boxed = boxed_cells()
    for cells in ws.iter_rows(min_row=3, max_row=ws.max_row, max_col=width):
        for cell in cells:
            boxed(cell)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for i, (key, header) in enumerate(columns, start=1):
        longest = max([len(header)] + [len(cell_text(r.get(key))) for r in rows[:200]])
        ws.column_dimensions[get_column_letter(i)].width = min(max(6, longest * 1.8 + 2), 40)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    ws.freeze_panes = "A4"
    return ws


def boxed_cells() -> Callable[[object], None]:
    """A function that gives a table cell of one workbook thin borders and wrapped text,
    centred vertically: the first cell is styled, every other copies its style.

    openpyxl's style setters hash the style and look it up in the workbook on every call:
    a list of 50,000 children (700,000 cells) took 26 s that way."""
    from copy import copy

    from openpyxl.styles import Alignment, Border, Side

    side = Side(style="thin")
    border = Border(left=side, right=side, top=side, bottom=side)
    template = None

    def boxed(cell) -> None:
        nonlocal template
        if template is None:
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            template = copy(cell._style)
        else:
            cell._style = copy(template)

    return boxed


def _xlsx_value(value: object) -> object:
    if isinstance(value, (list, tuple)):
        value = cell_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


def _sheet_title(title: str) -> str:
    for bad in "[]:*?/\\":
        title = title.replace(bad, "_")
    return title[:31] or "Sheet"


@cycle_collector_paused()
def save_workbook(wb, path: Path) -> Path:
    """Save an openpyxl workbook atomically."""
    return write_atomic(path, lambda tmp: wb.save(tmp))


def new_workbook():
    """An empty workbook (its default sheet removed)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    return wb


def emit(rows: Sequence[dict], columns: Columns, fmt: str, *, title: str = "",
         out: Path | None = None, heading: str = "", subtitle: str = "") -> None:
    """Print or write `rows` in `fmt` (table|csv|json|xlsx); xlsx needs `out`."""
    if fmt == "json":
        text = to_json([{k: row.get(k) for k, _ in columns} for row in rows]) + "\n"
    elif fmt == "csv":
        text = to_csv(rows, columns)
    elif fmt == "xlsx":
        if out is None:
            from kcbx.errors import InvalidValue

            raise InvalidValue("xlsx 格式需要用 --out 指定输出文件，例如 --out 名单.xlsx")
        wb = new_workbook()
        xlsx_sheet(wb, title or "Sheet1", rows, columns, heading=heading or title,
                   subtitle=subtitle)
        save_workbook(wb, out)
        err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)
        return
    else:
        if out is not None:
            text = to_csv(rows, columns)
        else:
            show_table(rows, columns, title=title or None)
            return
    if out is not None:
        write_text(out, text, bom=(fmt == "csv"))
        err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)
    else:
        sys.stdout.write(text)
