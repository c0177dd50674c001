"""`kcbx import`: spreadsheets in, one transaction, every rejected row accounted for.

The flow of one call: read every file and sheet (reading.py), find headers and the
kind of each sheet (headers.py), validate rows (rows.py), then write all of it inside
one transaction in the order units → teachers → census → roster → changes → followups
(census and roster sheets: childsheets.py), through a batches.Writer that gives every
row a batch inserts its batch id and keeps in `batch_changes` what it overwrote, so
`undo` can put it back exactly. A file already imported (same sha256 and sheet) is
skipped unless forced. A crash, Ctrl-C, `--dry-run` or a `--strict` rejection rolls
the whole call back.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kcbx import childsheets, headers, history, idcard, normalize, reading, rows
from kcbx.batches import Writer
from kcbx.db import transaction
from kcbx.errors import FileProblem, RowsRejected
from kcbx.memory import cycle_collector_paused
from kcbx.rows import Record, RowError
from kcbx.teachers import TEACHER_LEFT

KIND_ORDER = ("units", "teachers", "census", "roster", "changes", "followups")
KIND_NAMES = {"units": "单位名单", "teachers": "教师名单", "census": "户籍花名册",
              "roster": "学籍花名册", "changes": "学籍变动", "followups": "劝返帮扶记录"}
READERS = 2  # files read at once (see _read_all)



@dataclass
class Options:
    """What the clerk asked for on the command line."""

    kind: str | None = None
    sheet: str | None = None
    as_of: date | None = None
    unit: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    dry_run: bool = False
    strict: bool = False
    force: bool = False
    today: date = field(default_factory=date.today)


@dataclass
class BatchResult:
    """The outcome of one file + sheet."""

    file: str
    sheet: str | None
    kind: str
    sheet_date: date
    date_source: str
    batch: int | None = None
    unit: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    skipped: bool = False
    unknown_headers: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        """The object pinned in SPEC §5."""
        return {
            "batch": self.batch, "file": self.file, "sheet": self.sheet or "", "kind": self.kind,
            "sheet_date": self.sheet_date.isoformat(), "rows": self.rows,
            "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [{"sheet": self.sheet or "", "row": e.row, "column": e.column,
                        "value": e.value, "code": e.code, "message": e.message}
                       for e in self.errors],
        }


@dataclass
class ImportResult:
    """Everything one `kcbx import` call did (or, with --dry-run, would do)."""

    batches: list[BatchResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        return sum(b.rejected for b in self.batches)


@dataclass
class Sheet:
    """One sheet on its way in: census and roster rows are checked into `children` (a
    column per field), the other kinds row by row into `records`."""

    parsed: headers.ParsedSheet
    sha256: str
    result: BatchResult
    records: list[Record] = field(default_factory=list)
    children: rows.ChildRows | None = None

    def row_errors(self) -> list[list[RowError]]:
        """Each row's errors, in row order."""
        return self.children.errors if self.children else [r.errors for r in self.records]


def import_files(conn: sqlite3.Connection, paths: Sequence[Path], options: Options,
                 progress: Callable[[str, int, int], None] | None = None,
                 before_write: Callable[[], None] | None = None) -> ImportResult:
    """Import `paths` in one transaction; raise RowsRejected under --strict."""
    with cycle_collector_paused():  # a sheet read into memory is millions of objects
        return _import(conn, paths, options, progress, before_write)


def _import(conn: sqlite3.Connection, paths: Sequence[Path], options: Options,
            progress: Callable[[str, int, int], None] | None,
            before_write: Callable[[], None] | None) -> ImportResult:
    result = ImportResult(dry_run=options.dry_run)
    sheets = _read_all(paths, options, result.notes)
    todo = [s for s in _each_once(sheets, result.notes)
            if not _skip_if_imported(conn, s, options, result.notes)]
    for s in todo:
        _validate(s)
    _reject_same_id_two_names(todo)
    result.batches = [s.result for s in sheets]
    if not todo:
        return result
    if before_write and not options.dry_run:
        before_write()
    try:
        with transaction(conn):
            # Asked again under the write lock: another kcbx may have imported the same
            # file while this one was reading it (a cron job and the clerk, a double click).
            todo = [s for s in todo if not _skip_if_imported(conn, s, options, result.notes)]
            total = sum(s.result.rows for s in todo)
            done = 0
            for s in todo:
                _write_sheet(conn, s, options)
                done += s.result.rows
                if progress:
                    progress(s.result.file, done, total)
            if options.strict and result.rejected:
                raise RowsRejected(
                    f"有 {result.rejected} 行被拒绝，按 --strict 要求整个导入已取消，数据库未改动。"
                    "请改正表格后重新导入，或去掉 --strict 只导入正确的行。")
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        for b in result.batches:
            b.batch = None
    return result


