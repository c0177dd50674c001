"""Cell normalisers: every way the samples (and clerks) write a value, and junk never crashes."""

from datetime import date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.datetime import from_excel

from kcbx import normalize as n


@pytest.mark.parametrize(
    "raw, expected",
    [
        (18123545211.0, "18123545211"),
        (3.0, "3"),
        (76.5, "76.5"),
        ("  ６１０９２２ ", "610922"),
        ("村（社区）", "村(社区)"),
        (None, ""),
        (True, "是"),
        (date(2025, 2, 20), "2025-02-20"),
        (datetime(2025, 2, 20), "2025-02-20"),
        (datetime(2025, 2, 20, 8, 30), "2025-02-20 08:30:00"),
        ("\ufeff备注\u200b", "备注"),
    ],
)
def test_text(raw, expected):
    assert n.text(raw) == expected


@pytest.mark.parametrize("raw", ["张伟文  ", " 张 伟文", "姚鑫睿\u3000", "张\u200b伟文", "张\t伟\n文"])
def test_name_removes_every_space(raw):
    assert n.name(raw).replace("姚鑫睿", "张伟文") == "张伟文"


@pytest.mark.parametrize(
    "raw, expected",
    [
        (date(2015, 3, 4), (date(2015, 3, 4), "day")),
        (datetime(2015, 3, 4, 10, 0), (date(2015, 3, 4), "day")),
        (40086.0, (date(2009, 9, 30), "day")),  # the first row of census_后柳社区
        (40086, (date(2009, 9, 30), "day")),
        ("40086", (date(2009, 9, 30), "day")),  # a serial as text in a CSV
        ("2015.3.4", (date(2015, 3, 4), "day")),
        ("2015年3月4日", (date(2015, 3, 4), "day")),
        ("2015 年 3 月 4 日", (date(2015, 3, 4), "day")),
        ("2015/03/04", (date(2015, 3, 4), "day")),
        ("2015-03-04", (date(2015, 3, 4), "day")),
        ("2015-03-04 00:00:00", (date(2015, 3, 4), "day")),
        ("２０１５－０３－０４", (date(2015, 3, 4), "day")),
        ("20150304", (date(2015, 3, 4), "day")),
        (20150304.0, (date(2015, 3, 4), "day")),
        ("201503", (date(2015, 3, 1), "month")),
        (201503.0, (date(2015, 3, 1), "month")),
        ("201503.0", (date(2015, 3, 1), "month")),
        ("2015.03", (date(2015, 3, 1), "month")),
        ("2015.10", (date(2015, 10, 1), "month")),
        ("2015年3月", (date(2015, 3, 1), "month")),
        (2015.03, (date(2015, 3, 1), "month")),
        (2015.3, (date(2015, 3, 1), "month")),
        (2015.12, (date(2015, 12, 1), "month")),
    ],
)
def test_parse_date(raw, expected):
    assert n.parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "不详", "2015.13.1", "2015-02-30", "201513", "abc", "15.3.4", "2015.3.4.5", True,
     float("nan"), float("inf"), -5, 0, 1234567, 2015.1, "3/4/2015", time(10, 30), "0001-01-01"],
)
def test_parse_date_rejects_junk(raw):
    with pytest.raises(ValueError):
        n.parse_date(raw)


def test_parse_date_says_why_a_decimal_month_is_ambiguous():
    with pytest.raises(ValueError, match="10 月"):
        n.parse_date(2015.1)  # a number cell dropped the 0 of 2015.10, or it is January


@pytest.mark.parametrize(
    "fmt",
    ["{d.year}.{d.month}.{d.day}", "{d.year}年{d.month}月{d.day}日", "{d:%Y/%m/%d}", "{d:%Y-%m-%d}",
     "{d:%Y%m%d}", "{d.year}/{d.month}/{d.day}", "{d:%Y.%m.%d}"],
)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_date_round_trips_day_formats(fmt, day):
    assert n.parse_date(fmt.format(d=day)) == (day, "day")


@pytest.mark.parametrize("fmt", ["{d:%Y%m}", "{d:%Y.%m}", "{d.year}年{d.month}月", "{d.year}-{d.month}"])
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_date_round_trips_month_formats(fmt, day):
    assert n.parse_date(fmt.format(d=day)) == (day.replace(day=1), "month")


@given(day=st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 12, 31)))
def test_parse_date_round_trips_excel_serials(day):
    serial = (day - date(1899, 12, 30)).days  # what Excel stores for a date cell
    assert n.parse_date(float(serial)) == (day, "day")
    assert n.parse_date(str(serial)) == (day, "day")


@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_date_round_trips_number_cells(day):
    assert n.parse_date(float(day.strftime("%Y%m%d"))) == (day, "day")
    assert n.parse_date(float(day.strftime("%Y%m"))) == (day.replace(day=1), "month")
    assert n.parse_date(datetime.combine(day, time(12))) == (day, "day")


