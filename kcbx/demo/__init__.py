"""A synthetic township for `kcbx demo`, the tests and the benchmarks.

`generate` builds the ground truth in memory (children, schools, teachers, a term of status
changes and follow-ups); `write_sheets` writes what a clerk receives from it, with the
clerk's real-world mess, and records that mess in `Township.injected`; `ground_truth_counts`
gives the status counts the rates must rest on. Names, ID numbers and phones are invented.
"""

from kcbx.demo.generate import generate
from kcbx.demo.model import (
    ChangeTruth,
    ChildTruth,
    FollowupTruth,
    Injected,
    SchoolInfo,
    TeacherTruth,
    Township,
    ground_truth_counts,
    status_on,
)
from kcbx.demo.sheets import write_roster_xlsx, write_sheets

__all__ = [
    "ChangeTruth", "ChildTruth", "FollowupTruth", "Injected", "SchoolInfo", "TeacherTruth",
    "Township", "generate", "ground_truth_counts", "status_on", "write_roster_xlsx",
    "write_sheets",
]
