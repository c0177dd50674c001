"""`kcbx import`: spreadsheets in, one transaction, every rejected row accounted for.

The flow of one call: read every file and sheet (reading.py), find headers and the
kind of each sheet (headers.py), validate rows (rows.py), then write all of it inside
one transaction in the order units → teachers → census → roster → changes → followups,
giving every row a batch inserts its batch id and recording in `batch_changes` what it
overwrote, so `undo` can put it back exactly. A file already imported (same sha256 and sheet) is skipped unless forced.
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
from kcbx.db import indexes_rebuilt, insert_columns, transaction
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
                                 rows=len(parsed.row_numbers),
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


def _validate(sheet: _Sheet) -> None:
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


def _reject_same_id_two_names(sheets: list[_Sheet]) -> None:
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


class _Writer:
    """Inserts and updates that remember, per batch, how to undo them: an inserted row
    carries the batch id, an update leaves the values it overwrote in batch_changes."""

    def __init__(self, conn: sqlite3.Connection, batch_id: int):
        self.conn = conn
        self.batch_id = batch_id

    def insert(self, table: str, values: dict) -> int:
        values = {**values, "batch_id": self.batch_id}
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        return self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                 tuple(values.values())).lastrowid

    def update(self, table: str, row: sqlite3.Row, values: dict) -> bool:
        """Write the values that differ from `row`; return whether anything changed."""
        changed = {k: v for k, v in values.items() if row[k] != v}
        if changed:
            self.write_changes(table, [(row["id"], {k: row[k] for k in changed}, changed)])
        return bool(changed)

    def write_changes(self, table: str, changes: list[tuple[int, dict, dict]]) -> None:
        """Apply (row id, {column: old value}, {column: new value}) changes, keeping the
        old values for undo; rows that change the same columns share one statement."""
        statements: dict[tuple, list] = defaultdict(list)
        for row_id, _, after in changes:
            statements[tuple(after)].append((*after.values(), row_id))
        for columns, params in statements.items():
            sets = ", ".join(f"{k} = ?" for k in columns)
            self.conn.executemany(f"UPDATE {table} SET {sets} WHERE id = ?", params)
        self.conn.executemany(
            "INSERT INTO batch_changes (batch_id, table_name, row_id, action, before) "
            "VALUES (?, ?, ?, 'update', ?)",
            [(self.batch_id, table, row_id, json.dumps(before, ensure_ascii=False))
             for row_id, before, _ in changes])


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


def _reporting_unit(writer: _Writer, sheet: _Sheet, options: Options) -> int | None:
    """The village (census) or school (roster) that sent the sheet; created when new."""
    conn = writer.conn
    kind = sheet.parsed.kind
    if kind == "census":
        name = options.unit or _title_match(_TITLE_UNIT, sheet.parsed.title, strip_town=True)
        name = name or _most_common(sheet.children.column("village"))
        return _ensure_unit(writer, "village", name) if name else None
    if kind == "roster":
        name = options.unit or _most_common(sheet.children.column("school"))
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
    """Upsert census/roster children and write one snapshot event per accepted row.

    A column at a time, as the rows were checked: `_child_columns` says what the rows
    set, new children are inserted in bulk under ids given here (so their events need
    no look-up), and stored ones are compared a column at a time, only what changed
    written. A child listed twice in one sheet is one child: the later row's values win.
    """
    res = sheet.result
    checked = sheet.children
    id_numbers, names = checked.column("id_number"), checked.column("name")
    accepted = [i for i, errors in enumerate(checked.errors) if not errors]
    stored = _stored_children(conn, _pick(id_numbers, accepted))
    take = accepted  # the rows written: accepted, and not a stored child under another name
    if stored:
        take = []
        for i in accepted:
            old = stored.get(id_numbers[i])
            if old is not None and old[_NAME] != names[i]:
                checked.errors[i].append(_stored_name_conflict(
                    sheet, checked.row_numbers[i], names[i], old[_ID], old[_ID_NUMBER], old[_NAME]))
            else:
                take.append(i)
    keys = _pick(id_numbers, take)
    olds = list(map(stored.get, keys))
    schools, villages, school_ids = _units_of_rows(writer, sheet, take, unit_id)
    columns = _child_columns(checked.values, take, res.kind == "census", schools, villages,
                             unit_id, [old is not None and old[_IN_CENSUS] for old in olds],
                             set(sheet.parsed.column_headers))
    first: dict[str, int] = {}  # ID number -> its first row in `take`
    later = [j for j, key in enumerate(keys) if first.setdefault(key, j) != j]
    for j in later:  # listed twice: the later row's values win
        for column in columns.values():
            if column[j] is not None:
                column[first[keys[j]]] = column[j]
    new = [j for j in first.values() if olds[j] is None]
    known = [j for j in first.values() if olds[j] is not None]
    start = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM children").fetchone()[0]
    child_ids = {keys[j]: start + n for n, j in enumerate(new)}
    child_ids.update((keys[j], olds[j][_ID]) for j in known)
    snapshots = history.NewSnapshots(conn, [olds[j][_ID] for j in known])
    snapshots.add(list(map(child_ids.__getitem__, keys)), res.sheet_date.isoformat(),
                  _pick(checked.column("status"), take), schools,
                  _pick(checked.column("remarks"), take), res.batch)
    _insert_children(conn, writer, start, _pick(keys, new),
                     {k: _pick(column, new) for k, column in columns.items()}, snapshots)
    updated = _update_children(writer, _pick(olds, known),
                               {k: _pick(column, known) for k, column in columns.items()})
    res.inserted += len(new)
    res.updated += updated
    res.unchanged += len(known) - updated + len(later)
    snapshots.write()
    named = set(zip(checked.column("school"), checked.column("grade")))  # each pair once
    for name, school_id in school_ids.items():
        _set_school_level(conn, school_id, [grade for school, grade in named
                                            if (school or res.unit) == name])


def _pick(column: list, at: list[int]) -> list:
    """column[i] for each i in `at`, ascending positions (all of them: a copy)."""
    if len(at) == len(column):
        return list(column)
    return list(map(column.__getitem__, at))


def _units_of_rows(writer: _Writer, sheet: _Sheet, take: list[int],
                   unit_id: int | None) -> tuple[list, dict[str, int], dict[str, int]]:
    """The school each row names (a roster row without one: the sheet's school); the
    village units by name; a roster's school units by name. A village a census names and
    a school a roster names are added as units when new, in the order the rows name them."""
    res = sheet.result
    named = _pick(sheet.children.column("school"), take)
    villages = {r["name"]: r["id"] for r in writer.conn.execute(
        "SELECT id, name FROM units WHERE kind = 'village'")}
    if res.kind == "census":
        for name in dict.fromkeys(_pick(sheet.children.column("village"), take)):
            if name and name not in villages:
                villages[name] = _ensure_unit(writer, "village", name)
        return named, villages, {}
    schools = [name or res.unit for name in named]
    school_ids = {res.unit: unit_id}
    for name in dict.fromkeys(schools):
        if name not in school_ids:
            school_ids[name] = _ensure_unit(writer, "school", name)
    return schools, villages, school_ids


CHILD_DEFAULTS = {"left_behind": 0, "disabled": 0, "in_census": 0}  # as in schema.sql


def _insert_children(conn: sqlite3.Connection, writer: _Writer, start: int,
                     id_numbers: list[str], columns: dict[str, list],
                     snapshots: history.NewSnapshots) -> None:
    """Insert new children under the ids start, start + 1, …, with their cached status.

    A value left as it is, or set to NULL, is the schema's default; a column of nothing
    else is left out."""
    if not id_numbers:
        return
    ids = range(start, start + len(id_numbers))
    names, data = ["id", "id_number", "batch_id"], [ids, id_numbers, [writer.batch_id] * len(ids)]
    for name, column in columns.items():
        if None in column or _NULL in column:
            default = CHILD_DEFAULTS.get(name)
            column = [default if v is None or v is _NULL else v for v in column]
            if column.count(default) == len(column):
                continue  # every new child gets the schema's default anyway
        names.append(name)
        data.append(column)
    names += ["status", "status_since"]
    data += snapshots.current(ids)
    with indexes_rebuilt(conn, "children", len(id_numbers)):
        insert_columns(conn, "children", names, data)


def _update_children(writer: _Writer, olds: list[tuple], columns: dict[str, list]) -> int:
    """Write the values that differ from the stored children `olds`; return how many changed.

    Compared a column at a time: in the weekly re-import nearly every column is equal
    as a whole, which one C-level comparison tells."""
    if not olds:
        return 0
    stored = dict(zip(_STORED, zip(*olds)))
    changed: dict[int, dict] = defaultdict(dict)  # position in olds -> {column: new value}
    for name, column in columns.items():
        before = stored[name]
        if tuple(column) == before:
            continue
        for j, (value, old) in enumerate(zip(column, before)):
            if value is _NULL:
                value = None
            elif value is None:
                continue
            if value != old:
                changed[j][name] = value
    writer.write_changes("children", [
        (olds[j][_ID], {k: stored[k][j] for k in values}, values) for j, values in changed.items()])
    return len(changed)


_STORED = ("id", "id_number", *CHILD_FIELDS)  # a stored child as _stored_children gives it
_ID, _ID_NUMBER, _NAME = 0, 1, 2
_IN_CENSUS = _STORED.index("in_census")


def _stored_children(conn: sqlite3.Connection, id_numbers: list[str]) -> dict[str, tuple]:
    """The stored children with these ID numbers, as tuples laid out as _STORED.

    A sheet that holds a good part of the store (the town-wide roster, every week) reads
    the table once, which takes half the time of looking 100,000 IDs up 500 at a time; a
    village's census of a few hundred rows looks them up.
    """
    cursor = conn.cursor()
    cursor.row_factory = None
    select = f"SELECT {', '.join(_STORED)} FROM children"
    largest = conn.execute("SELECT max(id) FROM children").fetchone()[0] or 0
    if 4 * len(id_numbers) >= largest:
        wanted = set(id_numbers)
        return {row[_ID_NUMBER]: row for row in cursor.execute(select)
                if row[_ID_NUMBER] in wanted}
    found: dict[str, tuple] = {}
    for start in range(0, len(id_numbers), 500):
        chunk = id_numbers[start:start + 500]
        cursor.execute(f"{select} WHERE id_number IN ({', '.join('?' * len(chunk))})", chunk)
        found.update((row[_ID_NUMBER], row) for row in cursor)
    return found


def _stored_name_conflict(sheet: _Sheet, row: int, name: str, child_id: int, id_number: str,
                          stored_name: str) -> RowError:
    column = sheet.parsed.column_headers.get("name", "姓名")
    return RowError(
        row, column, name, "name_conflict",
        f"身份证号 {idcard.mask(id_number)} 在数据库中登记的姓名是「{stored_name}」，"
        f"与本行「{name}」不同，未覆盖。请核实；若数据库中的姓名有误，"
        "用 kcbx children set 身份证号 --name 正确姓名 --reason 原因 改正。",
        child_id=child_id)


_NULL = object()  # a column value that sets NULL (None leaves the stored value as it is)

# values a census/roster row copies to the child when filled in
_COPIED = ("name", "gender", "birth_date", "ethnicity", "village_group", "grade", "grade_text",
           "class_no", "student_no", "guardian_name", "guardian_relation", "guardian_phone",
           "address", "disability_type", "disability_level", "family_type", "remarks",
           "last_score", "absences", "left_behind", "disabled")  # yes/no: bools, stored 1/0


def _child_columns(values: dict[str, list], take: list[int], is_census: bool, schools: list,
                   villages: dict[str, int], unit_id: int | None, in_census: list[bool],
                   present: set[str]) -> dict[str, list]:
    """The children columns the rows `take` set: per column, one value per row, None
    where the row leaves the stored value as it is, _NULL where it empties it.

    A blank cell never erases a stored value, except the roster's own measures (score,
    absences): a roster with a 学业成绩 column and a blank cell means "no score now".
    A census says where a child lives; a roster does only for a child not in the census.
    `schools` holds the school each row names, `in_census` whether each row's child is
    stored as in the census. Every list is new: the caller folds repeated rows into them.
    """
    def picked(key: str) -> list:
        return _pick(values[key], take) if key in values else [None] * len(take)

    out = {key: picked(key) for key in _COPIED if key in values}
    if "grade" in values:  # a grade 1-9 clears the text kept for 高一, 中职 …
        out["grade_text"] = [_NULL if grade is not None else text
                             for grade, text in zip(out["grade"], out["grade_text"])]
    if is_census:
        out["in_census"] = [1] * len(take)
        out["school"] = list(schools)
        out["village_id"] = [villages[v] if v else unit_id for v in picked("village")]
        return out
    out["school"] = list(schools)  # a roster row's school, or the sheet's: never None
    for key, column in (("last_score", "score"), ("absences", "absences")):
        if column in present:
            out[key] = [_NULL if v is None else v for v in picked(key)]
    village_ids, groups = [], []
    for village, group, address, censused in zip(picked("village"), picked("village_group"),
                                                 picked("address"), in_census):
        if censused:  # the census says where the child lives
            village_ids.append(None)
            groups.append(None)
            continue
        own_group = group
        if not village and address:
            village, group_from_address = normalize.village_from_address(address)
            group = group or group_from_address
        if village not in villages:  # not a village of the town: only the row's own 组
            village, group = None, own_group
        village_ids.append(None if village is None else villages[village])
        groups.append(group)
    out["village_id"], out["village_group"] = village_ids, groups
    return out


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
        rec.errors.append(_stored_name_conflict(sheet, rec.row, name, child["id"],
                                                child["id_number"], child["name"]))
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
            "reason": v.get("remarks")})
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
            "result": v.get("result"), "next_date": v.get("next_date"), "note": v.get("note")})
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