class _DryRun(Exception):
    """Raised inside the transaction to roll a --dry-run back after counting everything."""


def _sheet_label(sheet: str | None) -> str:
    return f"（{sheet}）" if sheet else ""


# ---------------------------------------------------------------- reading


def _read_all(paths: Sequence[Path], options: Options, notes: list[str]) -> list[Sheet]:
    """Read and parse every sheet of every file, sorted by kind in the import order.

    Files are read READERS at a time, ahead of the one being parsed: python-calamine
    parses a workbook without holding the GIL, so the second core reads the next
    village's sheet while this one's headers are found (the weekly folder of 21 files
    with 50,000 children, of which reading is 1.3 s: 5.8 s to import, now 5.2 s).
    """
    def read(path: Path) -> tuple[list[reading.RawSheet], list[str], str]:
        raws, skipped = reading.read_file(path, sheet=options.sheet, encoding=options.encoding)
        return raws, skipped, _sha256(path)

    sheets: list[Sheet] = []
    paths = [Path(p) for p in paths]
    if len(paths) > 1:  # a folder's files: what is not a table is passed over, with a note
        passed_over = {p: reading.left_out(p) for p in paths}
        notes.extend(why for why in passed_over.values() if why)
        paths = [p for p in paths if not passed_over[p]]
        if not paths:
            raise FileProblem(f"没有找到可以导入的表格：{'；'.join(notes)}")
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        # a file that cannot be read stops the call: map cancels the reads not yet begun
        for path, (raws, skipped, digest) in zip(paths, pool.map(read, paths)):
            notes.extend(skipped)
            for raw in raws:
                sheets.append(_parsed(path, raw, digest, options, notes))
    if not sheets:
        raise FileProblem("没有找到可以导入的数据表。请检查文件内容。")
    sheets.sort(key=lambda s: KIND_ORDER.index(s.parsed.kind))
    return sheets


def _parsed(path: Path, raw: reading.RawSheet, digest: str, options: Options,
            notes: list[str]) -> Sheet:
    """One sheet read: its kind, headers and rows found, its batch result begun."""
    parsed = headers.parse_sheet(raw, kind=options.kind, mapping=options.mapping)
    sheet_date, source = _sheet_date(parsed, options)
    result = BatchResult(file=path.name, sheet=raw.sheet, kind=parsed.kind,
                         sheet_date=sheet_date, date_source=source,
                         rows=len(parsed.row_numbers),
                         unknown_headers=list(parsed.unknown_headers))
    if parsed.unknown_headers:
        notes.append(f"{path.name}{_sheet_label(raw.sheet)} 有未识别的列，未导入："
                     f"{_some(parsed.unknown_headers)}（可用 --map 表头=字段 指定）")
    return Sheet(parsed, digest, result)


def _some(names: list[str], shown: int = 10) -> str:
    """The first names and how many there are: a sheet of 1,000 columns is one short note."""
    if len(names) <= shown:
        return "、".join(names)
    return f"{'、'.join(names[:shown])} 等 {len(names)} 列"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sheet_date(parsed: headers.ParsedSheet, options: Options) -> tuple[date, str]:
    """--as-of always wins; else the title's 填报日期/截至 date; else today."""
    if options.as_of:
        return options.as_of, "as_of"
    if parsed.title_date:
        return parsed.title_date, "title"
    return options.today, "today"


