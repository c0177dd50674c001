"""The importer writes most snapshot spans directly (history.NewSnapshots); they must be
exactly what re-deriving every history from scratch (`recompute_applied`) gives."""

from datetime import date

import pytest

from kcbx import history
from kcbx.db import transaction
from tests.sheets import (
    CHANGE_HEADERS,
    census,
    census_row,
    make_id,
    roster,
    roster_row,
    write_xlsx,
)

KIDS = [make_id(date(2012 + i % 6, 1 + i % 12, 1 + i), i) for i in range(8)]
NAMES = ["王一", "李二", "张三", "赵四", "钱五", "孙六", "周七", "吴八"]


def derived(conn):
    """Every event's applied flag and span, and every child's cached status."""
    events = conn.execute("SELECT id, applied, next_date, is_first, status_before, school_before, "
                          "since FROM status_events ORDER BY id").fetchall()
    children = conn.execute("SELECT id, status, status_since FROM children ORDER BY id").fetchall()
    return [tuple(e) for e in events], [tuple(c) for c in children]


def assert_as_if_recomputed(conn):
    written = derived(conn)
    assert written[0], "no events"
    with pytest.raises(RuntimeError), transaction(conn):
        history.recompute_applied(conn, [r[0] for r in conn.execute("SELECT id FROM children")])
        assert derived(conn) == written
        raise RuntimeError("roll back")


def rows(statuses, **kwargs):
    return [roster_row(n + 1, NAMES[i], KIDS[i], status=s, **kwargs)
            for n, (i, s) in enumerate(statuses)]


def test_spans_written_by_imports_match_a_full_recompute(run, conn, tmp_path):
    def step(*args):
        result = run("import", *args)
        assert result.exit_code in (0, 3), result.output
        assert_as_if_recomputed(conn)

    step(census(tmp_path / "c.xlsx", [census_row(n + 1, NAMES[i], KIDS[i]) for n, i in
                                      enumerate(range(5))], day="2025年2月10日"))
    # the same children on a roster the same day, one of them twice, and two new ones
    first = roster(tmp_path / "r1.xlsx", rows([(0, "在读"), (1, "辍学"), (1, "在读"), (5, "在读"),
                                               (6, "休学")]), day="2025年2月10日")
    step(first)
    step(first, "--force")  # every child already stored, same date
    step(roster(tmp_path / "r2.xlsx", rows([(0, "在读"), (1, "辍学"), (5, "随班就读"), (7, "在读")]),
                day="2025年3月1日"))
    step(write_xlsx(tmp_path / "ch.xlsx", CHANGE_HEADERS, [
        [1, KIDS[0], NAMES[0], "中坝村", "2025/03/05", "辍学", "在校", "辍学", "后柳小学", "", 3, "", ""],
    ]))
    # a child with a change event, and an older sheet imported late: the full path
    step(roster(tmp_path / "r3.xlsx", rows([(0, "在读"), (1, "在读"), (5, "随班就读")]),
                day="2025年3月10日"))
    step(roster(tmp_path / "r0.xlsx", rows([(2, "在读"), (5, "辍学"), (7, "在读")]),
                day="2025年1月5日"))
    # a census and a roster of the same children in one call, a week later
    step(census(tmp_path / "c2.xlsx", [census_row(n + 1, NAMES[i], KIDS[i], status="外出就读")
                                       for n, i in enumerate((2, 3, 4))], day="2025年3月17日"),
         roster(tmp_path / "r5.xlsx", rows([(2, "在读"), (4, "辍学"), (6, "在读")]),
                day="2025年3月17日"))
    batches = [r[0] for r in conn.execute("SELECT id FROM import_batches ORDER BY id")]
    assert run("undo", batches[3], "--force").exit_code == 0
    assert_as_if_recomputed(conn)
    step(roster(tmp_path / "r4.xlsx", rows([(0, "在读"), (3, "在读"), (5, "辍学")]),
                day="2025年3月20日"))


def children(conn):
    """Every child's columns but its row id, batch and timestamps."""
    names = [r[1] for r in conn.execute("PRAGMA table_info(children)")
             if r[1] not in ("id", "batch_id", "created_at", "updated_at")]
    return [tuple(r) for r in conn.execute(f"SELECT {', '.join(names)} FROM children ORDER BY id")]


def schema(conn):
    return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_bulk_index_rebuild_gives_the_same_store(run, conn, tmp_path, monkeypatch):
    from kcbx import db as kdb
    from kcbx import childsheets, importer

    sheet = roster(tmp_path / "r.xlsx", rows([(i, "在读") for i in range(8)]))
    before = schema(conn)
    assert run("import", sheet).exit_code == 0
    plain = children(conn)
    assert run("undo", "1").exit_code == 0

    monkeypatch.setattr(kdb, "BULK_ROWS", 0)  # rebuild the indexes even for 8 rows
    with monkeypatch.context() as m:
        m.setattr(childsheets, "_update_children", lambda *a: 1 / 0)  # after the inserts
        with pytest.raises(ZeroDivisionError):
            importer.import_files(conn, [sheet], importer.Options(force=True))
    assert schema(conn) == before  # the rollback brought the dropped indexes back
    assert run("import", sheet, "--force").exit_code == 0
    assert schema(conn) == before
    assert children(conn) == plain
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert_as_if_recomputed(conn)
