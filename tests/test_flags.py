"""flag auto, add, clear and the register against hand-built towns (tests/town.py)."""

from datetime import date

import pytest

from kcbx import flags, groups, history
from kcbx.errors import InvalidValue, NotFound
from town import child, event, school, teacher, village

D = date(2025, 3, 1)


def roster_snapshot(conn, child_id: int, on: str, remark: str | None, *,
                    status: str = "enrolled", school_name: str = "后柳中学",
                    kind: str = "roster") -> None:
    """A roster (or census) row of `on` with its 备注, as the importer stores it."""
    batch = conn.execute(
        "INSERT INTO import_batches (file_name, sha256, kind, sheet_date, date_source, iso_week) "
        "VALUES ('表.xlsx', 'x', ?, ?, 'title', '2025-W08')", (kind, on)).lastrowid
    conn.execute("INSERT INTO status_events (child_id, date, status, school, kind, reason, "
                 "batch_id) VALUES (?, ?, ?, ?, 'snapshot', ?, ?)",
                 (child_id, on, status, school_name, remark, batch))
    history.recompute_applied(conn, [child_id])


def open_flags(conn) -> dict[tuple[str, str], tuple[str, str]]:
    """{(child name, flag): (source, reason)} of the open flags."""
    return {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
        "SELECT c.name, f.flag, f.source, f.reason FROM flags f JOIN children c "
        "ON c.id = f.child_id WHERE f.cleared_on IS NULL")}


def flag_rows(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute("SELECT * FROM flags ORDER BY id")]


@pytest.fixture
def town(conn):
    """后柳中学 (local) and 中坝村; children are added by each test."""
    school(conn, "后柳中学", "middle")
    return village(conn, "中坝村")


# ---------------------------------------------------------------- the population


def test_rules_run_only_over_the_special_group_population(conn, town):
    child(conn, "在校", school_name="后柳中学", village_id=town, absences=12)
    child(conn, "辍学", status="dropout", village_id=town, family_type="低保户")
    child(conn, "外出", status="away", school_name="西安市第一中学", absences=12)
    child(conn, "外校在读", school_name="西安市第一中学", family_type="低保户")
    child(conn, "特教", status="special_school", school_name="后柳中学", last_score=20)
    child(conn, "超龄", "2005-05-01", school_name="后柳中学", absences=30)
    child(conn, "休学", status="suspended", school_name="后柳中学", family_type="监测户")
    flags.run_auto(conn, D)
    assert open_flags(conn) == {
        ("在校", "wavering"): ("rule:wavering", "缺勤 12 天 ≥ 10 天"),
        ("辍学", "hardship"): ("rule:hardship", "家庭类型: 低保户")}


def test_population_comes_from_status_not_from_group_membership(conn, town):
    # an ordinary child (no family type, not left behind, not disabled) is in no group
    # until a rule flags it: the rules must see it all the same
    child(conn, "普通", school_name="后柳中学", last_score=30)
    assert groups.group_counts(conn, D)["any"] == 0
    flags.run_auto(conn, D)
    counts = groups.group_counts(conn, D)
    assert (counts["any"], counts["struggling"]) == (1, 1)


def test_a_child_leaving_the_population_loses_its_rule_flags_only(conn, town):
    kid = child(conn, "迁走", school_name="后柳中学", absences=12, family_type="脱贫户")
    flags.run_auto(conn, D)
    flags.add_flag(conn, "迁走", "struggling", "班主任反映跟不上", today=D)
    event(conn, kid, "2025-03-05", "moved_out", prev="enrolled")
    result = flags.run_auto(conn, date(2025, 3, 6))
    assert {c.reason for c in result.plan.cleared} == {"已不在特殊群体范围"}
    assert open_flags(conn) == {("迁走", "struggling"): ("manual", "班主任反映跟不上")}


# ---------------------------------------------------------------- facts read on D


def test_wavering_reads_the_latest_roster_remark_on_or_before_d(conn, town):
    kid = child(conn, "动摇", status=None, village_id=town)
    roster_snapshot(conn, kid, "2024-10-08", "思想动摇")
    roster_snapshot(conn, kid, "2025-02-20", None)
    roster_snapshot(conn, kid, "2025-02-21", "思想动摇", kind="census")
    flags.run_auto(conn, date(2024, 12, 1))
    assert open_flags(conn) == {("动摇", "wavering"): ("rule:wavering", "备注: 思想动摇")}
    result = flags.run_auto(conn, D)
    assert [c.reason.split("；")[-1] for c in result.plan.cleared] == ["备注未提思想动摇、厌学"]


def test_a_return_counts_from_the_start_of_the_school_year_up_to_d(conn, town):
    kid = child(conn, "劝返", school_name="后柳中学", on="2024-09-10")
    event(conn, kid, "2024-11-12", "dropout", prev="enrolled", school="后柳中学")
    event(conn, kid, "2024-12-03", "enrolled", prev="dropout", school="后柳中学")
    assert flags.run_auto(conn, date(2024, 12, 2)).plan.raised == []
    assert open_flags(conn) == {}
    flags.run_auto(conn, D)
    assert open_flags(conn) == {("劝返", "wavering"): ("rule:wavering", "2024-12-03 劝返复学")}
    cleared = flags.run_auto(conn, date(2025, 9, 15)).plan.cleared
    assert [c.reason.split("；")[1] for c in cleared] == ["本学年无劝返复学"]


