"""`kcbx demo`: a synthetic township run through the real commands, step by step.

The sheets are written to a folder and every step is the real `kcbx` command line run
as its own process on a throwaway database, so what the clerk sees here is exactly what
the same commands print on their own data. `--keep` leaves the sheets and the database
behind to try more commands on.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kcbx.demo.generate import generate
from kcbx.demo.sheets import write_sheets


@dataclass
class Step:
    """One command of the clerk's routine, with what it is for."""

    title: str
    args: list[str]


def routine(db: Path, sheets: list[Path], as_of: str, town: str) -> list[Step]:
    """The weekly routine of SPEC §1 on the demo data: import → flags → pairing → figures."""
    base = ["--db", str(db)]
    return [
        Step("建立数据库", [*base, "init", "--town", town]),
        Step("导入各村花名册、学校学籍、教师名单、变动和劝返记录（含故意写错的行）",
             [*base, "import", *map(str, sheets)]),
        Step("按规则标记动摇生、家困生、学困生", [*base, "flag", "auto", "--as-of", as_of]),
        Step("为每个特殊群体儿童落实包干教师", [*base, "assign", "--as-of", as_of]),
        Step("入学率、巩固率（分村）", [*base, "rates", "--as-of", as_of, "--by", "village"]),
        Step("督查事项", [*base, "check", "--as-of", as_of]),
        Step("本周周报", [*base, "report", "weekly", "--as-of", as_of, "--format", "md"]),
    ]


def run_demo(children: int = 2000, seed: int = 1, keep: Path | None = None,
             say: Callable[[str], None] = print) -> int:
    """Generate, write the sheets, run the routine; return the number of failed steps."""
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="kcbx-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    town = generate(children, seed=seed)
    sheets = write_sheets(town, folder / "表格")
    say(f"已生成虚构乡镇「{town.town}」：{len(town.children)} 名儿童，表格在 {folder / '表格'}")
    db = folder / "demo.db"
    failed = 0
    steps = routine(db, sheets, town.reference_date.isoformat(), town.town)
    for number, step in enumerate(steps, start=1):
        say(f"\n== 第 {number} 步：{step.title}")
        say("$ kcbx " + " ".join(_shorten(a, folder) for a in step.args))
        done = subprocess.run([sys.executable, "-m", "kcbx", *step.args])
        # 3 = rows rejected (expected: the demo sheets hold wrong rows on purpose)
        if done.returncode not in (0, 3, 4):
            failed += 1
    if keep:
        say(f"\n表格和数据库保留在 {folder}。可继续试：kcbx --db {db} children list")
    else:
        _remove(folder)
    return failed


def _shorten(arg: str, folder: Path) -> str:
    return arg.replace(str(folder) + "/", "") if arg.startswith(str(folder)) else arg


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
