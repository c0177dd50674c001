"""Random worlds: `reconcile` equals a plain re-computation of its rules from the raw tables.

The reference below reads the sheets, events and rejected rows one by one in Python and
applies the rules of kcbx/reconcile.py's docstring as literally as it can: the latest
sheets per unit, each child's latest line on each side, its status on D by SPEC §4's
history rule (re-applied here, not read from the spans). The SQL works on temp tables
with upserts and keyed joins, for speed; this proves it finds the same children.
"""

import sqlite3
from datetime import date
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcbx import db as kdb
from kcbx import history, reconcile
from kcbx.dates import compulsory_window, nominal_grade
from kcbx.idcard import check_char
from kcbx.units import derived_catchments
from tests.test_metrics_reference import applied_events, on

D = date(2025, 3, 1)
VILLAGES = {1: "中坝村", 2: "永红村"}
SCHOOLS = {3: "后柳小学", 4: "后柳中学"}
SCHOOL_NAMES = [*SCHOOLS.values(), "西安市第一小学", None]
# sheet dates around D (one after it), few of them, so that ties between sheets happen
SHEET_DAYS = ["2025-02-10", "2025-02-20", "2025-02-25", "2025-03-01", "2025-03-05"]
UNITS_OF = {"census": [1, 2, None], "roster": [3, 4, None], "changes": [1, 3, None]}


# ---------------------------------------------------------------- the reference


def reference(conn: sqlite3.Connection, day: date) -> list[tuple]:
    """Every finding of every kind, as comparable tuples, computed row by row."""
    as_of = day.isoformat()
    units = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM units")}
    local = {u["name"]: i for i, u in units.items() if u["kind"] == "school"}
    children = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM children")}
    earliest, latest_born = (d.isoformat() for d in compulsory_window(day))
    young = {i for i, c in children.items() if earliest <= c["birth_date"] <= latest_born}

    sheets = [dict(r) for r in conn.execute("SELECT * FROM import_batches")
              if r["kind"] in ("census", "roster") and r["undone_at"] is None
              and r["sheet_date"] <= as_of]
    newest = {}
    for b in sheets:
        key = (b["kind"], b["unit_id"])
        newest[key] = max(newest.get(key, ""), b["sheet_date"])
    latest = {b["id"]: b for b in sheets if b["sheet_date"] == newest[(b["kind"], b["unit_id"])]}

    events = [dict(r) for r in conn.execute("SELECT * FROM status_events ORDER BY id")]
    census, roll, histories = {}, {}, {}
    for e in events:
        histories.setdefault(e["child_id"], []).append(
            {"id": e["id"], "date": e["date"], "kind": e["kind"], "status": e["status"],
             "school": e["school"], "prev": e["prev_status"], "prev_school": e["prev_school"]})
        b = latest.get(e["batch_id"])
        if b is None:
            continue
        side, key = (census, e["child_id"]) if b["kind"] == "census" else \
            (roll, (e["child_id"], b["unit_id"]))
        if key not in side or (e["date"], e["id"]) > (side[key]["date"], side[key]["id"]):
            side[key] = {**e, "unit_id": b["unit_id"]}
    errors = [dict(r) for r in conn.execute("SELECT * FROM import_errors")
              if r["batch_id"] in latest and r["resolved_at"] is None]
    conflicted = {(e["child_id"], latest[e["batch_id"]]["kind"], latest[e["batch_id"]]["unit_id"])
                  for e in errors if e["code"] == "name_conflict" and e["child_id"] is not None}

    def name_of(unit_id):
        return units[unit_id]["name"] if unit_id in units else None

    def on_d(child):
        """(status, school) on D, or None when the child has no applied event at all."""
        h = histories.get(child, [])
        return on(h, as_of) if applied_events(h) else None

    def catchment(village_id, born):
        if village_id is None:
            return ""
        level = "primary" if nominal_grade(date.fromisoformat(born), day) <= 6 else "middle"
        school = units[village_id][f"catchment_{level}_id"] or \
            derived_catchments(conn).get(village_id, {}).get(level)
        return name_of(school) or ""

    found = []
    for child, cs in census.items():
        c, now = children[child], on_d(child)
        if child not in young or now is None:
            continue
        status, school = now
        village = name_of(cs["unit_id"] if cs["unit_id"] is not None else c["village_id"]) or ""
        rolls = {unit: r for (who, unit), r in roll.items() if who == child}
        if (not rolls and (child, "roster") not in {x[:2] for x in conflicted}
                and status is not None and status not in reconcile.NOT_ON_ROLL_EXEMPT
                and not (status in reconcile.AT_SCHOOL and school)
                and not (cs["status"] in reconcile.ON_ROLL and (cs["school"] or "") in local)):
            shown = school or catchment(c["village_id"], c["birth_date"])
            found.append(reconcile.Finding(
                "not_on_roll", c["id_number"], c["name"], village, shown, cs["status"], None,
                reconcile._not_on_roll_detail(status, shown, bool(school) and school not in local)))
        said = local.get(cs["school"])
        if (said is not None and cs["status"] in reconcile.ON_ROLL and status is not None
                and status not in reconcile.ELSEWHERE and said not in rolls
                and (child, "roster", said) not in conflicted):
            dates = [b["sheet_date"] for b in latest.values()
                     if b["kind"] == "roster" and b["unit_id"] == said]
            other = min(((name_of(u), r["status"]) for u, r in rolls.items() if u in units),
                        default=(None, None))
            found.append(reconcile.Finding(
                "missing_from_roll", c["id_number"], c["name"], village, cs["school"],
                cs["status"], None,
                reconcile._missing_detail(cs["school"], max(dates, default=None), *other)))
        for unit, r in rolls.items():
            settled = any(e["kind"] in ("change", "manual")
                          and max(cs["date"], r["date"]) <= e["date"] <= as_of
                          for e in histories[child])
            if units.get(unit, {}).get("kind") == "school" and cs["status"] != r["status"] \
                    and not settled:
                row = {"census_date": cs["date"], "census_status": cs["status"],
                       "roll_date": r["date"], "roll_status": r["status"], "status": status}
                found.append(reconcile.Finding(
                    "status_mismatch", c["id_number"], c["name"], village, name_of(unit),
                    cs["status"], r["status"], reconcile._status_detail(row)))
    for (child, unit), r in roll.items():
        c = children[child]
        if (child in young and units.get(unit, {}).get("kind") == "school"
                and child not in census and (child, "census") not in {x[:2] for x in conflicted}):
            village = name_of(c["village_id"])
            found.append(reconcile.Finding(
                "not_in_census", c["id_number"], c["name"], village or "", name_of(unit), None,
                r["status"], reconcile._not_in_census_detail(village, c["in_census"])))
    for e in errors:
        if e["code"] not in ("name_conflict", "birth_mismatch"):
            continue
        b, c = latest[e["batch_id"]], children.get(e["child_id"], {})
        found.append(reconcile._identity_finding({
            **e, "kind": b["kind"], "unit": name_of(b["unit_id"]),
            "id_number": c.get("id_number"), "name": c.get("name"), "school": c.get("school"),
            "child_village": name_of(c.get("village_id"))}))
    return sorted(_row(f) for f in found)


