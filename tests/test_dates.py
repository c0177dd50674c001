from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from kcbx import dates


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
