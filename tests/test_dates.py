"""Dates the clerk types, the school year, and the compulsory-age window of SPEC §4."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcbx import dates
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


def test_window_for_2025_03_01():
    assert dates.compulsory_window(date(2025, 3, 1)) == (date(2008, 9, 1), date(2018, 8, 31))
    assert dates.school_year_start(date(2025, 3, 1)) == date(2024, 9, 1)
    assert dates.school_year_start(date(2025, 9, 1)) == date(2025, 9, 1)


def test_nominal_grade_edges():
    d = date(2025, 3, 1)
    assert dates.nominal_grade(date(2018, 8, 31), d) == 1
    assert dates.nominal_grade(date(2018, 9, 1), d) == 0
    assert dates.nominal_grade(date(2009, 9, 1), d) == 9
    assert dates.nominal_grade(date(2008, 9, 1), d) == 10  # age 15: finished 初中 nominally


def test_term_end():
    assert dates.term_end(date(2024, 10, 1)) == date(2025, 1, 31)
    assert dates.term_end(date(2025, 3, 1)) == date(2025, 8, 31)


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
       st.dates(min_value=date(1980, 1, 1), max_value=date(2099, 12, 31)))
def test_window_means_age_6_to_15_on_cutoff(day, birth):
    earliest, latest = dates.compulsory_window(day)
    age = dates.age_on(birth, dates.cutoff_date(day))
    assert (earliest <= birth <= latest) == (6 <= age <= 15)


def test_iso_week_label():
    assert dates.iso_week_label(date(2025, 3, 3)) == "2025-W10"
