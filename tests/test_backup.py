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
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        return "\n".join(raw.iterdump())


def set_town(conn, town: str) -> None:
    with kdb.transaction(conn):
        conn.execute("INSERT INTO settings VALUES ('town', ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (town,))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def flat(text: str) -> str:
    """Output without whitespace: rich wraps long lines when stderr is not a terminal."""
    return "".join(text.split())


def backup_files(db_path: Path) -> list[Path]:
    folder = kbackup.backups_dir(db_path)
    return sorted(folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- backup


def test_backup_is_a_complete_single_file_copy(conn, db_path, tmp_path):
    set_town(conn, "后柳镇")  # still in the -wal file: the copy must include it
    dest = kbackup.backup(conn, tmp_path / "out" / "copy.db")
    assert dump(dest) == dump(db_path)
    with closing(sqlite3.connect(dest, isolation_level=None)) as raw:
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


def test_cli_backup_when_the_folder_cannot_be_made(run, db_path):
    run("init")
    kbackup.backups_dir(db_path).write_text("a file where the folder should be")
    result = run("backup")
    assert result.exit_code == 1, result.output
    assert flat(result.stderr).startswith("错误：无法建立备份文件夹")


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
    with closing(sqlite3.connect(made[-1], isolation_level=None)) as raw:
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


def m999_add_note(db):
    db.execute("ALTER TABLE children ADD COLUMN note TEXT")


def test_opening_an_older_database_backs_it_up_first(db_path, monkeypatch):
    conn = kdb.connect(db_path)
    set_town(conn, "后柳镇")
    conn.close()
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m999_add_note])
    kdb.connect(db_path).close()
    (saved,) = kbackup.list_backups(db_path)
    assert saved["reason"] == "migrate"
    with closing(sqlite3.connect(saved["path"], isolation_level=None)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS) - 1
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
    with closing(sqlite3.connect(db_path, isolation_level=None)) as raw:
        return raw.execute("SELECT value FROM settings WHERE key = 'town'").fetchone()[0]


def test_restore_brings_back_old_rows_and_keeps_the_replaced_state(good_backup, db_path, conn):
    before = dump(db_path)
    result = kbackup.restore(db_path, good_backup)
    assert town(db_path) == "后柳镇"
    assert conn.execute("SELECT count(*) FROM units").fetchone()[0] == 0  # open connections see it
    assert result["saved"] and dump(Path(result["saved"])) == before
    assert kbackup.list_backups(db_path)[0]["reason"] == "restore"
    assert result["schema_version"] == len(migrations.MIGRATIONS)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_restore_from_the_oldest_automatic_backup(conn, db_path):
    set_town(conn, "最早")
    oldest = kbackup.auto_backup(conn, db_path, "import")
    set_town(conn, "后来")
    for _ in range(kbackup.KEEP - 1):
        kbackup.auto_backup(conn, db_path, "import")
    result = kbackup.restore(db_path, oldest)
    assert town(db_path) == "最早"
    listed = kbackup.list_backups(db_path)
    assert len(listed) == kbackup.KEEP and listed[0]["path"] == result["saved"]
    assert not oldest.exists()  # its content is the live database now


def test_restore_upgrades_an_older_backup(good_backup, db_path, monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m999_add_note])
    result = kbackup.restore(db_path, good_backup)
    current = len(migrations.MIGRATIONS)
    assert (result["source_version"], result["schema_version"]) == (current - 1, current)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as raw:
        assert "note" in [r[1] for r in raw.execute("PRAGMA table_info(children)")]
    assert town(db_path) == "后柳镇"


def test_restore_onto_a_new_machine(good_backup, tmp_path):
    fresh = tmp_path / "new" / "kcbx.db"
    result = kbackup.restore(fresh, good_backup)
    assert result["saved"] is None and town(fresh) == "后柳镇"


def test_restore_replaces_a_database_sqlite_cannot_read(good_backup, db_path, conn):
    conn.close()
    Path(f"{db_path}-shm").unlink(missing_ok=True)
    db_path.write_bytes(b"garbage written by another program" * 100)
    Path(f"{db_path}-wal").write_bytes(b"its old write-ahead log")
    result = kbackup.restore(db_path, good_backup)
    assert town(db_path) == "后柳镇"
    saved = Path(result["saved"])
    assert saved.read_bytes().startswith(b"garbage")
    # a stale -wal beside the new file would be replayed into it: it moves with the old file
    assert Path(f"{saved}-wal").read_bytes() == b"its old write-ahead log"
    with closing(kdb.connect(db_path)) as fresh:
        for _ in range(kbackup.KEEP):
            kbackup.auto_backup(fresh, db_path, "import")
    assert not saved.exists() and not Path(f"{saved}-wal").exists()