def _row(f: reconcile.Finding) -> tuple:
    return (f.kind, f.id_number, f.name, f.village, f.school, f.census_status, f.roll_status,
            f.detail)


# ---------------------------------------------------------------- random worlds

codes = st.one_of(st.sampled_from(["enrolled", "away", "dropout", "never_enrolled", "unknown",
                                   "home_taught", "moved_out"]),
                  st.sampled_from(list(reconcile.vocab.STATUSES)))
batches = st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["census", "census", "roster", "roster", "changes"]),
    "pick": st.integers(0, 2),          # which unit of the kind (see UNITS_OF)
    "day": st.sampled_from(SHEET_DAYS),
    "undone": st.integers(0, 5).map(lambda n: n == 0),
}), min_size=1, max_size=6)
lines = st.fixed_dictionaries({        # a row of a sheet: a snapshot, or a change in 变动表
    "batch": st.integers(0, 5), "status": codes, "school": st.sampled_from(SCHOOL_NAMES)})
dated = st.fixed_dictionaries({        # a change or `status set` outside any sheet
    "kind": st.sampled_from(["change", "manual"]), "day": st.sampled_from(SHEET_DAYS),
    "status": codes, "prev": st.one_of(st.none(), codes),
    "school": st.sampled_from(SCHOOL_NAMES), "prev_school": st.sampled_from(SCHOOL_NAMES)})
