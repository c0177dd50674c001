"""Typer's own words in Chinese: the usage line, section titles, --help, and usage errors.

Every word a clerk reads is Chinese (SPEC §5), but the help layout and the usage errors
(exit 2) come from the Click that Typer vendors, whose strings are fixed English. Typer's
public hook for this is the `cls` of a group or command: `ChineseGroup` and
`ChineseCommand` give every context `ChineseFormatter`, which translates the few fixed
phrases as the help is written, and the top-level group shows usage errors in the same
`错误：…` form as kcbx's own errors. Anything not in these tables passes through as is.

Value placeholders such as TEXT and PATH stay: Click aligns the option column by character
count, so double-width Chinese there would break the layout.
"""

from __future__ import annotations

import re
import sys

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

SECTIONS = {"Options": "选项", "Arguments": "参数", "Commands": "命令"}
USAGE_WORDS = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}
HELP_WORDS = {"Show this message and exit.": "显示本帮助并退出。", "[required]": "[必填]"}
DEFAULT = re.compile(r"\[default: (.*)\]")

# usage-error messages of the vendored Click (and Typer's value checks) -> Chinese
MESSAGES = [
    (re.compile(r"No such command '(.+?)'\.(?: Did you mean '(.+?)'\?)?$"),
     lambda m: f"没有命令 {m[1]}" + (f"，是不是 {m[2]}？" if m[2] else "。")),
    (re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)$"),
     lambda m: f"多余的参数：{m[1]}"),
    (re.compile(r"Option '(.+?)' requires an argument\.$"),
     lambda m: f"选项 {m[1]} 后面要写一个值。"),
    (re.compile(r"Option '(.+?)' requires (\d+) arguments\.$"),
     lambda m: f"选项 {m[1]} 后面要写 {m[2]} 个值。"),
    (re.compile(r"Option '(.+?)' does not take a value\.$"),
     lambda m: f"选项 {m[1]} 不带值，直接写 {m[1]} 即可。"),
    (re.compile(r"'(.*)' is not one of (.*)\.$", re.S),
     lambda m: f"「{m[1]}」不是可选的值，可选：{_choices(m[2])}"),
    (re.compile(r"'(.*)' is not a valid integer(?: range)?\.$", re.S),
     lambda m: f"「{m[1]}」不是整数"),
    (re.compile(r"'(.*)' is not a valid float(?: range)?\.$", re.S),
     lambda m: f"「{m[1]}」不是数字"),
    (re.compile(r"'(.*)' is not (.*)\.$", re.S),
     lambda m: f"「{m[1]}」不是可选的值，可选：{_choices(m[2])}"),
    (re.compile(r"(?:File|Directory|Path) '(.*)' does not exist\.$", re.S),
     lambda m: f"找不到「{m[1]}」"),
]


def _choices(listed: str) -> str:
    """"'table', 'json'" as 「table、json」."""
    return listed.replace("'", "").replace(", ", "、")


def translate(message: str) -> str:
    """The Chinese of one fixed Click/Typer message; unknown messages unchanged."""
    for pattern, chinese in MESSAGES:
        found = pattern.match(message)
        if found:
            return chinese(found)
    return message


class ChineseFormatter(_click.HelpFormatter):
    """Click's help layout with its fixed words in Chinese."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        for english, chinese in USAGE_WORDS.items():
            args = args.replace(english, chinese)
        super().write_usage(prog, args, prefix="用法：")

    def section(self, name: str):
        return super().section(SECTIONS.get(name, name))

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, _help_words(text)) for term, text in rows], col_max, col_spacing)


def _help_words(text: str) -> str:
    for english, chinese in HELP_WORDS.items():
        text = text.replace(english, chinese)
    return DEFAULT.sub(r"[默认：\1]", text)


class ChineseContext(_click.Context):
    formatter_class = ChineseFormatter


class ChineseCommand(TyperCommand):
    """A kcbx command: help in Chinese (see the module docstring)."""

    context_class = ChineseContext


class ChineseGroup(TyperGroup):
    """A kcbx command group: help in Chinese; as the top level, usage errors in Chinese too."""

    context_class = ChineseContext

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click.exceptions.NoArgsIsHelpError as shown:  # `kcbx flag`: the group's help
            _click.echo(shown.format_message(), err=True)
            sys.exit(shown.exit_code)
        except _click.ClickException as error:
            show_error(error)
            sys.exit(error.exit_code)
        except _click.exceptions.Abort:
            _click.echo("已中止。", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def show_error(error: _click.ClickException) -> None:
    """A usage error as kcbx shows every error: usage line, `错误：…`, where to read more."""
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        _click.echo(ctx.get_usage(), err=True)
    _click.echo(f"错误：{error_text(error)}", err=True)
    if ctx is not None:
        _click.echo(f"运行 {ctx.command_path} --help 查看用法和例子。", err=True)


def error_text(error: _click.ClickException) -> str:
    """The Chinese of one usage error, from its kind and what it names."""
    exceptions = _click.exceptions
    ctx = getattr(error, "ctx", None)
    if isinstance(error, exceptions.NoSuchOption):
        maybe = f"，是不是 {'、'.join(error.possibilities)}？" if error.possibilities else "。"
        return f"没有选项 {error.option_name}{maybe}"
    if isinstance(error, exceptions.MissingParameter) and error.param is not None:
        what = "参数" if error.param.param_type_name == "argument" else "选项"
        return f"缺少{what} {_hint(error, ctx)}。"
    if isinstance(error, exceptions.BadParameter):
        where = _hint(error, ctx)
        message = translate(error.message)
        return f"{where} 的值不对：{message}" if where else message
    return translate(error.message)


def _hint(error, ctx) -> str:
    """The option or argument an error is about, as the clerk typed it (no quotes)."""
    if error.param_hint is not None:
        hint = error.param_hint
        return " / ".join(hint) if isinstance(hint, (list, tuple)) else str(hint)
    if error.param is not None and ctx is not None:
        return error.param.get_error_hint(ctx).replace("'", "")
    return ""


def group(*, no_args_is_help: bool = True, **kwargs) -> typer.Typer:
    """A kcbx command group: Chinese help, plain (no rich boxes), by default help when run bare."""
    return typer.Typer(cls=ChineseGroup, rich_markup_mode=None,
                       no_args_is_help=no_args_is_help, **kwargs)
