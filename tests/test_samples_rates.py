"""The sample township: after importing every sheet, the figures of its README.

Skips until the importer exists (kcbx.importer) and when ../shared is not present.
"""

import json

import pytest

pytest.importorskip("kcbx.importer")

TOWN = {
    "enrollment": (2658, 2673), "disabled_enrollment": (44, 46), "retention": (2649, 2656),
    "dropouts": 12, "returned": 12,
    "counts": {"enrolled": 1999, "inclusive": 18, "special_school": 7, "home_taught": 15,
               "away": 619, "suspected": 0, "dropout": 12, "never_enrolled": 3, "unknown": 0,
               "suspended": 2, "deferred": 0, "completed": 286, "moved_out": 8, "deceased": 2},
}
VILLAGES = {  # 入学率, 巩固率, 辍学
    "后柳社区": ((522, 525), (521, 522), 2),
    "中坝村": ((382, 384), (380, 381), 2),
    "永红村": ((278, 278), (276, 276), 0),
    "长兴村": ((268, 270), (268, 268), 1),
    "喜河村": ((296, 296), (294, 294), 0),
    "兴坪村": ((324, 327), (324, 325), 2),
    "黄荆坝村": ((300, 302), (299, 301), 2),
    "梧桐村": ((288, 291), (287, 289), 3),
}


def pair(ratio):
    return ratio["num"], ratio["den"]


@pytest.fixture
def imported(run, samples):
    assert run("init", "--town", "后柳镇").exit_code == 0
    files = sorted(p for p in samples.iterdir() if p.suffix in (".xlsx", ".csv"))
    result = run("import", *files)
    assert result.exit_code in (0, 3), result.output
    result = run("rates", "--as-of", "2025-03-01", "--by", "village", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_town_figures(imported):
    town = imported["groups"][0]
    assert (town["by"], town["key"]) == ("town", "后柳镇")
    for name in ("enrollment", "disabled_enrollment", "retention"):
        assert pair(town[name]) == TOWN[name], name
    assert (town["dropouts"], town["returned"]) == (TOWN["dropouts"], TOWN["returned"])
    assert town["counts"] == TOWN["counts"]
    assert (imported["as_of"], imported["from"]) == ("2025-03-01", "2024-09-01")


def test_village_figures(imported):
    villages = {g["key"]: g for g in imported["groups"] if g["by"] == "village"}
    assert set(villages) == set(VILLAGES)
    for name, (enrollment, retention, dropouts) in VILLAGES.items():
        group = villages[name]
        assert (pair(group["enrollment"]), pair(group["retention"]), group["dropouts"]) == (
            enrollment, retention, dropouts), name


def test_exceptions_and_rejections(imported):
    statuses = sorted(e["status"] for e in imported["exceptions"])
    assert statuses == ["dropout"] * 12 + ["never_enrolled"] * 3
    assert all("********" in e["id_number"] for e in imported["exceptions"])
    assert imported["pending_rejected"] == 11
