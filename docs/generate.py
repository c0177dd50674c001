"""Write docs/cli.md from the commands' own --help, so help and docs never drift.

Run `python docs/generate.py` after changing a command; tests/test_docs.py fails when
docs/cli.md differs from what this script would write.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TERMINAL_WIDTH", "100")
os.environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"

from typer.main import get_command  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from kcbx.cli import app  # noqa: E402

DOC = Path(__file__).resolve().parent / "cli.md"


def command_paths(group=None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path (('import',), ('flag', 'auto'), …) in the order help lists them."""
    group = group or get_command(app)
    paths = [prefix]
    for name, sub in getattr(group, "commands", {}).items():
        paths.extend(command_paths(sub, prefix + (name,)))
    return paths


def render() -> str:
    """The whole reference: one section per command, its --help verbatim."""
    runner = CliRunner()
    parts = ["# kcbx 命令参考\n",
             "本文件由 `python docs/generate.py` 根据各命令的 `--help` 生成，请勿手工修改。\n"]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], prog_name="kcbx")
        title = "kcbx " + " ".join(path) if path else "kcbx"
        parts.append(f"## {title}\n\n```\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)
