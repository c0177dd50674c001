"""SPEC §8: `kcbx rates` over 1,000,000 children with 2,000,000 status events, under 2 s.

Builds a synthetic county-sized store (one transaction of executemany, then the history
spans derived by the library, as an import would), then times whole `kcbx` processes,
median of 5: `rates --by village`, `--by grade` and `--by school` (table output into a
pipe, the cron case), with `kcbx --help` as the start-up baseline of the same machine.

    python bench/rates_bench.py                 # build in a temp dir, time, delete
    python bench/rates_bench.py --db big.db     # keep (and reuse) the store

The data look like a real roster: every child is on this school year's census, most
also on last year's, about one in four has a dated change this year (transfers, dropouts,
returns, moves); about 1 % of the children of compulsory age are on the exceptions list
(twice the sample township's share, so the printing of that list is not flattered).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kcbx import db as kdb  # noqa: E402
from kcbx import history  # noqa: E402
from kcbx.dates import school_year_start  # noqa: E402
from kcbx.idcard import check_char  # noqa: E402

VILLAGES, SCHOOLS = 200, 40
TARGET_SECONDS = 2.0
# status on the census date: (status, weight); rare NOT/suspected like a real township
CENSUS = [("enrolled", 7500), ("away", 2000), ("inclusive", 60), ("home_taught", 40),
          ("special_school", 20), ("suspended", 10), ("deferred", 5), ("suspected", 10),
          ("dropout", 30), ("never_enrolled", 10), ("unknown", 10)]
# a dated change this school year: (status before, status after, weight)
CHANGES = [("enrolled", "away", 40), ("away", "enrolled", 25), ("enrolled", "dropout", 2),
           ("dropout", "enrolled", 2), ("enrolled", "moved_out", 10), ("away", "moved_out", 5),
           ("enrolled", "suspended", 2), ("suspended", "enrolled", 2), ("enrolled", "deceased", 1),
           ("never_enrolled", "enrolled", 3)]


def school_year_days(today: date) -> tuple[date, date, date]:
    """(start of the school year, the census day halfway to `today`, a day last year)."""
    start = school_year_start(today)
    return start, start + (today - start) / 2, start - timedelta(days=170)


def bulk_store(path: Path):
    """A new store at `path`, in a transaction, not synced: a bench input, made once."""
    conn = kdb.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    return conn


def build(path: Path, children: int, seed: int = 2025) -> None:
    """Write `children` children and 2 × `children` events into a new store at `path`."""
    rng = random.Random(seed)
    today = date.today()
    start, census_day, last_year = school_year_days(today)
    conn = bulk_store(path)
    conn.executemany("INSERT INTO units (id, kind, name) VALUES (?, 'village', ?)",
                     ((i, f"第{i}村") for i in range(1, VILLAGES + 1)))
    conn.executemany("INSERT INTO units (id, kind, name) VALUES (?, 'school', ?)",
                     ((VILLAGES + i, f"第{i}学校") for i in range(1, SCHOOLS + 1)))
    conn.execute("INSERT INTO settings VALUES ('town', '合成县')")
    ids = sorted(_id_number(rng, n) for n in range(children))   # sorted: cheap index inserts
    conn.executemany(
        "INSERT INTO children (id, id_number, name, gender, birth_date, village_id, in_census, "
        "disabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ((n, id_number, f"童{n}", "MF"[int(id_number[16]) % 2],
          f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
          rng.randint(1, VILLAGES), int(rng.random() < 0.9), int(rng.random() < 0.015))
         for n, id_number in enumerate(ids, start=1)))
    conn.executemany(
        "INSERT INTO status_events (child_id, date, status, prev_status, school, prev_school, "
        "kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
        _events(rng, children, last_year, census_day, start, today))
    conn.execute("COMMIT")
    began = time.perf_counter()
    with kdb.transaction(conn):
        history.refresh_current(conn, range(1, children + 1))
    print(f"  history spans derived for {children:,} children in "
          f"{time.perf_counter() - began:.1f} s")
    conn.execute("ANALYZE")
    conn.close()


def _id_number(rng: random.Random, n: int) -> str:
    born = date(2006, 1, 1) + timedelta(days=rng.randrange(15 * 365))
    first17 = f"{610000 + n // 1000 % 1000:06d}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_char(first17)


def _events(rng, children, last_year, census_day, start, today):
    """Two events per child: this year's census plus last year's census or a change."""
    census_statuses, census_weights = zip(*CENSUS)
    changes, change_weights = [c[:2] for c in CHANGES], [c[2] for c in CHANGES]
    span = (today - start).days or 1
    for child in range(1, children + 1):
        school = f"第{rng.randint(1, SCHOOLS)}学校"
        if rng.random() < 0.25:
            before, after = rng.choices(changes, change_weights)[0]
            day = start + timedelta(days=rng.randrange(span))
            yield child, day.isoformat(), after, before, school, school, "change"
            # the census agrees with the change when it comes after it
            status = after if day <= census_day else before
        else:
            status = rng.choices(census_statuses, census_weights)[0]
            yield child, last_year.isoformat(), "enrolled", None, school, None, "snapshot"
        yield child, census_day.isoformat(), status, None, school, None, "snapshot"


def timed(args: list[str], db: Path, runs: int) -> tuple[float, float]:
    """Medians of wall and CPU time of `kcbx --db db ARGS` as a whole process, into a pipe.

    CPU time (user + system of the child) is printed too: on a shared machine the wall
    time also measures the neighbours.
    """
    walls, cpus = [], []
    for _ in range(runs):
        cpu_before, began = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "kcbx", "--db", str(db), *args], cwd=ROOT,
                       check=True, stdout=subprocess.PIPE)
        walls.append(time.perf_counter() - began)
        cpus.append(_children_cpu() - cpu_before)
    return statistics.median(walls), statistics.median(cpus)


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (always 0 on Windows)."""
    times = os.times()
    return times.children_user + times.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, help="keep the store here (reused when present)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = options.db or Path(tmp) / "rates-bench.db"
        if not path.exists():
            began = time.perf_counter()
            print(f"building {options.children:,} children, {2 * options.children:,} events …")
            build(path, options.children)
            print(f"  built in {time.perf_counter() - began:.0f} s")
        wall, cpu = timed(["--help"], path, options.runs)
        print(f"kcbx --help (start-up baseline): {wall:.2f} s wall, {cpu:.2f} s CPU")
        worst = 0.0
        for by in ("village", "grade", "school"):
            wall, cpu = timed(["rates", "--by", by], path, options.runs)
            worst = max(worst, wall)
            print(f"kcbx rates --by {by}: {wall:.2f} s wall, {cpu:.2f} s CPU "
                  f"(medians of {options.runs})")
        verdict = "ok" if worst < TARGET_SECONDS else "TOO SLOW"
        print(f"target < {TARGET_SECONDS:.1f} s: {verdict}")


if __name__ == "__main__":
    main()
