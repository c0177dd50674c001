"""Broken and hostile input through the real command line (SPEC §5, §6; issue 9).

Every bad file is made here. Each is given to `kcbx import` as a subprocess on a database
that already holds a village's census; the answer must be exit 1 with one Chinese line
on stderr that starts with 错误： (no traceback), and every table must be as before.
The reader-level cases are in test_reading.py; these prove the whole path, database
included. A few inputs are good in disguise and must import: a path with Chinese and
spaces, 1,000 columns around a real header, formulas whose values Excel saved.
"""

from __future__ import annotations

import csv
import io
import os
import re
import resource
import shutil
import signal
import sqlite3
import struct
import subprocess
import time
import zipfile
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from procs import checkpoint, dump, kcbx, one_line_error
from sheets import CENSUS_HEADERS, census, census_row, make_id

from kcbx import db as kdb
from kcbx import idcard
from kcbx.render import neutralise, to_csv


def ids(n: int, start: int = 1, born: date = date(2015, 3, 4)) -> list[str]:
    return [make_id(born, i) for i in range(start, start + n)]


def rows(n: int, start: int = 1, surname: str = "张") -> list[list]:
    return [census_row(i, f"{surname}{i}", number) for i, number in enumerate(ids(n, start), 1)]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A database holding one village's census of 30 children."""
    folder = tmp_path_factory.mktemp("base")
    db = folder / "kcbx.db"
    assert kcbx(db, "import", census(folder / "中坝村.xlsx", rows(30))).returncode == 0
    checkpoint(db)
    return db


@pytest.fixture
def db(base, db_path) -> Path:
    """A copy of the base database at this test's $KCBX_DB."""
    shutil.copy(base, db_path)
    return db_path


@pytest.fixture
def good(tmp_path) -> Path:
    """A census of five new children (another village) that imports cleanly."""
    return census(tmp_path / "梧桐村.xlsx", rows(5, start=101, surname="李"), village="梧桐村")


def refused(db: Path, *args, **run) -> str:
    """Import, expect exit 1 with one 错误：line and the database untouched; the line."""
    before = dump(db)
    done = kcbx(db, "import", *args, **run)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    line = one_line_error(done.stderr)
    assert dump(db) == before
    return line


