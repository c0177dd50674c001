"""Shared fixtures: every test gets its own database file through $KCBX_DB."""

import os

# Typer reads these at import time: fixed width, no rich terminal tricks in tests.
os.environ.setdefault("TERMINAL_WIDTH", "200")
os.environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from kcbx import db as kdb  # noqa: E402
from kcbx.cli import app  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "houliu-2025"


@pytest.fixture(autouse=True)
def db_path(tmp_path, monkeypatch):
    """A fresh database path for each test, given to kcbx through $KCBX_DB."""
    path = tmp_path / "kcbx.db"
    monkeypatch.setenv("KCBX_DB", str(path))
    return path


@pytest.fixture
def conn(db_path):
    """A migrated connection to the test's database."""
    connection = kdb.connect(db_path)
    yield connection
    connection.close()


@pytest.fixture
def run():
    """Invoke the CLI: run("rates", "--format", "json") -> Result (stdout/stderr apart)."""
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke


@pytest.fixture
def samples():
    """The shared sample township; tests using it skip when ../shared is absent."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples/houliu-2025 is not present in this clone")
    return SAMPLES