def test_entering_school_is_not_a_return(conn, town):
    kid = child(conn, "入学", "2018-03-01", status="never_enrolled", on="2024-09-01")
    event(conn, kid, "2024-09-23", "enrolled", prev="never_enrolled", school="后柳中学")
    flags.run_auto(conn, D)
    assert open_flags(conn) == {}


def test_suspected_on_d_is_wavering(conn, town):
    kid = child(conn, "疑似", school_name="后柳中学", on="2024-09-10")
    event(conn, kid, "2025-02-25", "suspected", prev="enrolled", school="后柳中学")
    flags.run_auto(conn, D)
    assert open_flags(conn) == {("疑似", "wavering"): ("rule:wavering", "状态: 疑似辍学")}


# ---------------------------------------------------------------- flag auto


def test_flag_auto_is_idempotent(conn, town):
    child(conn, "甲", school_name="后柳中学", absences=12, last_score=20, remarks="家庭困难")
    child(conn, "乙", status="dropout", family_type="监测户")
    first = flags.run_auto(conn, D)
    assert len(first.plan.raised) == 4
    before = flag_rows(conn)
    second = flags.run_auto(conn, D)
    assert (second.plan.raised, second.plan.cleared, second.plan.kept) == ([], [], 4)
    assert flag_rows(conn) == before


def test_dry_run_writes_nothing(conn, town):
    child(conn, "甲", school_name="后柳中学", absences=12)
    result = flags.run_auto(conn, D, dry_run=True)
    assert [r.flag for r in result.plan.raised] == ["wavering"]
    assert result.changes[0]["reason"] == "缺勤 12 天 ≥ 10 天"
    assert flag_rows(conn) == []


def test_rule_flag_clears_itself_with_the_reason_and_keeps_its_row(conn, town):
    kid = child(conn, "甲", school_name="后柳中学", absences=12)
    flags.run_auto(conn, D)
    conn.execute("UPDATE children SET absences = 3 WHERE id = ?", (kid,))
    flags.run_auto(conn, date(2025, 3, 8))
    row = conn.execute("SELECT * FROM flags").fetchone()
    assert (row["raised_on"], row["cleared_on"], row["cleared_by"]) == (
        "2025-03-01", "2025-03-08", "rule")
    assert row["cleared_reason"].startswith("证据已消失：缺勤 3 天 < 10 天；")
    assert row["hold_until"] is None


def test_a_flag_that_still_holds_keeps_its_first_reason(conn, town):
    kid = child(conn, "甲", school_name="后柳中学", absences=12)
    flags.run_auto(conn, D)
    conn.execute("UPDATE children SET absences = 20 WHERE id = ?", (kid,))
    assert flags.run_auto(conn, date(2025, 3, 8)).plan.kept == 1
    assert open_flags(conn) == {("甲", "wavering"): ("rule:wavering", "缺勤 12 天 ≥ 10 天")}


def test_thresholds_come_from_the_settings(conn, town):
    child(conn, "甲", school_name="后柳中学", absences=8, last_score=45)
    flags.run_auto(conn, D)
    assert open_flags(conn) == {}
    flags.set_threshold(conn, "absences", "8")
    flags.set_threshold(conn, "score", "50")
    flags.run_auto(conn, D)
    assert set(open_flags(conn)) == {("甲", "wavering"), ("甲", "struggling")}


@pytest.mark.parametrize("name, value", [("absences", "-1"), ("absences", "8.5"),
                                         ("absences", "八"), ("score", ""), ("town", "3")])
def test_bad_thresholds_are_refused(conn, name, value):
    with pytest.raises(InvalidValue):
        flags.set_threshold(conn, name, value)
    assert conn.execute("SELECT count(*) FROM settings").fetchone()[0] == 0


# ---------------------------------------------------------------- by hand


def test_manual_flags_survive_flag_auto(conn, town):
    child(conn, "甲", school_name="后柳中学")
    flags.add_flag(conn, "甲", "wavering", "家访发现有外出打工意向", today=D)
    assert flags.run_auto(conn, D).plan.cleared == []
    assert open_flags(conn) == {("甲", "wavering"): ("manual", "家访发现有外出打工意向")}


def test_a_rule_does_nothing_while_a_manual_flag_of_its_code_is_open(conn, town):
    child(conn, "甲", school_name="后柳中学", absences=30)
    flags.add_flag(conn, "甲", "wavering", "班主任反映", today=D)
    assert flags.run_auto(conn, D).plan.manual == 1
    assert open_flags(conn) == {("甲", "wavering"): ("manual", "班主任反映")}


