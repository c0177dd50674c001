"""The history rule of SPEC §4, on small hand-built event lists."""

from datetime import date

import pytest

from kcbx import history


@pytest.fixture
def child(conn):
    conn.execute("INSERT INTO children (id_number, name, gender, birth_date) "
                 "VALUES ('61092220161210193X', '曹斌锦', 'M', '2016-12-10')")
    return 1


def add(conn, child, d, status, kind, prev=None, school=None, prev_school=None):
    conn.execute("INSERT INTO status_events (child_id, date, status, prev_status, kind, school, "
                 "prev_school) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (child, d, status, prev, kind, school, prev_school))
    history.recompute_applied(conn, [child])


def on(conn, child, d):
    return history.status_on(conn, date.fromisoformat(d)).get(child, (None, None))[0]


def test_latest_event_on_or_before(conn, child):
    add(conn, child, "2024-09-01", "enrolled", "snapshot")
    add(conn, child, "2024-11-01", "dropout", "change", prev="enrolled")
    assert on(conn, child, "2024-10-31") == "enrolled"
    assert on(conn, child, "2024-11-01") == "dropout"


def test_snapshot_holds_back_change_prev_holds_before(conn, child):
    add(conn, child, "2025-02-20", "enrolled", "snapshot")
    assert on(conn, child, "2024-09-01") == "enrolled"
    conn.execute("DELETE FROM status_events")
    add(conn, child, "2024-12-01", "enrolled", "change", prev="dropout")
    assert on(conn, child, "2024-09-01") == "dropout"


def test_change_without_prev_means_not_in_records(conn, child):
    add(conn, child, "2024-12-31", "enrolled", "change", prev=None)
    assert on(conn, child, "2024-09-01") is None
    assert on(conn, child, "2025-01-01") == "enrolled"


def test_same_date_order_snapshot_change_manual(conn, child):
    add(conn, child, "2025-01-10", "suspended", "manual", prev="dropout")
    add(conn, child, "2025-01-10", "dropout", "change", prev="enrolled")
    add(conn, child, "2025-01-10", "enrolled", "snapshot")
    assert on(conn, child, "2025-01-10") == "suspended"


def test_contradicting_snapshot_is_stored_not_applied(conn, child):
    add(conn, child, "2024-12-01", "dropout", "change", prev="enrolled")
    add(conn, child, "2025-02-20", "enrolled", "snapshot")
    applied = conn.execute("SELECT applied FROM status_events WHERE kind='snapshot'").fetchone()[0]
    assert applied == 0
    assert on(conn, child, "2025-03-01") == "dropout"
    # a later change agreeing with the snapshot does not revive an earlier-dated contradiction
    add(conn, child, "2025-01-05", "enrolled", "change", prev="dropout")
    assert conn.execute("SELECT applied FROM status_events WHERE kind='snapshot'").fetchone()[0] == 1


def test_later_import_wins_on_same_date(conn, child):
    add(conn, child, "2025-02-20", "enrolled", "snapshot")
    add(conn, child, "2025-02-20", "inclusive", "snapshot")
    assert on(conn, child, "2025-02-20") == "inclusive"


def test_cached_status_and_since(conn, child):
    add(conn, child, "2024-09-01", "enrolled", "snapshot")
    add(conn, child, "2024-10-01", "dropout", "change", prev="enrolled")
    add(conn, child, "2024-10-15", "dropout", "snapshot")
    row = conn.execute("SELECT status, status_since FROM children").fetchone()
    assert tuple(row) == ("dropout", "2024-10-01")