def test_restore_source_is_its_own_database(conn, db_path):
    with pytest.raises(FileProblem, match="当前数据库"):
        kbackup.restore(db_path, db_path)


def test_check_source_refuses_unknown_migrations(good_backup, db_path):
    with closing(sqlite3.connect(good_backup, isolation_level=None)) as raw:
        raw.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                    "VALUES ('kcbx', 'm999_future', 'x')")
    before = dump(db_path)
    with pytest.raises(DatabaseError, match="更新版本.*m999_future"):
        kbackup.restore(db_path, good_backup)
    assert dump(db_path) == before


# ---------------------------------------------------------------- CLI


def test_cli_backup_default_and_path(run, db_path, tmp_path):
    assert run("init", "--town", "后柳镇").exit_code == 0
    result = run("backup")
    assert result.exit_code == 0, result.output
    (listed,) = kbackup.list_backups(db_path)
    assert listed["reason"] == "manual" and listed["path"] in result.stdout
    result = run("backup", tmp_path / "备份 1.db")
    assert result.exit_code == 0, result.output
    assert dump(tmp_path / "备份 1.db") == dump(db_path)
    again = run("backup", tmp_path / "备份 1.db")
    assert again.exit_code == 1 and again.stderr.startswith("错误：文件已存在")


def test_cli_backups_lists_json_and_table(run, db_path):
    run("init")
    result = run("backups")
    assert result.exit_code == 0 and "还没有备份" in result.stderr
    run("backup")
    with closing(kdb.connect(db_path)) as conn:
        kbackup.auto_backup(conn, db_path, "import")
    listed = json.loads(run("backups", "--format", "json").stdout)
    assert [b["reason"] for b in listed] == ["import", "manual"]
    assert set(listed[0]) == {"path", "created", "size", "reason"}
    table = run("backups").stdout
    assert "导入前" in table and "手动备份" in table


def test_cli_restore_good_backup(run, good_backup, db_path):
    result = run("restore", good_backup)
    assert result.exit_code == 0, result.output
    assert "已恢复" in result.stdout and "恢复前的数据库已备份到" in result.stdout
    assert town(db_path) == "后柳镇"


def _damage_settings_index(path: Path, edit) -> None:
    """Rewrite the page of the settings index: the header stays valid, the content does not."""
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        page = raw.execute("SELECT rootpage FROM sqlite_master "
                           "WHERE name = 'sqlite_autoindex_settings_1'").fetchone()[0]
        size = raw.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    data[start:start + size] = edit(bytes(data[start:start + size]))
    path.write_bytes(bytes(data))


def _index_mismatch(path: Path) -> None:
    _damage_settings_index(path, lambda page: page.replace(b"town", b"tawn"))


def _garbage_page(path: Path) -> None:
    _damage_settings_index(path, lambda page: b"\xff" * len(page))


def _newer(path: Path) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA user_version = 99")


def _not_kcbx(path: Path) -> None:
    path.unlink()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")


def _not_sqlite(path: Path) -> None:
    path.write_text("身份证号,姓名\n61092220161210193X,曹斌锦\n", encoding="utf-8")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("spoil, message", [
    (_not_sqlite, "不是 SQLite 数据库文件"),
    (_empty, "空文件"),
    (_index_mismatch, "已损坏（完整性检查：row 1 missing from index"),
    (_garbage_page, "已损坏或无法读取"),
    (_newer, "更新版本"),
    (_not_kcbx, "不是 kcbx 数据库"),
])
def test_cli_restore_refuses_bad_sources(run, good_backup, db_path, spoil, message):
    spoil(good_backup)
    before = dump(db_path)
    result = run("restore", good_backup)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("错误：") and flat(message) in flat(result.stderr)
    assert "当前数据库未改动" in flat(result.stderr)
    assert "Traceback" not in result.output
    assert dump(db_path) == before
    assert backup_files(db_path) == []


def test_cli_restore_missing_file(run, db_path, tmp_path):
    run("init")
    result = run("restore", tmp_path / "nope.db")
    assert result.exit_code == 1 and "找不到文件" in flat(result.stderr)


def test_cli_restore_into_a_folder(run, good_backup, tmp_path):
    result = run("--db", tmp_path, "restore", good_backup)
    assert result.exit_code == 1 and "文件夹" in flat(result.stderr)
