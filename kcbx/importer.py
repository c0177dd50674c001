"""`kcbx import`: spreadsheets in, one transaction, every rejected row accounted for.

The flow of one call: read every file and sheet (reading.py), find headers and the
kind of each sheet (headers.py), validate rows (rows.py), then write all of it inside
one transaction in the order units → teachers → census → roster → changes → followups,
recording in `batch_changes` what each batch inserted or overwrote so `undo` can put it
back exactly. A file already imported (same sha256 and sheet) is skipped unless forced.
A crash, Ctrl-C, `--dry-run` or a `--strict` rejection rolls the whole call back.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kcbx import headers, history, idcard, normalize, reading, rows
from kcbx.db import indexes_rebuilt, insert_rows, transaction
from kcbx.errors import FileProblem, RowsRejected
from kcbx.rows import Record, RowError
from kcbx.teachers import TEACHER_LEFT

KIND_ORDER = ("units", "teachers", "census", "roster", "changes", "followups")
KIND_NAMES = {"units": "单位名单", "teachers": "教师名单", "census": "户籍花名册",
              "roster": "学籍花名册", "changes": "学籍变动", "followups": "劝返帮扶记录"}

# children columns an import may set, in the order they are compared and written
CHILD_FIELDS = ("name", "gender", "birth_date", "ethnicity", "village_id", "village_group",
                "school", "grade", "grade_text", "class_no", "student_no", "guardian_name",
                "guardian_relation", "guardian_phone", "address", "left_behind", "disabled",
                "disability_type", "disability_level", "family_type", "last_score", "absences",
                "remarks", "in_census")


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
class _Sheet:
    parsed: headers.ParsedSheet
    sha256: str
    result: BatchResult
    records: list[Record] = field(default_factory=list)


def import_files(conn: sqlite3.Connection, paths: Sequence[Path], options: Options,
                 progress: Callable[[str, int, int], None] | None = None,
                 before_write: Callable[[], None] | None = None) -> ImportResult:
    """Import `paths` in one transaction; raise RowsRejected under --strict."""
    with _no_cycle_collection():
        return _import(conn, paths, options, progress, before_write)


@contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector: a sheet read into memory is millions of small
    objects that it would walk again and again while the import allocates, for nothing
    (they are freed by reference counting). Measured: about a third of the time spent
    checking a 100,000-row roster."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import(conn: sqlite3.Connection, paths: Sequence[Path], options: Options,
            progress: Callable[[str, int, int], None] | None,
            before_write: Callable[[], None] | None) -> ImportResult:
    result = ImportResult(dry_run=options.dry_run)
    sheets = _read_all(paths, options, result.notes)
    todo = [s for s in sheets if not _skip_if_imported(conn, s, options, result.notes)]
    for s in todo:
        s.records = _validate(s)
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
            total = sum(len(s.records) for s in todo)
            done = 0
            for s in todo:
                _write_sheet(conn, s, options)
                done += len(s.records)
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


def _read_all(paths: Sequence[Path], options: Options, notes: list[str]) -> list[_Sheet]:
    """Read and parse every sheet of every file, sorted by kind in the import order."""
    sheets: list[_Sheet] = []
    for path in paths:
        path = Path(path)
        raws, skipped = reading.read_file(path, sheet=options.sheet, encoding=options.encoding)
        notes.extend(skipped)
        digest = _sha256(path)
        for raw in raws:
            parsed = headers.parse_sheet(raw, kind=options.kind, mapping=options.mapping)
            sheet_date, source = _sheet_date(parsed, options)
            result = BatchResult(file=path.name, sheet=raw.sheet, kind=parsed.kind,
                                 sheet_date=sheet_date, date_source=source,
                                 rows=len(parsed.rows),
                                 unknown_headers=list(parsed.unknown_headers))
            if parsed.unknown_headers:
                notes.append(f"{path.name}{_sheet_label(raw.sheet)} 有未识别的列，未导入："
                             f"{_some(parsed.unknown_headers)}（可用 --map 表头=字段 指定）")
            sheets.append(_Sheet(parsed, digest, result))
    if not sheets:
        raise FileProblem("没有找到可以导入的数据表。请检查文件内容。")
    sheets.sort(key=lambda s: KIND_ORDER.index(s.parsed.kind))
    return sheets


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


def _skip_if_imported(conn: sqlite3.Connection, sheet: _Sheet, options: Options,
                      notes: list[str]) -> bool:
    """Mark a sheet imported before (same sha256 and sheet) as skipped, with a note."""
    if options.force or not _already_imported(conn, sheet):
        return False
    sheet.result.skipped = True
    notes.append(f"{sheet.result.file}{_sheet_label(sheet.result.sheet)} 已经导入过（内容相同），"
                 "本次跳过。如确需重新导入，请加 --force。")
    return True


def _already_imported(conn: sqlite3.Connection, sheet: _Sheet) -> bool:
    row = conn.execute(
        "SELECT 1 FROM import_batches WHERE sha256 = ? AND COALESCE(sheet, '') = ? "
        "AND undone_at IS NULL", (sheet.sha256, sheet.result.sheet or "")).fetchone()
    return row is not None


# ---------------------------------------------------------------- validation


def _validate(sheet: _Sheet) -> list[Record]:
    kind = sheet.parsed.kind
    hdrs = sheet.parsed.column_headers
    if kind in ("census", "roster"):
        return rows.child_records(sheet.parsed.row_numbers, sheet.parsed.cells, hdrs)
    make = {
        "changes": rows.change_record,
        "followups": rows.followup_record,
        "teachers": rows.teacher_record,
        "units": rows.unit_record,
    }[kind]
    return [make(row_no, cells, hdrs) for row_no, cells in sheet.parsed.rows]


def _reject_same_id_two_names(sheets: list[_Sheet]) -> None:
    """The same ID under two names anywhere in one call rejects every such row."""
    first: dict[str, str] = {}  # ID number -> the first name seen with it
    clashing: dict[str, set[str]] = defaultdict(set)
    for s in sheets:
        if s.parsed.kind in ("census", "roster"):
            for rec in s.records:
                id_number, name = rec.values.get("id_number"), rec.values.get("name")
                if id_number and name and first.setdefault(id_number, name) != name:
                    clashing[id_number].update((first[id_number], name))
    if not clashing:
        return
    for s in sheets:
        if s.parsed.kind not in ("census", "roster"):
            continue
        for rec in s.records:
            id_number = rec.values.get("id_number")
            if id_number in clashing:
                column = s.parsed.column_headers.get("id_number", "身份证号")
                rec.errors.append(RowError(
                    rec.row, column, idcard.mask(id_number), "name_conflict",
                    f"同一身份证号在本次导入的表格中对应两个姓名（{'、'.join(sorted(clashing[id_number]))}），"
                    "这两行都未导入。请与村、学校核实是谁的号码后改正再导入。"))


# ---------------------------------------------------------------- writing


class _Writer:
    """Inserts and updates that remember, per batch, how to undo them."""

    def __init__(self, conn: sqlite3.Connection, batch_id: int):
        self.conn = conn
        self.batch_id = batch_id

    def insert(self, table: str, values: dict) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                tuple(values.values()))
        self.conn.execute("INSERT INTO batch_changes (batch_id, table_name, row_id, action) "
                          "VALUES (?, ?, ?, 'insert')", (self.batch_id, table, cur.lastrowid))
        return cur.lastrowid

    def update(self, table: str, row: sqlite3.Row, values: dict) -> bool:
        """Write the values that differ from `row`; return whether anything changed."""
        changed = {k: v for k, v in values.items() if row[k] != v}
        if not changed:
            return False
        sets = ", ".join(f"{k} = ?" for k in changed)
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?",
                          (*changed.values(), row["id"]))
        before = {k: row[k] for k in changed}
        self.conn.execute("INSERT INTO batch_changes (batch_id, table_name, row_id, action, before) "
                          "VALUES (?, ?, ?, 'update', ?)",
                          (self.batch_id, table, row["id"], json.dumps(before, ensure_ascii=False)))
        return True


def _write_sheet(conn: sqlite3.Connection, sheet: _Sheet, options: Options) -> None:
    res = sheet.result
    year, week, _ = res.sheet_date.isocalendar()
    cur = conn.execute(
        "INSERT INTO import_batches (file_name, sha256, kind, sheet, sheet_date, date_source, "
        "iso_week, rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (res.file, sheet.sha256, res.kind, res.sheet, res.sheet_date.isoformat(),
         res.date_source, f"{year}-W{week:02d}", res.rows))
    res.batch = cur.lastrowid
    writer = _Writer(conn, res.batch)
    unit_id = _reporting_unit(writer, sheet, options)
    if unit_id is not None:
        conn.execute("UPDATE import_batches SET unit_id = ? WHERE id = ?", (unit_id, res.batch))
        res.unit = conn.execute("SELECT name FROM units WHERE id = ?", (unit_id,)).fetchone()[0]
    write = {"units": _write_units, "teachers": _write_teachers, "census": _write_children,
             "roster": _write_children, "changes": _write_changes,
             "followups": _write_followups}[res.kind]
    write(conn, writer, sheet, unit_id)
    for rec in sheet.records:
        res.errors.extend(rec.errors)
    res.rejected = sum(1 for rec in sheet.records if rec.errors)
    conn.executemany(
        "INSERT INTO import_errors (batch_id, row, column_name, value, code, message, child_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(res.batch, e.row, e.column, e.value, e.code, e.message, e.child_id) for e in res.errors])
    conn.execute("UPDATE import_batches SET inserted = ?, updated = ?, unchanged = ?, rejected = ? "
                 "WHERE id = ?", (res.inserted, res.updated, res.unchanged, res.rejected, res.batch))


_TITLE_UNIT = re.compile(r"([\u4e00-\u9fff]{1,12}?(?:村|社区))")
# a roster title starts with the school's name: 后柳中坝小学2024-2025学年学籍花名册
_TITLE_SCHOOL = re.compile(r"^([\u4e00-\u9fff（）()]{2,30}?(?:小学|中学|学校))")


def _reporting_unit(writer: _Writer, sheet: _Sheet, options: Options) -> int | None:
    """The village (census) or school (roster) that sent the sheet; created when new."""
    conn = writer.conn
    kind = sheet.parsed.kind
    if kind == "census":
        name = options.unit or _title_match(_TITLE_UNIT, sheet.parsed.title, strip_town=True)
        name = name or _most_common(rec.values.get("village") for rec in sheet.records)
        return _ensure_unit(writer, "village", name) if name else None
    if kind == "roster":
        name = options.unit or _most_common(rec.values.get("school") for rec in sheet.records)
        name = name or _title_match(_TITLE_SCHOOL, sheet.parsed.title)
        if not name:
            raise FileProblem(f"{sheet.result.file}{_sheet_label(sheet.result.sheet)}：看不出这是哪所学校"
                              "的学籍花名册。请用 --unit 学校名称 指定。")
        return _ensure_unit(writer, "school", name)
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


def _ensure_unit(writer: _Writer, kind: str, name: str) -> int:
    """The unit's id, inserting it (undoably) when this is its first sheet."""
    row = writer.conn.execute("SELECT id FROM units WHERE kind = ? AND name = ?",
                              (kind, name)).fetchone()
    if row:
        return row[0]
    return writer.insert("units", {"kind": kind, "name": name})


