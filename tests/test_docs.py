"""docs/cli.md is the commands' own --help: regenerate with `python docs/generate.py`."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_docs", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date():
    generator = load_generator()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == generator.render(), \
        "docs/cli.md is out of date: run python docs/generate.py"


def test_every_command_has_help_with_an_example():
    generator = load_generator()
    from typer.main import get_command
    from kcbx.cli import app

    def walk(group, path=()):
        for name, sub in getattr(group, "commands", {}).items():
            if getattr(sub, "commands", None):
                yield from walk(sub, path + (name,))
            else:
                yield path + (name,), sub

    for path, command in walk(get_command(app)):
        assert command.help, path
        assert "例：" in command.help, f"kcbx {' '.join(path)} has no example in its help"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"kcbx {' '.join(path)} {param.opts} has no help"
    assert generator.command_paths()