def test_adding_a_manual_flag_over_a_rule_flag_keeps_both_in_the_history(conn, town):
    child(conn, "甲", school_name="后柳中学", absences=30)
    flags.run_auto(conn, D)
    done = flags.add_flag(conn, "甲", "wavering", "家访核实", today=date(2025, 3, 3))
    assert done.replaced_rule
    rows = conn.execute("SELECT source, reason, cleared_on, cleared_by, cleared_reason, hold_until "
                        "FROM flags ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [
        ("rule:wavering", "缺勤 30 天 ≥ 10 天", "2025-03-03", "manual", "改为人工标记：家访核实", None),
        ("manual", "家访核实", None, None, None, None)]
    assert flags.run_auto(conn, date(2025, 3, 4)).plan.raised == []


def test_adding_a_second_manual_flag_is_an_error(conn, town):
    child(conn, "甲", school_name="后柳中学")
    flags.add_flag(conn, "甲", "hardship", "父亲重病", today=D)
    with pytest.raises(InvalidValue, match="已有人工家困生标记"):
        flags.add_flag(conn, "甲", "hardship", "母亲失业", today=D)


def test_reason_is_required_and_clearing_needs_an_open_flag(conn, town):
    child(conn, "甲", school_name="后柳中学")
    with pytest.raises(InvalidValue, match="--reason"):
        flags.add_flag(conn, "甲", "hardship", "  ", today=D)
    with pytest.raises(NotFound, match="目前没有学困生标记"):
        flags.clear_flag(conn, "甲", "struggling", "已好转", today=D)
    assert flag_rows(conn) == []


def test_a_manual_clear_holds_until_the_end_of_its_term_and_not_after(conn, town):
    child(conn, "甲", school_name="后柳中学", absences=30)
    flags.run_auto(conn, D)
    done = flags.clear_flag(conn, "甲", "wavering", "已请假看病，非厌学", today=date(2025, 3, 5))
    assert done.hold_until == date(2025, 8, 31)
    for day in (date(2025, 3, 10), date(2025, 8, 31)):
        result = flags.run_auto(conn, day)
        assert (result.plan.raised, result.plan.held) == ([], 1)
    assert open_flags(conn) == {}
    flags.run_auto(conn, date(2025, 9, 1))
    assert open_flags(conn) == {("甲", "wavering"): ("rule:wavering", "缺勤 30 天 ≥ 10 天")}


def test_an_autumn_clear_holds_until_the_end_of_january(conn, town):
    child(conn, "甲", school_name="后柳中学", family_type="低保户")
    flags.run_auto(conn, date(2024, 10, 1))
    flags.clear_flag(conn, "甲", "hardship", "已脱贫", today=date(2024, 11, 20))
    assert flags.run_auto(conn, date(2025, 1, 31)).plan.held == 1
    assert [r.flag for r in flags.run_auto(conn, date(2025, 2, 1)).plan.raised] == ["hardship"]


def test_flag_history_is_never_deleted(conn, town):
    kid = child(conn, "甲", school_name="后柳中学", absences=30)
    flags.run_auto(conn, D)
    flags.clear_flag(conn, "甲", "wavering", "核实", today=date(2025, 3, 2))
    flags.run_auto(conn, date(2025, 9, 1))
    conn.execute("UPDATE children SET absences = 0 WHERE id = ?", (kid,))
    flags.run_auto(conn, date(2025, 9, 2))
    rows = conn.execute("SELECT raised_on, cleared_on, cleared_by FROM flags ORDER BY id")
    assert [tuple(r) for r in rows] == [("2025-03-01", "2025-03-02", "manual"),
                                        ("2025-09-01", "2025-09-02", "rule")]


# ---------------------------------------------------------------- the register


def test_register_rows_filters_and_teacher(conn, town):
    zb = school(conn, "后柳中坝小学", "primary")
    a = child(conn, "甲", school_name="后柳中学", village_id=town, absences=12)
    child(conn, "乙", "2015-05-01", school_name="后柳中坝小学", family_type="脱贫户")
    pair = teacher(conn, zb, "徐云")
    conn.execute("INSERT INTO assignments (child_id, teacher_id, start_date, source) "
                 "VALUES (?, ?, '2025-03-01', 'auto')", (a, pair))
    flags.run_auto(conn, D)
    rows = flags.register(conn)
    assert [(r["name"], r["flag"], r["teacher_name"], r["source_name"]) for r in rows] == [
        ("甲", "wavering", "徐云", "规则"), ("乙", "hardship", None, "规则")]
    assert rows[0]["id_number"].count("*") == 8
    assert flags.register(conn, unmask=True)[0]["id_number"].count("*") == 0
    assert [r["name"] for r in flags.register(conn, village="中坝村")] == ["甲"]
    assert [r["name"] for r in flags.register(conn, school="后柳中坝小学")] == ["乙"]
    assert [r["name"] for r in flags.register(conn, flag="hardship")] == ["乙"]
    with pytest.raises(NotFound):
        flags.register(conn, village="无此村")
