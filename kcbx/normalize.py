"""Cell values → clean values: one small pure function per kind of column.

Cells arrive as python-calamine gives them (str, float, int, bool, date, datetime, time)
or as CSV text. Each function returns the clean value or raises `ValueError` with a short
Chinese reason the importer puts in its error sheet; nothing else may escape, whatever a
clerk typed. Blank means "not filled in" and never becomes 0.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta

DAY = "day"
MONTH = "month"

# Characters that survive NFKC but are invisible in Excel: zero-width spaces, BOM.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# What clerks write in a cell that has nothing to say (#N/A is a failed VLOOKUP).
_NOTHING = frozenset({"", "/", "\\", "-", "--", "—", "——", "无", "暂无", "不详", "#n/a", "n/a"})

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}


def text(v: object) -> str:
    """The cell as clean text: NFKC, stripped; a whole float loses its '.0'.

    Phone numbers and 组 stored as numbers come back as 18123545211.0 and 3.0; their
    text is what the clerk typed. Dates become ISO text.
    """
    if type(v) is str:  # most cells: skip the checks below
        # ASCII text is already NFKC and holds none of the invisible characters
        return v.strip() if v.isascii() else (
            unicodedata.normalize("NFKC", v).translate(_INVISIBLE).strip())
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time() else v.isoformat(sep=" ")
    if isinstance(v, (date, time)):
        return v.isoformat()
    return unicodedata.normalize("NFKC", str(v)).translate(_INVISIBLE).strip()


def _compact(v: object) -> str:
    """`text` without any whitespace: what most code words are compared as."""
    if type(v) is str and _CJK_WORD.fullmatch(v):  # most names: nothing to clean
        return v
    return "".join(text(v).split())


# Chinese characters only: already NFKC, with no space or invisible character to remove
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")


def _is_nothing(t: str) -> bool:
    return t.lower() in _NOTHING


def name(v: object) -> str:
    """A person's or place's name: NFKC, every space removed (also U+3000 and inner ones)."""
    return _compact(v)


def village_name(v: object) -> str:
    """A village or community name as written, NFKC and without spaces."""
    return _compact(v)


# --- dates -------------------------------------------------------------------------------

_EXCEL_EPOCH = datetime(1899, 12, 30)
_YMD = re.compile(r"(\d{4})[./\-年](\d{1,2})[./\-月](\d{1,2})[日号]?(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_YM = re.compile(r"(\d{4})[./\-年](\d{1,2})月?")
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?")


def _day(y: int, m: int, d: int) -> date:
    """A real calendar day between 1900 and 2100, or a Chinese ValueError."""
    if not 1900 <= y <= 2100:
        raise ValueError(f"年份 {y} 不对")
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueError(f"{y}年{m}月{d}日 不是真实的日期") from None


def _from_serial(x: float) -> date:
    """An Excel serial day number (1900 system), exactly as openpyxl's `from_excel` reads it.

    Excel pretends 1900 was a leap year, so serials below 60 are one day off; openpyxl
    shifts them, and so do we, so both readers agree on every cell.
    """
    whole, fraction = divmod(x, 1)
    diff = timedelta(milliseconds=round(fraction * 86400 * 1000))
    if x < 60:
        whole += 1
    return (_EXCEL_EPOCH + timedelta(days=whole) + diff).date()


def _month_from_decimal(whole: int, digits: str) -> tuple[date, str]:
    """2015.03 / 2015.3 typed into a cell: a year and a month."""
    return _day(whole, int(digits), 1), MONTH


def _from_number(x: float | int) -> tuple[date, str]:
    """A number cell: YYYYMMDD, YYYYMM, an Excel serial, or a year.month decimal."""
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError("不是日期")
        if not x.is_integer():
            whole = int(x)
            if 1900 <= whole <= 2100:
                # A number cell forgets trailing zeros: 2015.1 may have been 2015.10.
                digits = repr(x).split(".")[1]
                if digits == "1":
                    raise ValueError(f"{x} 看不出是 1 月还是 10 月，请写成 {whole}年1月 或 {whole}年10月")
                if len(digits) > 2:
                    raise ValueError(f"看不懂的日期 {x}")
                return _month_from_decimal(whole, digits)
            if 1 <= x < 100000:
                return _from_serial(x), DAY
            raise ValueError(f"看不懂的日期 {x}")
        x = int(x)
    if 19000101 <= x <= 21001231:
        return _day(x // 10000, x // 100 % 100, x % 100), DAY
    if 190001 <= x <= 210012:
        return _day(x // 100, x % 100, 1), MONTH
    if 1 <= x < 100000:
        return _from_serial(x), DAY
    raise ValueError(f"看不懂的日期 {x}")


def _from_numeric_text(whole: str, digits: str | None) -> tuple[date, str]:
    """Digits typed as text (a CSV, or a text cell): 20150304, 201503, 40086, 2015.03."""
    if digits is None or set(digits) == {"0"}:
        return _from_number(int(whole))
    if len(whole) == 4 and len(digits) <= 2:
        return _month_from_decimal(int(whole), digits)
    return _from_number(float(f"{whole}.{digits}"))


def parse_date(v: object) -> tuple[date, str]:
    """(date, 'day'|'month') from any common way of writing a date.

    Accepts date/datetime cells, Excel serials (also as text in a CSV), 2015.3.4,
    2015年3月4日, 2015/03/04, 2015-03-04, 20150304, and month-only 201503, 2015.03,
    2015年3月 (the first of the month, precision 'month').
    """
    if isinstance(v, bool):
        raise ValueError("不是日期")
    if isinstance(v, datetime):
        return v.date(), DAY
    if isinstance(v, date):
        return v, DAY
    if isinstance(v, (int, float)):
        return _from_number(v)
    t = _compact(v)
    if not t:
        raise ValueError("日期为空")
    if m := _NUMBER.fullmatch(t):
        return _from_numeric_text(m.group(1), m.group(2))
    if m := _YMD.fullmatch(t):
        return _day(int(m.group(1)), int(m.group(2)), int(m.group(3))), DAY
    if m := _YM.fullmatch(t):
        return _day(int(m.group(1)), int(m.group(2)), 1), MONTH
    raise ValueError(f"看不懂的日期「{t}」")


# --- yes/no and codes ---------------------------------------------------------------------

_YES = frozenset({"是", "√", "✓", "✔", "☑", "有", "1", "y", "yes", "true", "t", "对"})
_NO = frozenset({"否", "无", "0", "n", "no", "false", "f", "×", "✗", "✘", "不是", "没有", "非"})
# 学籍 exports write codes with their meaning: "1-男", "01-汉族", "2：双亲留守".
_CODE_PREFIX = re.compile(r"\d{1,2}[-:.、_]+(?=\D)")


def _label(v: object) -> str:
    """The compact text of a coded cell, its meaning preferred over its code."""
    t = _compact(v)
    return _CODE_PREFIX.sub("", t, count=1) if _CODE_PREFIX.match(t) else t


def _whole(v: object) -> int | None:
    """The integer a number cell holds (3, 3.0), or None for 2.5, nan, text and booleans."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return None


