"""The spans that `refresh_current` keeps on events (m002), and a v1 database upgrading."""

import sqlite3
from datetime import date

from world import World

from kcbx import db as kdb
from kcbx import history, migrations


def spans(conn, child):
    return [tuple(r) for r in conn.execute(
        "SELECT date, status, applied, next_date, is_first, status_before, since "
        "FROM status_events WHERE child_id = ? ORDER BY id", (child,))]


def test_spans_of_a_history(conn):
    w = World(conn)
    child = w.child()
    w.change(child, "2024-09-24", "dropout", "enrolled")
    w.snap(child, "2024-09-24", "enrolled")          # same day: the snapshot sorts first
    w.change(child, "2024-11-01", "enrolled", "dropout")
    w.snap(child, "2025-02-20", "enrolled")          # contradicts the 辍学: not applied
    w.settle()
    assert spans(conn, child) == [
        ("2024-09-24", "enrolled", 1, "2024-11-01", 0, "enrolled", "2024-09-24"),
        ("2024-09-24", "enrolled", 1, "2024-09-24", 1, "enrolled", "2024-09-24"),
        ("2024-11-01", "dropout", 1, None, 0, "enrolled", "2024-11-01"),
        ("2025-02-20", "enrolled", 0, None, 0, None, None),
    ]
    assert tuple(conn.execute("SELECT status, status_since FROM children").fetchone()) == (
        "dropout", "2024-11-01")


def test_a_snapshot_losing_its_applied_flag_loses_its_span(conn):
    w = World(conn)
    child = w.child()
    w.snap(child, "2025-02-20", "enrolled")
    w.settle()
    w.change(child, "2024-12-01", "enrolled", "dropout")
    history.recompute_applied(conn, [child])
    assert spans(conn, child)[0][2:] == (0, None, 0, None, None)
    assert history.status_on(conn, date(2025, 3, 1)) == {child: ("dropout", None)}


def test_add_manual_takes_prev_status_and_school_from_that_date(conn):
    w = World(conn)
    child = w.child()
    w.snap(child, "2024-09-01", "enrolled", school="后柳中学")
    w.change(child, "2024-10-15", "enrolled", "dropout", "后柳中学", "后柳中学")
    w.settle()
    assert history.add_manual(conn, child, "enrolled", date(2024, 12, 3), "家访核实") == "dropout"
    assert history.add_manual(conn, w.child(), "never_enrolled", date(2025, 1, 1), "摸底") is None
    row = conn.execute("SELECT prev_status, school, prev_school, kind, reason FROM status_events "
                       "WHERE child_id = ? ORDER BY id DESC", (child,)).fetchone()
    assert tuple(row) == ("dropout", "后柳中学", "后柳中学", "manual", "家访核实")
    current = conn.execute("SELECT status FROM children WHERE id = ?", (child,)).fetchone()[0]
    assert current == "enrolled"


def test_a_v1_database_upgrades_with_spans_filled(tmp_path, monkeypatch):
    path = tmp_path / "v1.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    conn = kdb.connect(path)
    conn.execute("INSERT INTO children (id_number, name, gender, birth_date) "
                 "VALUES ('61092220161210193X', '曹斌锦', 'M', '2016-12-10')")
    conn.execute("INSERT INTO status_events (child_id, date, status, prev_status, kind) VALUES "
                 "(1, '2024-12-01', 'enrolled', 'dropout', 'change'), "
                 "(1, '2025-02-20', 'enrolled', NULL, 'snapshot')")
    conn.close()
    monkeypatch.undo()
    conn = kdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert spans(conn, 1) == [
        ("2024-12-01", "enrolled", 1, "2025-02-20", 1, "dropout", "2024-12-01"),
        ("2025-02-20", "enrolled", 1, None, 0, "enrolled", "2024-12-01"),
    ]
    assert history.status_on(conn, date(2024, 9, 1)) == {1: ("dropout", None)}
    index_names = {r[0] for r in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"status_events_span", "status_events_returns", "status_events_alerts"} <= index_names
