"""The pure pairing planner: properties over random towns, and the tie-break rules."""

import random
from collections import Counter, defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from kcbx.assign import (FULL, NO_SCHOOL, NO_TEACHER, Child, NewPairing, Pairing, Teacher,
                         plan)

NAMES = "王李张刘陈杨赵黄"


@st.composite
def towns(draw):
    """Random schools, teachers (some inactive, some 班主任) and special children."""
    schools = list(range(1, draw(st.integers(1, 4)) + 1))
    teachers = [Teacher(i, draw(st.sampled_from(schools)),
                        draw(st.text(NAMES, min_size=1, max_size=2)),
                        active=draw(st.booleans() | st.just(True)),
                        head_grade=draw(st.none() | st.integers(1, 9)),
                        head_class_no=draw(st.none() | st.integers(1, 3)))
                for i in range(1, draw(st.integers(0, 12)) + 1)]
    children = [Child(i, draw(st.sampled_from(schools) | st.none()),
                      draw(st.none() | st.integers(1, 9)), draw(st.none() | st.integers(1, 3)))
                for i in range(1, draw(st.integers(0, 60)) + 1)]
    return children, teachers


def candidates(children, teachers):
    """Children whose school has at least one active teacher."""
    staffed = {t.school_id for t in teachers if t.active}
    return {c.child_id for c in children if c.school_id in staffed}


def as_pairings(result, start_id=1000):
    """The open pairings after `result` is saved."""
    new = [Pairing(start_id + i, n.child_id, n.teacher_id, "auto")
           for i, n in enumerate(result.new)]
    return result.kept + new


@settings(max_examples=200, deadline=None)
@given(towns())
def test_first_run_pairs_every_child_with_a_candidate_once_and_fairly(town):
    children, teachers = town
    result = plan(children, teachers, [])
    paired = Counter(n.child_id for n in result.new)
    assert set(paired) == candidates(children, teachers)
    assert all(n == 1 for n in paired.values())
    by_id = {t.teacher_id: t for t in teachers}
    assert all(by_id[n.teacher_id].active for n in result.new)
    assert all(by_id[n.teacher_id].school_id == next(c.school_id for c in children
                                                     if c.child_id == n.child_id)
               for n in result.new)
    assert {x.child_id for x in result.left_over} == {c.child_id for c in children} - set(paired)
    loads = defaultdict(list)
    for t in teachers:
        if t.active:
            loads[t.school_id].append(result.loads[t.teacher_id])
    assert all(max(v) - min(v) <= 1 for v in loads.values())


@settings(max_examples=200, deadline=None)
@given(towns(), st.none() | st.integers(1, 6))
def test_second_run_changes_nothing(town, cap):
    children, teachers = town
    first = plan(children, teachers, [], max_load=cap)
    second = plan(children, teachers, as_pairings(first), max_load=cap)
    assert second.changes == 0
    assert {x.child_id for x in second.left_over} == {x.child_id for x in first.left_over}


@settings(max_examples=200, deadline=None)
@given(towns(), st.data())
def test_nobody_else_is_paired_and_manual_pairings_survive(town, data):
    children, teachers = town
    if not teachers:
        return
    outsiders = [9000 + i for i in range(data.draw(st.integers(0, 5)))]
    pairings = [Pairing(500 + i, child_id, data.draw(st.sampled_from(teachers)).teacher_id,
                        data.draw(st.sampled_from(["auto", "manual"])))
                for i, child_id in enumerate(outsiders + [c.child_id for c in children
                                                          if data.draw(st.booleans())])]
    result = plan(children, teachers, pairings)
    special = {c.child_id for c in children}
    assert {e.child_id for e in result.ended if e.child_id not in special} == set(outsiders)
    assert all(n.child_id in special for n in result.new)
    open_after = Counter([p.child_id for p in result.kept] + [n.child_id for n in result.new])
    assert all(n == 1 for n in open_after.values())
    assert set(open_after) | {x.child_id for x in result.left_over} == special
    active = {t.teacher_id for t in teachers if t.active}
    survivors = {p.assignment_id for p in pairings
                 if p.source == "manual" and p.teacher_id in active and p.child_id in special}
    assert survivors <= {p.assignment_id for p in result.kept}


@settings(max_examples=200, deadline=None)
@given(towns(), st.integers(1, 5))
def test_cap_is_respected_and_the_rest_is_left_over(town, cap):
    children, teachers = town
    result = plan(children, teachers, [], max_load=cap)
    assert all(load <= cap for load in result.loads.values())
    staff = Counter(t.school_id for t in teachers if t.active)
    wanted = Counter(c.school_id for c in children if c.school_id in staff)
    for school, n in wanted.items():
        assert result.shortfall().get(school, 0) == max(0, n - staff[school] * cap)


