"""Files → raw sheets: every cell as read, merged ranges filled, nothing interpreted yet.

Workbooks (.xlsx/.xlsm/.xls/.ods) go through python-calamine: text cells stay text, so an
ID typed as text never passes through a float; a number cell stays a float and the
importer reports it. CSV/TXT files are decoded as UTF-8 (with or without BOM), then
GB18030 (what Excel on a Chinese Windows writes). Anything that cannot be read becomes a
`FileProblem` with one Chinese line that tells the clerk what to do next.

Known limit (python-calamine 0.9 / calamine 0.37): a corrupt .xls can make calamine's OLE
reader panic (caught here: it is a damaged file) or, rarely, try to allocate hundreds of
gigabytes and abort the process, which no Python code can catch. Fuzzing corrupt .xlsx
files found neither.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from python_calamine import (
    CalamineError,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from kcbx.errors import FileProblem

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
TEXT_SUFFIXES = (".csv", ".txt")
SUMMARY_WORDS = ("汇总", "统计")
LOCK_PREFIX = "~$"  # Excel's and WPS's owner file beside a workbook that is open

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .xlsx is an OLE container holding this stream instead of a zip.
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_SAVE_AS = "在 Excel 中另存为 .xlsx 后重试"
# A formula cell whose value was never calculated: openpyxl and other programs write
# <f>…</f> with no <v> (or an empty one); Excel and WPS always save the value they show.
_FORMULA_CELL = re.compile(rb"<c\b([^>]*)>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(<v>\s*</v>|<v\s*/>|<v>)?")
_FORMULA_SCAN = 1 << 20  # bytes of sheet XML looked at: a formula column shows on every row
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

Range = tuple[tuple[int, int], tuple[int, int]]


@dataclass
class RawSheet:
    """One sheet as read: rows[i] is Excel row i+1 (for a CSV, the record on line i+1)."""

    file: Path
    sheet: str | None
    rows: list[list[object]]
    merged: list[Range]


def read_file(
    path: Path, *, sheet: str | None = None, encoding: str | None = None
) -> tuple[list[RawSheet], list[str]]:
    """All data sheets of the file (or only `sheet`), and Chinese notes on skipped sheets.

    Empty, hidden and summary sheets (name contains 汇总 or 统计) are skipped with a note;
    naming a sheet with `sheet=` reads it whatever it is. `encoding` applies to CSV/TXT.
    """
    path = Path(path)
    if path.name.startswith(LOCK_PREFIX):
        raise FileProblem(f"「{path.name}」是 Excel/WPS 打开表格时生成的临时文件，不是表格："
                          f"请导入「{path.name[len(LOCK_PREFIX):]}」本身")
    head = _head(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        _check_text_magic(path, head)
        return [_read_text(path, encoding)], []
    if suffix in WORKBOOK_SUFFIXES:
        _check_workbook_magic(path, suffix, head)
        return _read_workbook(path, sheet)
    raise FileProblem(
        f"「{path.name}」不是能导入的文件类型（{path.suffix or '没有扩展名'}）："
        "请用 .xlsx、.xls、.ods 或 .csv 文件"
    )


def left_out(path: Path) -> str | None:
    """Why a file handed over among others is not imported (None: it is a table to read).

    A clerk imports a week's folder with `kcbx import 本周/*`, and the folder holds more
    than tables: a 说明.docx, a README, the ~$中坝村.xlsx that Excel keeps while the sheet
    is open, a sub-folder. Those are passed over with a note; a file named alone, and any
    table that cannot be read, still stops the call (read_file says why).
    """
    if path.name.startswith(LOCK_PREFIX):
        return f"{path.name}：Excel/WPS 打开表格时生成的临时文件，已跳过"
    if path.is_dir():
        return f"{path.name}：是文件夹，已跳过（要导入其中的表格，请写 {path.name}/*.xlsx）"
    if path.suffix.lower() not in WORKBOOK_SUFFIXES + TEXT_SUFFIXES:
        return f"{path.name}：不是表格文件（可导入 .xlsx .xls .ods .csv），已跳过"
    return None


# --- what the bytes say --------------------------------------------------------------------

def _head(path: Path) -> bytes:
    """The first bytes of the file, after making sure it is a non-empty regular file."""
    if not path.exists():
        raise FileProblem(f"找不到文件「{path}」：请检查文件名和所在文件夹")
    if path.is_dir():
        raise FileProblem(f"「{path}」是文件夹，不是文件：请给出其中的表格文件，如 {path}/*.xlsx")
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise FileProblem(f"无法打开「{path.name}」（{e.strerror}）：请关闭占用它的程序或检查权限后重试") from None
    if not head:
        raise FileProblem(f"「{path.name}」是空文件（0 字节）：请重新获取这个文件")
    return head


def _looks_like_text(head: bytes) -> bool:
    """True for bytes that decode as UTF-8 or GB18030 and hold no NUL: a CSV or a web page."""
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as e:
            # The 4 KB cut may split the last character; that is still text.
            if e.start >= len(head) - 4:
                return True
    return False


def _check_workbook_magic(path: Path, suffix: str, head: bytes) -> None:
    """Refuse a workbook whose bytes are not what its extension claims, saying what it is."""
    expected = _OLE if suffix == ".xls" else _ZIP
    if head.startswith(expected):
        return
    name = path.name
    if head.startswith(_OLE):
        if _ENCRYPTED_STREAM in path.read_bytes():
            raise FileProblem(f"「{name}」设置了打开密码，无法读取：请在 Excel 中取消密码（文件→信息→保护工作簿）后另存，再重试")
        raise FileProblem(f"「{name}」其实是旧版 .xls 格式：请把扩展名改为 .xls，或{_SAVE_AS}")
    if head.startswith(_ZIP):
        raise FileProblem(f"「{name}」其实是 .xlsx 格式：请把扩展名改为 .xlsx 后重试")
    if head.lstrip().startswith(b"<"):
        raise FileProblem(f"「{name}」其实是网页/XML 格式（常见于系统导出）：请{_SAVE_AS}")
    if _looks_like_text(head):
        raise FileProblem(f"「{name}」其实是文本（CSV）文件：请把扩展名改为 .csv，或{_SAVE_AS}")
    raise FileProblem(f"「{name}」不是有效的 Excel 文件（可能已损坏）：请重新获取，或{_SAVE_AS}")


def _check_text_magic(path: Path, head: bytes) -> None:
    """Refuse a .csv/.txt that is really a workbook (renamed, or saved with the wrong type)."""
    if head.startswith(_ZIP):
        raise FileProblem(f"「{path.name}」其实是 Excel 工作簿（.xlsx）：请把扩展名改为 .xlsx 后重试")
    if head.startswith(_OLE):
        raise FileProblem(f"「{path.name}」其实是旧版 Excel 文件（.xls）：请把扩展名改为 .xls 后重试")


# --- workbooks -----------------------------------------------------------------------------

def _is_panic(error: BaseException) -> bool:
    """A Rust panic inside calamine (a corrupt .xls can cause one) reaches Python as
    pyo3's PanicException, a BaseException that no `except Exception` catches."""
    return type(error).__name__ == "PanicException"


