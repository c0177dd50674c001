"""SIGKILL during `kcbx import` leaves the database as it was before, or as after (SPEC §6, §7).

A real import subprocess of a demo township (a few thousand children, written once) is
killed at several points: while Python starts and the sheets are read, while the automatic
backup is written, just before the write transaction, and while the transaction writes
pages into the -wal file (watched from here: no hooks in kcbx). Afterwards `kcbx doctor`
must pass and every table must equal the state before the import, or, if the kill came
after the commit, the state after a complete import: nothing in between.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from datetime import date
from pathlib import Path

import pytest
from procs import checkpoint, dump, kcbx, start
from sheets import census, census_row, make_id

from kcbx import cli, importer
from kcbx.demo import generate, write_sheets

CHILDREN = 3000  # enough that the transaction spills pages into the -wal before COMMIT


def wal(db: Path) -> int:
    try:
        return os.stat(f"{db}-wal").st_size
    except FileNotFoundError:
        return 0


def backups(db: Path) -> list[str]:
    folder = db.parent / "backups"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def import_done_backup(db: Path) -> bool:
    return any(name.endswith("-import.db") for name in backups(db))


@pytest.fixture(scope="module")
def township(tmp_path_factory) -> dict[str, list[Path]]:
    """The demo's sheets: a few to start from, the rest for the import that gets killed."""
    folder = tmp_path_factory.mktemp("township")
    files = sorted(write_sheets(generate(CHILDREN, seed=11), folder))
    first = [f for f in files if f.name in ("teachers.xlsx", "census_中坝村.xlsx")]
    return {"first": first, "rest": [f for f in files if f not in first]}


@pytest.fixture(scope="module")
def base(tmp_path_factory, township) -> Path:
    """A database that already holds a village and the teachers: the 'before' state."""
    db = tmp_path_factory.mktemp("base") / "kcbx.db"
    assert kcbx(db, "init", "--town", "后柳镇").returncode == 0
    assert kcbx(db, "import", *township["first"]).returncode in (0, 3)
    checkpoint(db)
    return db


def copy_of(base: Path, folder: Path) -> Path:
    db = folder / "kcbx.db"
    shutil.copy(base, db)
    return db


@pytest.fixture(scope="module")
def states(tmp_path_factory, base, township) -> dict:
    """Dumps before and after a complete import, and how that import went over time."""
    db = copy_of(base, tmp_path_factory.mktemp("full"))
    process = start(db, "import", *township["rest"], "--format", "json")
    began, backed_up, largest = time.monotonic(), None, 0
    while process.poll() is None:
        largest = max(largest, wal(db))
        if backed_up is None and import_done_backup(db):
            backed_up = time.monotonic() - began
        time.sleep(0.002)
    _, err = process.communicate()
    assert process.returncode == 3, err  # the demo plants rows that must be rejected
    assert backed_up is not None and largest > 0
    return {"before": dump(base), "after": dump(db), "backed_up": backed_up, "wal": largest}


# Kill points: (name, condition on seconds since start, -wal size, states of the full run)
KILL_POINTS = {
    "while Python starts": lambda t, w, db, s: t >= 0.05,
    "while reading the sheets": lambda t, w, db, s: t >= s["backed_up"] * 0.6,
    "while backing up": lambda t, w, db, s: (db.parent / "backups").is_dir(),
    "just before the transaction": lambda t, w, db, s: import_done_backup(db),
    "at the first page written": lambda t, w, db, s: w > 0,
    "a third into the writes": lambda t, w, db, s: w >= s["wal"] / 3,
    "two thirds into the writes": lambda t, w, db, s: w >= s["wal"] * 2 / 3,
    "at the commit": lambda t, w, db, s: w >= s["wal"] * 0.98,
}


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_leaves_the_state_before_or_after(point, tmp_path, base, township, states):
    db = copy_of(base, tmp_path)
    condition = KILL_POINTS[point]
    process = start(db, "import", *township["rest"], "--format", "json")
    began = time.monotonic()
    while process.poll() is None and not condition(time.monotonic() - began, wal(db), db, states):
        time.sleep(0.0005)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    killed = process.returncode == -signal.SIGKILL
    # every point but the last is well before the commit: the kill must have landed
    assert killed or point == "at the commit", f"the import ended before '{point}'"
    doctor = kcbx(db, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    after = dump(db)
    if killed and after != states["after"]:
        assert after == states["before"], "a killed import left a half state"
    else:
        assert after == states["after"]


def test_ctrl_c_in_the_middle_of_the_writes_rolls_back_and_says_what_happened(
        tmp_path, base, township, states):
    db = copy_of(base, tmp_path)
    process = start(db, "import", *township["rest"], "--format", "json")
    while process.poll() is None and wal(db) < states["wal"] / 3:
        time.sleep(0.0005)
    assert process.poll() is None, "the import ended before a third of its writes"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate()
    assert process.returncode == 130, err
    assert kcbx(db, "doctor").returncode == 0
    # A Ctrl-C that arrives while COMMIT runs surfaces after it: then the import is in, and
    # the message must say so instead of "unchanged".
    if dump(db) == states["before"]:
        assert err.strip() == "已取消，数据库未被改动。"
    else:
        assert dump(db) == states["after"]
        assert err.strip().startswith("已取消，但取消前本次修改已经写入数据库"), err


def test_ctrl_c_says_unchanged_before_the_commit_and_landed_after_it(run, db_path, tmp_path,
                                                                      monkeypatch):
    sheet = census(tmp_path / "花名册.xlsx", [census_row(i, f"学生{i}", make_id(date(2015, 3, 4), i))
                                              for i in range(1, 6)])

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:  # while the rows are written: nothing lands
        patch.setattr(importer, "_write_sheet", interrupt)
        result = run("import", sheet)
    assert (result.exit_code, result.stderr) == (130, "已取消，数据库未被改动。\n")
    assert dump(db_path)["children"] == []
    with monkeypatch.context() as patch:  # after the commit, while the summary prints
        patch.setattr(cli, "_print_import_summary", interrupt)
        result = run("import", sheet)
    assert result.exit_code == 130
    assert result.stderr.startswith("已取消，但取消前本次修改已经写入数据库（导入可用 kcbx imports 查看")
    assert len(dump(db_path)["children"]) == 5
