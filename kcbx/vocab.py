"""The vocabulary of SPEC §2 as data: status and flag codes, their Chinese words and classes.

Every module that turns a Chinese word into a code (importer, `status set`, `flag add`)
or a code into Chinese (reports) goes through here, so the words live in one place.
"""

from __future__ import annotations

import unicodedata

from kcbx.errors import InvalidValue

RECEIVING = "receiving"
NOT = "not"
EXCLUDED = "excluded"

# code -> (display name, class); the order is the order of every status listing.
STATUSES: dict[str, tuple[str, str]] = {
    "enrolled": ("在校", RECEIVING),
    "inclusive": ("随班就读", RECEIVING),
    "special_school": ("特教学校就读", RECEIVING),
    "home_taught": ("送教上门", RECEIVING),
    "away": ("外出就读", RECEIVING),
    "suspected": ("疑似辍学", RECEIVING),
    "dropout": ("辍学", NOT),
    "never_enrolled": ("未入学", NOT),
    "unknown": ("去向不明", NOT),
    "suspended": ("休学", EXCLUDED),
    "deferred": ("缓学", EXCLUDED),
    "completed": ("已完成义务教育", EXCLUDED),
    "moved_out": ("迁出", EXCLUDED),
    "deceased": ("死亡", EXCLUDED),
}

# Words found in 就读状态 / 学籍状态 / 变动后状态 columns (compared after NFKC, no spaces).
STATUS_WORDS: dict[str, str] = {
    "在校": "enrolled", "在读": "enrolled", "正常": "enrolled", "在籍在校": "enrolled",
    "在校就读": "enrolled", "就读": "enrolled",
    "随班就读": "inclusive",
    "特教学校就读": "special_school", "特殊教育学校就读": "special_school",
    "特教学校": "special_school", "特殊学校就读": "special_school",
    "送教上门": "home_taught",
    "外出就读": "away", "异地就读": "away", "本在外": "away", "外地就读": "away",
    "疑似辍学": "suspected",
    "辍学": "dropout",
    "未入学": "never_enrolled", "失学": "never_enrolled",
    "去向不明": "unknown", "待核实": "unknown", "不明": "unknown",
    "休学": "suspended",
    "延缓入学": "deferred", "缓学": "deferred", "暂缓入学": "deferred", "免学": "deferred",
    "免予入学": "deferred",
    "已毕业": "completed", "毕业": "completed", "升学": "completed",
    "已完成义务教育": "completed", "完成义务教育": "completed", "已升学": "completed",
    "迁出": "moved_out", "户籍迁出": "moved_out", "出国": "moved_out", "已迁出": "moved_out",
    "出境": "moved_out",
    "死亡": "deceased", "已死亡": "deceased",
}

RECEIVING_STATUSES = tuple(c for c, (_, k) in STATUSES.items() if k == RECEIVING)
NOT_STATUSES = tuple(c for c, (_, k) in STATUSES.items() if k == NOT)
EXCLUDED_STATUSES = tuple(c for c, (_, k) in STATUSES.items() if k == EXCLUDED)

FLAGS: dict[str, str] = {"wavering": "动摇生", "hardship": "家困生", "struggling": "学困生"}
FLAG_WORDS: dict[str, str] = {
    "动摇生": "wavering", "动摇": "wavering",
    "家困生": "hardship", "家庭困难": "hardship", "家困": "hardship",
    "学困生": "struggling", "学习困难": "struggling", "学业困难": "struggling", "学困": "struggling",
}


def _clean(word: str) -> str:
    return "".join(unicodedata.normalize("NFKC", word).split())


def status_from_word(word: str) -> str | None:
    """The status code for a Chinese word or an English code, or None when unknown."""
    text = _clean(word)
    if text in STATUSES:
        return text
    return STATUS_WORDS.get(text)


def parse_status(word: str) -> str:
    """Like `status_from_word`, but an unknown word is an error that lists the choices."""
    code = status_from_word(word)
    if code is None:
        choices = "、".join(name for name, _ in STATUSES.values())
        raise InvalidValue(f"不认识的状态「{word}」。可用：{choices}")
    return code


def status_name(code: str | None) -> str:
    """The Chinese name of a status code ('' for None)."""
    return STATUSES[code][0] if code else ""


def status_class(code: str | None) -> str | None:
    """RECEIVING, NOT or EXCLUDED (None for no status)."""
    return STATUSES[code][1] if code else None


def parse_flag(word: str) -> str:
    """A flag code from 动摇生/家困生/学困生 or the English code; unknown words are errors."""
    text = _clean(word)
    if text in FLAGS:
        return text
    if text in FLAG_WORDS:
        return FLAG_WORDS[text]
    raise InvalidValue(f"不认识的标记「{word}」。可用：动摇生、家困生、学困生")
