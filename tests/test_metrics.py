"""SPEC §4 rates on hand-built worlds with known answers, one rule per test.

Reference date D = 2025-03-01 and A = 2024-09-01 unless a test says otherwise; the
compulsory-age window is then born 2008-09-01 … 2018-08-31.
"""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from world import World, d

from kcbx import metrics, settings
from kcbx.errors import InvalidValue
from kcbx.metrics import Ratio, format_percent

D = d("2025-03-01")


@pytest.fixture
def w(conn):
    settings.put(conn, "town", "后柳镇")
    return World(conn)


def town(conn, as_of=D, start=None):
    return metrics.rates(conn, as_of, start).groups[0]


def groups(conn, by, as_of=D, start=None):
    return {g.key: g for g in metrics.rates(conn, as_of, start, by).groups[1:]}


def test_age_window_edges_and_nominal_grade(w, conn):
    for born in ("2008-08-31", "2008-09-01", "2018-08-31", "2018-09-01"):
        w.snap(w.child(born), "2025-02-20", "enrolled")
    w.settle()
    assert town(conn).enrollment == Ratio(2, 2)
    grade = groups(conn, "grade")
    assert grade[1].counts["enrolled"] == 1      # born 2018-08-31: six on 2024-08-31
    assert grade[10].counts["enrolled"] == 1     # born 2008-09-01: fifteen on 2024-08-31
    assert sum(g.counts["enrolled"] for g in grade.values()) == 2


def test_window_moves_with_the_school_year(w, conn):
    w.snap(w.child("2019-08-31"), "2025-02-20", "enrolled")
    w.settle()
    assert town(conn).enrollment == Ratio(0, 0)                    # five on 2024-08-31
    assert town(conn, as_of=d("2025-09-01")).enrollment == Ratio(1, 1)


def test_each_status_class(w, conn):
    for code in metrics.STATUSES:
        w.snap(w.child(), "2025-02-20", code)
    w.settle()
    g = town(conn)
    assert g.enrollment == Ratio(6, 9)           # RECEIVING over RECEIVING + NOT
    assert g.counts == {code: 1 for code in metrics.STATUSES}
    assert g.dropouts == 1
    assert sorted(e.status for e in metrics.rates(conn, D).exceptions) == [
        "dropout", "never_enrolled", "suspected", "unknown"]


def test_disabled_subset(w, conn):
    for status, disabled in [("inclusive", True), ("home_taught", True),
                             ("never_enrolled", True), ("dropout", False), ("enrolled", False)]:
        w.snap(w.child(disabled=disabled), "2025-02-20", status)
    w.settle()
    g = town(conn)
    assert g.disabled_enrollment == Ratio(2, 3)
    assert g.enrollment == Ratio(3, 5)


def test_only_the_census_population_counts_for_the_town(w, conn):
    w.snap(w.child(census=True), "2025-02-20", "enrolled")
    w.snap(w.child(census=False), "2025-02-20", "dropout")
    w.settle()
    assert town(conn).enrollment == Ratio(1, 1)
    assert metrics.rates(conn, D).exceptions == []


def test_cohort_removal_and_loss(w, conn):
    fates = ["deceased", "moved_out", "completed", "dropout", None]
    for fate in fates:
        child = w.child()
        w.snap(child, "2024-09-01", "enrolled")
        if fate:
            w.change(child, "2024-12-01", "enrolled", fate)
    w.settle()
    # cohort 5, removed 3 (died, moved, completed), lost 1 (dropout): 1 / 2
    assert town(conn).retention == Ratio(1, 2)


def test_dropout_who_returned_before_d(w, conn):
    child = w.child()
    w.snap(child, "2024-09-01", "enrolled")
    w.change(child, "2024-10-10", "enrolled", "dropout")
    w.change(child, "2024-12-01", "dropout", "enrolled")
    w.settle()
    g = town(conn)
    assert (g.returned, g.dropouts, g.retention) == (1, 0, Ratio(1, 1))


def test_a_dropout_on_a_who_returns_is_a_return_not_cohort(w, conn):
    child = w.child()
    w.change(child, "2024-11-28", "dropout", "enrolled")   # 变动前状态 holds before it
    w.settle()
    g = town(conn)
    assert (g.returned, g.retention, g.enrollment) == (1, Ratio(0, 0), Ratio(1, 1))


def test_what_is_and_is_not_a_return(w, conn):
    moves = [("never_enrolled", "enrolled", 0),   # 入学
             ("suspended", "enrolled", 0),        # 复学
             ("away", "enrolled", 0),             # 转入
             ("suspected", "enrolled", 1),
             ("unknown", "away", 1),
             ("dropout", "home_taught", 1),
             ("dropout", "suspected", 0),
             ("dropout", "suspended", 0)]
    for prev, status, _ in moves:
        child = w.child()
        w.snap(child, "2024-09-01", prev)
        w.change(child, "2024-11-01", prev, status)
    w.settle()
    assert town(conn).returned == sum(r for *_, r in moves)