def _write_children(conn: sqlite3.Connection, writer: _Writer, sheet: _Sheet,
                    unit_id: int | None) -> None:
    """Upsert census/roster children and write one snapshot event per accepted row."""
    res = sheet.result
    is_census = res.kind == "census"
    unit_name = res.unit
    day = res.sheet_date.isoformat()
    schools = {unit_name: unit_id}
    villages = {r["name"]: r["id"] for r in conn.execute(
        "SELECT id, name FROM units WHERE kind = 'village'")}
    present = set(sheet.parsed.column_headers)
    stored = _stored_children(conn, [r.values["id_number"] for r in sheet.records
                                     if not r.errors and r.values.get("id_number")])
    snapshots = history.NewSnapshots(conn, {i: r["id"] for i, r in stored.items()})
    new_children: dict[str, dict] = {}  # id_number -> fields, inserted in bulk below
    for rec in sheet.records:
        if rec.errors:
            continue
        v = rec.values
        id_number = v["id_number"]
        old = stored.get(id_number)
        if old is not None and old["name"] != v["name"]:
            rec.errors.append(_stored_name_conflict(sheet, rec, old))
            continue
        if is_census and v.get("village") and v["village"] not in villages:
            villages[v["village"]] = _ensure_unit(writer, "village", v["village"])
        school = v.get("school") if is_census else (v.get("school") or unit_name)
        if not is_census and school not in schools:
            schools[school] = _ensure_unit(writer, "school", school)
        fields = _child_fields(v, is_census, school, villages, old, present)
        if is_census and fields.get("village_id") is None and unit_id is not None:
            fields["village_id"] = unit_id
        if old is None:
            if id_number in new_children:  # listed twice in one sheet: the later row wins
                new_children[id_number].update(fields)
                res.unchanged += 1
            else:
                new_children[id_number] = fields
                res.inserted += 1
        elif writer.update("children", old, fields):
            res.updated += 1
        else:
            res.unchanged += 1
        snapshots.add(id_number, day, v["status"], school, v.get("remarks"), res.batch)
    ids = {i: r["id"] for i, r in stored.items()}
    ids.update(_insert_children(conn, writer, new_children, snapshots))
    _insert_events(conn, writer, snapshots, ids)
    if not is_census:
        grades: dict[str, list] = defaultdict(list)  # school -> the grades its rows give
        for r in sheet.records:
            grades[r.values.get("school") or unit_name].append(r.values.get("grade"))
        for name, school_id in schools.items():
            _set_school_level(conn, school_id, grades[name])


