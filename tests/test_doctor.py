import json
import os
import sqlite3
from contextlib import closing

import pytest

from kcbx import backup as kbackup
from kcbx import db as kdb
from kcbx import doctor, idcard, migrations
from kcbx.errors import DatabaseError

posix_only = pytest.mark.skipif(os.name == "nt", reason="file modes are POSIX")

BOY = "61092220161210193" + idcard.check_char("61092220161210193")  # 2016-12-10, male


def add_child(conn, id_number=BOY, birth="2016-12-10", gender="M"):
    """A child with a status event, a flag, a teacher and an open pairing."""
    with kdb.transaction(conn):
        conn.execute("INSERT INTO units (kind, name) VALUES ('school', '后柳小学')")
        child = conn.execute("INSERT INTO children (id_number, name, gender, birth_date) "
                             "VALUES (?, '曹斌锦', ?, ?)", (id_number, gender, birth)).lastrowid
        conn.execute("INSERT INTO status_events (child_id, date, status, kind) "
                     "VALUES (?, '2025-02-20', 'enrolled', 'snapshot')", (child,))
        conn.execute("INSERT INTO flags (child_id, flag, reason, source, raised_on) "
                     "VALUES (?, 'hardship', '低保户', 'rule:hardship', '2025-02-20')", (child,))
        conn.execute("INSERT INTO teachers (school_id, name) VALUES (1, '吕梅')")
        conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                     "VALUES (?, 1, '2025-02-20', 'auto')", (child,))
    return child


def by_code(findings):
    return {f.code: f for f in findings}


def raw(db_path):
    """A plain connection, foreign keys off: what another tool editing the file would use."""
    return closing(sqlite3.connect(db_path, isolation_level=None))


def test_healthy_database(conn, db_path):
    add_child(conn)
    findings = doctor.diagnose(conn, db_path)
    assert [f.level for f in findings] == ["ok"] * len(findings)
    assert set(by_code(findings)) == set(doctor.CHECKS) - {"open"}
    assert findings[-1] == doctor.Finding("ok", "verdict", "数据库健康。")
    assert not doctor.has_errors(findings)


def test_birth_date_disagreeing_with_the_id(conn, db_path):
    add_child(conn, birth="2016-12-11")
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["birth_mismatch"].level == "error"
    assert "2016-12-11" in found["birth_mismatch"].message
    assert idcard.mask(BOY) in found["birth_mismatch"].message
    assert BOY not in found["birth_mismatch"].message
    assert found["gender_mismatch"].level == "ok"
    assert found["verdict"].level == "error"


def test_gender_disagreeing_with_the_id(conn, db_path):
    add_child(conn, gender="F")
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["gender_mismatch"].level == "error"
    assert "库中 女，身份证号为 男" in found["gender_mismatch"].message
    assert found["birth_mismatch"].level == "ok"


def test_an_id_without_a_real_birth_date(conn, db_path):
    bad = "610922201613401930"  # month 13
    add_child(conn, id_number=bad)
    found = by_code(doctor.diagnose(conn, db_path))
    assert "无效日期" in found["birth_mismatch"].message


def test_orphan_rows_written_by_another_tool(conn, db_path):
    add_child(conn)
    with raw(db_path) as other:
        other.execute("INSERT INTO status_events (child_id, date, status, kind) "
                      "VALUES (999, '2025-02-20', 'dropout', 'manual')")
        other.execute("INSERT INTO followups (child_id, date, by_name) "
                      "VALUES (999, '2025-02-21', '吕梅')")
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["orphan_rows"].level == "error"
    assert "1 条状态记录（status_events）" in found["orphan_rows"].message
    assert "1 条帮扶记录（followups）" in found["orphan_rows"].message
    assert found["foreign_keys"].level == "ok"  # the same rows are not reported twice


def test_other_broken_references(conn, db_path):
    add_child(conn)
    with raw(db_path) as other:
        other.execute("INSERT INTO teachers (school_id, name) VALUES (77, '不存在学校的老师')")
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["foreign_keys"].level == "error"
    assert "teachers 1 行指向不存在的 units" in found["foreign_keys"].message
    assert found["orphan_rows"].level == "ok"