def test_returns_count_only_inside_the_period(w, conn):
    for day in ("2024-08-31", "2024-09-01", "2025-03-01", "2025-03-02"):
        child = w.child()
        w.change(child, day, "dropout", "enrolled")
    w.settle()
    assert town(conn).returned == 2
    assert town(conn, start=d("2024-09-02")).returned == 1


def test_a_moved_in_child_is_not_in_the_cohort(w, conn):
    stays, moved_in = w.child(), w.child()
    w.snap(stays, "2024-09-01", "enrolled")
    w.change(moved_in, "2024-10-22", None, "enrolled")    # 迁入: no 变动前状态
    w.snap(moved_in, "2025-02-20", "enrolled")
    w.settle()
    g = town(conn)
    assert g.retention == Ratio(1, 1)
    assert g.enrollment == Ratio(2, 2)


def test_a_snapshot_contradicting_a_change_is_ignored(w, conn):
    child = w.child()
    w.snap(child, "2024-09-01", "enrolled")
    w.change(child, "2024-12-01", "enrolled", "dropout")
    w.snap(child, "2025-02-20", "enrolled")               # census still says 在校
    w.settle()
    g = town(conn)
    assert (g.dropouts, g.returned, g.retention) == (1, 0, Ratio(0, 1))
    [alert] = metrics.rates(conn, D).exceptions
    assert (alert.status, alert.since) == ("dropout", d("2024-12-01"))


def test_a_child_in_a_village_and_a_school_counts_once(w, conn):
    village = w.unit("village", "中坝村")
    w.unit("school", "后柳中学")
    w.snap(w.child(village=village), "2025-02-20", "enrolled", school="后柳中学")
    w.snap(w.child(census=False), "2025-02-20", "enrolled", school="后柳中学")  # 外在本
    w.settle()
    assert town(conn).counts["enrolled"] == 1
    assert groups(conn, "village")["中坝村"].counts["enrolled"] == 1
    by_school = metrics.rates(conn, D, by="school").groups
    assert by_school[0].counts["enrolled"] == 1          # the town: 户籍, once
    assert by_school[1].counts["enrolled"] == 2          # the roll
    assert by_school[1].enrollment is None and by_school[1].disabled_enrollment is None


def test_village_groups_partition_the_town(w, conn):
    a, b = w.unit("village", "中坝村"), w.unit("village", "永红村")
    w.unit("village", "空村")
    for village, status in [(a, "enrolled"), (a, "dropout"), (b, "enrolled"), (None, "unknown")]:
        w.snap(w.child(village=village), "2025-02-20", status)
    w.settle()
    result = metrics.rates(conn, D, by="village")
    assert [g.key for g in result.groups] == ["后柳镇", "中坝村", "永红村", "空村", None]
    assert [g.enrollment for g in result.groups] == [
        Ratio(2, 4), Ratio(1, 2), Ratio(1, 1), Ratio(0, 0), Ratio(0, 1)]
    assert [e.village for e in result.exceptions] == ["中坝村", None]


def test_school_cohort_is_the_roll_on_a(w, conn):
    for name in ("后柳小学", "后柳中学"):
        w.unit("school", name)
    leaves, moves, drops = w.child(), w.child(), w.child()
    for child in (leaves, moves, drops):
        w.snap(child, "2024-09-01", "enrolled", school="后柳小学")
    w.change(leaves, "2024-10-01", "enrolled", "away", "西安市第一小学", "后柳小学")      # 转出
    w.change(moves, "2024-10-01", "enrolled", "enrolled", "后柳中学", "后柳小学")
    w.change(drops, "2024-11-01", "enrolled", "dropout", "后柳小学", "后柳小学")
    w.change(drops, "2024-12-01", "dropout", "enrolled", "后柳小学", "后柳小学")
    w.settle()
    school = groups(conn, "school")
    assert school["后柳小学"].retention == Ratio(3, 3)
    assert school["后柳小学"].counts["enrolled"] == 1 and school["后柳小学"].returned == 1
    assert school["后柳中学"].retention == Ratio(0, 0)
    assert school["后柳中学"].counts["enrolled"] == 1


def test_empty_denominators_are_none(w, conn):
    g = town(conn)
    assert g.enrollment == Ratio(0, 0) and g.enrollment.rate is None
    assert g.to_dict()["retention"] == {"num": 0, "den": 0, "rate": None}