CHILD_DEFAULTS = {"left_behind": 0, "disabled": 0, "in_census": 0}


def _insert_children(conn: sqlite3.Connection, writer: _Writer, new: dict[str, dict],
                     snapshots: history.NewSnapshots) -> dict[str, int]:
    """Insert new children in bulk, with their cached status; return {id_number: id}."""
    if not new:
        return {}
    start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM children").fetchone()[0]
    filled = set().union(*new.values())  # columns no new child sets keep their defaults
    columns = [k for k in CHILD_FIELDS if k in filled or k in CHILD_DEFAULTS]
    defaults = [CHILD_DEFAULTS.get(k) for k in columns]
    with indexes_rebuilt(conn, "children", len(new)):
        insert_rows(conn, "children", ("id_number", *columns, "status", "status_since"),
                    [(id_number, *map(fields.get, columns, defaults), *snapshots.current(id_number))
                     for id_number, fields in new.items()])
    conn.execute("INSERT INTO batch_changes (batch_id, table_name, row_id, action) "
                 "SELECT ?, 'children', id, 'insert' FROM children WHERE id > ?",
                 (writer.batch_id, start))
    return dict(conn.execute("SELECT id_number, id FROM children WHERE id > ?", (start,)))


def _stored_children(conn: sqlite3.Connection, id_numbers: list[str]) -> dict[str, dict]:
    """The stored children with these ID numbers: the columns an import compares and sets,
    as dicts (cheaper to compare than Rows)."""
    found: dict[str, dict] = {}
    names = ("id", "id_number", *CHILD_FIELDS)
    cursor = conn.cursor()
    cursor.row_factory = None
    for start in range(0, len(id_numbers), 500):
        chunk = id_numbers[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        cursor.execute(f"SELECT {', '.join(names)} FROM children WHERE id_number IN ({marks})",
                       chunk)
        for row in cursor:
            found[row[1]] = dict(zip(names, row))
    return found


def _stored_name_conflict(sheet: _Sheet, rec: Record, old: dict) -> RowError:
    column = sheet.parsed.column_headers.get("name", "姓名")
    return RowError(
        rec.row, column, rec.values["name"], "name_conflict",
        f"身份证号 {idcard.mask(old['id_number'])} 在数据库中登记的姓名是「{old['name']}」，"
        f"与本行「{rec.values['name']}」不同，未覆盖。请核实；若数据库中的姓名有误，"
        "用 kcbx children set 身份证号 --name 正确姓名 --reason 原因 改正。",
        child_id=old["id"])


# values a census/roster row copies to the child when filled in
_COPIED = frozenset({"name", "gender", "birth_date", "ethnicity", "village_group", "grade",
                     "grade_text", "class_no", "student_no", "guardian_name", "guardian_relation",
                     "guardian_phone", "address", "disability_type", "disability_level",
                     "family_type", "remarks", "last_score", "absences"})


def _child_fields(v: dict, is_census: bool, school: str | None, villages: dict[str, int],
                  old: dict | None, present: set[str]) -> dict:
    """The children columns this row sets.

    A blank cell never erases a stored value, except the roster's own measures (score,
    absences): a roster with a 学业成绩 column and a blank cell means "no score now".
    """
    fields = {k: x for k, x in v.items() if k in _COPIED and x is not None}
    for key in ("left_behind", "disabled"):
        if key in v:
            fields[key] = int(bool(v[key]))
    if v.get("grade") is not None:
        fields["grade_text"] = None
    if is_census:
        fields["in_census"] = 1
        if school:
            fields["school"] = school
        if v.get("village"):
            fields["village_id"] = villages[v["village"]]
        return fields
    fields["school"] = school
    for key, column in (("last_score", "score"), ("absences", "absences")):
        if column in present:
            fields[key] = v.get(key)
    if old is not None and old["in_census"]:
        fields.pop("village_group", None)  # the census says where the child lives
    else:
        village, group = v.get("village"), v.get("village_group")
        if not village and v.get("address"):
            village, group_from_address = normalize.village_from_address(v["address"])
            group = group or group_from_address
        if village in villages:
            fields["village_id"] = villages[village]
            if group is not None:
                fields["village_group"] = group
    return fields


def _insert_events(conn: sqlite3.Connection, writer: _Writer, snapshots: history.NewSnapshots,
                   ids: dict[str, int]) -> None:
    """Write the snapshot events (with their spans) and record them for undo."""
    start = conn.execute("SELECT COALESCE(MAX(id), 0) FROM status_events").fetchone()[0]
    snapshots.write(ids)
    conn.execute("INSERT INTO batch_changes (batch_id, table_name, row_id, action) "
                 "SELECT ?, 'status_events', id, 'insert' FROM status_events WHERE id > ?",
                 (writer.batch_id, start))


def _set_school_level(conn: sqlite3.Connection, unit_id: int, grades: list[int | None]) -> None:
    """A school's level from the grades on its roll (1-6 primary, 7-9 middle, both nine-year)."""
    known = {g for g in grades if g}
    if not known:
        return
    level = ("nine_year" if min(known) <= 6 < max(known) else
             "middle" if min(known) >= 7 else "primary")
    current = conn.execute("SELECT level FROM units WHERE id = ?", (unit_id,)).fetchone()[0]
    if current != level and not (current == "nine_year"):
        new = level if current is None else "nine_year"
        conn.execute("UPDATE units SET level = ? WHERE id = ?", (new, unit_id))


def _child_by_id(conn: sqlite3.Connection, sheet: _Sheet, rec: Record) -> sqlite3.Row | None:
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
        rec.errors.append(_stored_name_conflict(sheet, rec, child))
        return None
    return child


def _stored_child_rows(conn: sqlite3.Connection, sheet: _Sheet):
    """(record, child) for each accepted row about a stored child; the rest get an error."""
    for rec in sheet.records:
        if rec.errors:
            continue
        child = _child_by_id(conn, sheet, rec)
        if child is not None:
            yield rec.values, child


def _write_changes(conn: sqlite3.Connection, writer: _Writer, sheet: _Sheet,
                   unit_id: int | None) -> None:
    """One change event per accepted row; applied flags are re-decided afterwards."""
    res = sheet.result
    touched = []
    for v, child in _stored_child_rows(conn, sheet):
        writer.insert("status_events", {
            "child_id": child["id"], "date": v["date"], "status": v["status"],
            "prev_status": v.get("prev_status"), "school": v.get("school"),
            "prev_school": v.get("prev_school"), "kind": "change", "event_type": v.get("event"),
            "reason": v.get("remarks"), "batch_id": res.batch})
        res.inserted += 1
        touched.append(child["id"])
    history.recompute_applied(conn, touched)


def _write_followups(conn: sqlite3.Connection, writer: _Writer, sheet: _Sheet,
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
            "result": v.get("result"), "next_date": v.get("next_date"), "note": v.get("note"),
            "batch_id": res.batch})
        res.inserted += 1


