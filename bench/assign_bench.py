"""Benchmark: `kcbx assign` over 100,000 special-group children and 500 teachers (SPEC §8).

Builds a synthetic town with executemany (110,000 children of whom 100,000 are in a
special group, 50 local schools with 10 teachers each, 40 villages, one snapshot per child
plus a dropout change for 1 %), then times whole processes, median of 5:

- first run: every child needs a teacher (a fresh copy of the unpaired database each time);
- second run: everything is kept (the weekly steady state);
- baseline: `kcbx --help`, the cost of starting the process at all.

Usage: python bench/assign_bench.py [--children 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kcbx import db, history, idcard  # noqa: E402

AS_OF = "2025-03-01"
SCHOOLS, TEACHERS_PER_SCHOOL, VILLAGES = 50, 10, 40


def build(path: Path, special: int, others: int, seed: int = 7) -> None:
    """Write the synthetic town to `path`."""
    rng = random.Random(seed)
    conn = db.connect(path)
    conn.execute("BEGIN")
    schools = [(i + 1, "school", f"第{i + 1}小学" if i < 30 else f"第{i + 1}中学",
                "primary" if i < 30 else "middle") for i in range(SCHOOLS)]
    conn.executemany("INSERT INTO units (id, kind, name, level) VALUES (?, ?, ?, ?)", schools)
    conn.executemany("INSERT INTO units (id, kind, name) VALUES (?, 'village', ?)",
                     [(SCHOOLS + v + 1, f"第{v + 1}村") for v in range(VILLAGES)])
    teachers = []
    for sid, _, _, level in schools:
        grades = range(1, 7) if level == "primary" else range(7, 10)
        for k in range(TEACHERS_PER_SCHOOL):
            grade = list(grades)[k % len(grades)] if k < 8 else None
            teachers.append((sid, f"教师{sid:02d}{k:02d}", grade, 1 if grade else None))
    conn.executemany("INSERT INTO teachers (school_id, name, head_grade, head_class_no) "
                     "VALUES (?, ?, ?, ?)", teachers)
    children, events = [], []
    first_birth, born_on = date(2009, 1, 1), Counter()
    for n in range(special + others):
        birth = first_birth + timedelta(days=rng.randrange(3400))
        born_on[birth] += 1
        first17 = f"610922{birth:%Y%m%d}{born_on[birth]:03d}"
        id_number = first17 + idcard.check_char(first17)
        nominal = 2025 - birth.year - (1 if (birth.month, birth.day) > (8, 31) else 0) - 6
        nominal = min(max(nominal, 1), 9)
        school_id = rng.randrange(1, 31) if nominal <= 6 else rng.randrange(31, SCHOOLS + 1)
        school = schools[school_id - 1][2]
        is_special = n < special
        kind = rng.random()
        status = "dropout" if is_special and kind < 0.01 else "enrolled"
        children.append((n + 1, id_number, f"学生{n}", "M", birth.isoformat(),
                         SCHOOLS + 1 + rng.randrange(VILLAGES), school, nominal,
                         rng.randrange(1, 4), int(is_special and kind >= 0.3),
                         "脱贫户" if is_special and kind < 0.3 else "一般家庭"))
        if status == "dropout":
            events.append((n + 1, "2024-09-01", "enrolled", None, school, "snapshot"))
            events.append((n + 1, "2024-11-01", "dropout", "enrolled", school, "change"))
        else:
            events.append((n + 1, "2025-02-20", status, None, school, "snapshot"))
    conn.executemany(
        "INSERT INTO children (id, id_number, name, gender, birth_date, village_id, school, "
        "grade, class_no, left_behind, family_type, in_census) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", children)
    conn.executemany("INSERT INTO status_events (child_id, date, status, prev_status, school, "
                     "kind) VALUES (?, ?, ?, ?, ?, ?)", events)
    conn.execute("COMMIT")
    with db.transaction(conn):  # the history spans, as an import derives them
        history.refresh_current(conn, range(1, special + others + 1))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def timed(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole `python -m kcbx …` process (which must succeed).

    CPU (user + system) is reported beside wall time because on a shared machine the
    wall clock also measures the neighbours.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kcbx", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kcbx-assign-bench-"))
    try:
        template = work / "template.db"
        start = time.perf_counter()
        build(template, options.children, options.children // 10)
        print(f"synthetic database: {time.perf_counter() - start:.1f} s to build")
        baseline, first, second = [], [], []
        for _ in range(options.runs):
            run_db = work / "run.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{run_db}{suffix}").unlink(missing_ok=True)
            shutil.copy(template, run_db)
            baseline.append(timed(["--help"]))
            first.append(timed(["--db", str(run_db), "assign", "--as-of", AS_OF]))
            second.append(timed(["--db", str(run_db), "assign", "--as-of", AS_OF]))
        with sqlite3.connect(run_db) as conn:
            paired = conn.execute("SELECT count(*) FROM assignments "
                                  "WHERE end_date IS NULL").fetchone()[0]
        print(f"open pairings after a run: {paired}")
        for label, runs in (("baseline kcbx --help", baseline),
                            ("kcbx assign, first run", first),
                            ("kcbx assign, second run (all kept)", second)):
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            print(f"{label:38s} median {statistics.median(walls):.2f} s wall, "
                  f"{statistics.median(cpus):.2f} s CPU "
                  f"(wall: {', '.join(f'{v:.2f}' for v in walls)})")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
