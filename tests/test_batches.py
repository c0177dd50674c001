"""Undo by batch id (migration m004): a database from before it upgrades and still undoes."""

from datetime import date

from kcbx import batches, migrations
from kcbx import db as kdb
from tests.sheets import census, census_row, make_id, roster, roster_row

A, B = "61092220161210193X", "610922201503040031"


def rows(conn, sql):
    return [tuple(r) for r in conn.execute(sql)]


def test_a_v2_database_upgrades_and_its_batches_still_undo(tmp_path, monkeypatch):
    path = tmp_path / "v2.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
    conn = kdb.connect(path)
    conn.executescript(f"""
        INSERT INTO import_batches (id, file_name, sha256, kind, sheet_date, date_source, iso_week)
        VALUES (1, 'c.xlsx', 'x', 'census', '2025-02-20', 'title', '2025-W08'),
               (2, 'r.xlsx', 'y', 'roster', '2025-02-27', 'title', '2025-W09');
        INSERT INTO units (id, kind, name) VALUES (1, 'village', '中坝村');
        INSERT INTO children (id, id_number, name, gender, birth_date, village_id, in_census)
        VALUES (1, '{A}', '曹斌锦', 'M', '2016-12-10', 1, 1);
        INSERT INTO children (id, id_number, name, gender, birth_date, school)
        VALUES (2, '{B}', '王小明', 'M', '2015-03-04', '后柳小学');
        UPDATE children SET school = '后柳小学' WHERE id = 1;
        INSERT INTO status_events (id, child_id, date, status, kind, batch_id)
        VALUES (1, 1, '2025-02-20', 'enrolled', 'snapshot', 1),
               (2, 1, '2025-02-27', 'enrolled', 'snapshot', 2),
               (3, 2, '2025-02-27', 'enrolled', 'snapshot', 2);
        INSERT INTO batch_changes (batch_id, table_name, row_id, action, before)
        VALUES (1, 'units', 1, 'insert', NULL), (1, 'children', 1, 'insert', NULL),
               (1, 'status_events', 1, 'insert', NULL),
               (2, 'children', 2, 'insert', NULL), (2, 'children', 1, 'update', '{{"school": null}}'),
               (2, 'status_events', 2, 'insert', NULL), (2, 'status_events', 3, 'insert', NULL);
    """)
    conn.close()
    monkeypatch.undo()

    conn = kdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert rows(conn, "SELECT id, batch_id FROM children ORDER BY id") == [(1, 1), (2, 2)]
    assert rows(conn, "SELECT batch_id FROM units") == [(1,)]
    assert rows(conn, "SELECT table_name, row_id, action FROM batch_changes") == [
        ("children", 1, "update")]  # only what an update overwrote is logged now
    assert batches.later_conflicts(conn, 1) == [2]

    second = batches.undo(conn, 2)
    assert (second.deleted, second.restored, second.kept) == (3, 1, [])
    assert rows(conn, "SELECT id, school FROM children") == [(1, None)]
    first = batches.undo(conn, 1)
    assert (first.deleted, first.kept) == (3, [])
    for table in ("children", "units", "status_events"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_forced_undo_keeps_rows_that_later_batches_point_at(run, conn, tmp_path):
    kid = make_id(date(2015, 3, 4), 1)
    run("import", census(tmp_path / "c1.xlsx", [census_row(1, "王小明", kid)]))
    run("import", census(tmp_path / "c2.xlsx", [census_row(1, "王小明", kid, status="辍学")],
                         day="2025年3月20日"))
    assert batches.later_conflicts(conn, 1) == [2]
    result = batches.undo(conn, 1, force=True)
    # the child has batch 2's event, the village batch 2's child and sheet
    assert (result.deleted, sorted(result.kept)) == (1, ["children#1", "units#1"])
    assert rows(conn, "SELECT status, status_since FROM children") == [
        ("dropout", "2025-03-20")]


def test_undo_puts_back_the_school_level_a_roster_changed(run, conn, tmp_path):
    """A roster with grade 7 turns a primary school nine-year; undoing it makes it primary again."""
    kid, older = make_id(date(2016, 3, 4), 1), make_id(date(2012, 3, 4), 2)
    run("import", roster(tmp_path / "r1.xlsx", [roster_row(1, "王小明", kid)]))
    run("import", roster(tmp_path / "r2.xlsx", [roster_row(1, "王小明", kid),
                                                roster_row(2, "李大山", older, grade="七年级")],
                         day="2025年3月20日"))
    level = "SELECT level FROM units WHERE name = '后柳小学'"
    assert conn.execute(level).fetchone()[0] == "nine_year"
    batches.undo(conn, 2)
    assert conn.execute(level).fetchone()[0] == "primary"
    batches.undo(conn, 1)
    assert conn.execute("SELECT count(*) FROM units").fetchone()[0] == 0
