"""The flag rules and the flag auto planner as pure functions: no database."""

from datetime import date

import pytest

from kcbx.flags import (Facts, OpenFlag, Thresholds, hardship, judge, plan, struggling,
                        wavering)

T = Thresholds(absences=10, score=40)


def facts(**fields) -> Facts:
    return Facts(**{"child_id": 1, "status": "enrolled", **fields})


@pytest.mark.parametrize("days, raised, text", [
    (9, False, "缺勤 9 天 < 10 天"),
    (10, True, "缺勤 10 天 ≥ 10 天"),
    (12, True, "缺勤 12 天 ≥ 10 天"),
    (None, False, "无缺勤天数"),
])
def test_wavering_absences_at_the_threshold(days, raised, text):
    finding = wavering(facts(absences=days), T)
    assert finding.raised is raised
    assert text in (finding.reason if raised else finding.gone)


def test_wavering_threshold_is_a_setting():
    assert not wavering(facts(absences=8), T).raised
    assert wavering(facts(absences=8), Thresholds(absences=8, score=40)).reason == "缺勤 8 天 ≥ 8 天"


def test_wavering_return_suspected_and_roster_remark():
    assert wavering(facts(returned_on=date(2024, 12, 3)), T).reason == "2024-12-03 劝返复学"
    assert wavering(facts(status="suspected"), T).reason == "状态: 疑似辍学"
    assert wavering(facts(roster_remark="学业困难;思想动摇"), T).reason == "备注: 思想动摇"
    assert wavering(facts(roster_remark="上课厌学"), T).reason == "备注: 厌学"


def test_wavering_reads_the_roster_remark_not_the_latest_remark_of_any_sheet():
    assert not wavering(facts(remark="思想动摇", roster_remark="家庭困难"), T).raised


def test_wavering_gives_every_clause_that_holds():
    finding = wavering(facts(absences=15, returned_on=date(2024, 11, 7), roster_remark="思想动摇"), T)
    assert finding.reason == "缺勤 15 天 ≥ 10 天；2024-11-07 劝返复学；备注: 思想动摇"


def test_wavering_gone_names_the_facts_that_no_longer_hold():
    finding = wavering(facts(absences=3), T)
    assert not finding.raised
    assert finding.gone == ("证据已消失：缺勤 3 天 < 10 天；本学年无劝返复学；状态: 在校；"
                            "备注未提思想动摇、厌学")


@pytest.mark.parametrize("family, raised, text", [
    ("监测户", True, "家庭类型: 监测户"),
    ("脱贫户、低保户", True, "家庭类型: 脱贫户、低保户"),
    ("孤儿、事实无人抚养", True, "家庭类型: 孤儿、事实无人抚养"),
    ("特困供养", True, "家庭类型: 特困供养"),
    ("一般家庭", False, "家庭类型: 一般家庭"),
    (None, False, "家庭类型未填"),
])
def test_hardship_family_types(family, raised, text):
    finding = hardship(facts(family_type=family), T)
    assert finding.raised is raised
    assert text in (finding.reason if raised else finding.gone)


def test_hardship_reads_the_latest_remark():
    assert hardship(facts(remark="家庭困难，父亲重病"), T).reason == "备注: 家庭困难"
    assert not hardship(facts(roster_remark="家庭困难"), T).raised


@pytest.mark.parametrize("score, raised, text", [
    (39.5, True, "成绩 39.5 < 40"),
    (35.0, True, "成绩 35 < 40"),
    (40.0, False, "成绩 40 ≥ 40"),
    (0.0, True, "成绩 0 < 40"),
    (None, False, "无成绩"),
])
def test_struggling_score_at_the_threshold_and_blank_is_no_score(score, raised, text):
    finding = struggling(facts(score=score), T)
    assert finding.raised is raised
    assert text in (finding.reason if raised else finding.gone)


def test_struggling_reads_the_latest_remark():
    assert struggling(facts(remark="学业困难;思想动摇"), T).reason == "备注: 学业困难"


def test_judge_runs_every_rule_on_every_child():
    found = judge([facts(child_id=1), facts(child_id=2, family_type="低保户")], T)
    assert [(f.child_id, f.flag, f.raised) for f in found] == [
        (1, "wavering", False), (1, "hardship", False), (1, "struggling", False),
        (2, "wavering", False), (2, "hardship", True), (2, "struggling", False)]


# ---------------------------------------------------------------- the planner


def test_plan_raises_new_and_keeps_open_rule_flags():
    found = judge([facts(child_id=1, absences=12), facts(child_id=2, absences=20)], T)
    result = plan(found, [OpenFlag(7, 2, "wavering", "rule:wavering")], set())
    assert [(r.child_id, r.flag, r.reason) for r in result.raised] == [
        (1, "wavering", "缺勤 12 天 ≥ 10 天")]
    assert (result.cleared, result.kept) == ([], 1)


def test_plan_clears_rule_flags_whose_evidence_is_gone_or_child_left():
    found = judge([facts(child_id=1, absences=3)], T)
    open_flags = [OpenFlag(7, 1, "wavering", "rule:wavering"),
                  OpenFlag(8, 2, "hardship", "rule:hardship")]
    result = plan(found, open_flags, set())
    assert [(c.flag_id, c.reason.split("；")[0]) for c in result.cleared] == [
        (7, "证据已消失：缺勤 3 天 < 10 天"), (8, "已不在特殊群体范围")]


def test_plan_never_clears_manual_flags_and_never_doubles_them():
    found = judge([facts(child_id=1, absences=30)], T)
    open_flags = [OpenFlag(7, 1, "wavering", "manual"),
                  OpenFlag(8, 1, "struggling", "manual"),
                  OpenFlag(9, 5, "hardship", "manual")]
    result = plan(found, open_flags, set())
    assert (result.raised, result.cleared, result.manual) == ([], [], 1)


def test_plan_respects_a_held_manual_clear():
    found = judge([facts(child_id=1, absences=30)], T)
    result = plan(found, [], {(1, "wavering")})
    assert (result.raised, result.held) == ([], 1)
