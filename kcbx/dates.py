"""School-year dates: the year's start, the compulsory-age window, nominal grade, ISO weeks.

SPEC §4: the school year containing D starts on 09-01; compulsory age is 6 to 15 full
years on the cut-off date (08-31 by default, a setting) that opens that school year.
For D = 2025-03-01 that is born 2008-09-01 … 2018-08-31, both inclusive.
"""

from __future__ import annotations

from datetime import date, timedelta


def school_year_start(day: date) -> date:
    """09-01 of the school year containing `day`."""
    year = day.year if day.month >= 9 else day.year - 1
    return date(year, 9, 1)


def cutoff_date(day: date, cutoff: str = "08-31") -> date:
    """The cut-off date (MM-DD) that opens the school year containing `day`."""
    month, dom = (int(p) for p in cutoff.split("-"))
    return date(school_year_start(day).year, month, dom)


def age_on(birth: date, on: date) -> int:
    """Full years of age on `on`."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def compulsory_window(day: date, cutoff: str = "08-31") -> tuple[date, date]:
    """(earliest, latest) birth dates of children of compulsory age (6-15) on `day`."""
    cut = cutoff_date(day, cutoff)
    latest = _years_before(cut, 6)
    earliest = _years_before(cut, 16) + timedelta(days=1)
    return earliest, latest


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 02-29 in a year without one
        return day.replace(year=day.year - years, day=28)


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
