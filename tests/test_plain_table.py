"""Plain text tables: aligned by display width, numbers to the right."""

from kcbx.render import plain_table


def test_columns_align_by_display_width():
    rows = [{"unit": "后柳镇", "n": 2658, "p": "99.43%"}, {"unit": "ab", "n": 7, "p": "—"}]
    text = plain_table(rows, [("unit", "单位"), ("n", "分子"), ("p", "比率")], title="入学率")
    assert text.splitlines() == [
        "入学率",
        " 单位   | 分子 | 比率",
        "--------+------+--------",
        " 后柳镇 | 2658 | 99.43%",
        " ab     |    7 | —",
    ]


def test_no_rows_is_just_the_header():
    assert plain_table([], [("a", "姓名")]).splitlines() == [" 姓名", "------"]
