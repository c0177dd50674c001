"""Helpers for tests that run `kcbx` as real processes and compare whole databases.

`kcbx(...)` runs `python -m kcbx` from the repository root with this checkout first on the
path, so a subprocess imports the same code as the test (not another installed kcbx).
`dump(db)` is every row of every table, timestamps (`*_at` columns) reduced to "set or not",
so two databases that hold the same data compare equal.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def env(db: Path, **extra: str) -> dict[str, str]:
    """The environment of a kcbx subprocess: this checkout first, $KCBX_DB set, no test width."""
    result = {k: v for k, v in os.environ.items() if k not in ("TERMINAL_WIDTH", "COLUMNS")}
    result["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    result["KCBX_DB"] = str(db)
    result.update(extra)
    return result


def command(*args: object) -> list[str]:
    return [sys.executable, "-m", "kcbx", *(str(a) for a in args)]


def kcbx(db: Path, *args: object, timeout: float = 120, preexec_fn=None,
         **extra: str) -> subprocess.CompletedProcess:
    """Run one kcbx command to the end; stdout and stderr as text."""
    return subprocess.run(command(*args), cwd=ROOT, env=env(db, **extra), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          preexec_fn=preexec_fn)


def start(db: Path, *args: object, **extra: str) -> subprocess.Popen:
    """Start one kcbx command in the background (stdout/stderr piped)."""
    return subprocess.Popen(command(*args), cwd=ROOT, env=env(db, **extra), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows in rowid order; `*_at` timestamps only as present/absent."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        result = {}
        for table in tables:
            cur = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            stamps = [i for i, d in enumerate(cur.description) if d[0].endswith("_at")]
            result[table] = [tuple(v is not None if i in stamps else v for i, v in enumerate(row))
                             for row in cur]
        result["user_version"] = conn.execute("PRAGMA user_version").fetchall()
    return result


def checkpoint(db: Path) -> None:
    """Fold the -wal into the database file, so a copy of the file alone is the whole database."""
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def one_line_error(stderr: str) -> str:
    """The stderr of a failed command: exactly one line, 错误：…, no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("错误："), stderr
    return lines[0]
