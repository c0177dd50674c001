"""A county-sized weekly routine end to end: 50,000 children from the sheets to the report.

The synthetic county comes from the demo generator (`kcbx.demo`): census sheets per village,
rosters per school and grade, teachers, changes and follow-ups, with the demo's mess (rows
to reject, title rows, merged cells, a GBK CSV). Each round runs the clerk's routine of
`kcbx demo` (`kcbx.demo.run.routine`: init, import, flag auto, assign, rates, check, report)
as separate whole processes on a new database; the figure is the median over the rounds of
each step and of the whole routine. The baseline, timed in the same run, is a bare
python-calamine read of every workbook (what any tool must pay to look at the sheets).

    python bench/county_bench.py                   # 50,000 children, 5 rounds
    python bench/county_bench.py --children 10000 --runs 3

The sheets are written once to bench/out/county-N/ (about a minute for 50,000 children).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import OUT  # noqa: E402

from kcbx.demo.generate import generate  # noqa: E402
from kcbx.demo.run import routine  # noqa: E402
from kcbx.demo.sheets import write_sheets  # noqa: E402

# exit codes a step may end with: 3 = rows rejected (the demo sheets hold wrong rows on
# purpose), 4 = check found something to follow up
EXPECTED = (0, 3, 4)


def sheets_for(children: int) -> tuple[list[Path], str, str]:
    """The county's sheets (written the first time), its reference date and its name."""
    town = generate(children, seed=1)
    folder = OUT / f"county-{children}"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        began = time.perf_counter()
        write_sheets(town, folder)
        marker.touch()
        print(f"sheets written to {folder} in {time.perf_counter() - began:.0f} s")
    sheets = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    return sheets, town.reference_date.isoformat(), town.town


def bare_read(sheets: list[Path]) -> float:
    """Seconds of a whole process that reads every cell of every workbook with calamine."""
    workbooks = [str(p) for p in sheets if p.suffix in (".xlsx", ".xls", ".ods")]
    code = ("import sys, python_calamine as c\n"
            "for f in sys.argv[1:]:\n"
            "    wb = c.CalamineWorkbook.from_path(f)\n"
            "    for name in wb.sheet_names: wb.get_sheet_by_name(name).to_python()\n")
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *workbooks], check=True)
    return time.perf_counter() - began


def one_round(sheets: list[Path], as_of: str, town: str) -> dict[str, float]:
    """Seconds of each step of the routine on a new database."""
    with tempfile.TemporaryDirectory() as tmp:
        seconds = {}
        for step in routine(Path(tmp) / "county.db", sheets, as_of, town):
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "kcbx", *step.args], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            name = " ".join(a for a in step.args[2:4] if not a.startswith("-") and "/" not in a)
            seconds[name] = time.perf_counter() - began
            if done.returncode not in EXPECTED:
                raise SystemExit(f"kcbx {name} failed ({done.returncode}): "
                                 f"{done.stderr.decode()[-800:]}")
        size = (Path(tmp) / "county.db").stat().st_size
    seconds["size_mb"] = size / 1e6
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    sheets, as_of, town = sheets_for(options.children)
    print(f"{options.children:,} children, {len(sheets)} files, reference date {as_of}")
    reads, rounds = [], []
    for _ in range(options.runs):  # baseline and routine take turns
        reads.append(bare_read(sheets))
        rounds.append(one_round(sheets, as_of, town))
    read = statistics.median(reads)
    print(f"  bare calamine read of every workbook (baseline): {read:.2f} s")
    steps = [k for k in rounds[0] if k != "size_mb"]
    for step in steps:
        print(f"  kcbx {step}: {statistics.median(r[step] for r in rounds):.2f} s")
    total = statistics.median(sum(r[s] for s in steps) for r in rounds)
    print(f"  whole routine, sheets to report: {total:.2f} s "
          f"({total / read:.1f} × the bare read; medians of {options.runs})")
    print(f"  database size after the routine: {rounds[-1]['size_mb']:.1f} MB")


if __name__ == "__main__":
    main()