def _number_word(v: object) -> str | None:
    """'1', '0', '2' for number cells 1.0/0/2; None for other numbers or non-numbers."""
    n = _whole(v)
    return None if n is None else str(n)


def yes_no(v: object) -> bool:
    """是/否, √, 有/无, 1/0, Y/N, true/false; blank is 否."""
    if isinstance(v, bool):
        return v
    t = _number_word(v) if isinstance(v, (int, float)) else _label(v).lower()
    if t in _YES:
        return True
    if t is not None and (t in _NO or _is_nothing(t)):
        return False
    raise ValueError(f"应填“是”或“否”，这里是「{text(v)}」")


_GENDERS = {"男": "M", "女": "F", "1": "M", "2": "F", "男性": "M", "女性": "F",
            "m": "M", "f": "F", "male": "M", "female": "F"}


def gender(v: object) -> str | None:
    """'M' or 'F' from 男/女 or the 学籍 code 1/2 (also "1-男"); None when blank."""
    t = _number_word(v) if isinstance(v, (int, float)) else _label(v).lower()
    if t is not None and _is_nothing(t):
        return None
    if t in _GENDERS:
        return _GENDERS[t]
    raise ValueError(f"性别应为 男/女（或 1/2），这里是「{text(v)}」")


_LEFT_BEHIND_WORDS = {"单亲留守": True, "双亲留守": True, "留守": True, "留守儿童": True,
                      "父母均外出": True, "父亲外出": True, "母亲外出": True,
                      "非留守": False, "不留守": False, "非留守儿童": False, "2": True}


def left_behind(v: object) -> bool:
    """留守 as yes/no words or the 学籍 code 0/1/2 (1 单亲, 2 双亲: both left-behind)."""
    t = _number_word(v) if isinstance(v, (int, float)) else _label(v)
    if t in _LEFT_BEHIND_WORDS:
        return _LEFT_BEHIND_WORDS[t]
    try:
        return yes_no(v if t is None else t)
    except ValueError:
        raise ValueError(f"是否留守应为 是/否 或 0/1/2，这里是「{text(v)}」") from None


# --- numbers written in Chinese: grades, classes, 组 -------------------------------------

