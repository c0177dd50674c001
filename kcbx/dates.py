"""Dates of SPEC §4: parsing a date the clerk types, the school year, the compulsory-age window.

Pure functions (no database, no `date.today()`): the CLI passes today, the cut-off comes
from the settings. A school year starts on 09-01; a child is of compulsory age when it is
6 to 15 full years old on the cut-off date (08-31 by default) that opens the school year,
and its nominal grade is that age − 5 (so 1 … 10, where 10 means "should have finished
grade 9": 15 years old, still of compulsory age).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from kcbx.errors import InvalidValue

FIRST_AGE = 6
LAST_AGE = 15
GRADES = tuple(range(1, LAST_AGE - FIRST_AGE + 2))  # 1 … 10

# 2025-03-01, 2025/3/1, 2025.3.1, 2025年3月1日 (after NFKC, so full-width digits work too)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(text: str, what: str = "日期") -> date:
    """A date typed on the command line (2025-03-01, 2025.3.1, 2025年3月1日, 20250301)."""
    clean = unicodedata.normalize("NFKC", str(text)).strip()
    match = _DATE.match(clean) or _COMPACT.match(clean)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise InvalidValue(f"{what}「{text}」不是有效的日期。请写成 2025-03-01 的形式。")


def school_year_start(day: date) -> date:
    """09-01 of the school year containing `day` (2025-03-01 → 2024-09-01)."""
    year = day.year if day.month >= 9 else day.year - 1
    return date(year, 9, 1)


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 Feb → 28 Feb in a common year)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class AgeWindow:
    """Who is of compulsory age in one school year, and their nominal grades."""

    cutoff: date      # the cut-off date that opens the school year (2024-08-31)
    born_from: date   # oldest birth date of compulsory age (15 on the cut-off)
    born_to: date     # youngest (6 on the cut-off)

    def grade_born_after(self, grade: int) -> date:
        """Children of nominal grade ≤ `grade` were born after this date."""
        return years_before(self.cutoff, grade + FIRST_AGE)


def age_window(day: date, cutoff: str = "08-31") -> AgeWindow:
    """The compulsory-age window for the school year containing `day` (cutoff 'MM-DD')."""
    month, dom = (int(part) for part in cutoff.split("-"))
    try:
        opening = date(school_year_start(day).year, month, dom)
    except ValueError:  # a 02-29 cut-off in a common year
        opening = date(school_year_start(day).year, month, 28)
    born_to = years_before(opening, FIRST_AGE)
    oldest_excluded = years_before(opening, LAST_AGE + 1)
    return AgeWindow(opening, date.fromordinal(oldest_excluded.toordinal() + 1), born_to)


def cutoff_date(day: date, cutoff: str = "08-31") -> date:
    """The cut-off date (MM-DD) that opens the school year containing `day`."""
    return age_window(day, cutoff).cutoff


def age_on(birth: date, on: date) -> int:
    """Full years of age on `on`."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def compulsory_window(day: date, cutoff: str = "08-31") -> tuple[date, date]:
    """(earliest, latest) birth dates of children of compulsory age (6-15) on `day`."""
    window = age_window(day, cutoff)
    return window.born_from, window.born_to


def nominal_grade(birth: date, day: date, cutoff: str = "08-31") -> int:
    """Grade a child of this birth date should be in: age on the cut-off minus 5."""
    return age_on(birth, cutoff_date(day, cutoff)) - 5


def iso_week_label(day: date) -> str:
    """'2025-W08' for the ISO week containing `day`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def term_end(day: date) -> date:
    """Last day of the term containing `day`: 01-31 for the autumn term, 08-31 for spring."""
    if day.month >= 9:
        return date(day.year + 1, 1, 31)
    if day.month == 1:
        return date(day.year, 1, 31)
    return date(day.year, 8, 31)