def test_exceptions_list_since_village_school_teacher(w, conn):
    village = w.unit("village", "梧桐村")
    school = w.unit("school", "后柳中学")
    teacher = conn.execute("INSERT INTO teachers (school_id, name) VALUES (?, '吕梅')",
                           (school,)).lastrowid
    early = w.child(village=village, name="李雅")
    w.snap(early, "2024-09-01", "enrolled", school="后柳中学")
    w.change(early, "2024-10-01", "enrolled", "suspected", "后柳中学", "后柳中学")
    w.change(early, "2024-11-01", "suspected", "dropout", "后柳中学", "后柳中学")
    w.snap(early, "2025-02-20", "dropout", school="后柳中学")
    late = w.child(village=village, name="王乐")
    w.snap(late, "2025-04-01", "never_enrolled")         # holds back to the records' start
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                 "VALUES (?, ?, '2024-12-01', 'manual')", (early, teacher))
    w.settle()
    first, second = metrics.rates(conn, D).exceptions
    assert (first.name, first.status, first.since, first.village, first.school,
            first.teacher) == ("李雅", "dropout", d("2024-11-01"), "梧桐村", "后柳中学", "吕梅")
    assert (second.name, second.status, second.since, second.teacher) == (
        "王乐", "never_enrolled", None, None)
    assert first.to_dict()["id_number"].count("*") == 8
    assert len(first.to_dict(unmask=True)["id_number"].strip("0123456789X")) == 0


def test_pending_rejected_counts_the_latest_batch_of_each_source(conn):
    def batch(file, kind="census", unit=None, sheet="Sheet1", undone=None):
        return conn.execute(
            "INSERT INTO import_batches (file_name, sha256, kind, sheet, sheet_date, date_source, "
            "unit_id, iso_week, undone_at) VALUES (?, 'x', ?, ?, '2025-02-20', 'title', ?, "
            "'2025-W08', ?)", (file, kind, sheet, unit, undone)).lastrowid

    def errors(batch_id, *rows, resolved=None):
        for row in rows:
            conn.execute("INSERT INTO import_errors (batch_id, row, code, message, resolved_at) "
                         "VALUES (?, ?, 'bad_checksum', '校验位错误', ?)", (batch_id, row, resolved))

    village = conn.execute("INSERT INTO units (kind, name) VALUES ('village', '中坝村')").lastrowid
    errors(batch("中坝村0213.xlsx", unit=village), 5, 6, 7)      # replaced by the next census
    errors(batch("中坝村0220.xlsx", unit=village), 5, 5, 9)      # row 5 has two problems
    errors(batch("status_changes.csv", kind="changes"), 3)
    errors(batch("status_changes.csv", kind="changes", undone="2025-02-21"), 3, 4)
    errors(batch("teachers.xlsx", kind="teachers"), 2, resolved="2025-02-22")
    assert metrics.pending_rejected(conn) == 2 + 1


@pytest.mark.parametrize("num, den, shown", [
    (2658, 2673, "99.43%"), (44, 46, "95.65%"), (2649, 2656, "99.73%"),
    (9999, 10000, "99.99%"), (99999, 100000, "99.99%"), (5, 5, "100.00%"),
    (0, 7, "0.00%"), (0, 0, "—")])
def test_format_percent_truncates(num, den, shown):
    assert format_percent(num, den) == shown


@given(st.integers(min_value=1, max_value=10**7).flatmap(
    lambda den: st.tuples(st.integers(min_value=0, max_value=den), st.just(den))))
def test_format_percent_shows_100_only_when_complete(pair):
    num, den = pair
    assert (format_percent(num, den) == "100.00%") == (num == den)


@pytest.mark.parametrize("num, den, rate", [
    (2658, 2673, Decimal("0.9944")), (1, 32, Decimal("0.0312")), (3, 32, Decimal("0.0938")),
    (1, 1, Decimal("1.0000")), (0, 0, None)])
def test_rate_is_rounded_half_even(num, den, rate):
    assert Ratio(num, den).rate == rate


def test_start_after_as_of_is_refused(conn):
    with pytest.raises(InvalidValue, match="--from"):
        metrics.rates(conn, D, d("2025-03-02"))


def test_default_start_is_the_school_year_start(conn):
    result = metrics.rates(conn, D)
    assert (result.as_of, result.start) == (D, date(2024, 9, 1))
    assert (result.window.born_from, result.window.born_to) == (d("2008-09-01"), d("2018-08-31"))


def test_cutoff_setting_moves_the_window(w, conn):
    settings.put(conn, "cutoff", "09-01")
    w.snap(w.child("2018-09-01"), "2025-02-20", "enrolled")   # six on 2024-09-01
    w.settle()
    assert town(conn).enrollment == Ratio(1, 1)


def test_queries_use_the_spans_and_partial_indexes(w, conn):
    """The speed of SPEC §8 rests on these plans; a drifted predicate would lose them."""
    statements = []
    conn.set_trace_callback(statements.append)
    for by in metrics.GROUPINGS:
        metrics.rates(conn, D, by=by)
    conn.set_trace_callback(None)
    plans = " ".join(row[-1] for sql in statements if sql.lstrip().startswith("SELECT")
                     for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
    for index in ("COVERING INDEX status_events_span", "INDEX status_events_returns",
                  "INDEX status_events_alerts"):
        assert index in plans