def _each_once(sheets: list[Sheet], notes: list[str]) -> list[Sheet]:
    """The call's sheets, each content once. The same file given twice (two globs that
    overlap, a copy saved as 中坝村 (1).xlsx) would be a second batch of the same rows,
    whose events make undoing the first refuse; the repeat is skipped with a note,
    --force or not."""
    first: dict[tuple[str, str], Sheet] = {}
    for sheet in sheets:
        key = (sheet.sha256, sheet.result.sheet or "")
        if key not in first:
            first[key] = sheet
            continue
        sheet.result.skipped = True
        notes.append(f"{sheet.result.file}{_sheet_label(sheet.result.sheet)} 与本次导入的 "
                     f"{first[key].result.file} 内容相同，已跳过。")
    return list(first.values())


def _skip_if_imported(conn: sqlite3.Connection, sheet: Sheet, options: Options,
                      notes: list[str]) -> bool:
    """Mark a sheet imported before (same sha256 and sheet) as skipped, with a note."""
    if options.force or not _already_imported(conn, sheet):
        return False
    sheet.result.skipped = True
    notes.append(f"{sheet.result.file}{_sheet_label(sheet.result.sheet)} 已经导入过（内容相同），"
                 "本次跳过。如确需重新导入，请加 --force。")
    return True


def _already_imported(conn: sqlite3.Connection, sheet: Sheet) -> bool:
    row = conn.execute(
        "SELECT 1 FROM import_batches WHERE sha256 = ? AND COALESCE(sheet, '') = ? "
        "AND undone_at IS NULL", (sheet.sha256, sheet.result.sheet or "")).fetchone()
    return row is not None


# ---------------------------------------------------------------- validation


def _validate(sheet: Sheet) -> None:
    kind = sheet.parsed.kind
    hdrs = sheet.parsed.column_headers
    if kind in ("census", "roster"):
        sheet.children = rows.child_rows(sheet.parsed.row_numbers, sheet.parsed.cells, hdrs)
        return
    make = {
        "changes": rows.change_record,
        "followups": rows.followup_record,
        "teachers": rows.teacher_record,
        "units": rows.unit_record,
    }[kind]
    sheet.records = [make(row_no, cells, hdrs) for row_no, cells in sheet.parsed.rows]


def _reject_same_id_two_names(sheets: list[Sheet]) -> None:
    """The same ID under two names anywhere in one call rejects every such row."""
    first: dict[str, str] = {}  # ID number -> the first name seen with it
    clashing: dict[str, set[str]] = defaultdict(set)
    children = [s.children for s in sheets if s.children]
    for c in children:
        for id_number, name in zip(c.column("id_number"), c.column("name")):
            if id_number and name and first.setdefault(id_number, name) != name:
                clashing[id_number].update((first[id_number], name))
    if not clashing:
        return
    for s in sheets:
        if not s.children:
            continue
        column = s.parsed.column_headers.get("id_number", "身份证号")
        for i, id_number in enumerate(s.children.column("id_number")):
            if id_number in clashing:
                s.children.errors[i].append(RowError(
                    s.children.row_numbers[i], column, idcard.mask(id_number), "name_conflict",
                    f"同一身份证号在本次导入的表格中对应两个姓名（{'、'.join(sorted(clashing[id_number]))}），"
                    "这两行都未导入。请与村、学校核实是谁的号码后改正再导入。"))


# ---------------------------------------------------------------- writing


