"""SPEC §7: no full ID number in any output, and full guardian phones only where they are for calling.

A synthetic township is imported, flagged and paired once; then every command that shows
children runs in every format, to the terminal and to files, and everything it prints or
writes is searched for the full ID number of any stored child and (outside the 包干责任表
and `children show`) for the full phone of any guardian.
"""

import sqlite3
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from kcbx.cli import app
from kcbx.demo import generate, write_sheets

AS_OF = "2025-03-01"
# (command args, formats, whether full guardian phones are allowed: forms made for calling)
COMMANDS = [
    (["info"], [None], False),
    (["imports"], ["table", "json"], False),
    (["rates", "--as-of", AS_OF, "--by", "village"], ["table", "json", "csv"], False),
    (["rates", "--as-of", AS_OF, "--by", "school"], ["table", "json", "csv"], False),
    (["flag", "list"], ["table", "csv", "json", "xlsx"], False),
    (["flag", "auto", "--as-of", AS_OF, "--dry-run"], [None], False),
    (["assign", "--as-of", AS_OF, "--dry-run"], ["table", "json"], False),
    (["assign", "list"], ["table", "csv", "json", "xlsx"], True),
    (["teachers", "list"], ["table", "csv", "json"], False),
    (["children", "list", "--as-of", AS_OF], ["table", "csv", "json", "xlsx"], False),
    (["followup", "list"], ["table", "csv", "json", "xlsx"], False),
    (["reconcile", "--as-of", AS_OF], ["table", "json", "xlsx"], False),
    (["check", "--as-of", AS_OF], ["table", "json"], False),
    (["report", "weekly", "--as-of", AS_OF], ["table", "md", "json", "html", "xlsx"], False),
    (["units", "list"], ["table", "json"], False),
    (["doctor"], ["table", "json"], False),
]


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """A flagged and paired synthetic township, plus every ID number and guardian phone in it."""
    folder = tmp_path_factory.mktemp("privacy")
    db = folder / "k.db"
    sheets = write_sheets(generate(400, seed=3), folder / "sheets")
    runner = CliRunner()
    errors = folder / "errors.xlsx"
    imported = runner.invoke(app, ["--db", str(db), "import", *map(str, sheets),
                                   "--errors", str(errors)])
    assert imported.exit_code == 3, imported.output
    for args in (["flag", "auto", "--as-of", AS_OF], ["assign", "--as-of", AS_OF]):
        assert runner.invoke(app, ["--db", str(db), *args]).exit_code == 0
    conn = sqlite3.connect(db)
    ids = {r[0] for r in conn.execute("SELECT id_number FROM children")}
    phones = {r[0] for r in conn.execute(
        "SELECT guardian_phone FROM children WHERE length(guardian_phone) >= 11")}
    one = conn.execute("SELECT id_number FROM children c JOIN assignments a ON a.child_id = c.id "
                       "LIMIT 1").fetchone()[0]
    return {"db": db, "ids": ids, "phones": phones, "one": one, "folder": folder,
            "outputs": [("import", imported.output), ("import --errors", _xlsx_text(errors))]}


def _xlsx_text(path: Path) -> str:
    workbook = load_workbook(path)
    return "\n".join(str(cell.value) for ws in workbook for row in ws.iter_rows() for cell in row
                     if cell.value is not None)


def _leaks(text: str, town: dict, phones_allowed: bool) -> list[str]:
    found = [f"ID {value[:6]}…" for value in town["ids"] if value in text]
    if not phones_allowed:
        found += [f"phone {value[:3]}…" for value in town["phones"] if value in text]
    return found


def _run(town: dict, args: list[str], fmt: str | None, out: Path | None) -> str:
    command = ["--db", str(town["db"]), *args]
    if fmt:
        command += ["--format", fmt]
    if out:
        command += ["--out", str(out)]
    result = CliRunner().invoke(app, command)
    assert result.exit_code in (0, 4), (args, fmt, result.output)
    text = result.output
    if out and out.exists():
        text += _xlsx_text(out) if out.suffix == ".xlsx" else out.read_text(encoding="utf-8")
    return text


@pytest.mark.parametrize("args, formats, phones_allowed", COMMANDS,
                         ids=[" ".join(c[0][:2]) for c in COMMANDS])
def test_no_full_id_or_phone_in_any_format(town, args, formats, phones_allowed, tmp_path):
    for fmt in formats:
        out = tmp_path / f"out.{fmt}" if fmt in ("xlsx", "html", "md") else None
        text = _run(town, args, fmt, out)
        assert not _leaks(text, town, phones_allowed), (args, fmt, _leaks(text, town, phones_allowed))


def test_import_output_and_error_sheet_mask_ids(town):
    for name, text in town["outputs"]:
        assert not _leaks(text, town, False), name


@pytest.mark.parametrize("fmt", [None, "json", "md", "xlsx"])
def test_children_show_masks_the_id_but_keeps_the_guardian_phone(town, fmt, tmp_path):
    out = tmp_path / f"case.{fmt}" if fmt in ("md", "xlsx") else None
    text = _run(town, ["children", "show", town["one"], "--as-of", AS_OF], fmt, out)
    assert town["one"] not in text
    assert town["one"][:6] + "*" * 8 + town["one"][-4:] in text


def test_unmask_shows_the_full_id(town):
    text = _run(town, ["children", "list", "--as-of", AS_OF, "--unmask"], "json", None)
    assert town["one"] in text


def test_files_are_owner_only(town, tmp_path):
    out = tmp_path / "register.xlsx"
    _run(town, ["flag", "list"], "xlsx", out)
    assert (out.stat().st_mode & 0o777) == 0o600
    assert (Path(town["db"]).stat().st_mode & 0o777) == 0o600
