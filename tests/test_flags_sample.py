"""The flag rules on the sample town: the special-group figures of its README after flag auto."""

import json
from datetime import date

from kcbx import groups

# README "Figures a correct tool computes": special-group population / any group, then
# 贫困家庭 / 留守儿童 / 残疾 / 学困生 / 动摇生 / 家困生 / 失辍学 on 2025-03-01.
README = {"population": 2047, "any": 879, "poverty": 332, "left_behind": 489, "disabled": 35,
          "struggling": 84, "wavering": 100, "hardship": 343, "out_of_school": 15}


def test_sample_flag_groups_match_the_readme(samples, run, conn):
    files = sorted(samples.glob("*.xlsx")) + sorted(samples.glob("*.csv"))
    assert run("import", *files).exit_code == 3          # 11 rows must be rejected
    result = run("flag", "auto", "--as-of", "2025-03-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    raised = {code: n["raised"] for code, n in json.loads(result.stdout)["counts"].items()}
    assert raised == {"wavering": 100, "hardship": 343, "struggling": 84}
    assert groups.group_counts(conn, date(2025, 3, 1)) == README
    register = json.loads(run("flag", "list", "--format", "json").stdout)
    assert len(register) == 100 + 343 + 84
    again = json.loads(run("flag", "auto", "--as-of", "2025-03-01", "--format", "json").stdout)
    assert again["changes"] == [] and again["kept"] == 527
