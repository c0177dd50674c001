import sqlite3

from kcbx import __version__
from kcbx.migrations import MIGRATIONS


def test_init_creates_and_names_town(run, db_path):
    result = run("init", "--town", "后柳镇")
    assert result.exit_code == 0, result.output
    assert "数据库已就绪" in result.stdout
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT value FROM settings WHERE key='town'").fetchone()[0] == "后柳镇"
    assert run("init").exit_code == 0  # idempotent


def test_info_shows_path_version_counts(run, db_path):
    run("init", "--town", "后柳镇")
    result = run("info")
    assert result.exit_code == 0
    assert str(db_path) in result.stdout
    assert f"结构版本：{len(MIGRATIONS)}" in result.stdout
    assert "children" in result.stdout


def test_paths_are_printed_whole(run, tmp_path):
    """A long path, or one with [brackets], is printed on one line as it is: the clerk copies it."""
    folder = tmp_path / ("控辍保学台账" * 12) / "[2025]"
    folder.mkdir(parents=True)
    db = folder / "台账.db"
    assert f"数据库已就绪：{db}" in run("--db", db, "init").stdout
    assert f"数据库：{db}\n" in run("--db", db, "info").stdout
    out = folder / "周报.md"
    assert f"已写入 {out}\n" in run("--db", db, "report", "weekly", "--format", "md",
                                     "--out", out).stderr


def test_db_option_beats_env(run, tmp_path, db_path):
    other = tmp_path / "other.db"
    assert run("--db", other, "init").exit_code == 0
    assert other.exists() and not db_path.exists()


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_no_args_shows_help(run):
    result = run()
    assert result.exit_code == 2
    assert "kcbx init" in result.output


def test_newer_database_is_a_clear_error(run, db_path):
    run("init")
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 42")
    raw.close()
    result = run("info")
    assert result.exit_code == 1
    assert result.stderr.startswith("错误：")
    assert "Traceback" not in result.output


def test_db_path_that_is_a_directory(run, tmp_path):
    result = run("--db", tmp_path, "info")
    assert result.exit_code == 1
    assert "文件夹" in result.stderr
