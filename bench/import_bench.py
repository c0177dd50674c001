"""Import of a 100,000-row roster .xlsx (SPEC §8).

Times whole processes, in one run, taking turns so that a busy machine slows them alike:
  - a bare python-calamine read of the file (the baseline: every cell read, nothing else),
  - SPEC §8's measured floor: the same read streamed into `executemany`, one table of the
    sheet's columns with a UNIQUE index on the ID, one transaction, WAL (checks nothing),
  - `kcbx import` of it into a fresh database (made by `kcbx init`, untimed: creating
    the schema is a one-off, and its sqlite-utils import pulls in pandas when installed),
  - `kcbx import --force` of the same file into the database that already holds it
    (the weekly case: every row an update or unchanged, every child a new snapshot),
  - the path a clerk's IT helper would script, `pandas.read_excel` + `to_sql`
    (which checks nothing; only when pandas is installed).
Prints medians of wall time and of user CPU time. Targets: import ≤ 2.0 × the bare read;
≥ 5 × faster than pandas. `--baseline DIR` also times the kcbx of another checkout (say,
`git archive main | tar -x -C /tmp/before`) in the same turns, for before/after figures.

    python bench/import_bench.py [rows] [--runs N] [--baseline DIR]   # pandas: pip install -e '.[bench]'
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import OUT, ROOT, cached, kcbx_cmd, timed_run_cpu

BARE_READ = """
import sys, python_calamine as pc
wb = pc.CalamineWorkbook.from_path(sys.argv[1])
rows = 0
for name in wb.sheet_names:
    for row in wb.get_sheet_by_name(name).iter_rows():
        rows += 1
print(rows)
"""

FLOOR = """
import sqlite3, sys, python_calamine as pc
conn = sqlite3.connect(sys.argv[2], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = NORMAL")
wb = pc.CalamineWorkbook.from_path(sys.argv[1])
rows = wb.get_sheet_by_name(wb.sheet_names[0]).iter_rows()
title, header = next(rows), next(rows)
conn.execute(f"CREATE TABLE roster ({', '.join(f'c{i}' for i in range(len(header)))})")
conn.execute(f"CREATE UNIQUE INDEX roster_id ON roster (c{header.index('身份证号')})")
conn.execute("BEGIN")
conn.executemany(f"INSERT INTO roster VALUES ({', '.join('?' * len(header))})", rows)
conn.execute("COMMIT")
"""

PANDAS = """
import sqlite3, sys, pandas as pd
frame = pd.read_excel(sys.argv[1], header=1)
frame.to_sql("roster", sqlite3.connect(sys.argv[2]), index=False)
"""


def roster_file(rows: int) -> Path:
    """A town-wide roster of about `rows` rows from the demo township (written once)."""
    from kcbx.demo import generate, write_roster_xlsx

    return cached(OUT / f"roster-{rows}.xlsx",
                  lambda path: write_roster_xlsx(generate(int(rows / 0.69), seed=7), path))


def has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def kcbx_cases(path: Path, tmp: Path, label: str, cwd: Path = ROOT) -> dict:
    """{case: (command, setup, cwd)}: import into a fresh database, and again with --force."""
    fresh_db, full_db, held = (tmp / f"{label}-{name}.db" for name in ("fresh", "full", "held"))

    def initialised() -> None:  # `kcbx init`: creating the schema is not importing
        remove(fresh_db)
        timed_run_cpu(kcbx_cmd("--db", str(fresh_db), "init"), cwd=cwd)

    def holding_the_file() -> None:  # the database after the first import of the file
        remove(full_db)
        shutil.copyfile(held, full_db)

    timed_run_cpu(kcbx_cmd("--db", str(held), "import", str(path)), ok=(0, 3), cwd=cwd)
    suffix = "" if label == "kcbx" else f", {label}"
    return {
        f"kcbx import (fresh database){suffix}": (
            kcbx_cmd("--db", str(fresh_db), "import", str(path)), initialised, cwd),
        f"kcbx re-import (--force, file already in){suffix}": (
            kcbx_cmd("--db", str(full_db), "import", "--force", str(path)), holding_the_file, cwd),
    }


def main(rows: int = 100_000, runs: int = 5, baseline: Path | None = None) -> dict:
    path = roster_file(rows)
    with tempfile.TemporaryDirectory() as tmp:
        naive_db, floor_db = Path(tmp) / "pandas.db", Path(tmp) / "floor.db"
        cases = {"bare calamine read": ([sys.executable, "-c", BARE_READ, str(path)], None, ROOT),
                 "floor: calamine into executemany, no checks": (
                     [sys.executable, "-c", FLOOR, str(path), str(floor_db)],
                     lambda: remove(floor_db), ROOT)}
        cases.update(kcbx_cases(path, Path(tmp), "kcbx"))
        if baseline:
            cases.update(kcbx_cases(path, Path(tmp), "baseline", cwd=baseline.resolve()))
        if has_pandas():
            cases["pandas.read_excel + to_sql"] = (
                [sys.executable, "-c", PANDAS, str(path), str(naive_db)],
                lambda: remove(naive_db), ROOT)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(runs):  # in turns: a busy spell slows every case alike
            for name, (cmd, setup, cwd) in cases.items():
                times[name].append(timed_run_cpu(cmd, setup=setup, ok=(0, 3), cwd=cwd))
    wall = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    bare = "bare calamine read"
    print(f"{rows:,} rows, {runs} runs each, medians{'':15}wall s   user CPU s   × bare read (wall, CPU)")
    for name in cases:
        print(f"  {name:52} {wall[name]:6.2f}   {cpu[name]:6.2f}       "
              f"{wall[name] / wall[bare]:5.2f}  {cpu[name] / cpu[bare]:5.2f}")
    kcbx, floor = wall["kcbx import (fresh database)"], wall["floor: calamine into executemany, no checks"]
    print(f"target: kcbx import ≤ 2.0 × the bare read: {kcbx / wall[bare]:.2f} × "
          f"(the floor: {floor / wall[bare]:.2f} ×; kcbx is {kcbx / floor:.2f} × the floor)")
    if "pandas.read_excel + to_sql" in wall:
        print(f"target: ≥ 5 × faster than pandas: {wall['pandas.read_excel + to_sql'] / kcbx:.1f} ×")
    return {"rows": rows, "runs": runs, "wall": wall, "cpu": cpu}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another kcbx checkout to time alongside")
    args = parser.parse_args()
    main(args.rows, args.runs, args.baseline)
