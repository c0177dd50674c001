"""Import of a 100,000-row roster .xlsx (SPEC §8).

Times, as whole processes and medians of 5 in one run: a bare python-calamine read of
the file (the floor: reading every cell and nothing else), `kcbx import` into a fresh
database, and the path a clerk's IT helper would script, `pandas.read_excel` + `to_sql`
(which checks nothing). Targets: import ≤ 2.0 × the bare read; ≥ 5 × faster than pandas.
Run: python bench/import_bench.py [rows]   (pandas comes with `pip install -e .[bench]`)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import OUT, cached, kcbx_cmd, median_of

BARE_READ = """
import sys, python_calamine as pc
wb = pc.CalamineWorkbook.from_path(sys.argv[1])
rows = 0
for name in wb.sheet_names:
    for row in wb.get_sheet_by_name(name).iter_rows():
        rows += 1
print(rows)
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


def main(rows: int = 100_000, runs: int = 5) -> dict:
    path = roster_file(rows)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"

        def fresh() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)

        bare = median_of(runs, [sys.executable, "-c", BARE_READ, str(path)])
        kcbx = median_of(runs, kcbx_cmd("--db", str(db), "import", str(path)), setup=fresh,
                         ok=(0, 3))
        try:
            import pandas  # noqa: F401
            naive = median_of(runs, [sys.executable, "-c", PANDAS, str(path), str(db)],
                              setup=fresh)
        except ImportError:
            naive = None
    result = {"rows": rows, "bare_read": bare, "kcbx_import": kcbx, "pandas": naive}
    print(f"bare calamine read   {bare:6.2f} s")
    print(f"kcbx import          {kcbx:6.2f} s   ({kcbx / bare:.2f} × the bare read; target ≤ 2.0)")
    if naive:
        print(f"pandas + to_sql      {naive:6.2f} s   (kcbx is {naive / kcbx:.1f} × faster; target ≥ 5)")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
