"""The `kcbx` command line: a thin Typer layer over the library modules.

Each command parses its options, opens the database, calls one library function and
renders the result. Errors raised as `KcbxError` become a one-line Chinese message on
stderr and the exit code of SPEC §5 in exactly one place: `_run`.
"""

from __future__ import annotations

import functools
import sqlite3
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kcbx import __version__
from kcbx.errors import DatabaseError, KcbxError
from kcbx.render import console, err_console

HELP = """kcbx（控辍保学）：乡镇适龄儿童少年花名册、入学率与巩固率、教师包干、劝返台账。

第一次使用：

  kcbx init --town 后柳镇          建立数据库

  kcbx import 花名册/*.xlsx        导入村、学校报来的表格

  kcbx rates                       查看入学率、巩固率和未入学/辍学名单

数据库位置：--db 指定，否则环境变量 KCBX_DB，否则用户数据目录。
"""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False, rich_markup_mode=None)


class State:
    """What the top-level options say: where the database is."""

    db_option: Optional[Path] = None


state = State()


def _version(value: bool) -> None:
    if value:
        console.print(f"kcbx {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    db: Optional[Path] = typer.Option(
        None, "--db", help="数据库文件路径（默认：环境变量 KCBX_DB，否则用户数据目录）。"
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="显示版本号并退出。"
    ),
) -> None:
    state.db_option = db


def _run(fn):
    """Turn KcbxError (and a locked database) into a Chinese message and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except KcbxError as exc:
            err_console.print(f"错误：{exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.OperationalError as exc:
            err_console.print(f"错误：数据库操作失败（{exc}）。请稍后重试，或运行 kcbx doctor。",
                              markup=False)
            raise typer.Exit(DatabaseError.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("已取消，数据库未被改动。")
            raise typer.Exit(130) from None

    return wrapper


def command(group: typer.Typer, name: str | None = None, **kwargs):
    """Register `fn` as a command of `group`, with the error translation of `_run`."""

    def decorator(fn):
        group.command(name, **kwargs)(_run(fn))
        return fn

    return decorator


def open_db() -> sqlite3.Connection:
    """The database named by --db / $KCBX_DB / the default, migrated and ready."""
    from kcbx import db

    return db.connect(db.resolve_path(state.db_option))


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


# ---------------------------------------------------------------- init / info


@command(app, "init")
def init(
    town: Optional[str] = typer.Option(None, "--town", help="乡镇名称，例如 后柳镇。"),
) -> None:
    """建立或更新数据库（可重复运行）。例：kcbx init --town 后柳镇"""
    from kcbx import db, store

    path = db.resolve_path(state.db_option)
    conn = db.connect(path)
    if town:
        store.set_town(conn, town)
    console.print(f"数据库已就绪：{path}（结构版本 {store.schema_version(conn)}）")


@command(app, "info")
def info() -> None:
    """显示数据库位置、结构版本、各表行数和最近的导入。例：kcbx info"""
    from kcbx import db, store

    path = db.resolve_path(state.db_option)
    conn = db.connect(path)
    summary = store.info(conn, path)
    console.print(f"数据库：{summary['path']}")
    console.print(f"乡镇：{summary['town'] or '（未设置，可用 kcbx init --town 设置）'}")
    console.print(f"结构版本：{summary['schema_version']}")
    rows = [{"table": t, "count": n} for t, n in summary["counts"].items()]
    from kcbx.render import table

    console.print(table(rows, [("table", "表"), ("count", "行数")], title="各表行数"))
    if summary["last_imports"]:
        console.print(table(summary["last_imports"], [
            ("id", "批次"), ("file_name", "文件"), ("sheet", "工作表"), ("kind", "类型"),
            ("sheet_date", "表格日期"), ("imported_at", "导入时间")], title="最近的导入"))
    else:
        console.print("尚无导入。下一步：kcbx import 表格.xlsx")


# ---------------------------------------------------------------- backup / restore / doctor


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


FORMAT_HELP = "输出格式：table（表格）或 json。"


def _say(text: str) -> None:
    """Print a message holding file paths: never wrapped or read as markup, so it can be copied."""
    console.print(text, soft_wrap=True, markup=False)


@command(app, "backup")
def backup_(
    path: Optional[Path] = typer.Argument(
        None, help="备份文件或文件夹（默认：数据库旁的 backups 文件夹）。已有的文件不会被覆盖。"),
) -> None:
    """备份数据库（联机备份，其他命令可同时运行）。例：kcbx backup 备份.db"""
    from kcbx import backup, db as kdb

    dest = backup.manual_backup(open_db(), kdb.resolve_path(state.db_option), path)
    _say(f"已备份到 {dest}")


@command(app, "backups")
def backups(
    fmt: TableOrJson = typer.Option(TableOrJson.table, "--format", help=FORMAT_HELP),
) -> None:
    """列出数据库旁 backups 文件夹中的备份，最新的在前。例：kcbx backups"""
    from kcbx import backup, db as kdb
    from kcbx.render import emit

    rows = backup.list_backups(kdb.resolve_path(state.db_option))
    if fmt is TableOrJson.table:
        if not rows:
            err_console.print("还没有备份。可运行 kcbx backup 备份。")
        rows = [{**r, "reason": backup.REASONS[r["reason"]], "size": f"{r['size'] / 1024:,.0f} KB"}
                for r in rows]
    emit(rows, [("created", "备份时间"), ("reason", "原因"), ("size", "大小"), ("path", "文件")],
         fmt.value)


@command(app, "restore")
def restore(
    path: Path = typer.Argument(..., help="用来恢复的备份文件（.db），可用 kcbx backups 查看。"),
) -> None:
    """用备份替换当前数据库：先检查备份，再自动备份当前数据库。例：kcbx restore 备份.db"""
    from kcbx import backup, db as kdb

    result = backup.restore(kdb.resolve_path(state.db_option), path)
    _say(f"已恢复：{result['source']}（结构版本 {result['source_version']}，"
         f"现为 {result['schema_version']}）")
    if result["saved"]:
        _say(f"恢复前的数据库已备份到 {result['saved']}")


@command(app, "doctor")
def doctor(
    fmt: TableOrJson = typer.Option(TableOrJson.table, "--format", help=FORMAT_HELP),
) -> None:
    """检查数据库是否完好、前后一致、只有本人可读，并给出结论。例：kcbx doctor"""
    from dataclasses import asdict

    from kcbx import db as kdb, doctor as kdoctor
    from kcbx.render import emit

    findings = kdoctor.examine(kdb.resolve_path(state.db_option))
    rows = [asdict(f) for f in findings]
    if fmt is TableOrJson.table:
        rows = [{**r, "level": kdoctor.LEVELS[r["level"]], "code": kdoctor.CHECKS[r["code"]]}
                for r in rows]
    emit(rows, [("code", "检查项"), ("level", "结果"), ("message", "说明")], fmt.value)
    if kdoctor.has_errors(findings):
        raise typer.Exit(1)