def test_two_open_pairings_for_one_child(conn, db_path):
    child = add_child(conn)
    with raw(db_path) as other:
        other.execute("DROP INDEX assignments_one_open")
        other.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                      "VALUES (?, 1, '2025-03-01', 'manual')", (child,))
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["open_assignments"].level == "error"
    assert "2 位" in found["open_assignments"].message


@posix_only
def test_loose_file_permissions(conn, db_path):
    kbackup.auto_backup(conn, db_path, "import")
    assert by_code(doctor.diagnose(conn, db_path))["permissions"].level == "ok"
    os.chmod(db_path, 0o644)
    os.chmod(kbackup.backups_dir(db_path), 0o755)
    finding = by_code(doctor.diagnose(conn, db_path))["permissions"]
    assert finding.level == "error"
    assert f"{db_path}（644）" in finding.message
    assert f"{kbackup.backups_dir(db_path)}（755）" in finding.message


def test_older_schema_is_a_warning(conn, db_path, monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, lambda db: None])
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["schema_version"].level == "warn"
    assert found["verdict"] == doctor.Finding("warn", "verdict", "数据库可以使用，有 1 个提醒。")


def test_newer_schema_is_an_error_and_data_checks_are_skipped(conn, db_path):
    conn.execute("PRAGMA user_version = 99")
    found = by_code(doctor.diagnose(conn, db_path))
    assert found["schema_version"].level == "error" and "更新版本" in found["schema_version"].message
    assert "orphan_rows" not in found


def test_not_a_kcbx_database(db_path):
    with raw(db_path) as other:
        other.execute("CREATE TABLE photos (id)")
    finding = by_code(doctor.examine(db_path))["schema_version"]
    assert finding.level == "error" and "children" in finding.message


def damage(db_path, page_of, edit):
    """Rewrite one page of a closed database: `edit(bytes) -> bytes` of the page of `page_of`."""
    with closing(sqlite3.connect(db_path)) as other:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = other.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                             (page_of,)).fetchone()[0]
        size = other.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db_path.read_bytes())
    start = (page - 1) * size
    data[start:start + size] = edit(bytes(data[start:start + size]))
    db_path.write_bytes(bytes(data))


@pytest.mark.parametrize("edit, shown", [
    (lambda page: page.replace(b"town", b"tawn"), "row 1 missing from index"),
    (lambda page: b"\xff" * len(page), "malformed"),
])
def test_damaged_pages(conn, db_path, edit, shown):
    conn.execute("INSERT INTO settings VALUES ('town', '后柳镇')")
    conn.close()
    damage(db_path, "sqlite_autoindex_settings_1", edit)
    found = by_code(doctor.examine(db_path))
    assert found["integrity"].level == "error"
    assert found["integrity"].message.startswith("文件已损坏：") and shown in found["integrity"].message
    assert found["verdict"].level == "error"


def test_a_file_sqlite_cannot_open(db_path):
    db_path.write_bytes(b"this is not a database at all" * 50)
    found = by_code(doctor.examine(db_path))
    assert found["open"].level == "error" and "kcbx restore" in found["open"].message
    assert found["verdict"].level == "error"


def test_missing_database_is_not_created(tmp_path):
    with pytest.raises(DatabaseError, match="找不到数据库"):
        doctor.examine(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


# ---------------------------------------------------------------- CLI


def test_cli_doctor_on_a_healthy_database(run, conn):
    add_child(conn)
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert "数据库健康" in result.stdout and "完整性" in result.stdout
    findings = json.loads(run("doctor", "--format", "json").stdout)
    assert findings[-1] == {"level": "ok", "code": "verdict", "message": "数据库健康。"}
    assert {f["level"] for f in findings} == {"ok"}


def test_cli_doctor_exits_1_on_an_error(run, conn):
    add_child(conn, birth="2016-12-11")
    result = run("doctor", "--format", "json")
    assert result.exit_code == 1
    codes = {f["code"]: f["level"] for f in json.loads(result.stdout)}
    assert codes["birth_mismatch"] == "error" and codes["verdict"] == "error"
    assert BOY not in result.stdout


def test_cli_doctor_without_a_database(run, db_path):
    result = run("doctor")
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：找不到数据库") and "kcbx init" in result.stderr
    assert not db_path.exists()
