import os
import sqlite3
import stat
import subprocess
import sys
import zipfile

import pytest

from kcbx import db as kdb
from kcbx import migrations
from kcbx.errors import DatabaseError


def test_fresh_file_gets_schema_and_mode_0600(tmp_path):
    path = tmp_path / "new" / "k.db"
    conn = kdb.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"settings", "units", "children", "status_events", "flags", "teachers",
            "assignments", "followups", "import_batches", "batch_changes"} <= tables
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO settings VALUES ('town', 'x')")
    conn.execute("COMMIT")
    for suffix in ("", "-wal", "-shm"):
        f = tmp_path / "new" / f"k.db{suffix}"
        if f.exists():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_opening_twice_is_idempotent(tmp_path):
    path = tmp_path / "k.db"
    kdb.connect(path).close()
    conn = kdb.connect(path)
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(
        migrations.MIGRATIONS)


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "k.db"
    kdb.connect(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(DatabaseError, match="更新版本"):
        kdb.connect(path)


def test_unknown_migration_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "k.db"
    kdb.connect(path).close()
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                "VALUES ('kcbx', 'm999_future', 'x')")
    raw.execute("PRAGMA user_version = 0")
    raw.commit()
    raw.close()
    with pytest.raises(DatabaseError, match="不认识"):
        kdb.connect(path)


def test_failing_migration_leaves_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "k.db"
    kdb.connect(path).close()
    released = len(migrations.MIGRATIONS)

    def m999_broken(db):
        db.execute("CREATE TABLE half_done (x)")
        db.execute("THIS IS NOT SQL")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m999_broken])
    with pytest.raises(Exception):
        kdb.connect(path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == released
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name='half_done'").fetchone()[0] == 0


def test_first_migration_is_atomic(tmp_path, monkeypatch):
    monkeypatch.setattr(migrations, "schema_sql",
                        lambda: "CREATE TABLE a (x); CREATE TABLE b (;")
    path = tmp_path / "k.db"
    with pytest.raises(Exception):
        kdb.connect(path)
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM sqlite_master WHERE name='a'").fetchone()[0] == 0
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 0


def test_path_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("KCBX_DB", str(tmp_path / "env.db"))
    assert kdb.resolve_path(tmp_path / "opt.db") == tmp_path / "opt.db"
    assert kdb.resolve_path(None) == tmp_path / "env.db"
    monkeypatch.delenv("KCBX_DB")
    assert kdb.resolve_path(None).name == "kcbx.db"


def test_constraints_keep_data_honest(conn):
    conn.execute("INSERT INTO units (kind, name) VALUES ('school', '后柳小学')")
    conn.execute("INSERT INTO children (id_number, name, gender, birth_date) "
                 "VALUES ('61092220161210193X', '曹斌锦', 'M', '2016-12-10')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO children (id_number, name, gender, birth_date) "
                     "VALUES ('61092220161210193X', '别人', 'M', '2016-12-10')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO status_events (child_id, date, status, kind) "
                     "VALUES (1, '2025-01-01', 'gone', 'manual')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO status_events (child_id, date, status, kind) "
                     "VALUES (99, '2025-01-01', 'enrolled', 'manual')")
    conn.execute("INSERT INTO teachers (school_id, name) VALUES (1, '吕梅')")
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                 "VALUES (1, 1, '2025-01-01', 'auto')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                     "VALUES (1, 1, '2025-01-02', 'auto')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO flags (child_id, flag, reason, source, raised_on) "
                     "VALUES (1, 'lazy', 'x', 'manual', '2025-01-01')")


def test_wheel_ships_schema(tmp_path):
    """A non-editable install finds schema.sql inside the package."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), root], check=True)
    wheel = next((tmp_path / "dist").glob("kcbx-*.whl"))
    assert "kcbx/schema.sql" in zipfile.ZipFile(wheel).namelist()
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("import kcbx.migrations as m, pathlib; "
            "assert pathlib.Path(m.__file__).is_relative_to(pathlib.Path(r'%s')); "
            "print(len(m.schema_sql()))" % target)
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(target)},
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    assert int(out.stdout) > 1000


def test_alongside_works_on_a_second_connection_and_returns_its_result(tmp_path):
    conn = kdb.connect(tmp_path / "k.db")
    with kdb.transaction(conn):
        conn.execute("INSERT INTO settings VALUES ('town', '后柳镇')")
    seen = []

    def work(other):
        seen.append(other)
        return other.execute("SELECT value FROM settings").fetchone()[0]

    with kdb.alongside(conn, work) as town:
        mine = conn.execute("SELECT count(*) FROM settings").fetchone()[0]
    assert (town.result(), mine) == ("后柳镇", 1)
    assert seen[0] is not conn


def test_alongside_raises_the_others_error_and_runs_in_memory_on_the_same_connection():
    conn = kdb.connect(":memory:")
    with kdb.alongside(conn, lambda other: other) as same:
        pass
    assert same.result() is conn
    with kdb.alongside(conn, lambda other: other.execute("SELECT nothing")) as failed:
        pass
    with pytest.raises(sqlite3.OperationalError):
        failed.result()


def test_an_error_in_the_block_stops_the_other_query(tmp_path):
    conn = kdb.connect(tmp_path / "k.db")
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    with pytest.raises(KeyError):
        with kdb.alongside(conn, lambda other: other.execute(endless).fetchone()) as other:
            while not other.running():
                pass
            raise KeyError("the caller's error")
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        other.result()