def _open_workbook(path: Path) -> CalamineWorkbook:
    broken = f"「{path.name}」已损坏或不完整，无法读取：请重新获取，或{_SAVE_AS}"
    try:
        return CalamineWorkbook.from_path(str(path))
    except PasswordError:
        raise FileProblem(f"「{path.name}」设置了密码，无法读取：请在 Excel 中取消密码后另存，再重试") from None
    except (CalamineError, OSError, ValueError):
        raise FileProblem(broken) from None
    except BaseException as e:
        if _is_panic(e):
            raise FileProblem(broken) from None
        raise


def _read_workbook(path: Path, wanted: str | None) -> tuple[list[RawSheet], list[str]]:
    workbook = _open_workbook(path)
    names = workbook.sheet_names
    if wanted is not None:
        if wanted not in names:
            raise FileProblem(f"「{path.name}」里没有名为「{wanted}」的工作表。现有的工作表：{'、'.join(names)}")
        raw = _read_sheet(workbook, path, wanted)
        if _is_empty(raw.rows):
            raise FileProblem(f"「{path.name}」的工作表「{wanted}」是空的：请检查是否选错了工作表")
        return [raw], []
    sheets, notes = [], []
    for meta in workbook.sheets_metadata:
        skip = _skip_reason(meta)
        if skip is None:
            raw = _read_sheet(workbook, path, meta.name)
            if not _is_empty(raw.rows):
                sheets.append(raw)
                continue
            skip = "空工作表「{}」"
        notes.append(f"{path.name}：已跳过" + skip.format(meta.name))
    if not sheets:
        raise FileProblem(f"「{path.name}」里没有可导入的数据：{'；'.join(notes)}")
    return sheets, notes