children = st.lists(st.fixed_dictionaries({
    "born": st.sampled_from(["2007-05-05", "2008-09-01", "2012-03-04", "2016-12-31",
                             "2018-08-31", "2019-03-03"]),
    "name": st.sampled_from(["王小明", "李红", "赵强"]),   # namesakes: ties in the sort
    "village": st.sampled_from([1, 2, None]),
    "census": st.booleans(),
    "grade": st.sampled_from([None, 2, 8]),
    "school": st.sampled_from(SCHOOL_NAMES),
    "lines": st.lists(lines, max_size=4),
    "dated": st.lists(dated, max_size=2),
}), min_size=1, max_size=8)
errors = st.lists(st.fixed_dictionaries({
    "batch": st.integers(0, 5), "code": st.sampled_from(["name_conflict", "birth_mismatch",
                                                         "bad_checksum"]),
    "child": st.one_of(st.none(), st.integers(0, 7)), "resolved": st.booleans(),
    "row": st.integers(3, 5)}), max_size=4)


@cache
def template() -> sqlite3.Connection:
    """A migrated store with two villages (one with catchment overrides) and two schools."""
    conn = kdb.connect(":memory:")
    conn.executemany("INSERT INTO units (id, kind, name) VALUES (?, 'school', ?)", SCHOOLS.items())
    conn.executemany("INSERT INTO units (id, kind, name) VALUES (?, 'village', ?)",
                     VILLAGES.items())
    conn.execute("UPDATE units SET catchment_primary_id = 4, catchment_middle_id = 3 WHERE id = 2")
    return conn


def build(world: list[dict], sheets: list[dict], rejected: list[dict]) -> sqlite3.Connection:
    """A fresh store holding the world; the history rule applied as after an import."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    template().backup(conn)
    batch_ids = []
    for b in sheets:
        batch_ids.append(conn.execute(
            "INSERT INTO import_batches (file_name, sha256, kind, sheet_date, date_source, "
            "unit_id, iso_week, undone_at) VALUES ('f.xlsx', 'x', ?, ?, 'title', ?, 'W', ?)",
            (b["kind"], b["day"], UNITS_OF[b["kind"]][b["pick"] % len(UNITS_OF[b["kind"]])],
             "2025-03-02" if b["undone"] else None)).lastrowid)
    child_ids = []
    for n, child in enumerate(world, start=1):
        first17 = f"610922{child['born'].replace('-', '')}{n:03d}"
        child_ids.append(conn.execute(
            "INSERT INTO children (id_number, name, gender, birth_date, village_id, in_census, "
            "grade, school) VALUES (?, ?, 'M', ?, ?, ?, ?, ?)",
            (first17 + check_char(first17), child["name"], child["born"], child["village"],
             int(child["census"]), child["grade"], child["school"])).lastrowid)
        for line in child["lines"]:
            b = sheets[line["batch"] % len(sheets)]
            kind = "change" if b["kind"] == "changes" else "snapshot"
            conn.execute(
                "INSERT INTO status_events (child_id, date, status, school, kind, batch_id) "
                "VALUES (?, ?, ?, ?, ?, ?)", (child_ids[-1], b["day"], line["status"],
                                              line["school"], kind,
                                              batch_ids[line["batch"] % len(sheets)]))
        for e in child["dated"]:
            conn.execute(
                "INSERT INTO status_events (child_id, date, status, prev_status, school, "
                "prev_school, kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (child_ids[-1], e["day"], e["status"], e["prev"], e["school"], e["prev_school"],
                 e["kind"]))
    for e in rejected:
        child = None if e["child"] is None else child_ids[e["child"] % len(child_ids)]
        conn.execute(
            "INSERT INTO import_errors (batch_id, row, column_name, value, code, message, "
            "child_id, resolved_at) VALUES (?, ?, '姓名', '王晓明', ?, '不一致', ?, ?)",
            (batch_ids[e["batch"] % len(sheets)], e["row"], e["code"], child,
             "2025-02-28" if e["resolved"] else None))
    history.recompute_applied(conn, child_ids)
    return conn


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=children, sheets=batches, rejected=errors,
       day=st.sampled_from([D, date(2025, 2, 20), date(2025, 3, 5)]))
def test_reconcile_equals_the_reference(world, sheets, rejected, day):
    conn = build(world, sheets, rejected)
    found = reconcile.reconcile(conn, day)
    assert sorted(_row(f) for f in found) == reference(conn, day)
    order = list(reconcile.KINDS)
    keys = [(order.index(f.kind), f.village, f.school, f.name) for f in found]
    assert keys == sorted(keys)
    some = ("missing_from_roll", "status_mismatch")
    assert reconcile.reconcile(conn, day, kinds=some) == [f for f in found if f.kind in some]


def test_unknown_kinds_are_refused(conn):
    with pytest.raises(ValueError):
        reconcile.reconcile(conn, D, kinds=["not_on_roll", "外在本"])
