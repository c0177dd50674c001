"""The special groups of SPEC §2 against a hand-built town."""

from datetime import date

import pytest

import town as world
from kcbx import groups

D = date(2025, 3, 1)  # compulsory age: born 2008-09-01 … 2018-08-31


@pytest.fixture
def town(conn):
    """A local primary school, a village, and the children named in the tests."""
    local = world.school(conn, "后柳小学", "primary")
    vid = world.village(conn, "中坝村")

    def kid(name, birth="2014-05-01", status="enrolled", school="后柳小学", **fields):
        return world.child(conn, name, birth, status=status, school_name=school,
                           village_id=vid, grade=4, class_no=1, **fields)

    return {"conn": conn, "local": local, "village": vid, "kid": kid}


def by_name(conn, day=D):
    return {c.name: c for c in groups.special_children(conn, day)}


def test_each_group_rule(town):
    kid, conn = town["kid"], town["conn"]
    kid("贫困", family_type="一般家庭、脱贫户")
    kid("监测", family_type="监测户(脱贫不稳定户)")
    kid("一般", family_type="一般家庭")
    kid("留守", left_behind=1)
    kid("残疾", status="inclusive", disabled=1)
    world.flag(conn, kid("动摇"), "wavering")
    world.flag(conn, kid("家困"), "hardship")
    world.flag(conn, kid("学困"), "struggling")
    world.flag(conn, kid("已清除"), "struggling", cleared=True)
    kid("辍学", status="dropout")
    kid("未入学", status="never_enrolled", school=None)
    kid("不明", status="unknown", school=None)
    found = {name: c.groups for name, c in by_name(conn).items()}
    assert found == {
        "贫困": ("poverty",), "监测": ("poverty",), "留守": ("left_behind",),
        "残疾": ("disabled",), "动摇": ("wavering",), "家困": ("hardship",),
        "学困": ("struggling",), "辍学": ("out_of_school",), "未入学": ("out_of_school",),
        "不明": ("out_of_school",),
    }


def test_a_child_is_in_every_group_it_matches(town):
    world.flag(town["conn"], town["kid"]("多重", status="suspected", family_type="低保户",
                                         left_behind=1, disabled=1), "wavering")
    child = by_name(town["conn"])["多重"]
    assert child.groups == ("poverty", "left_behind", "disabled", "wavering")
    assert child.group_names == ["贫困家庭", "留守儿童", "残疾", "动摇生"]


def test_population_edges(town):
    kid, conn = town["kid"], town["conn"]
    kid("外出", status="away", school="石泉县城关中学", left_behind=1)
    kid("特教", status="special_school", school="石泉县特殊教育学校", disabled=1)
    kid("外校在读", school="石泉县城关中学", left_behind=1)   # enrolled, not a local school
    kid("迁出", status="moved_out", school=None, left_behind=1)
    kid("休学", status="suspended", left_behind=1)
    kid("超龄", birth="2008-08-31", left_behind=1)
    kid("最大", birth="2008-09-01", left_behind=1)
    kid("最小", birth="2018-08-31", left_behind=1)
    kid("未到龄", birth="2018-09-01", left_behind=1)
    kid("非户籍", left_behind=1, in_census=0)             # on a local roll only
    kid("无组别")
    assert set(by_name(conn)) == {"最大", "最小", "非户籍"}
    counts = groups.group_counts(conn, D)
    assert counts["population"] == 4 and counts["any"] == 3 and counts["left_behind"] == 3


def test_status_on_the_date_decides(town):
    kid, conn = town["kid"], town["conn"]
    later = kid("三月辍学", left_behind=0)
    world.event(conn, later, "2025-03-05", "dropout", prev="enrolled", school="后柳小学")
    assert "三月辍学" not in by_name(conn, D)
    assert by_name(conn, date(2025, 3, 5))["三月辍学"].groups == ("out_of_school",)


def test_flags_count_on_the_days_they_were_open(town):
    """A past date's groups are that date's: a flag raised or cleared later does not leak in."""
    conn = town["conn"]
    world.flag(conn, town["kid"]("一月动摇"), "wavering", cleared=True)  # 2025-01-01 … 2025-02-01
    assert "一月动摇" not in by_name(conn, date(2024, 12, 31))
    assert by_name(conn, date(2025, 1, 1))["一月动摇"].groups == ("wavering",)
    assert by_name(conn, date(2025, 1, 31))["一月动摇"].groups == ("wavering",)
    assert "一月动摇" not in by_name(conn, date(2025, 2, 1))


def test_dropout_keeps_its_last_local_school(town):
    kid, conn = town["kid"], town["conn"]
    here = kid("本校辍学")
    world.event(conn, here, "2024-11-01", "dropout", prev="enrolled", school="后柳小学")
    gone = kid("外校辍学", on="2024-09-01")
    world.event(conn, gone, "2024-10-01", "away", prev="enrolled", school="西安市第三小学")
    world.event(conn, gone, "2024-12-01", "dropout", prev="away", school="西安市第三小学")
    kid("从未入学", status="never_enrolled", school=None)
    found = by_name(conn)
    assert found["本校辍学"].school == "后柳小学"
    assert found["外校辍学"].school_id == town["local"]      # from its history
    assert found["从未入学"].school is None


def test_nominal_grade_and_details(town):
    kid, conn = town["kid"], town["conn"]
    kid("八月生", birth="2012-08-31", left_behind=1, guardian_name="王平",
        guardian_phone="13800001111")
    kid("九月生", birth="2012-09-01", left_behind=1)
    found = by_name(conn)
    assert found["八月生"].nominal_grade == 7   # 12 on the cut-off 2024-08-31
    assert found["九月生"].nominal_grade == 6   # one day too young: 11
    assert (found["八月生"].village, found["八月生"].guardian_phone) == ("中坝村", "13800001111")