def _skip_reason(meta) -> str | None:
    """Why a sheet is not data, judged from its metadata alone (None: read it).

    A hidden sheet usually holds drop-down lists or old data the clerk cannot see, so it
    is not imported unless asked for by name.
    """
    if meta.typ != SheetTypeEnum.WorkSheet:
        return "图表/宏工作表「{}」"
    if meta.visible != SheetVisibleEnum.Visible:
        return "隐藏的工作表「{0}」（如需导入请用 --sheet {0}）"
    if any(word in meta.name for word in SUMMARY_WORDS):
        return "汇总/统计工作表「{}」"
    return None


def _read_sheet(workbook: CalamineWorkbook, path: Path, name: str) -> RawSheet:
    try:
        sheet = workbook.get_sheet_by_name(name)
        rows = sheet.to_python(skip_empty_area=False)
        merged = _as_row_coordinates(sheet.merged_cell_ranges or [], sheet.end, rows)
    except BaseException as e:
        if isinstance(e, (CalamineError, ValueError)) or _is_panic(e):
            raise FileProblem(f"「{path.name}」的工作表「{name}」已损坏，无法读取：请{_SAVE_AS}") from None
        raise
    if path.suffix.lower() in (".xlsx", ".xlsm") and _has_uncalculated_formulas(path, name):
        # calamine reads such a cell as empty: names and IDs would be "missing", silently
        raise FileProblem(
            f"「{path.name}」的工作表「{name}」里有公式，但文件没有保存公式的计算结果（多见于程序生成的表格），"
            "读不到这些单元格的值：请在 Excel 或 WPS 中打开这个文件、保存一次后再导入")
    _fill_merged(rows, merged)
    return RawSheet(path, name, rows, merged)


def _has_uncalculated_formulas(path: Path, sheet: str) -> bool:
    """True when the start of the sheet's XML holds a formula cell without a saved value.

    A cached empty text result (t="str" with an empty <v>) is a value. Anything this check
    cannot follow (an unusual package layout) counts as no formulas: calamine has already
    read the sheet, and this must never be the reason a good file is refused.
    """
    try:
        with zipfile.ZipFile(path) as package:
            part = _sheet_part(package, sheet)
            if part is None:
                return False
            with package.open(part) as xml:
                head = xml.read(_FORMULA_SCAN)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError):
        return False
    for match in _FORMULA_CELL.finditer(head):
        value = match.group(2)
        if value is None or (value != b"<v>" and b't="str"' not in match.group(1)):
            return True
    return False


