"""Dates the clerk types, the school year, and the compulsory-age window of SPEC §4."""

from datetime import date

import pytest

from kcbx.dates import age_window, parse_date, school_year_start
from kcbx.errors import InvalidValue


@pytest.mark.parametrize("text", ["2025-03-01", "2025-3-1", "2025/03/01", "2025.3.1",
                                  "2025年3月1日", "２０２５年３月１日", "20250301", " 2025-03-01 "])
def test_parse_date_forms(text):
    assert parse_date(text) == date(2025, 3, 1)


@pytest.mark.parametrize("text", ["2025-02-29", "2025-13-01", "3月1日", "昨天", "", "2025-03"])
def test_parse_date_refuses_what_is_not_a_day(text):
    with pytest.raises(InvalidValue, match="--as-of「.*」不是有效的日期"):
        parse_date(text, "--as-of")


@pytest.mark.parametrize("day, start", [
    ("2025-03-01", "2024-09-01"), ("2025-08-31", "2024-09-01"), ("2025-09-01", "2025-09-01"),
    ("2024-12-31", "2024-09-01")])
def test_school_year_starts_on_september_first(day, start):
    assert school_year_start(date.fromisoformat(day)) == date.fromisoformat(start)


def test_window_for_the_2024_school_year():
    window = age_window(date(2025, 3, 1))
    assert (window.cutoff, window.born_from, window.born_to) == (
        date(2024, 8, 31), date(2008, 9, 1), date(2018, 8, 31))
    assert window.grade_born_after(1) == date(2017, 8, 31)    # grade 1: born 2017-09-01 …
    assert window.grade_born_after(9) == date(2009, 8, 31)


def test_a_leap_day_cutoff_falls_back_to_the_28th_in_common_years():
    window = age_window(date(2025, 3, 1), cutoff="02-29")
    assert (window.cutoff, window.born_to) == (date(2024, 2, 29), date(2018, 2, 28))
    assert age_window(date(2025, 10, 1), cutoff="02-29").cutoff == date(2025, 2, 28)
