"""SPEC §8: `kcbx report weekly` over a county (50,000 children) under 1 s, over 1,000,000
under 10 s — whole processes, medians of 5, beside `kcbx --help` as the start-up baseline.

Builds a synthetic store in one transaction of executemany (then the history spans
derived by the library, as an import would), shaped like a year of real work so that
every part of the report has something to do:

- every child on this school year's census (one batch per village) and, when at a
  local school, on its roster (one batch per school); last year's census or a dated
  change this year (transfers, dropouts, returns, moves) for each;
- a sheet from most units every week since 09-01 (上报情况), a few name conflicts;
- flags, teacher pairings for the special groups, follow-ups for the cases;
- remarks, a few naming another status, and a few children two grades behind.

    python bench/report_bench.py                        # 50,000 and 1,000,000
    python bench/report_bench.py --children 50000       # one size
    python bench/report_bench.py --keep bench/out       # keep (and reuse) the stores

The store is dated as if today were Wednesday 2025-03-05 and the report is for the last
complete week, 2025-W09: its chart has 27 weekly points since 2024-09-01, and, as on any
day after the week, some events are dated after D, so the figures take the full history
path rather than the cached current status.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# whole-process wall and CPU medians; the census and change mix of a real township
from rates_bench import CENSUS, CHANGES, bulk_store, school_year_days, timed  # noqa: E402

from kcbx import db as kdb  # noqa: E402
from kcbx import history  # noqa: E402
from kcbx.idcard import check_char  # noqa: E402

TARGETS = {50_000: 1.0, 1_000_000: 10.0}
TODAY = date(2025, 3, 5)
WEEK = "2025-W09"
# a dated change this school year: rates_bench's, and 疑似辍学 coming and going
CHANGES = [*CHANGES, ("enrolled", "suspected", 1), ("suspected", "enrolled", 1)]
ON_ROLL = ("enrolled", "inclusive", "home_taught", "suspected", "dropout")
REMARKS = ["思想动摇", "家庭困难", "学业困难", "重度残疾，暂缓入学", "2024.11.26辍学；2024.12.03劝返复学",
           "送教上门", "已休学"]
FAMILY = ["一般户"] * 8 + ["脱贫户", "低保户"]


class Town:
    """Sizes and ids of the synthetic county."""

    def __init__(self, children: int):
        self.children = children
        self.villages = max(20, children // 5000)
        self.schools = max(8, children // 25000)
        self.teachers_per_school = max(10, children // 30 // self.schools)

    def village_id(self, n: int) -> int:
        return n

    def school_id(self, n: int) -> int:
        return self.villages + n

    def school_name(self, n: int) -> str:
        return f"第{n}学校"


def build(path: Path, children: int, seed: int = 2025) -> None:
    """Write the synthetic county into a new store at `path`."""
    rng = random.Random(seed)
    town = Town(children)
    today = TODAY
    start, census_day, last_year = school_year_days(today)
    conn = bulk_store(path)
    _units(conn, town)
    batches = _batches(conn, town, start, today, census_day, last_year, rng)
    ids = sorted(_id_number(rng, n) for n in range(children))  # sorted: cheap index inserts
    conn.executemany(
        "INSERT INTO children (id, id_number, name, gender, birth_date, village_id, in_census, "
        "disabled, left_behind, family_type, guardian_name, guardian_phone, grade, remarks) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_child(rng, town, n, id_number, start) for n, id_number in enumerate(ids, start=1)))
    conn.executemany(
        "INSERT INTO status_events (child_id, date, status, prev_status, school, prev_school, "
        "kind, batch_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _events(conn, rng, town, batches, last_year, census_day, start, today))
    conn.execute("COMMIT")
    began = time.perf_counter()
    with kdb.transaction(conn):
        history.refresh_current(conn, range(1, children + 1))
    print(f"  history spans derived in {time.perf_counter() - began:.1f} s")
    with kdb.transaction(conn):
        _casework(conn, rng, town, start, today)
    conn.execute("ANALYZE")
    conn.close()


def _units(conn, town: Town) -> None:
    conn.executemany(
        "INSERT INTO units (id, kind, name, head_name, head_phone) VALUES (?, 'village', ?, ?, ?)",
        ((town.village_id(i), f"第{i}村", f"村长{i}", f"139{i:08d}")
         for i in range(1, town.villages + 1)))
    conn.executemany(
        "INSERT INTO units (id, kind, name, head_name, head_phone) VALUES (?, 'school', ?, ?, ?)",
        ((town.school_id(i), town.school_name(i), f"校长{i}", f"138{i:08d}")
         for i in range(1, town.schools + 1)))
    conn.execute("INSERT INTO settings VALUES ('town', '合成县')")
    conn.executemany(
        "INSERT INTO teachers (school_id, name, phone) VALUES (?, ?, ?)",
        ((town.school_id(s), f"教师{s}-{t}", f"137{s:04d}{t:04d}")
         for s in range(1, town.schools + 1) for t in range(1, town.teachers_per_school + 1)))


def _batches(conn, town, start, today, census_day, last_year, rng) -> dict:
    """Census and roster batches of census day and last year, and weekly sheets since A."""
    def batch(kind: str, unit_id: int, day: date) -> int:
        year, week, _ = day.isocalendar()
        return conn.execute(
            "INSERT INTO import_batches (file_name, sha256, kind, sheet_date, date_source, "
            "unit_id, iso_week) VALUES (?, ?, ?, ?, 'title', ?, ?)",
            (f"{kind}-{unit_id}-{day}.xlsx", f"{kind}{unit_id}{day}", kind, day.isoformat(),
             unit_id, f"{year}-W{week:02d}")).lastrowid

    villages = range(1, town.villages + 1)
    schools = range(1, town.schools + 1)
    found = {"census": {v: batch("census", town.village_id(v), census_day) for v in villages},
             "last": {v: batch("census", town.village_id(v), last_year) for v in villages},
             "roster": {s: batch("roster", town.school_id(s), census_day) for s in schools}}
    day = start
    while day <= today:
        for unit_id in [*map(town.village_id, villages), *map(town.school_id, schools)]:
            if rng.random() < 0.9:
                batch("changes", unit_id, day + timedelta(days=rng.randrange(5)))
        day += timedelta(days=7)
    return found


def _id_number(rng: random.Random, n: int) -> str:
    born = date(2006, 1, 1) + timedelta(days=rng.randrange(15 * 365))
    first17 = f"{610000 + n // 1000 % 1000:06d}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_char(first17)


def _child(rng, town: Town, n: int, id_number: str, start: date) -> tuple:
    born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    grade = start.year - born.year - 6 + (born.month < 9)
    if rng.random() < 0.01:
        grade -= 2  # 留级 or a late start: check's over-age finding
    remark = rng.choice(REMARKS) if rng.random() < 0.01 else None
    return (n, id_number, f"童{n}", "MF"[int(id_number[16]) % 2], born.isoformat(),
            rng.randint(1, town.villages), int(rng.random() < 0.9), int(rng.random() < 0.015),
            int(rng.random() < 0.2), rng.choice(FAMILY), f"家长{n}",
            None if rng.random() < 0.01 else f"135{n:08d}",
            grade if 1 <= grade <= 9 else None, remark)


def _events(conn, rng, town, batches, last_year, census_day, start, today):
    """This year's census (+ roster when at a local school), and last year's or a change."""
    census_statuses, census_weights = zip(*CENSUS)
    changes, change_weights = [c[:2] for c in CHANGES], [c[2] for c in CHANGES]
    span = (today - start).days or 1
    rows = conn.execute("SELECT id, village_id, remarks FROM children ORDER BY id")
    for child, village, remark in rows.fetchall():
        s = rng.randint(1, town.schools)
        school = town.school_name(s)
        if rng.random() < 0.25:
            before, after = rng.choices(changes, change_weights)[0]
            day = start + timedelta(days=rng.randrange(span))
            yield child, day.isoformat(), after, before, school, school, "change", None, None
            status = after if day <= census_day else before
        else:
            status = rng.choices(census_statuses, census_weights)[0]
            yield (child, last_year.isoformat(), "enrolled", None, school, None, "snapshot",
                   batches["last"][village], None)
        where = None if status == "away" else school
        yield (child, census_day.isoformat(), status, None, where, None, "snapshot",
               batches["census"][village], remark)
        if where and status in ON_ROLL:
            yield (child, census_day.isoformat(), status, None, where, None, "snapshot",
                   batches["roster"][s], remark)


def _casework(conn, rng, town: Town, start: date, today: date) -> None:
    """Flags, pairings of the special groups, follow-ups of the cases, name conflicts."""
    span = (today - start).days or 1
    special = conn.execute("""
        SELECT c.id, u.id AS school_id FROM children c
          JOIN units u ON u.kind = 'school' AND u.name = (
               SELECT e.school FROM status_events e WHERE e.child_id = c.id AND e.applied = 1
                ORDER BY e.date DESC LIMIT 1)
         WHERE c.left_behind = 1 OR c.disabled = 1 OR c.family_type <> '一般户'
            OR c.status IN ('dropout', 'suspected', 'never_enrolled', 'unknown')""").fetchall()
    teachers: dict[int, list[int]] = {}
    for teacher_id, school_id in conn.execute("SELECT id, school_id FROM teachers"):
        teachers.setdefault(school_id, []).append(teacher_id)

    def someday() -> str:
        return (start + timedelta(days=rng.randrange(span))).isoformat()

    conn.executemany(
        "INSERT INTO assignments (child_id, teacher_id, start_date, source) "
        "VALUES (?, ?, ?, 'auto')",
        ((child, rng.choice(teachers[school]), someday()) for child, school in special
         if rng.random() < 0.97))
    conn.executemany(
        "INSERT INTO flags (child_id, flag, reason, source, raised_on, cleared_on, cleared_by) "
        "VALUES (?, ?, '合成', ?, ?, ?, ?)",
        ((child, flag, f"rule:{flag}", day, cleared, "rule" if cleared else None)
         for child, _ in special if rng.random() < 0.3
         for flag in [rng.choice(("wavering", "hardship", "struggling"))]
         for day in [someday()]
         for cleared in [someday() if rng.random() < 0.2 else None]
         if cleared is None or cleared >= day))
    cases = conn.execute("""
        SELECT child_id FROM status_events
         WHERE applied = 1 AND (status IN ('dropout', 'suspected')
                OR status_before IN ('dropout', 'suspected'))""").fetchall()
    conn.executemany(
        "INSERT INTO followups (child_id, date, by_name, method, result) "
        "VALUES (?, ?, '教师', '家访', ?)",
        ((child, someday(), rng.choice(("学生暂未返校，继续劝返", "已劝返复学", "持续关注")))
         for (child,) in cases for _ in range(rng.randint(0, 4))))
    batch = conn.execute("SELECT max(id) FROM import_batches WHERE kind = 'census'").fetchone()[0]
    conn.executemany(
        "INSERT INTO import_errors (batch_id, row, column_name, value, code, message, child_id) "
        "VALUES (?, ?, '姓名', '另名', 'name_conflict', '姓名不一致', ?)",
        ((batch, n + 3, rng.randint(1, town.children)) for n in range(20)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, action="append",
                        help="store size (repeatable; default 50,000 and 1,000,000)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the stores in this folder")
    options = parser.parse_args()
    sizes = options.children or sorted(TARGETS)
    with tempfile.TemporaryDirectory() as tmp:
        folder = (options.keep or Path(tmp)).resolve()  # kcbx runs from the repository root
        folder.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            _time(store(folder, size), size, folder, options.runs)


def store(folder: Path, size: int) -> Path:
    """The synthetic store of `size` children in `folder`, built the first time."""
    path = folder / f"report-bench-{size}.db"
    if not path.exists():
        began = time.perf_counter()
        print(f"building {size:,} children …", flush=True)
        build(path, size)
        print(f"  built in {time.perf_counter() - began:.0f} s", flush=True)
    return path


def _time(path: Path, size: int, folder: Path, runs: int) -> None:
    """Medians of the start-up baseline and of the report in each output format."""
    wall, cpu = timed(["--help"], path, runs)
    print(f"{size:,} children — kcbx --help (baseline): {wall:.2f} s wall, {cpu:.2f} s CPU")
    target = TARGETS.get(size)
    verdicts = []
    week = ["--week", WEEK]
    for args in (["report", "weekly", "--format", "md", *week],
                 ["report", "weekly", "--format", "json", *week],
                 ["report", "weekly", "--format", "xlsx", *week, "--out",
                  str(folder / "周报.xlsx")],
                 ["check", "--as-of", TODAY.isoformat()]):
        wall, cpu = timed(args, path, runs)
        if args[0] == "report" and target:
            verdicts.append(f"{args[3]} {'ok' if wall < target else 'TOO SLOW'}")
        print(f"  kcbx {' '.join(args[:4])}: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(medians of {runs})")
    if target:
        print(f"  target < {target:.0f} s: {', '.join(verdicts)}")


if __name__ == "__main__":
    main()