@settings(max_examples=100, deadline=None)
@given(towns(), st.randoms())
def test_input_order_does_not_matter(town, rnd):
    children, teachers = town
    shuffled_children, shuffled_teachers = list(children), list(teachers)
    rnd.shuffle(shuffled_children)
    rnd.shuffle(shuffled_teachers)
    assert (sorted(plan(children, teachers, []).new, key=lambda n: n.child_id)
            == sorted(plan(shuffled_children, shuffled_teachers, []).new,
                      key=lambda n: n.child_id))


def test_head_teacher_then_same_grade_then_name_among_equals():
    teachers = [Teacher(1, 1, "王"), Teacher(2, 1, "张", head_grade=4, head_class_no=2),
                Teacher(3, 1, "赵", head_grade=4, head_class_no=1)]
    # each child alone, so every teacher is at load 0
    assert plan([Child(1, 1, 4, 1)], teachers, []).new == [NewPairing(1, 3)]   # 班主任
    assert plan([Child(1, 1, 4, 3)], teachers, []).new == [NewPairing(1, 2)]   # same grade
    assert plan([Child(1, 1, 5, 1)], teachers, []).new == [NewPairing(1, 2)]   # 张 < 王 < 赵


def test_least_loaded_beats_head_teacher():
    teachers = [Teacher(1, 1, "王"), Teacher(2, 1, "赵", head_grade=4, head_class_no=1)]
    kept = [Pairing(10, 7, 2)]
    result = plan([Child(7, 1, 4, 1), Child(8, 1, 4, 1)], teachers, kept)
    assert result.new == [NewPairing(8, 1)]
    assert result.loads == {1: 1, 2: 1}


def test_load_counts_manual_pairings_from_other_schools():
    teachers = [Teacher(1, 1, "王"), Teacher(2, 1, "李")]
    manual = [Pairing(10, 7, 1, "manual"), Pairing(11, 8, 1, "manual")]
    children = [Child(7, 2), Child(8, 2), Child(9, 1), Child(10, 1)]
    result = plan(children, teachers, manual)
    assert [p.assignment_id for p in result.kept] == [10, 11]
    assert {n.child_id: n.teacher_id for n in result.new} == {9: 2, 10: 2}


def test_inactive_and_wrong_school_teachers_are_replaced():
    teachers = [Teacher(1, 1, "王", active=False), Teacher(2, 1, "李"), Teacher(3, 2, "刘")]
    pairings = [Pairing(10, 7, 1), Pairing(11, 8, 3), Pairing(12, 9, 3, "manual")]
    result = plan([Child(7, 1), Child(8, 1), Child(9, 1)], teachers, pairings)
    assert [(e.assignment_id, e.reason) for e in result.ended] == [
        (10, "教师已不在岗"), (11, "学生已不在该教师所在学校")]
    assert sorted(result.new, key=lambda n: n.child_id) == [NewPairing(7, 2, replaces=10),
                                                            NewPairing(8, 2, replaces=11)]
    assert [p.assignment_id for p in result.kept] == [12]


def test_left_over_reasons():
    teachers = [Teacher(1, 1, "王"), Teacher(2, 2, "李", active=False)]
    children = [Child(1, None), Child(2, 2), Child(3, 1), Child(4, 1)]
    result = plan(children, teachers, [], max_load=1)
    assert {x.child_id: x.reason for x in result.left_over} == {1: NO_SCHOOL, 2: NO_TEACHER,
                                                                4: FULL}
    assert result.shortfall() == {None: 1, 2: 1, 1: 1}


def test_departing_child_ends_with_the_given_reason():
    result = plan([], [Teacher(1, 1, "王")], [Pairing(10, 7, 1), Pairing(11, 8, 1)],
                  end_reasons={7: "状态变为 迁出"})
    assert [e.reason for e in result.ended] == ["状态变为 迁出", "已不在特殊群体范围"]
    assert not result.new


def test_large_town_stays_balanced():
    rng = random.Random(3)
    teachers = [Teacher(i, i % 5, f"教师{i}") for i in range(50)]
    children = [Child(i, rng.randrange(5), rng.randrange(1, 10), rng.randrange(1, 4))
                for i in range(5000)]
    result = plan(children, teachers, [])
    for school in range(5):
        loads = [result.loads[t.teacher_id] for t in teachers if t.school_id == school]
        assert max(loads) - min(loads) <= 1