def _sheet_part(package: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding `sheet` (xl/workbook.xml names it, its .rels locate it)."""
    workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
    rel_id = next((_attribute(e, "id") for e in workbook.iter()
                   if e.tag.rsplit("}", 1)[-1] == "sheet" and e.get("name") == sheet), None)
    rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target") for r in rels if r.get("Id") == rel_id), None)
    if rel_id is None or not target:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _attribute(element: ElementTree.Element, local: str) -> str | None:
    """An attribute by its local name, whatever its namespace (r:id)."""
    return next((v for k, v in element.attrib.items() if k.rsplit("}", 1)[-1] == local), None)


def _as_row_coordinates(ranges: list[Range], end: tuple[int, int] | None, rows: list[list]) -> list[Range]:
    """Merged ranges in the coordinates of `rows`, clipped to them.

    Calamine reports merged ranges in sheet coordinates (A1 = (0, 0)). `rows` starts at A1
    too when read with skip_empty_area=False, but if a reader ever trims the empty area
    above/left of the data, the gap between the sheet's last cell and the size of `rows`
    is the offset to subtract.
    """
    if not rows or end is None:
        return []
    row_offset = end[0] + 1 - len(rows)
    col_offset = end[1] + 1 - len(rows[0])
    height, width = len(rows), len(rows[0])
    out = []
    for (r0, c0), (r1, c1) in ranges:
        r0, r1, c0, c1 = r0 - row_offset, r1 - row_offset, c0 - col_offset, c1 - col_offset
        if r0 < 0 or c0 < 0 or r0 >= height or c0 >= width:
            continue
        out.append(((r0, c0), (min(r1, height - 1), min(c1, width - 1))))
    return out


def _fill_merged(rows: list[list], ranges: list[Range]) -> None:
    """Give every cell of a merged range the top-left value, as Excel shows it.

    Villages merge the 村 and 组 cells of a family; only the first row holds the value.
    """
    for (r0, c0), (r1, c1) in ranges:
        value = rows[r0][c0]
        for r in range(r0, r1 + 1):
            row = rows[r]
            for c in range(c0, c1 + 1):
                row[c] = value


def _is_empty(rows: list[list]) -> bool:
    return not any(c != "" and not (isinstance(c, str) and not c.strip()) for row in rows for c in row)


# --- CSV / TXT -----------------------------------------------------------------------------

def _read_text(path: Path, encoding: str | None) -> RawSheet:
    text = _decode(path, path.read_bytes(), encoding)
    try:
        rows = _records(text, _delimiter(text))
    except csv.Error:
        raise FileProblem(f"「{path.name}」的 CSV 格式有误（引号不配对或单元格过长）：请{_SAVE_AS}") from None
    if _is_empty(rows):
        raise FileProblem(f"「{path.name}」里没有数据：请重新获取这个文件")
    return RawSheet(path, None, rows, [])


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    """The file's text: `encoding` if given, else UTF-16 by its BOM, UTF-8(-SIG), GB18030."""
    if encoding:
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except LookupError:
            raise FileProblem(f"不认识的编码「{encoding}」：常用的是 utf-8、gbk、gb18030") from None
        except UnicodeDecodeError:
            raise FileProblem(
                f"「{path.name}」不能按 {encoding} 编码读取：请换一个 --encoding（如 utf-8、gbk），或{_SAVE_AS}"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)  # Excel's 「Unicode 文本」
    else:
        candidates = ("utf-8-sig", "gb18030")
    for candidate in candidates:
        try:
            text = data.decode(candidate).lstrip("\ufeff")
        except UnicodeDecodeError:
            continue
        if candidate == "gb18030":
            _refuse_mixed_encodings(path, data)
        return text
    if "gb18030" in candidates:
        _refuse_mixed_encodings(path, data)
    raise FileProblem(
        f"「{path.name}」既不是 UTF-8 也不是 GBK 编码，无法识别：请用 --encoding 指定编码（如 --encoding gbk），或{_SAVE_AS}"
    )


def _refuse_mixed_encodings(path: Path, data: bytes) -> None:
    """Refuse a file with both UTF-8 and GBK lines (two files pasted together).

    Read as GB18030, its UTF-8 lines would become mojibake names that import without
    an error. A GBK line of Chinese is practically never valid UTF-8 made only of
    Chinese characters, so one such line is enough to tell.
    """
    utf8_line = gbk_line = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            gbk_line = gbk_line or number
        else:
            wide = [c for c in text if not c.isascii()]
            if len(wide) >= 2 and all(_CJK.match(c) for c in wide):
                utf8_line = utf8_line or number
        if utf8_line and gbk_line:
            raise FileProblem(
                f"「{path.name}」混用了两种编码：第 {utf8_line} 行是 UTF-8，第 {gbk_line} 行却是 GBK"
                "（多见于把两个文件拼在一起），直接导入会出现乱码：请让报送单位重新导出一个文件，"
                "或把两部分分别导入；如确认全是 GBK，可加 --encoding gbk")


def _delimiter(text: str) -> str:
    """Tab for Excel's 「文本文件(制表符分隔)」, else comma: whichever the first lines use more."""
    sample = text[:8192]
    return "\t" if sample.count("\t") > sample.count(",") else ","


def _records(text: str, delimiter: str) -> list[list[object]]:
    """CSV records placed so that rows[i] is the record that starts on line i+1.

    A quoted cell may hold line breaks; the lines it swallows become empty rows, so row
    numbers in error messages are the line numbers a text editor shows.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[object]] = []
    for record in reader:
        rows.append(record)
        while len(rows) < reader.line_num:
            rows.append([])
    return rows