def children(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT count(*) FROM children").fetchone()[0]


# --- files that are not what they claim, or nothing at all ---------------------------------

def xlsx_bytes(tmp_path: Path) -> bytes:
    return census(tmp_path / "full.xlsx", rows(20, start=201)).read_bytes()


def empty_csv(tmp_path):
    path = tmp_path / "空表.csv"
    path.write_text("\ufeff\r\n,,,\r\n\r\n", encoding="utf-8")
    return path


def empty_xlsx(tmp_path):
    path = tmp_path / "空表.xlsx"
    Workbook().save(path)
    return path


def zero_bytes(name):
    def make(tmp_path):
        (tmp_path / name).touch()
        return tmp_path / name
    return make


def csv_named_xlsx(tmp_path):
    path = tmp_path / "花名册.xlsx"
    path.write_text(",".join(CENSUS_HEADERS) + "\n", encoding="gbk")
    return path


def xlsx_named_csv(tmp_path):
    path = tmp_path / "花名册.csv"
    path.write_bytes(xlsx_bytes(tmp_path))
    return path


def truncated_zip(tmp_path):
    data = xlsx_bytes(tmp_path)
    path = tmp_path / "截断.xlsx"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def corrupt_zip(tmp_path):
    data = bytearray(xlsx_bytes(tmp_path))
    for i in range(64, len(data) - 64, 61):  # keep the signature, damage the rest
        data[i] ^= 0xA5
    path = tmp_path / "损坏.xlsx"
    path.write_bytes(bytes(data))
    return path


def unreadable_sheet(tmp_path):
    source = tmp_path / "full.xlsx"
    source.write_bytes(xlsx_bytes(tmp_path))
    path = tmp_path / "坏工作表.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # the zip is sound, the sheet's XML is cut
            zout.writestr(item, data)
    return path


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (CFB v3) holding `streams` (each ≥ 4096 bytes, so no
    mini stream is needed): what Excel saves for a workbook with an open password."""
    end, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    sectors = [b""]  # sector 0: the FAT, filled in below
    fat = [fat_sector, end]  # sector 1: the directory
    entries = []
    names = list(streams)
    for index, (name, data) in enumerate(streams.items()):
        data = data.ljust(-(-len(data) // 512) * 512, b"\0")
        first = 2 + sum(len(s) // 512 for s in sectors[2:])
        count = len(data) // 512
        fat += [first + i + 1 for i in range(count - 1)] + [end]
        sectors.append(data)
        right = index + 2 if index + 1 < len(names) else no_stream
        entries.append((name, 2, no_stream, right, no_stream, first, len(streams[name])))
    directory = [("Root Entry", 5, no_stream, no_stream, 1, end, 0), *entries]

    def entry(name, kind, left, right, child, start, size):
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB3I", len(encoded), kind, 1, left, right, child)
                + bytes(16 + 4 + 16) + struct.pack("<IQ", start, size))

    table = b"".join(entry(*e) for e in directory)
    table += (bytes(64) + struct.pack("<HBB3I", 0, 0, 0, no_stream, no_stream, no_stream)
              + bytes(36) + struct.pack("<IQ", 0, 0)) * (4 - len(directory))
    sectors[0] = struct.pack("<128I", *(fat + [free] * (128 - len(fat))))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 0x1000,
                            end, 0, end, 0)
              + struct.pack("<109I", 0, *[free] * 108))
    return header + sectors[0] + table + b"".join(sectors[2:])


def password_protected(tmp_path):
    info = b"\x04\x00\x04\x00\x40\x00\x00\x00" + b'<?xml version="1.0"?><encryption/>'
    path = tmp_path / "加密.xlsx"
    path.write_bytes(compound_file({"EncryptionInfo": info.ljust(4096, b"\0"),
                                    "EncryptedPackage": os.urandom(8192)}))
    return path


def a_directory(tmp_path):
    path = tmp_path / "村表.xlsx"
    path.mkdir()
    return path


def missing(tmp_path):
    return tmp_path / "没有这个文件.xlsx"


def junk_columns(tmp_path):
    path = tmp_path / "宽表.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"列{i}" for i in range(1000)])
        writer.writerows([[str(r * i) for i in range(1000)] for r in range(5)])
    return path


def mixed_encodings(header: str, body: str):
    def make(tmp_path):
        head = ",".join(["姓名", "身份证号码", "村(社区)", "就读状态"]) + "\r\n"
        lines = [f"{name},{number},中坝村,在校\r\n" for name, number in
                 zip(["王一", "王二", "王三"], ids(3, start=301))]
        path = tmp_path / "拼接.csv"
        path.write_bytes(head.encode(header) + lines[0].encode(header)
                         + "".join(lines[1:]).encode(body))
        return path
    return make


def uncalculated_formulas(tmp_path):
    # openpyxl writes formulas without their values, as other programs do
    wb = Workbook()
    ws = wb.active
    ws.append(CENSUS_HEADERS)
    for i, number in enumerate(ids(3, start=401), 2):
        row = census_row(i - 1, "", "")
        row[0], row[1], row[3] = "=ROW()-1", f'="赵"&"{i}"', f'="{number}"'
        ws.append(row)
    wb.save(tmp_path / "公式.xlsx")
    return tmp_path / "公式.xlsx"


BAD_FILES = {
    "empty csv": (empty_csv, "没有数据"),
    "empty workbook": (empty_xlsx, "没有可导入的数据"),
    "zero-byte xlsx": (zero_bytes("零.xlsx"), "空文件（0 字节）"),
    "zero-byte csv": (zero_bytes("零.csv"), "空文件（0 字节）"),
    "xlsx that is a csv": (csv_named_xlsx, "其实是文本（CSV）文件"),
    "csv that is an xlsx": (xlsx_named_csv, "其实是 Excel 工作簿"),
    "truncated zip": (truncated_zip, "已损坏或不完整"),
    "corrupt zip": (corrupt_zip, "已损坏或不完整"),
    "unreadable sheet": (unreadable_sheet, "工作表「Sheet1」已损坏"),
    "password-protected": (password_protected, "密码"),
    "a directory": (a_directory, "是文件夹"),
    "missing file": (missing, "找不到文件"),
    "1,000 unknown columns": (junk_columns, "找不到表头行"),
    "utf-8 header, gbk rows": (mixed_encodings("utf-8", "gbk"), "混用了两种编码：第 1 行是 UTF-8，第 3 行却是 GBK"),
    "gbk header, utf-8 rows": (mixed_encodings("gbk", "utf-8"), "混用了两种编码：第 3 行是 UTF-8，第 1 行却是 GBK"),
    "formulas without values": (uncalculated_formulas, "没有保存公式的计算结果"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_one_chinese_line_and_changes_nothing(case, db, tmp_path):
    make, expected = BAD_FILES[case]
    assert expected in refused(db, make(tmp_path))


def test_one_bad_file_among_good_ones_stops_the_whole_call(db, good, tmp_path):
    line = refused(db, good, truncated_zip(tmp_path), "--format", "json")
    assert "截断.xlsx" in line


def test_a_50_mb_cell_is_refused_in_seconds(db, tmp_path):
    path = tmp_path / "大单元格.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(CENSUS_HEADERS) + "\r\n")
        row = census_row(1, "孙一", ids(1, start=501)[0])
        f.write(",".join(str(v) for v in row[:-1]) + ",")
        f.write("备" * (50 * 1024 * 1024 // 3) + "\r\n")  # 50 MB of UTF-8 in one 备注 cell
    began = time.monotonic()
    line = refused(db, path)
    assert time.monotonic() - began < 20
    assert "单元格过长" in line


# --- inputs that look odd but are good ------------------------------------------------------

def test_a_path_with_chinese_and_spaces_imports(db, tmp_path):
    folder = tmp_path / "2025年 春季 花名册" / "后柳镇 梧桐村"
    folder.mkdir(parents=True)
    path = census(folder / "梧桐村 适龄儿童 花名册 (终稿).xlsx", rows(5, start=601, surname="周"),
                  village="梧桐村")
    done = kcbx(db, "import", path)
    assert done.returncode == 0, done.stderr
    assert children(db) == 35


def test_a_thousand_columns_around_a_real_header_import_with_a_short_note(db, tmp_path):
    extra = [f"附加列{i}" for i in range(1000 - len(CENSUS_HEADERS))]
    body = [row + ["x"] * len(extra) for row in rows(5, start=701, surname="吴")]
    path = tmp_path / "宽花名册.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([CENSUS_HEADERS + extra, *body])
    done = kcbx(db, "import", path)
    assert done.returncode == 0, done.stderr
    assert children(db) == 35
    note = "".join(done.stderr.split())
    assert "附加列0、附加列1" in note and f"等{len(extra)}列" in note and len(note) < 300


def test_formulas_whose_values_were_saved_import(db, tmp_path):
    # What Excel saves: the formula and its value (here 序号 = ROW()-1, and a text formula
    # whose cached result is empty). Only formulas without values are refused.
    path = census(tmp_path / "有公式.xlsx", rows(3, start=801, surname="郑"))
    wb_rows = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(wb_rows)) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for n in (1, 2, 3):
                    data = re.sub(rf'<c r="A{n + 3}"[^>]*>.*?</c>'.encode(),
                                  f'<c r="A{n + 3}"><f>ROW()-3</f><v>{n}</v></c>'.encode(), data)
                data = re.sub(rb'<c r="T4"[^>]*>.*?</c>|<c r="T4"[^>]*/>',
                              b'<c r="T4" t="str"><f>IF(1,"","x")</f><v></v></c>', data)
            zout.writestr(item, data)
    done = kcbx(db, "import", path)
    assert done.returncode == 0, done.stderr
    assert children(db) == 33


# --- databases that cannot take the import ----------------------------------------------------

@contextmanager
def read_only(path: Path):
    """chmod 0400; as root (who may write anyway) the file is also made immutable."""
    os.chmod(path, 0o400)
    immutable = False
    if os.access(path, os.W_OK):
        immutable = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
        if not immutable:
            os.chmod(path, 0o600)
            pytest.skip("running as root without chattr: no way to make a read-only file")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        os.chmod(path, 0o600)


def test_a_read_only_database_says_so_and_can_still_be_read(db, good):
    with read_only(db):
        line = refused(db, good)
        assert "只读" in line and str(db) in line
        info = kcbx(db, "info")
        assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
        assert "30" in info.stdout
        rates = kcbx(db, "rates", "--as-of", "2025-03-01", "--format", "json")  # one_snapshot
        assert rates.returncode == 0 and "Traceback" not in rates.stderr, rates.stderr


def test_a_database_from_a_newer_kcbx_is_refused(db, good):
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    assert "更新版本的 kcbx" in refused(db, good)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def big_census(tmp_path) -> Path:
    many = [census_row(i, f"钱{i}", make_id(date(2014, 1 + i % 12, 1 + i % 28), i))
            for i in range(1, 1500)]
    return census(tmp_path / "大村.xlsx", many, village="梧桐村")


def test_a_full_disk_mid_import_rolls_back_and_says_so(db, tmp_path, run, monkeypatch):
    # SQLITE_FULL for real: the database may grow by only a few pages (max_page_count is
    # a per-connection setting, so this one runs the CLI in-process).
    connect = kdb.connect

    def small_disk(path, **kwargs):
        conn = connect(path, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 8}")
        return conn

    monkeypatch.setattr(kdb, "connect", small_disk)
    before = dump(db)
    result = run("import", big_census(tmp_path))
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：磁盘已满"), result.stderr
    assert "数据库未改动" in lines[0]
    assert dump(db) == before


def test_a_file_size_limit_mid_import_rolls_back_and_says_so(db, tmp_path):
    # A real write failure in a real process: the files may not grow past a limit that
    # leaves room for the automatic backup but not for the import's pages.
    limit = db.stat().st_size + 64 * 1024

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    line = refused(db, big_census(tmp_path), preexec_fn=small_disk)
    assert "磁盘" in line and "数据库未改动" in line
    assert kcbx(db, "doctor").returncode == 0


# --- hostile text in what kcbx writes: neutralising and masking (hypothesis) ------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
texts = st.text(st.characters(codec="utf-8"), max_size=30)
risky = st.builds(lambda first, rest: first + rest, st.sampled_from(FORMULA_STARTS), texts)


@given(st.one_of(texts, risky))
def test_neutralise_defuses_formulas_and_leaves_other_text_alone(text):
    out = neutralise(text)
    assert not out.startswith(FORMULA_STARTS)
    if text.startswith(FORMULA_STARTS):
        assert out == "'" + text  # the clerk still sees every character
    else:
        assert out is text


@given(st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.dates()))
def test_neutralise_leaves_non_text_alone(value):
    assert neutralise(value) is value


@given(st.lists(st.lists(st.one_of(texts, risky, st.integers()), min_size=2, max_size=2), max_size=5))
def test_no_csv_cell_kcbx_writes_starts_a_formula(values):
    text = to_csv([{"a": a, "b": b} for a, b in values], [("a", "甲"), ("b", "乙")])
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert len(parsed) == len(values) + 1  # a CR inside a cell must not start a new row
    assert not any(cell.startswith(FORMULA_STARTS) for row in parsed[1:] for cell in row)


id_like = st.one_of(st.text("0123456789Xx", min_size=15, max_size=18), st.integers(0, 10**18 - 1),
                    st.text(max_size=25))


@given(id_like)
def test_an_id_mask_shows_at_most_the_first_6_and_last_4(value):
    text = str(value) if value else ""  # nothing (None, "", 0) masks to nothing
    masked = idcard.mask(value)
    assert len(masked) == len(text)
    if len(text) >= 11:
        assert masked == text[:6] + "*" * (len(text) - 10) + text[-4:]
    else:
        assert masked == "*" * len(text)


phone_like = st.one_of(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text("0123456789-+ ", max_size=16),
                       st.integers(0, 10**12))


@given(phone_like)
def test_a_phone_mask_shows_at_most_the_first_3_and_last_4(value):
    text = str(value) if value else ""  # nothing (None, "", 0) masks to nothing
    masked = idcard.mask_phone(value)
    assert len(masked) == len(text)
    if len(text) >= 8:
        assert masked == text[:3] + "*" * (len(text) - 7) + text[-4:]
    else:
        assert masked == "*" * len(text)
    if len(text) == 11:
        assert masked.count("*") == 4 and text not in masked


def test_a_folder_glob_passes_over_what_is_not_a_table(db, tmp_path):
    """`kcbx import 本周/*`: the README, a Word file, Excel's ~$ lock file and a sub-folder
    are passed over with a note each; the tables import."""
    folder = tmp_path / "本周"
    folder.mkdir()
    (folder / "README.md").write_text("本周报表", encoding="utf-8")
    (folder / "说明.docx").write_bytes(b"PK\x03\x04 a word file")
    (folder / "~$中坝村.xlsx").write_bytes(b"\x06owner" + bytes(150))
    (folder / "旧表").mkdir()
    table = census(folder / "中坝村.xlsx", [census_row(1, "王新", ids(1, start=150)[0])])
    done = kcbx(db, "import", *sorted(folder.iterdir()))
    assert done.returncode == 0, done.stderr
    for name in ("README.md", "说明.docx", "~$中坝村.xlsx", "旧表"):
        assert f"提示：{name}：" in done.stderr
    assert table.name in done.stdout


def test_a_lock_file_named_alone_says_which_file_to_import(db, tmp_path):
    lock = tmp_path / "~$中坝村.xlsx"
    lock.write_bytes(b"\x06owner" + bytes(150))
    assert "请导入「中坝村.xlsx」本身" in refused(db, lock)


def test_a_call_of_nothing_but_other_files_is_refused(db, tmp_path):
    for name in ("README.md", "说明.docx"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    line = refused(db, tmp_path / "README.md", tmp_path / "说明.docx")
    assert "没有找到可以导入的表格" in line and "README.md" in line
