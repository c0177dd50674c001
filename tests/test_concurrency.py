"""Two kcbx processes on one database at the same time (SPEC §7, issue 9).

Real subprocesses, started together. A writer takes the write lock up front (BEGIN
IMMEDIATE) and a second writer waits for it (busy timeout 120 s), so whatever the timing
the result must be one of the serial orders: never "database is locked", never a mix.
Where the tests need the two processes to overlap for certain, the test itself holds the
write lock until both have read their files and made their automatic backup, then lets go.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

import pytest
from procs import ROOT, checkpoint, dump, env, kcbx, start
from sheets import census, census_row, make_id

from kcbx.demo import generate, write_sheets
from kcbx.migrations import MIGRATIONS

CHILDREN = 1000


@pytest.fixture(scope="module")
def township(tmp_path_factory) -> dict[str, list[Path]]:
    """A demo township's sheets, split into two calls of different files (A and B)."""
    folder = tmp_path_factory.mktemp("township")
    files = write_sheets(generate(CHILDREN, seed=7), folder)
    censuses = sorted(f for f in files if f.name.startswith("census_"))
    rosters = sorted(f for f in files if f.name.startswith("roster_"))
    return {"A": censuses[0::2] + rosters[:1], "B": censuses[1::2] + rosters[1:]}


@pytest.fixture(scope="module")
def base(tmp_path_factory, township) -> Path:
    """A database holding the teachers' list: the state both calls start from."""
    db = tmp_path_factory.mktemp("base") / "kcbx.db"
    assert kcbx(db, "init", "--town", "后柳镇").returncode == 0
    teachers = township["A"][0].parent / "teachers.xlsx"
    assert kcbx(db, "import", teachers).returncode == 0
    checkpoint(db)
    return db