def _write_sheet(conn: sqlite3.Connection, sheet: Sheet, options: Options) -> None:
    res = sheet.result
    year, week, _ = res.sheet_date.isocalendar()
    cur = conn.execute(
        "INSERT INTO import_batches (file_name, sha256, kind, sheet, sheet_date, date_source, "
        "iso_week, rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (res.file, sheet.sha256, res.kind, res.sheet, res.sheet_date.isoformat(),
         res.date_source, f"{year}-W{week:02d}", res.rows))
    res.batch = cur.lastrowid
    writer = Writer(conn, res.batch)
    unit_id = _reporting_unit(writer, sheet, options)
    if unit_id is not None:
        conn.execute("UPDATE import_batches SET unit_id = ? WHERE id = ?", (unit_id, res.batch))
        res.unit = conn.execute("SELECT name FROM units WHERE id = ?", (unit_id,)).fetchone()[0]
    write = {"units": _write_units, "teachers": _write_teachers, "census": childsheets.write,
             "roster": childsheets.write, "changes": _write_changes,
             "followups": _write_followups}[res.kind]
    write(conn, writer, sheet, unit_id)
    row_errors = sheet.row_errors()
    for errors in row_errors:
        res.errors.extend(errors)
    res.rejected = sum(1 for errors in row_errors if errors)
    conn.executemany(
        "INSERT INTO import_errors (batch_id, row, column_name, value, code, message, child_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(res.batch, e.row, e.column, e.value, e.code, e.message, e.child_id) for e in res.errors])
    conn.execute("UPDATE import_batches SET inserted = ?, updated = ?, unchanged = ?, rejected = ? "
                 "WHERE id = ?", (res.inserted, res.updated, res.unchanged, res.rejected, res.batch))


_TITLE_UNIT = re.compile(r"([\u4e00-\u9fff]{1,12}?(?:村|社区))")
# a roster title starts with the school's name: 后柳中坝小学2024-2025学年学籍花名册
_TITLE_SCHOOL = re.compile(r"^([\u4e00-\u9fff（）()]{2,30}?(?:小学|中学|学校))")


def _reporting_unit(writer: Writer, sheet: Sheet, options: Options) -> int | None:
    """The village (census) or school (roster) that sent the sheet; created when new."""
    conn = writer.conn
    kind = sheet.parsed.kind
    if kind == "census":
        name = options.unit or _title_match(_TITLE_UNIT, sheet.parsed.title, strip_town=True)
        name = name or _most_common(sheet.children.column("village"))
        return writer.unit("village", name) if name else None
    if kind == "roster":
        name = options.unit or _most_common(sheet.children.column("school"))
        name = name or _title_match(_TITLE_SCHOOL, sheet.parsed.title)
        if not name:
            raise FileProblem(f"{sheet.result.file}{_sheet_label(sheet.result.sheet)}：看不出这是哪所学校"
                              "的学籍花名册。请用 --unit 学校名称 指定。")
        return writer.unit("school", name)
    if options.unit:
        row = conn.execute("SELECT id FROM units WHERE name = ?", (options.unit,)).fetchone()
        return row[0] if row else None
    return None


def _title_match(pattern: re.Pattern, title: str, strip_town: bool = False) -> str | None:
    if not title:
        return None
    text = normalize.village_name(title)
    if strip_town:
        text = re.sub(r"^.*?(?:镇|乡|街道)", "", text, count=1)
    match = pattern.search(text)
    return match.group(1) if match else None


def _most_common(values) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def _child_by_id(conn: sqlite3.Connection, sheet: Sheet, rec: Record) -> sqlite3.Row | None:
    """The stored child a change/follow-up row is about, or an error on the record."""
    id_number = rec.values.get("id_number")
    if id_number is None:
        return None
    child = conn.execute("SELECT * FROM children WHERE id_number = ?", (id_number,)).fetchone()
    column = sheet.parsed.column_headers.get("id_number", "身份证号")
    if child is None:
        rec.errors.append(RowError(
            rec.row, column, idcard.mask(id_number), "unknown_id",
            "数据库中没有这个身份证号的孩子。请先导入他所在村的花名册或学校的学籍花名册，再导入本表。"))
        return None
    name = rec.values.get("name")
    if name and name != child["name"]:
        rec.errors.append(childsheets.stored_name_conflict(
            sheet.parsed.column_headers, rec.row, name, child["id"], child["id_number"],
            child["name"]))
        return None
    return child


def _stored_child_rows(conn: sqlite3.Connection, sheet: Sheet):
    """(record, child) for each accepted row about a stored child; the rest get an error."""
    for rec in sheet.records:
        if rec.errors:
            continue
        child = _child_by_id(conn, sheet, rec)
        if child is not None:
            yield rec.values, child


def _write_changes(conn: sqlite3.Connection, writer: Writer, sheet: Sheet,
                   unit_id: int | None) -> None:
    """One change event per accepted row; applied flags are re-decided afterwards."""
    res = sheet.result
    touched = []
    for v, child in _stored_child_rows(conn, sheet):
        writer.insert("status_events", {
            "child_id": child["id"], "date": v["date"], "status": v["status"],
            "prev_status": v.get("prev_status"), "school": v.get("school"),
            "prev_school": v.get("prev_school"), "kind": "change", "event_type": v.get("event"),
            "reason": v.get("remarks")})
        res.inserted += 1
        touched.append(child["id"])
    history.recompute_applied(conn, touched)


def _write_followups(conn: sqlite3.Connection, writer: Writer, sheet: Sheet,
                     unit_id: int | None) -> None:
    """One follow-up per accepted row, linked to the teacher when school + name match."""
    res = sheet.result
    teachers = {(r["school"], r["name"]): r["id"] for r in conn.execute(
        "SELECT t.id, t.name, u.name AS school FROM teachers t JOIN units u ON u.id = t.school_id")}
    for v, child in _stored_child_rows(conn, sheet):
        writer.insert("followups", {
            "child_id": child["id"], "date": v["date"], "by_name": v["by_name"],
            "by_school": v.get("by_school"),
            "teacher_id": teachers.get((v.get("by_school"), v["by_name"])),
            "method": v.get("method"), "purpose": v.get("purpose"), "content": v.get("content"),
            "result": v.get("result"), "next_date": v.get("next_date"), "note": v.get("note")})
        res.inserted += 1


def _write_teachers(conn: sqlite3.Connection, writer: Writer, sheet: Sheet,
                    unit_id: int | None) -> None:
    """Upsert teachers by school + name; a school's full list retires those missing from it."""
    res = sheet.result
    listed: dict[int, set[str]] = defaultdict(set)
    for rec in sheet.records:
        if rec.errors:
            continue
        v = rec.values
        school_id = writer.unit("school", v["school"])
        listed[school_id].add(v["name"])
        fields = {k: v.get(k) for k in ("gender", "phone", "subject", "head_class", "head_grade",
                                        "head_class_no", "remarks")}
        fields["active"] = int(v["active"])
        fields["inactive_reason"] = v["inactive_reason"]
        old = conn.execute("SELECT * FROM teachers WHERE school_id = ? AND name = ?",
                           (school_id, v["name"])).fetchone()
        if old is None:
            writer.insert("teachers", {"school_id": school_id, "name": v["name"], **fields})
            res.inserted += 1
        elif writer.update("teachers", old, fields):
            res.updated += 1
        else:
            res.unchanged += 1
    for school_id, names in listed.items():
        marks = ", ".join("?" for _ in names)
        for old in conn.execute(f"SELECT * FROM teachers WHERE school_id = ? AND active = 1 "
                                f"AND name NOT IN ({marks})", (school_id, *names)).fetchall():
            writer.update("teachers", old, {"active": 0, "inactive_reason": "不在最新教师名单中"})
            res.updated += 1
    _end_pairings_of_inactive(conn, writer, res.sheet_date)


def _end_pairings_of_inactive(conn: sqlite3.Connection, writer: Writer, on: date) -> None:
    """Open pairings of teachers who left end on the sheet date; `assign` re-pairs the children."""
    for pairing in conn.execute(
            "SELECT a.* FROM assignments a JOIN teachers t ON t.id = a.teacher_id "
            "WHERE a.end_date IS NULL AND t.active = 0").fetchall():
        end = max(on.isoformat(), pairing["start_date"])
        writer.update("assignments", pairing, {"end_date": end, "end_reason": TEACHER_LEFT})


def _write_units(conn: sqlite3.Connection, writer: Writer, sheet: Sheet,
                 unit_id: int | None) -> None:
    res = sheet.result
    for rec in sheet.records:
        if rec.errors:
            continue
        v = rec.values
        fields = {k: v[k] for k in ("head_name", "head_phone", "level") if v.get(k)}
        if v["kind"] == "village":
            for key in ("catchment_primary", "catchment_middle"):
                if v.get(key):
                    fields[f"{key}_id"] = writer.unit("school", v[key])
        old = conn.execute("SELECT * FROM units WHERE kind = ? AND name = ?",
                           (v["kind"], v["name"])).fetchone()
        if old is None:
            writer.insert("units", {"kind": v["kind"], "name": v["name"], **fields})
            res.inserted += 1
        elif writer.update("units", old, fields):
            res.updated += 1
        else:
            res.unchanged += 1