def _write_teachers(conn: sqlite3.Connection, writer: _Writer, sheet: _Sheet,
                    unit_id: int | None) -> None:
    """Upsert teachers by school + name; a school's full list retires those missing from it."""
    res = sheet.result
    listed: dict[int, set[str]] = defaultdict(set)
    for rec in sheet.records:
        if rec.errors:
            continue
        v = rec.values
        school_id = _ensure_unit(writer, "school", v["school"])
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


def _end_pairings_of_inactive(conn: sqlite3.Connection, writer: _Writer, on: date) -> None:
    """Open pairings of teachers who left end on the sheet date; `assign` re-pairs the children."""
    for pairing in conn.execute(
            "SELECT a.* FROM assignments a JOIN teachers t ON t.id = a.teacher_id "
            "WHERE a.end_date IS NULL AND t.active = 0").fetchall():
        end = max(on.isoformat(), pairing["start_date"])
        writer.update("assignments", pairing, {"end_date": end, "end_reason": TEACHER_LEFT})


def _write_units(conn: sqlite3.Connection, writer: _Writer, sheet: _Sheet,
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
                    fields[f"{key}_id"] = _ensure_unit(writer, "school", v[key])
        old = conn.execute("SELECT * FROM units WHERE kind = ? AND name = ?",
                           (v["kind"], v["name"])).fetchone()
        if old is None:
            writer.insert("units", {"kind": v["kind"], "name": v["name"], **fields})
            res.inserted += 1
        elif writer.update("units", old, fields):
            res.updated += 1
        else:
            res.unchanged += 1
