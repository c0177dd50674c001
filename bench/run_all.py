"""`make bench`: every SPEC §8 benchmark in turn, output kept in bench/out/last-run.txt.

Each script times whole `kcbx` processes (medians of 5) against a baseline measured in
the same run; see its docstring for what it builds. The figures in bench/README.md come
from these scripts. Expect 20-30 minutes: the 1,000,000-children stores take a while to
build (they are kept in bench/out and reused by the next run).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("start-up: kcbx --help and kcbx info", ["startup_bench.py"]),
    ("import of a 100,000-row roster", ["import_bench.py"]),
    ("rates over 1,000,000 children", ["rates_bench.py"]),
    ("assign for 100,000 special-group children", ["assign_bench.py"]),
    ("weekly report at 50,000 and 1,000,000 children", ["report_bench.py", "--keep", "out"]),
    ("a county's weekly routine end to end, 50,000 children from sheets to report",
     ["county_bench.py"]),
    ("how far one SQLite file goes: the weekly report from 50,000 to 1,000,000 children",
     ["scale_bench.py"]),
]


def main() -> int:
    log = HERE / "out" / "last-run.txt"
    log.parent.mkdir(exist_ok=True)
    failed = 0
    with log.open("w", encoding="utf-8") as out:
        for title, args in SCRIPTS:
            if not (HERE / args[0]).exists():
                continue
            header = f"\n== {title} ({' '.join(args)}) — {time.strftime('%Y-%m-%d %H:%M')}\n"
            print(header, end="", flush=True)
            out.write(header)
            done = subprocess.run([sys.executable, *args], cwd=HERE, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            print(done.stdout, end="", flush=True)
            out.write(done.stdout)
            failed += done.returncode != 0
    print(f"\nwritten to {log}")
    return failed


if __name__ == "__main__":
    sys.exit(main())