def _small_int(s: str) -> int:
    """A count in ASCII digits or Chinese numerals up to 99 (三, 十二, 二十三)."""
    if re.fullmatch(r"[0-9]+", s):
        return int(s)
    if s in _CN_DIGITS:
        return _CN_DIGITS[s]
    tens, sep, ones = s.partition("十")
    if sep and len(tens) <= 1 and len(ones) <= 1 and (tens + ones == "" or set(tens + ones) <= _CN_DIGITS.keys()):
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    raise ValueError(f"看不懂的数字「{s}」")


_NUM = r"[0-9]+|[一二三四五六七八九十两〇零]+"
_GRADE_WORD = re.compile(rf"(?:小学)?({_NUM})年级|初中?([一二三123])(?:年级)?")
_GRADE_ONLY = re.compile(r"([1-9])(?:\.0+)?")


def _grade_prefix(t: str) -> tuple[int | None, str]:
    """The compulsory grade at the start of `t` (七年级, 7年级, 初一, 初中二年级) and the rest."""
    m = _GRADE_WORD.match(t)
    if not m:
        return None, t
    if m.group(2):
        return 6 + _small_int(m.group(2)), t[m.end():]
    try:
        n = _small_int(m.group(1))
    except ValueError:  # 一二年级: not a grade, and grade() never rejects
        return None, t
    return (n if 1 <= n <= 9 else None), t[m.end():]


def grade(v: object) -> tuple[int | None, str | None]:
    """(1-9, None) for 一年级…九年级, 7年级, 初一=7, 7, 7.0; (None, text) for anything else.

    高一, 中职一年级, 职高 and the like are real answers (the child left compulsory
    education), so they are kept as text and never rejected.
    """
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        n = _whole(v)
        return (n, None) if n is not None and 1 <= n <= 9 else (None, text(v))
    t = _compact(v)
    if _is_nothing(t):
        return None, None
    if m := _GRADE_ONLY.fullmatch(t):
        return int(m.group(1)), None
    n, _ = _grade_prefix(t)
    return (n, None) if n is not None else (None, t)


_CLASS = re.compile(rf"\(?({_NUM})(?:\.0+)?\)?班?")


def class_no(v: object) -> int | None:
    """The class number from (2)班, 2班, 2, 2.0, 三班, 一年级一班, 七年级(3)班."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        n = _whole(v)
        if n is None or n <= 0:
            raise ValueError(f"班级应为正整数，这里是「{text(v)}」")
        return n
    t = _compact(v)
    if _is_nothing(t):
        return None
    _, rest = _grade_prefix(t)
    if (m := _CLASS.fullmatch(rest)) and (n := _small_int(m.group(1))) > 0:
        return n
    raise ValueError(f"看不懂的班级「{t}」")


_SHORT_HEAD_CLASS = re.compile(rf"([1-9一二三四五六七八九])\(({_NUM})\)班?")


def head_class(v: object) -> tuple[int | None, int | None]:
    """(grade, class) of a 班主任班级 such as 七年级(1)班, 三年级2班, 初一(2)班, 七(1)班."""
    t = _compact(v)
    if _is_nothing(t):
        return None, None
    if m := _SHORT_HEAD_CLASS.fullmatch(t):
        return _small_int(m.group(1)), _small_int(m.group(2))
    g, rest = _grade_prefix(t)
    if g is None:
        raise ValueError(f"看不懂的班主任班级「{t}」，应写成 七年级(1)班")
    if not rest:
        return g, None
    if m := _CLASS.fullmatch(rest):
        return g, _small_int(m.group(1))
    raise ValueError(f"看不懂的班主任班级「{t}」，应写成 七年级(1)班")


_GROUP = re.compile(rf"第?({_NUM})(?:\.0+)?(?:村民小组|小组|组|社|队)?")


def group_no(v: object) -> int | None:
    """The 组 number from 三组, 第3组, 3组, 3, 3.0, 十二组 (also 3社/3队)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        n = _whole(v)
        if n is None or n <= 0:
            raise ValueError(f"组应为正整数，这里是「{text(v)}」")
        return n
    t = _compact(v)
    if _is_nothing(t):
        return None
    if (m := _GROUP.fullmatch(t)) and (n := _small_int(m.group(1))) > 0:
        return n
    raise ValueError(f"看不懂的组「{t}」，应写成 3组 或 三组")


# --- lists, states, amounts ---------------------------------------------------------------

_LIST_SEPARATORS = re.compile(r"[/、,;|\s]+")


def family_types(v: object) -> list[str]:
    """家庭类型 split into its parts: 孤儿/事实无人抚养 → ['孤儿', '事实无人抚养']."""
    t = text(v)
    if _is_nothing(t):
        return []
    return [part for part in _LIST_SEPARATORS.split(t) if part]


