import json
import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from kcbx import backup as kbackup
from kcbx import db as kdb
from kcbx import migrations
from kcbx.errors import DatabaseError, FileProblem

posix_only = pytest.mark.skipif(os.name == "nt", reason="file modes are POSIX")


def dump(path: Path) -> str:
    """Every statement needed to rebuild the database: equal dumps, equal databases."""
    with sqlite3.connect(path) as raw:
        return "\n".join(raw.iterdump())


def set_town(conn, town: str) -> None:
    with kdb.transaction(conn):
        conn.execute("INSERT INTO settings VALUES ('town', ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (town,))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def backup_files(db_path: Path) -> list[Path]:
    folder = kbackup.backups_dir(db_path)
    return sorted(folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- backup


def test_backup_is_a_complete_single_file_copy(conn, db_path, tmp_path):
    set_town(conn, "后柳镇")  # still in the -wal file: the copy must include it
    dest = kbackup.backup(conn, tmp_path / "out" / "copy.db")
    assert dump(dest) == dump(db_path)
    with sqlite3.connect(dest) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["copy.db"]  # no temp, no -wal


@posix_only
def test_backup_file_is_owner_only(conn, tmp_path):
    old = os.umask(0o022)  # even under a permissive umask
    try:
        dest = kbackup.backup(conn, tmp_path / "copy.db")
    finally:
        os.umask(old)
    assert mode(dest) == 0o600


def test_failed_backup_leaves_no_file(conn, tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kbackup.os, "replace", broken_replace)
    with pytest.raises(FileProblem, match="无法写入备份"):
        kbackup.backup(conn, tmp_path / "out" / "copy.db")
    assert list((tmp_path / "out").iterdir()) == []


@posix_only
def test_auto_backup_name_folder_and_modes(conn, db_path):
    dest = kbackup.auto_backup(conn, db_path, "import")
    assert dest.parent == db_path.parent / "backups"
    assert mode(dest.parent) == 0o700 and mode(dest) == 0o600
    stem, day, clock, micro, reason = dest.stem.split("-")
    assert (stem, reason) == ("kcbx", "import")
    assert (len(day), len(clock), len(micro)) == (8, 6, 6)


def test_reason_must_be_a_known_word(conn, db_path):
    with pytest.raises(ValueError):
        kbackup.auto_backup(conn, db_path, "61092220161210193X")
    assert backup_files(db_path) == []


def test_only_the_last_ten_automatic_backups_are_kept(conn, db_path):
    manual = kbackup.manual_backup(conn, db_path)
    made = []
    for n in range(kbackup.KEEP + 2):
        set_town(conn, f"镇{n}")
        made.append(kbackup.auto_backup(conn, db_path, "import"))
    left = set(backup_files(db_path))
    assert left == {manual, *made[2:]}
    newest = kbackup.list_backups(db_path)[0]
    assert newest["path"] == str(made[-1]) and newest["reason"] == "import"
    with sqlite3.connect(made[-1]) as raw:
        assert raw.execute("SELECT value FROM settings").fetchone()[0] == f"镇{kbackup.KEEP + 1}"


def test_list_backups_newest_first_with_size_and_reason(conn, db_path):
    assert kbackup.list_backups(db_path) == []
    first = kbackup.auto_backup(conn, db_path, "undo")
    second = kbackup.manual_backup(conn, db_path)
    (kbackup.backups_dir(db_path) / "notes.txt").write_text("not a backup")
    listed = kbackup.list_backups(db_path)
    assert [b["path"] for b in listed] == [str(second), str(first)]
    assert [b["reason"] for b in listed] == ["manual", "undo"]
    assert listed[0]["size"] == second.stat().st_size > 0
    assert len(listed[0]["created"]) == len("2025-03-01 10:20:30")


def test_manual_backup_never_overwrites(conn, db_path, tmp_path):
    target = tmp_path / "花名册.xlsx"
    target.write_bytes(b"PK precious")
    with pytest.raises(FileProblem, match="已存在"):
        kbackup.manual_backup(conn, db_path, target)
    assert target.read_bytes() == b"PK precious"
    with pytest.raises(FileProblem, match="已存在"):
        kbackup.manual_backup(conn, db_path, db_path)


def test_manual_backup_into_a_folder_uses_the_standard_name(conn, db_path, tmp_path):
    usb = tmp_path / "U盘 备份"
    usb.mkdir()
    dest = kbackup.manual_backup(conn, db_path, usb)
    assert dest.parent == usb and dest.name.startswith("kcbx-") and dest.name.endswith("-manual.db")


# ---------------------------------------------------------------- backup before migration


def m002_add_note(db):
    db.execute("ALTER TABLE children ADD COLUMN note TEXT")


def test_opening_an_older_database_backs_it_up_first(db_path, monkeypatch):
    conn = kdb.connect(db_path)
    set_town(conn, "后柳镇")
    conn.close()
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m002_add_note])
    kdb.connect(db_path).close()
    (saved,) = kbackup.list_backups(db_path)
    assert saved["reason"] == "migrate"
    with sqlite3.connect(saved["path"]) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
        assert raw.execute("SELECT value FROM settings").fetchone()[0] == "后柳镇"
    kdb.connect(db_path).close()  # already up to date: no second copy
    assert len(kbackup.list_backups(db_path)) == 1


