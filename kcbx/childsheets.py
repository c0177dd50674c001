"""Census and roster sheets into the store: children upserted, one snapshot event per row.

The rows arrive checked a column at a time (rows.ChildRows) and are written the same
way: `_child_columns` is the one place the census/roster rules live (a blank never
erases, the census says where a child lives, the roster's own measures may be
emptied); new children are inserted in bulk under ids given here, so their snapshot
events need no id look-up; stored children are compared a column at a time and only
what changed is written, its old values kept for undo (batches.Writer).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import TYPE_CHECKING

from kcbx import history, idcard, normalize
from kcbx.batches import Writer
from kcbx.db import indexes_rebuilt, insert_columns
from kcbx.rows import RowError

if TYPE_CHECKING:
    from kcbx.importer import Sheet

# children columns an import may set, in the order they are compared and written
CHILD_FIELDS = ("name", "gender", "birth_date", "ethnicity", "village_id", "village_group",
                "school", "grade", "grade_text", "class_no", "student_no", "guardian_name",
                "guardian_relation", "guardian_phone", "address", "left_behind", "disabled",
                "disability_type", "disability_level", "family_type", "last_score", "absences",
                "remarks", "in_census")


def write(conn: sqlite3.Connection, writer: Writer, sheet: Sheet, unit_id: int | None) -> None:
    """Upsert census/roster children and write one snapshot event per accepted row.

    A column at a time, as the rows were checked: `_child_columns` says what the rows
    set, new children are inserted in bulk under ids given here (so their events need
    no look-up), and stored ones are compared a column at a time, only what changed
    written. A child listed twice in one sheet is one child: the later row's values win.
    """
    res = sheet.result
    checked = sheet.children
    take, stored = _rows_to_write(conn, sheet)
    keys = _pick(checked.column("id_number"), take)
    olds = list(map(stored.get, keys))
    schools, villages, school_ids = _units_of_rows(writer, sheet, take, unit_id)
    columns = _child_columns(checked.values, take, res.kind == "census", schools, villages,
                             unit_id, [old is not None and old[_IN_CENSUS] for old in olds],
                             set(sheet.parsed.column_headers))
    first, later = _fold_repeats(keys, columns)
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
        _set_school_level(writer, school_id, [grade for school, grade in named
                                              if (school or res.unit) == name])


def _rows_to_write(conn: sqlite3.Connection, sheet: Sheet) -> tuple[list[int], dict[str, tuple]]:
    """The rows to write (accepted, and not a stored child under another name: that row
    gets its error here), and the stored children they name."""
    checked = sheet.children
    id_numbers, names = checked.column("id_number"), checked.column("name")
    accepted = [i for i, errors in enumerate(checked.errors) if not errors]
    stored = _stored_children(conn, _pick(id_numbers, accepted))
    if not stored:
        return accepted, stored
    take = []
    for i in accepted:
        old = stored.get(id_numbers[i])
        if old is not None and old[_NAME] != names[i]:
            checked.errors[i].append(stored_name_conflict(
                sheet.parsed.column_headers, checked.row_numbers[i], names[i], old[_ID],
                old[_ID_NUMBER], old[_NAME]))
        else:
            take.append(i)
    return take, stored


def _fold_repeats(keys: list[str], columns: dict[str, list]) -> tuple[dict[str, int], list[int]]:
    """A child listed twice is one child: the later row's values are written into the
    first row's place. Returns {ID number: its first row} and the later rows."""
    first: dict[str, int] = {}
    later = [j for j, key in enumerate(keys) if first.setdefault(key, j) != j]
    for j in later:
        for column in columns.values():
            if column[j] is not None:
                column[first[keys[j]]] = column[j]
    return first, later


def _pick(column: list, at: list[int]) -> list:
    """column[i] for each i in `at`, ascending positions (all of them: a copy)."""
    if len(at) == len(column):
        return list(column)
    return list(map(column.__getitem__, at))


def _units_of_rows(writer: Writer, sheet: Sheet, take: list[int],
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
                villages[name] = writer.unit("village", name)
        return named, villages, {}
    schools = [name or res.unit for name in named]
    school_ids = {res.unit: unit_id}
    for name in dict.fromkeys(schools):
        if name not in school_ids:
            school_ids[name] = writer.unit("school", name)
    return schools, villages, school_ids


CHILD_DEFAULTS = {"left_behind": 0, "disabled": 0, "in_census": 0}  # as in schema.sql


def _insert_children(conn: sqlite3.Connection, writer: Writer, start: int,
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


def _update_children(writer: Writer, olds: list[tuple], columns: dict[str, list]) -> int:
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


def stored_name_conflict(headers: dict[str, str], row: int, name: str, child_id: int,
                         id_number: str, stored_name: str) -> RowError:
    """The error of a row whose ID is stored under another name (nothing is overwritten)."""
    column = headers.get("name", "姓名")
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


def _set_school_level(writer: Writer, unit_id: int, grades: list[int | None]) -> None:
    """A school's level from the grades on its roll (1-6 primary, 7-9 middle, both
    nine-year); the level it had is kept for undo."""
    known = {g for g in grades if g}
    if not known:
        return
    level = ("nine_year" if min(known) <= 6 < max(known) else
             "middle" if min(known) >= 7 else "primary")
    current = writer.conn.execute("SELECT level FROM units WHERE id = ?", (unit_id,)).fetchone()[0]
    if current != level and not (current == "nine_year"):
        new = level if current is None else "nine_year"
        writer.write_changes("units", [(unit_id, {"level": current}, {"level": new})])
