"""Shared helpers for the benchmarks: whole-process timing, medians, cached inputs.

Every figure is the median of several runs of a whole process (SPEC §8), measured in
the same run as its baseline, so a slow or busy machine slows both alike.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent


def kcbx_cmd(*args: str) -> list[str]:
    """The kcbx CLI of this checkout as a subprocess command line."""
    return [sys.executable, "-m", "kcbx", *args]


def timed_run(cmd: list[str], *, setup=None, env=None, ok=(0,), cwd=ROOT) -> float:
    """Seconds one whole process takes; `setup()` runs first, untimed."""
    if setup:
        setup()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-800:]}")
    return seconds


def timed_run_cpu(cmd: list[str], *, setup=None, **kwargs) -> tuple[float, float]:
    """(wall seconds, CPU seconds in user mode) of one whole process, as `timed_run`."""
    if setup:
        setup()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    wall = timed_run(cmd, **kwargs)
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def median_of(n: int, cmd: list[str], **kwargs) -> float:
    """Median seconds of `n` runs."""
    return statistics.median(timed_run(cmd, **kwargs) for _ in range(n))


def cached(path: Path, make) -> Path:
    """`path`, made by `make(path)` the first time (inputs are expensive to write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".tmp" + path.suffix)
        make(tmp)
        tmp.rename(path)
    return path
