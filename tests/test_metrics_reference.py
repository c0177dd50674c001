"""Random worlds: the SQL rates equal a plain re-computation of SPEC §4 from the raw events.

The reference below reads nothing the history module derives (applied flags, spans):
it re-applies the rule of §4 to each child's event list, one child at a time, so it is
slow and obviously correct. Events arrive in two imports with the history rule run
after each on the touched children only, as the importer does.
"""

import sqlite3
from collections import Counter
from datetime import date, timedelta
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcbx import db as kdb
from kcbx import history, metrics
from kcbx.dates import school_year_start
from kcbx.idcard import check_char
from kcbx.vocab import STATUSES, status_class

RANK = {"snapshot": 0, "change": 1, "manual": 2}
SCHOOLS = ["后柳小学", "后柳中学", "西安市第一小学", None]
FIRST_DAY = date(2024, 6, 1)
CODES = list(STATUSES)


# ---------------------------------------------------------------- the reference

def order(events):
    return sorted(events, key=lambda e: (e["date"], RANK[e["kind"]], e["id"]))


def applied_events(events):
    """§4: a snapshot is ignored when the latest earlier-dated change/manual event disagrees."""
    kept = []
    for e in order(events):
        setters = [x for x in order(events) if x["kind"] != "snapshot" and x["date"] < e["date"]]
        if e["kind"] == "snapshot" and setters and setters[-1]["status"] != e["status"]:
            continue
        kept.append(e)
    return kept


def before_first(first):
    """What holds before a child's first event: a snapshot's own status, a change's 变动前."""
    if first["kind"] == "snapshot":
        return first["status"], first["school"]
    return first["prev"], first["prev_school"]


def on(events, day):
    """(status, school) of a child on `day`, by §4's history rule."""
    applied = applied_events(events)
    if not applied:
        return None, None
    past = [e for e in applied if e["date"] <= day]
    if past:
        return past[-1]["status"], past[-1]["school"]
    return before_first(applied[0])


def since(events, day):
    """The first day of the unbroken run of the status held on `day` (None before records)."""
    past = [e for e in applied_events(events) if e["date"] <= day]
    if not past:
        return None
    start = past[-1]
    for e in reversed(past):
        if e["status"] != start["status"]:
            break
        start = e
    return start["date"]


def returns(events, start, day):
    """§2 returns dated in [start, day]: (school returned to) for each."""
    applied = applied_events(events)
    found = []
    for i, e in enumerate(applied):
        prev = applied[i - 1]["status"] if i else before_first(e)[0]
        if (start <= e["date"] <= day and prev in ("dropout", "suspected", "unknown")
                and status_class(e["status"]) == "receiving" and e["status"] != "suspected"):
            found.append(e["school"])
    return found


def age_on(born, day):
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def reference(children, day, start):
    """{(by, key): figures} and the exceptions, computed child by child."""
    opening = date(day.year if day.month >= 9 else day.year - 1, 8, 31)
    figures, alerts = {}, set()

    def tally(by, key):
        return figures.setdefault((by, key), {"counts": Counter(), "disabled": Counter(),
                                              "cohort": Counter(), "returned": 0})

    for child in children:
        age = age_on(child["born"], opening)
        if not 6 <= age <= 15:
            continue
        events = child["events"]
        (status_d, school_d), (status_a, school_a) = on(events, day), on(events, start)
        came_back = returns(events, start, day)
        census_keys = [("town", 0), ("village", child["village"]), ("grade", age - 5)]
        roll_keys = {"d": [("school", school_d)], "a": [("school", school_a)]}
        for key in (census_keys if child["census"] else []) + roll_keys["d"]:
            if status_d is not None:
                tally(*key)["counts"][status_d] += 1
                if child["disabled"]:
                    tally(*key)["disabled"][status_d] += 1
        for key in (census_keys if child["census"] else []) + roll_keys["a"]:
            if status_class(status_a) == "receiving":
                tally(*key)["cohort"][status_d] += 1
        for key in census_keys if child["census"] else []:
            tally(*key)["returned"] += len(came_back)
        for school in came_back:
            tally("school", school)["returned"] += 1
        if child["census"] and status_d in ("suspected", "dropout", "never_enrolled", "unknown"):
            alerts.add((child["id_number"], status_d, since(events, day), school_d))
    return figures, alerts


def expected_group(t, census):
    def ratio(counter):
        receiving = sum(n for s, n in counter.items() if status_class(s) == "receiving")
        lost = sum(n for s, n in counter.items() if status_class(s) == "not")
        return metrics.Ratio(receiving, receiving + lost)

    cohort = sum(t["cohort"].values())
    removed = sum(n for s, n in t["cohort"].items() if status_class(s) == "excluded")
    lost = sum(n for s, n in t["cohort"].items() if status_class(s) == "not")
    return (ratio(t["counts"]) if census else None,
            ratio(t["disabled"]) if census else None,
            metrics.Ratio(cohort - removed - lost, cohort - removed),
            t["counts"]["dropout"], t["returned"], {c: t["counts"][c] for c in CODES})


