"""Time the synthetic township: generation, the messy sheets, the big roster.

Not a test: run `python bench/demo_gen.py [children ...]` (default 2000 100000) and read the
table. Sheets go to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from kcbx.demo import generate, write_roster_xlsx, write_sheets


def timed(step):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def measure(children: int, folder: Path) -> list[tuple[str, float, str]]:
    """Rows of (step, seconds, what it produced) for one township size."""
    seconds, town = timed(lambda: generate(children, seed=1))
    rows = [(f"generate({children})", seconds, f"{len(town.children)} children, {len(town.changes)} changes")]
    for mess in (True, False):
        seconds, paths = timed(lambda: write_sheets(town, folder / f"{children}-{mess}", mess=mess))
        size = sum(p.stat().st_size for p in paths) / 1e6
        rows.append((f"write_sheets(mess={mess})", seconds, f"{len(paths)} files, {size:.1f} MB"))
    seconds, count = timed(lambda: write_roster_xlsx(town, folder / f"roster-{children}.xlsx"))
    rows.append(("write_roster_xlsx", seconds, f"{count} rows"))
    return rows


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'step':<28} {'seconds':>8}  result")
        for children in sizes:
            for step, seconds, what in measure(children, Path(tmp)):
                print(f"{step:<28} {seconds:8.2f}  {what}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2000, 100_000])
