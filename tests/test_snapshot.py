"""A report, rates or check reads one state of the database, even while an import lands.

The weekly report is many queries, some on a second connection (db.alongside). An import
that commits between two of them must not give figures from two states: each command
reads the state it began with (db.one_snapshot). Here the import is made to land in the
middle of the command, on another connection, as a cron report and the clerk's import would.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from kcbx import check, importer, metrics, report
from kcbx import db as kdb
from kcbx.demo import generate, write_sheets

DAY = date(2025, 3, 2)


@pytest.fixture(scope="module")
def township(tmp_path_factory) -> tuple[Path, list[Path]]:
    """A database with half of a demo township's sheets, and the other half to import."""
    folder = tmp_path_factory.mktemp("sheets")
    files = sorted(write_sheets(generate(600, seed=3), folder))
    tables = [f for f in files if f.name.startswith(("census_", "roster_"))]
    db = tmp_path_factory.mktemp("db") / "kcbx.db"
    conn = kdb.connect(db)
    importer.import_files(conn, [f for f in files if f not in tables[1::2]], importer.Options())
    conn.close()
    return db, tables[1::2]


def landing_midway(monkeypatch, module, name: str, db: Path, files: list[Path]) -> None:
    """Make `files` import (and commit, on a connection of their own) when module.name is
    first called: in the middle of the command under test."""
    original = getattr(module, name)
    landed = []

    def first_the_import(*args, **kwargs):
        if not landed:
            writer = kdb.connect(db)
            importer.import_files(writer, files, importer.Options())
            writer.close()
            landed.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, first_the_import)


def copy(db: Path, tmp_path: Path) -> Path:
    with sqlite3.connect(db) as source, sqlite3.connect(tmp_path / "kcbx.db") as target:
        source.backup(target)
    return tmp_path / "kcbx.db"


def as_text(result) -> str:
    return repr(result)  # dataclasses and lists of them: every figure, every finding


COMMANDS = {  # command, the function inside it where the import lands
    "report": (lambda conn: report.weekly_report(conn, report.week_ending(DAY)),
               metrics, "by_village_and_school"),
    "rates": (lambda conn: metrics.rates(conn, DAY, by="school"), metrics, "_school_groups"),
    "check": (lambda conn: check.check(conn, DAY), check, "open_cases"),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_an_import_landing_midway_does_not_change_what_the_command_reports(
        command, township, tmp_path, monkeypatch):
    db, later_files = township
    run, module, where = COMMANDS[command]
    db = copy(db, tmp_path)
    before = as_text(run(kdb.connect(db)))

    landing_midway(monkeypatch, module, where, db, later_files)
    conn = kdb.connect(db)
    assert as_text(run(conn)) == before
    monkeypatch.undo()
    assert as_text(run(conn)) != before  # the import did land: the next command sees it

