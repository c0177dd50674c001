"""Typer's own words (help layout, usage errors) reach the clerk in Chinese."""

import pytest
import typer

from kcbx.cli import app
from kcbx.cli_zh import translate

ENGLISH = ["Usage:", "Options:", "Commands:", "Arguments:", "Show this message", "[default:",
           "[required]", "Error:", "Try '"]


def command_paths(group=None, path=()):
    """Every command and group of kcbx, as argument lists."""
    group = group or typer.main.get_command(app)
    yield list(path)
    for name, command in getattr(group, "commands", {}).items():
        yield from command_paths(command, (*path, name))


@pytest.mark.parametrize("path", list(command_paths()), ids=" ".join)
def test_help_has_no_english_chrome(run, path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert result.output.startswith("用法：")
    assert "选项：" in result.output and "显示本帮助并退出。" in result.output
    assert [word for word in ENGLISH if word in result.output] == []


@pytest.mark.parametrize("args, said", [
    (["rates", "--bogus"], "错误：没有选项 --bogus。"),
    (["rates", "--format", "pdf"], "错误：--format 的值不对：「pdf」不是可选的值，可选：table、json、csv"),
    (["undo"], "错误：缺少参数 BATCH。"),
    (["undo", "abc"], "错误：BATCH 的值不对：「abc」不是整数"),
    (["ratez"], "错误：没有命令 ratez，是不是 rates？"),
    (["rates", "extra"], "错误：多余的参数：extra"),
    (["rates", "--as-of"], "错误：选项 --as-of 后面要写一个值。"),
    (["rates", "--unmask=3"], "错误：选项 --unmask 不带值"),
])
def test_usage_errors_are_chinese_with_exit_2(run, args, said):
    result = run(*args)
    assert result.exit_code == 2
    assert said in result.stderr
    assert [word for word in ENGLISH if word in result.output] == []


def test_usage_error_names_the_help_to_read(run):
    result = run("undo", "abc")
    lines = result.stderr.splitlines()  # (the test runner calls the program "root")
    assert lines[0].startswith("用法：") and lines[0].endswith(" undo [选项] BATCH")
    assert lines[-1].startswith("运行 ") and lines[-1].endswith(" undo --help 查看用法和例子。")


def test_a_bare_group_shows_its_help(run):
    result = run("flag")
    assert result.exit_code == 2
    assert "命令：" in result.output and "auto" in result.output


def test_unknown_messages_pass_through():
    assert translate("某个已经是中文的提示") == "某个已经是中文的提示"
    assert translate("Something new upstream") == "Something new upstream"