def fresh_copy(base: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "kcbx.db"
    shutil.copy(base, db)
    return db


@pytest.fixture(scope="module")
def serial(tmp_path_factory, base, township) -> dict[str, tuple]:
    """The two serial orders: (exit codes of A and B, final dump) for A then B and B then A."""
    outcomes = {}
    for order in ("AB", "BA"):
        db = fresh_copy(base, tmp_path_factory.mktemp(order))
        codes = {}
        for name in order:
            done = kcbx(db, "import", *township[name], "--format", "json")
            codes[name] = done.returncode
        outcomes[order] = ((codes["A"], codes["B"]), dump(db))
    return outcomes


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def no_lock_errors(*stderrs: str) -> None:
    for err in stderrs:
        assert "locked" not in err and "占用" not in err and "Traceback" not in err, err


def import_backups(db: Path) -> list[Path]:
    return sorted((db.parent / "backups").glob(f"{db.stem}-*-import.db"))


@contextmanager
def write_lock(db: Path):
    """Hold the database's write lock (as a long import would) until the block ends."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("COMMIT")


def wait_for(condition, processes, timeout: float = 60) -> None:
    """Poll until `condition()`; fail early with stderr if a process has ended instead."""
    deadline = time.monotonic() + timeout
    while not condition():
        for p in processes:
            if p.poll() is not None:
                pytest.fail(f"kcbx ended early ({p.returncode}): {p.stderr.read()}")
        assert time.monotonic() < deadline, "timed out waiting for the processes"
        time.sleep(0.01)


def test_subprocesses_import_this_checkout(tmp_path):
    probe = subprocess.run([sys.executable, "-c", "import kcbx; print(kcbx.__file__)"],
                           cwd=ROOT, env=env(tmp_path / "x.db"), capture_output=True, text=True)
    assert Path(probe.stdout.strip()) == ROOT / "kcbx" / "__init__.py"


def test_two_imports_started_together_equal_one_serial_order(tmp_path, base, township, serial):
    db = fresh_copy(base, tmp_path)
    a = start(db, "import", *township["A"], "--format", "json")
    b = start(db, "import", *township["B"], "--format", "json")
    (code_a, out_a, err_a), (code_b, out_b, err_b) = finish(a), finish(b)
    no_lock_errors(err_a, err_b)
    assert {code_a, code_b} <= {0, 3}
    json.loads(out_a), json.loads(out_b)
    assert ((code_a, code_b), dump(db)) in list(serial.values())


def test_an_import_queued_behind_a_writer_waits_then_lands(tmp_path, base, township, serial):
    # Both imports read their files and back the database up while another writer holds
    # the lock; then they queue for it. The backup must not fail on the busy database.
    db = fresh_copy(base, tmp_path)
    with write_lock(db):
        a = start(db, "import", *township["A"], "--format", "json")
        b = start(db, "import", *township["B"], "--format", "json")
        wait_for(lambda: len(import_backups(db)) == 2, [a, b])
        time.sleep(0.2)  # both are now waiting in BEGIN IMMEDIATE
    (code_a, _, err_a), (code_b, _, err_b) = finish(a), finish(b)
    no_lock_errors(err_a, err_b)
    assert ((code_a, code_b), dump(db)) in list(serial.values())
    for backup in import_backups(db):  # each backup is the database before any import
        assert dump(backup)["children"] == []


def test_readers_during_an_import_see_before_or_after_never_between(tmp_path, base, township):
    db = fresh_copy(base, tmp_path)
    before = json.loads(kcbx(db, "imports", "--format", "json").stdout)
    files = township["A"] + township["B"]
    importer = start(db, "import", *files, "--format", "json")
    seen = []
    while importer.poll() is None or not seen:
        info = kcbx(db, "info")
        listing = kcbx(db, "imports", "--format", "json")
        no_lock_errors(info.stderr, listing.stderr)
        assert (info.returncode, listing.returncode) == (0, 0), (info.stderr, listing.stderr)
        assert "数据库" in info.stdout
        seen.append(len(json.loads(listing.stdout)))
    code, out, err = finish(importer)
    no_lock_errors(err)
    assert code == 3  # the demo's planted bad rows
    after = len(before) + len(json.loads(out)["batches"])
    assert set(seen) <= {len(before), after}, seen


def test_the_same_file_imported_twice_at_once_lands_once(tmp_path, base):
    db = fresh_copy(base, tmp_path)
    rows = [census_row(i, f"学生{i}", make_id(date(2015, 3, 4), i))
            for i in range(1, 30)]
    sheet = census(tmp_path / "花名册.xlsx", rows)
    with write_lock(db):
        a = start(db, "import", sheet)
        b = start(db, "import", sheet)
        wait_for(lambda: len(import_backups(db)) == 2, [a, b])
        time.sleep(0.2)  # both have found the file new and wait for the lock
    (code_a, out_a, err_a), (code_b, out_b, err_b) = finish(a), finish(b)
    no_lock_errors(err_a, err_b)
    assert (code_a, code_b) == (0, 0), (err_a, err_b)
    # one imported it, the other says it skipped it, as a second import after the first would
    assert sorted(["导入结果" in out_a, "导入结果" in out_b]) == [False, True], (out_a, out_b)
    assert (err_a + err_b).count("已经导入过（内容相同），本次跳过") == 1, (err_a, err_b)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM import_batches WHERE file_name = '花名册.xlsx'"
                            ).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM children").fetchone()[0] == 29


def test_first_runs_on_a_new_database_at_once_all_succeed(tmp_path):
    # cron's report and the clerk's first command on a database that does not exist yet:
    # both create it; the second must wait for the first's tables, not fail on them.
    db = tmp_path / "new.db"
    processes = [start(db, "init", "--town", "后柳镇"), start(db, "init"), start(db, "info"),
                 start(db, "imports", "--format", "json")]
    results = [finish(p) for p in processes]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]
    no_lock_errors(*(err for _, _, err in results))
    with closing(sqlite3.connect(db)) as conn:
        applied = conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    assert applied == len(MIGRATIONS)  # each migration once