# ---------------------------------------------------------------- random worlds

# Few distinct dates, so that same-day events and ties happen often; statuses biased to
# the ones that make returns, losses and removals, with every code still possible.
EVENT_DAYS = [FIRST_DAY + timedelta(days=n) for n in (0, 60, 92, 93, 150, 200, 260, 330)]
days = st.one_of(st.sampled_from(EVENT_DAYS),
                 st.integers(min_value=0, max_value=400).map(lambda n: FIRST_DAY + timedelta(n)))
codes = st.one_of(st.sampled_from(["enrolled", "away", "suspected", "dropout", "unknown",
                                   "suspended", "moved_out"]), st.sampled_from(CODES))
events = st.fixed_dictionaries({
    "date": st.sampled_from(EVENT_DAYS),
    "kind": st.sampled_from(["snapshot", "change", "change", "manual"]),
    "status": codes,
    "prev": st.one_of(st.none(), codes),
    "school": st.sampled_from(SCHOOLS),
    "prev_school": st.sampled_from(SCHOOLS),
    "later": st.booleans(),   # arrives with the second import
})
children = st.lists(st.fixed_dictionaries({
    "born": st.sampled_from([date(2008, 8, 31), date(2008, 9, 1), date(2012, 3, 4),
                             date(2014, 7, 9), date(2016, 12, 31), date(2018, 8, 31),
                             date(2018, 9, 1)]),
    "census": st.booleans(),
    "disabled": st.booleans(),
    "village": st.sampled_from([1, 2, None]),
    "events": st.lists(events, min_size=1, max_size=5),
}), min_size=1, max_size=7)
# the period starts at the school year's 09-01 (the default) or on any earlier day
starts = st.one_of(st.none(), st.integers(min_value=0, max_value=400))


def reference_key(group):
    """The reference's key of a result group (villages by id, the town as 0)."""
    if group.by == "town":
        return 0
    if group.by == "village":
        return {"中坝村": 1, "永红村": 2, None: None}[group.key]
    return group.key


@cache
def template() -> sqlite3.Connection:
    """A migrated store with two villages and two schools, copied for each example."""
    conn = kdb.connect(":memory:")
    conn.execute("INSERT INTO units (id, kind, name) VALUES (1, 'village', '中坝村'), "
                 "(2, 'village', '永红村'), (3, 'school', '后柳小学'), (4, 'school', '后柳中学')")
    return conn


def build(world):
    """A fresh store holding `world`; the events come in two imports."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    template().backup(conn)
    for n, child in enumerate(world, start=1):
        first17 = f"610922{child['born']:%Y%m%d}{n:03d}"
        child["id_number"] = first17 + check_char(first17)
        child["id"] = conn.execute(
            "INSERT INTO children (id_number, name, gender, birth_date, village_id, in_census, "
            "disabled) VALUES (?, ?, 'M', ?, ?, ?, ?)",
            (child["id_number"], f"孩子{n}", child["born"].isoformat(), child["village"],
             int(child["census"]), int(child["disabled"]))).lastrowid
    for later in (False, True):
        touched = set()
        for child in world:
            for e in child["events"]:
                if e["later"] != later:
                    continue
                prev = None if e["kind"] == "snapshot" else e["prev"]
                e["id"] = conn.execute(
                    "INSERT INTO status_events (child_id, date, status, prev_status, school, "
                    "prev_school, kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (child["id"], e["date"].isoformat(), e["status"], prev, e["school"],
                     None if e["kind"] == "snapshot" else e["prev_school"], e["kind"])).lastrowid
                e["prev"] = prev
                e["prev_school"] = None if e["kind"] == "snapshot" else e["prev_school"]
                touched.add(child["id"])
        history.recompute_applied(conn, touched)
    return conn


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=children, day=days, back=starts)
def test_sql_rates_equal_the_reference(world, day, back):
    start = school_year_start(day) if back is None else day - timedelta(days=back)
    conn = build(world)
    figures, alerts = reference(world, day, start)
    for by in metrics.GROUPINGS:
        result = metrics.rates(conn, day, start, by)
        for group in result.groups:
            t = figures.get((group.by, reference_key(group)), {
                "counts": Counter(), "disabled": Counter(), "cohort": Counter(), "returned": 0})
            got = (group.enrollment, group.disabled_enrollment, group.retention,
                   group.dropouts, group.returned, group.counts)
            assert got == expected_group(t, census=group.by != "school"), (by, group.key)
        assert {(e.id_number, e.status, e.since, e.school) for e in result.exceptions} == alerts
        assert len(result.exceptions) == len(alerts)
    p = metrics.period(conn, day, start)
    assert metrics.by_village_and_school(conn, p) == (metrics.by_village(conn, p),
                                                      metrics.by_school(conn, p))
    current = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT id_number, status, status_since FROM children")}
    for child in world:
        far = date(2100, 1, 1)
        expected = on(child["events"], far)[0]
        expected_since = since(child["events"], far)
        assert current[child["id_number"]] == (
            expected, expected_since.isoformat() if expected_since else None)