@given(serial=st.integers(min_value=1, max_value=99999))
def test_excel_serials_agree_with_openpyxl(serial):
    assert n.parse_date(float(serial))[0] == from_excel(serial).date()
    assert n.parse_date(str(serial))[0] == from_excel(serial).date()


# A fractional serial between 1900 and 2100 is read as year.month (2015.03), so those
# are left out here; they are dates in 1905 no sheet of children holds.
@given(serial=st.floats(min_value=1, max_value=99999.999).filter(lambda x: not 1900 <= x < 2101))
def test_fractional_excel_serials_agree_with_openpyxl(serial):
    assert n.parse_date(serial) == (from_excel(serial).date(), "day")


@pytest.mark.parametrize(
    "raw, expected",
    [("是", True), ("否", False), ("√", True), ("✓", True), ("有", True), ("无", False), ("1", True),
     ("0", False), (1.0, True), (0.0, False), ("Y", True), ("n", False), ("TRUE", True), ("false", False),
     ("", False), (None, False), ("  ", False), (True, True), ("Ｙ", True)],
)
def test_yes_no(raw, expected):
    assert n.yes_no(raw) is expected


@pytest.mark.parametrize("raw", ["也许", "2", 0.5, "听力"])
def test_yes_no_rejects_other_words(raw):
    with pytest.raises(ValueError, match="是"):
        n.yes_no(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [("男", "M"), ("女", "F"), ("1", "M"), ("2", "F"), (1.0, "M"), (2.0, "F"), ("1-男", "M"),
     ("2：女", "F"), ("", None), (None, None), (" 女 ", "F")],
)
def test_gender(raw, expected):
    assert n.gender(raw) == expected


@pytest.mark.parametrize("raw", ["3", "男女", 0.0, "未知"])
def test_gender_rejects_other_words(raw):
    with pytest.raises(ValueError):
        n.gender(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [("是", True), ("否", False), ("", False), (0.0, False), (1.0, True), (2.0, True), ("2", True),
     ("1", True), ("0", False), ("单亲留守", True), ("双亲留守", True), ("非留守", False),
     ("2-双亲留守", True), ("√", True)],
)
def test_left_behind_reads_words_and_codes(raw, expected):
    assert n.left_behind(raw) is expected


@pytest.mark.parametrize(
    "raw, expected",
    [("一年级", (1, None)), ("九年级", (9, None)), ("1年级", (1, None)), ("8年级", (8, None)),
     ("七年级", (7, None)), ("初一", (7, None)), ("初二", (8, None)), ("初三", (9, None)),
     ("初中二年级", (8, None)), (1.0, (1, None)), (7, (7, None)), ("7", (7, None)), ("７", (7, None)),
     ("高一", (None, "高一")), ("高二", (None, "高二")), ("中职一年级", (None, "中职一年级")),
     ("职高", (None, "职高")), ("十年级", (None, "十年级")), (12.0, (None, "12")), ("", (None, None)),
     ("七年级(3)班", (7, None)), ("一二年级", (None, "一二年级"))],
)
def test_grade(raw, expected):
    assert n.grade(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("(2)班", 2), ("（2）班", 2), ("2班", 2), ("2", 2), (2.0, 2), ("2.0", 2), ("一年级一班", 1),
     ("七年级(3)班", 3), ("三班", 3), ("初一(2)班", 2), ("", None), (None, None)],
)
def test_class_no(raw, expected):
    assert n.class_no(raw) == expected


@pytest.mark.parametrize("raw", ["甲班", 2.5, -1.0, "七年级", "0班"])
def test_class_no_rejects_junk(raw):
    with pytest.raises(ValueError):
        n.class_no(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [("七年级(1)班", (7, 1)), ("三年级2班", (3, 2)), ("初一(2)班", (7, 2)), ("七(1)班", (7, 1)),
     ("九年级（4）班", (9, 4)), ("一年级", (1, None)), ("", (None, None)), ("无", (None, None))],
)
def test_head_class(raw, expected):
    assert n.head_class(raw) == expected


def test_head_class_rejects_junk():
    with pytest.raises(ValueError, match="七年级\\(1\\)班"):
        n.head_class("教导主任")


@pytest.mark.parametrize(
    "raw, expected",
    [("三组", 3), ("第3组", 3), ("3组", 3), ("3", 3), (3.0, 3), ("十二组", 12), ("第十组", 10),
     ("二十三组", 23), ("一组", 1), ("第1组", 1), ("3社", 3), ("3.0", 3), ("", None), ("３组", 3)],
)
def test_group_no(raw, expected):
    assert n.group_no(raw) == expected


