"""m005, m006: the status CHECKs and the partial indexes compare with each code instead of
an IN list, and mean the same."""

import sqlite3

import pytest

from kcbx import db as kdb
from kcbx import history, migrations


def test_in_lists_become_comparisons_that_give_the_same_answers():
    sql = "CHECK (s IS NULL OR s IN ('a', 'b',\n  'c')), CHECK (g IN ('M', 'F'))"
    assert migrations._as_comparisons(sql) == (
        "CHECK (s IS NULL OR (s = 'a' OR s = 'b' OR s = 'c')), CHECK (g IN ('M', 'F'))")
    raw = sqlite3.connect(":memory:")
    for value in ("a", "c", "x", None, ""):
        assert (raw.execute("SELECT ? IN ('a', 'b', 'c')", (value,)).fetchone()
                == raw.execute("SELECT (? = 'a' OR ? = 'b' OR ? = 'c')", (value,) * 3).fetchone())


def upgraded(path, monkeypatch, migration, *statements: str) -> sqlite3.Connection:
    """A database made by the migrations before `migration`, holding what `statements`
    insert, then opened by this kcbx (which upgrades it): the connection."""
    before = migrations.MIGRATIONS.index(migration)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:before])
    conn = kdb.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.close()
    monkeypatch.undo()
    conn = kdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return conn


def test_a_v3_database_upgrades_and_its_constraints_still_hold(tmp_path, monkeypatch):
    conn = upgraded(
        tmp_path / "v3.db", monkeypatch, migrations.m005_checks_without_in_lists,
        "INSERT INTO children (id_number, name, gender, birth_date, status) "
        "VALUES ('61092220161210193X', '曹斌锦', 'M', '2016-12-10', 'enrolled')",
        "INSERT INTO status_events (child_id, date, status, prev_status, kind) "
        "VALUES (1, '2025-01-01', 'enrolled', NULL, 'snapshot')")
    assert conn.execute("SELECT count(*) FROM children").fetchone()[0] == 1
    tables = "".join(r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE name IN ('children', 'status_events')"))
    assert "IN ('enrolled'" not in tables and "IN ('snapshot'" not in tables
    for bad in ["UPDATE children SET status = 'gone'",
                "INSERT INTO status_events (child_id, date, status, kind) "
                "VALUES (1, '2025-02-01', 'gone', 'manual')",
                "INSERT INTO status_events (child_id, date, status, prev_status, kind) "
                "VALUES (1, '2025-02-01', 'dropout', 'gone', 'change')",
                "INSERT INTO status_events (child_id, date, status, kind) "
                "VALUES (1, '2025-02-01', 'dropout', 'guess')"]:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(bad)
    conn.execute("INSERT INTO status_events (child_id, date, status, prev_status, kind) "
                 "VALUES (1, '2025-02-01', 'dropout', 'enrolled', 'change')")


class Defensive:
    """A connection as a "defensive" SQLite build gives it: sqlite_master is read-only."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith("UPDATE SQLITE_MASTER"):
            raise sqlite3.OperationalError("table sqlite_master may not be modified")
        return self.conn.execute(sql, *args)


def test_a_defensive_sqlite_keeps_the_in_lists_and_opens_the_database(tmp_path):
    conn = kdb.connect(tmp_path / "d.db")
    before = conn.execute("SELECT group_concat(sql) FROM sqlite_master").fetchone()[0]
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    migrations.m005_checks_without_in_lists(type("Db", (), {"conn": Defensive(conn)})())
    assert conn.execute("SELECT group_concat(sql) FROM sqlite_master").fetchone()[0] == before
    assert conn.execute("PRAGMA schema_version").fetchone()[0] == version
    assert conn.execute("PRAGMA writable_schema").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_v5_database_gets_partial_indexes_its_queries_still_use(tmp_path, monkeypatch):
    conn = upgraded(
        tmp_path / "v5.db", monkeypatch, migrations.m006_partial_indexes_without_in_lists,
        "INSERT INTO children (id_number, name, gender, birth_date) "
        "VALUES ('61092220161210193X', '曹斌锦', 'M', '2016-12-10')",
        "INSERT INTO status_events (child_id, date, status, kind, applied, status_before) "
        "VALUES (1, '2025-03-01', 'enrolled', 'change', 1, 'dropout'), "
        "(1, '2025-02-01', 'dropout', 'change', 1, 'enrolled')")
    indexes = "".join(r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE name IN ('status_events_returns', 'status_events_alerts')"))
    assert " IN (" not in indexes and "status_before = 'dropout'" in indexes
    for where, index, dates in ((history.is_return("e"), "status_events_returns", ["2025-03-01"]),
                                (history.is_alert("e"), "status_events_alerts",
                                 ["2025-02-01", "2025-03-01"])):
        # INDEXED BY fails ("no query solution") unless the query's terms imply the index's
        sql = f"SELECT e.date FROM status_events e INDEXED BY {index} WHERE {where}"
        assert sorted(r[0] for r in conn.execute(sql)) == dates
