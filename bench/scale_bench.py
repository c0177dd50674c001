"""How far one SQLite file goes: the weekly report's time against the store's size.

Times `kcbx report weekly --format md` (medians of whole processes) over the synthetic
stores of report_bench.py at growing sizes, with each database file's size, and says at
how many children (and how many MB) the report crosses 2 s — the wait a clerk accepts
before a weekly meeting — by linear interpolation between the two sizes around it.

    python bench/scale_bench.py                               # 50k … 1M, 5 runs each
    python bench/scale_bench.py --children 50000 --children 200000 --runs 3

The stores are kept in bench/out/report-bench-N.db (shared with
`report_bench.py --keep bench/out`); building the 1,000,000 store takes a few minutes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import OUT  # noqa: E402
from report_bench import WEEK, store  # noqa: E402
from rates_bench import timed  # noqa: E402

SIZES = [50_000, 100_000, 200_000, 500_000, 1_000_000]
LIMIT = 2.0  # seconds


def crossing(points: list[tuple[int, float, float]]) -> str:
    """Where the report time crosses LIMIT, interpolated between measured sizes."""
    for (n0, s0, mb0), (n1, s1, mb1) in zip(points, points[1:]):
        if s0 <= LIMIT < s1:
            share = (LIMIT - s0) / (s1 - s0)
            return (f"the weekly report reaches {LIMIT:.0f} s at about "
                    f"{n0 + share * (n1 - n0):,.0f} children "
                    f"(a database of about {mb0 + share * (mb1 - mb0):,.0f} MB)")
    n, s, mb = points[-1]
    if s <= LIMIT:
        return f"the weekly report stays under {LIMIT:.0f} s up to {n:,} children ({mb:,.0f} MB), the largest size measured"
    return f"the weekly report is over {LIMIT:.0f} s already at {points[0][0]:,} children"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, action="append", help="store size (repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    points = []
    print(f"{'children':>10} {'db MB':>8} {'report md wall':>15} {'CPU':>6}")
    for children in sorted(options.children or SIZES):
        OUT.mkdir(exist_ok=True)
        path = store(OUT, children)
        wall, cpu = timed(["report", "weekly", "--format", "md", "--week", WEEK], path, options.runs)
        megabytes = path.stat().st_size / 1e6
        points.append((children, wall, megabytes))
        print(f"{children:>10,} {megabytes:>8,.0f} {wall:>13.2f} s {cpu:>5.2f}s", flush=True)
    print(crossing(points))


if __name__ == "__main__":
    main()