@pytest.mark.parametrize("raw", ["东组", 0.0, "三十十组", "零组"])
def test_group_no_rejects_junk(raw):
    with pytest.raises(ValueError):
        n.group_no(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [("孤儿/事实无人抚养", ["孤儿", "事实无人抚养"]), ("脱贫户、低保户", ["脱贫户", "低保户"]),
     ("监测户，低保户", ["监测户", "低保户"]), ("脱贫户;低保户", ["脱贫户", "低保户"]),
     ("脱贫户 低保户", ["脱贫户", "低保户"]), ("一般家庭", ["一般家庭"]), ("一般户", ["一般户"]),
     ("", []), ("/", []), ("脱贫户//", ["脱贫户"])],
)
def test_family_types(raw, expected):
    assert n.family_types(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("在岗", (True, None)), ("", (True, None)), ("调离", (False, "调离")), ("退休", (False, "退休")),
     ("长期病假", (False, "长期病假")), ("不在岗", (False, "不在岗")), ("离职", (False, "离职")),
     ("借调", (False, "借调"))],
)
def test_active(raw, expected):
    assert n.active(raw) == expected


def test_active_rejects_unknown_words():
    with pytest.raises(ValueError, match="在岗"):
        n.active("出差中")


@pytest.mark.parametrize(
    "raw, expected",
    [(76.0, 76.0), ("85", 85.0), ("85.5分", 85.5), ("", None), (None, None), ("缺考", None), (0.0, 0.0)],
)
def test_score_blank_is_no_score(raw, expected):
    assert n.score(raw) == expected


@pytest.mark.parametrize("raw", ["良好", -3.0, True, float("nan"), "9" * 400])
def test_score_rejects_junk(raw):
    with pytest.raises(ValueError):
        n.score(raw)


@pytest.mark.parametrize("raw, expected", [(3.0, 3), ("3", 3), ("3天", 3), (9.5, 10), ("", None), (0.0, 0)])
def test_absences(raw, expected):
    assert n.absences(raw) == expected


def test_absences_rejects_an_endless_number():
    with pytest.raises(ValueError, match="缺勤天数"):
        n.absences("9" * 400)


@pytest.mark.parametrize(
    "raw, expected",
    [(18123545211.0, "18123545211"), ("18123545211", "18123545211"), ("0915-6321234", "09156321234"),
     ("181 2354 5211", "18123545211"), ("13800000000/13900000000", "13800000000"), ("", ""),
     (None, ""), ("无", ""), ("１８１２３５４５２１１", "18123545211"), ("打不通", ""), (1.5, ""),
     (-1.0, ""), (True, ""), (float("nan"), "")],
)
def test_phone(raw, expected):
    assert n.phone(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("石泉县后柳镇梧桐村1组", ("梧桐村", 1)),
     ("陕西省安康市石泉县后柳镇后柳社区3组", ("后柳社区", 3)),
     ("后柳镇兴坪村三组", ("兴坪村", 3)),
     ("后柳社区6组", ("后柳社区", 6)),
     ("石泉县后柳镇梧桐村村委会2组", ("梧桐村", 2)),
     ("后柳镇后柳社区居委会", ("后柳社区", None)),
     ("石泉县后柳镇黄荆坝村", ("黄荆坝村", None)),
     ("后柳镇镇坪村1组", ("镇坪村", 1)),
     ("石泉县城关镇", (None, None)),
     ("后柳镇梧桐村一二组", ("梧桐村", None)),
     ("", (None, None))],
)
def test_village_from_address(raw, expected):
    assert n.village_from_address(raw) == expected


def test_village_name():
    assert n.village_name(" 梧桐 村\u3000") == "梧桐村"


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(), st.text(alphabet="0123456789./-年月日号级组班第()（）一二三十高初中职是否√村镇 "),
    st.from_regex(r"[一二三十]{1,3}年级[一二三十]{0,3}班?|9{300,400}|.{0,4}镇.{1,3}村[一二十]{1,3}组"),
    st.dates(), st.datetimes(), st.times(),
)
NORMALIZERS = [n.text, n.name, n.village_name, n.parse_date, n.yes_no, n.gender, n.left_behind, n.grade,
               n.class_no, n.head_class, n.group_no, n.family_types, n.active, n.score, n.absences,
               n.phone, n.village_from_address]


@pytest.mark.parametrize("normalizer", [n.text, n.name, n.village_name, n.grade, n.family_types, n.phone,
                                        n.village_from_address], ids=lambda f: f.__name__)
@given(cell=CELLS)
def test_some_normalizers_never_reject(normalizer, cell):
    normalizer(cell)  # text, grade words, phones and addresses are kept, never a rejection


@pytest.mark.parametrize("normalizer", NORMALIZERS, ids=lambda f: f.__name__)
@given(cell=CELLS)
def test_junk_only_ever_raises_value_error(normalizer, cell):
    try:
        normalizer(cell)
    except ValueError as e:
        assert str(e) and not str(e).isascii()  # a Chinese reason for the error sheet
