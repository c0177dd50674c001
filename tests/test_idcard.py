from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcbx import idcard

VALID = ["11010519491231002X", "440524188001010014", "513101198201130014", "61092220161210193X"]


@pytest.mark.parametrize("number", VALID)
def test_known_valid_numbers(number):
    assert idcard.validate(number) is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("６１０９２２２０１４０６２７８１５２", "610922201406278152"),
        ("610922 20110312 6231", "610922201103126231"),
        (" 610922201612300402", "610922201612300402"),
        ("61092220161210193x", "61092220161210193X"),
        ("610922-20161210-193X", "61092220161210193X"),
        (None, ""),
    ],
)
def test_normalize(raw, expected):
    assert idcard.normalize(raw) == expected


@pytest.mark.parametrize(
    "raw, code",
    [
        (6.10922201503041e17, "scientific_notation"),
        ("6.10922201503041E+17", "scientific_notation"),
        ("610922201503041000.0", "scientific_notation"),
        ("610922150304123", "bad_length"),
        ("6109222015030412", "bad_length"),
        ("61092220150230412X", "bad_value"),  # 2015-02-30
        ("61092A201503041234", "bad_value"),
        ("610922201503041235", "bad_checksum"),
    ],
)
def test_invalid(raw, code):
    assert idcard.validate(idcard.normalize(raw)) == code


def test_future_birth_date_is_bad_value():
    assert idcard.validate("610922203001010010", today=date(2026, 1, 1)) == "bad_value"


def test_derive_birth_date_and_gender():
    assert idcard.birth_date("11010519491231002X") == date(1949, 12, 31)
    assert idcard.gender("11010519491231002X") == "F"
    assert idcard.gender("440524188001010014") == "M"


def test_upgrade15_known():
    assert idcard.upgrade15("110105491231002") == "11010519491231002X"


def test_mask_examples():
    assert idcard.mask("61092220161210193X") == "610922********193X"
    assert idcard.mask_phone("13812345678") == "138****5678"
    assert idcard.mask("123") == "***"


digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


@st.composite
def valid_ids(draw):
    born = draw(st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)))
    first17 = (draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
               + born.strftime("%Y%m%d")
               + draw(st.text(alphabet="0123456789", min_size=3, max_size=3)))
    return first17 + idcard.check_char(first17)


@given(valid_ids())
def test_any_17_digits_plus_check_validates(number):
    assert idcard.validate(number) is None
    assert idcard.birth_date(number) is not None


@given(valid_ids(), st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=9))
def test_changing_one_digit_fails(number, pos, delta):
    if pos == 17:
        chars = "0123456789X"
        changed = chars[(chars.index(number[17]) + delta) % 11]
    else:
        changed = str((int(number[pos]) + delta) % 10)
    other = number[:pos] + changed + number[pos + 1:]
    assert idcard.validate(other) is not None


@given(st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
       st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_15_to_18_round_trip(area, born, seq):
    id15 = area + born.strftime("%y%m%d") + seq
    id18 = idcard.upgrade15(id15)
    assert idcard.validate(id18) is None
    assert idcard.birth_date(id18) == born
    # dropping the century and the check digit gives the 15-digit number back
    assert id18[:6] + id18[8:17] == id15


@given(st.text(min_size=0, max_size=40))
def test_mask_never_shows_more_than_6_plus_4(text):
    masked = idcard.mask(text)
    assert len(masked) == len(text)
    shown = sum(1 for a, b in zip(text, masked) if a == b and b != "*")
    assert shown <= 10
    if len(text) >= 11:
        assert masked[6:-4] == "*" * (len(text) - 10)


@given(st.text(min_size=0, max_size=30))
def test_normalize_never_crashes_and_is_idempotent(text):
    once = idcard.normalize(text)
    assert idcard.normalize(once) == once
    idcard.validate(once)


def test_mask_embedded_hides_an_id_inside_a_student_number():
    assert idcard.mask_embedded("G61092220161210193X") == "G610922********193X"
    assert idcard.mask_embedded("L2016001") == "L2016001"
    assert idcard.mask_embedded(None) == ""