def test_new_and_current_databases_are_not_backed_up(db_path):
    kdb.connect(db_path).close()
    kdb.connect(db_path).close()
    assert not kbackup.backups_dir(db_path).exists()


# ---------------------------------------------------------------- restore


@pytest.fixture
def good_backup(conn, db_path, tmp_path):
    """A backup of a database with town 后柳镇, after which the live town becomes 别的镇."""
    set_town(conn, "后柳镇")
    saved = kbackup.backup(conn, tmp_path / "good.db")
    set_town(conn, "别的镇")
    with kdb.transaction(conn):
        conn.execute("INSERT INTO units (kind, name) VALUES ('village', '中坝村')")
    return saved


def town(db_path: Path) -> str:
    with sqlite3.connect(db_path) as raw:
        return raw.execute("SELECT value FROM settings WHERE key = 'town'").fetchone()[0]


def test_restore_brings_back_old_rows_and_keeps_the_replaced_state(good_backup, db_path, conn):
    before = dump(db_path)
    result = kbackup.restore(db_path, good_backup)
    assert town(db_path) == "后柳镇"
    assert conn.execute("SELECT count(*) FROM units").fetchone()[0] == 0  # open connections see it
    assert result["saved"] and dump(Path(result["saved"])) == before
    assert kbackup.list_backups(db_path)[0]["reason"] == "restore"
    assert result["schema_version"] == len(migrations.MIGRATIONS)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_restore_upgrades_an_older_backup(good_backup, db_path, monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m002_add_note])
    result = kbackup.restore(db_path, good_backup)
    assert (result["source_version"], result["schema_version"]) == (1, 2)
    with sqlite3.connect(db_path) as raw:
        assert "note" in [r[1] for r in raw.execute("PRAGMA table_info(children)")]
    assert town(db_path) == "后柳镇"


def test_restore_onto_a_new_machine(good_backup, tmp_path):
    fresh = tmp_path / "new" / "kcbx.db"
    result = kbackup.restore(fresh, good_backup)
    assert result["saved"] is None and town(fresh) == "后柳镇"


def test_restore_replaces_a_database_sqlite_cannot_read(good_backup, db_path, conn):
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_path.write_bytes(b"garbage written by another program" * 100)
    result = kbackup.restore(db_path, good_backup)
    assert town(db_path) == "后柳镇"
    assert Path(result["saved"]).read_bytes().startswith(b"garbage")


def test_restore_source_is_its_own_database(conn, db_path):
    with pytest.raises(FileProblem, match="当前数据库"):
        kbackup.restore(db_path, db_path)


def test_check_source_refuses_unknown_migrations(good_backup, db_path):
    with sqlite3.connect(good_backup) as raw:
        raw.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                    "VALUES ('kcbx', 'm999_future', 'x')")
    before = dump(db_path)
    with pytest.raises(DatabaseError, match="更新版本"):
        kbackup.restore(db_path, good_backup)
    assert dump(db_path) == before