_ACTIVE = frozenset({"在岗", "在职", "正常", "是", "在编在岗", "√"})
_INACTIVE = ("不在岗", "离岗", "调离", "调出", "调走", "退休", "病假", "产假", "休假", "离职",
             "辞职", "借调", "停薪留职", "死亡", "否")


def active(v: object) -> tuple[bool, str | None]:
    """在岗情况: (True, None) for 在岗 or blank; (False, the word) for 调离, 退休, 长期病假 …"""
    t = _compact(v)
    if _is_nothing(t) or t in _ACTIVE:
        return True, None
    if any(word in t for word in _INACTIVE):
        return False, t
    raise ValueError(f"看不懂的在岗情况「{t}」，应填 在岗、调离、退休、长期病假 等")


_NO_SCORE = frozenset({"缺考", "免考", "无成绩"})
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)(?:分|天|日)?")


def _amount(v: object, what: str) -> float | None:
    """A non-negative number from a number cell or text like 85, 85.5分, 3天; None if blank."""
    if isinstance(v, bool):
        raise ValueError(f"{what}应为数字，这里是「{text(v)}」")
    if isinstance(v, (int, float)):
        amount = float(v)
    else:
        t = _compact(v)
        if _is_nothing(t) or t in _NO_SCORE:
            return None
        if not (m := _AMOUNT.fullmatch(t)):
            raise ValueError(f"{what}应为数字，这里是「{t}」")
        amount = float(m.group(1))
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"{what}应为不小于 0 的数字，这里是「{text(v)}」")
    return amount


def score(v: object) -> float | None:
    """The last exam score; blank (or 缺考) is no score, never 0."""
    return _amount(v, "学业成绩")


def absences(v: object) -> int | None:
    """Days absent; blank is unknown. A half day counts as a day (9.5 → 10): the
    threshold exists to catch children drifting away, so err towards noticing them."""
    days = _amount(v, "缺勤天数")
    if days is None:
        return None
    return math.floor(days + 0.5)


_PHONE_SEPARATORS = re.compile(r"[/、,;|]")


def phone(v: object) -> str:
    """The digits of a phone number (the first one when several are given), else ''.

    Number cells (18123545211.0) keep all their digits; dashes, spaces and brackets go.
    Never raises: a missing or unreadable phone (无, 打不通) must not cost a child its row.
    """
    if type(v) is str and v.isascii() and v.isdigit():  # the usual cell: digits typed as text
        return v
    n = _whole(v)
    if n is not None:
        return str(n) if n >= 0 else ""
    if isinstance(v, (bool, int, float)):
        return ""
    return re.sub(r"\D", "", _PHONE_SEPARATORS.split(text(v), maxsplit=1)[0])


# --- addresses ----------------------------------------------------------------------------

# 省, 市/州, 县/区: each optional and short; 社区 is a community, not a district.
_ABOVE_TOWN = re.compile(r"(?:.{1,8}?省)?(?:.{1,8}?(?:市|自治州|地区|盟))?(?:.{1,8}?(?:县|(?<!社)区|市|旗))?")
_TOWN = re.compile(r".{2,}?(?:街道办事处|街道|镇|乡)")
_VILLAGE_WITH_GROUP = re.compile(rf"(.+?(?:村民委员会|村委会|居民委员会|居委会|社区|村))第?({_NUM})(?:村民小组|小组|组|社|队)")
_VILLAGE = re.compile(r"(.+?(?:村民委员会|村委会|居民委员会|居委会|社区|村))")
_COMMITTEE = (("村民委员会", "村"), ("村委会", "村"), ("社区居民委员会", "社区"),
              ("社区居委会", "社区"))


def _short_village(v: str) -> str:
    """梧桐村村委会 → 梧桐村, 后柳社区居委会 → 后柳社区: the name villages use themselves."""
    for long, short in _COMMITTEE:
        if v.endswith(long):
            base = v[: -len(long)]
            return base if base.endswith(short) else base + short
    return v


def village_from_address(v: object) -> tuple[str | None, int | None]:
    """(village, 组) from an address: 石泉县后柳镇梧桐村1组 → ('梧桐村', 1).

    Province, city, county and the town (镇/乡/街道) are skipped; the village is the
    first name ending in 村, 社区 or 居委会 after them. (None, None) when there is none;
    never raises, like `text`, `name`, `grade`, `family_types` and `phone`.
    """
    t = _compact(v)
    rest = t[_ABOVE_TOWN.match(t).end():]
    if m := _TOWN.match(rest):
        rest = rest[m.end():]
    if m := _VILLAGE_WITH_GROUP.match(rest):
        try:
            return _short_village(m.group(1)), _small_int(m.group(2))
        except ValueError:  # a 组 number nobody can read does not hide the village
            return _short_village(m.group(1)), None
    if m := _VILLAGE.match(rest):
        return _short_village(m.group(1)), None
    return None, None
