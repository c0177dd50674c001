"""SPEC §8: `kcbx --help` and `kcbx info` under 0.3 s, beside a bare `python -c pass`.

Whole processes, medians of 5, the baseline timed in the same run. `kcbx info` reads a
database made by `kcbx init` in the untimed setup (creating the schema is a one-off).

    python bench/startup_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from common import kcbx_cmd, median_of

TARGET = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "start.db")
        subprocess.run(kcbx_cmd("--db", db, "init", "--town", "后柳镇"), check=True,
                       stdout=subprocess.DEVNULL)
        bare = median_of(runs, [sys.executable, "-c", "pass"])
        print(f"python -c pass (baseline): {bare:.3f} s")
        for label, args in (("--help", ["--help"]), ("info", ["--db", db, "info"])):
            seconds = median_of(runs, kcbx_cmd(*args))
            verdict = "ok" if seconds < TARGET else "TOO SLOW"
            print(f"kcbx {label}: {seconds:.3f} s "
                  f"({seconds / bare:.1f} × the bare interpreter; target < {TARGET} s: {verdict})")


if __name__ == "__main__":
    main()
