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


# ---------------------------------------------------------------- status / rates

status_app = typer.Typer(help="孩子的就读状态。", no_args_is_help=True)
app.add_typer(status_app, name="status")


def _day(text: Optional[str], option: str):
    """A date option, parsed (None when not given)."""
    from kcbx.dates import parse_date

    return parse_date(text, option) if text else None


@command(status_app, "set")
def status_set(
    child: str = typer.Argument(..., help="孩子：身份证号、学籍号或姓名。"),
    status: str = typer.Argument(..., help="新状态，例如 在校、辍学、休学、迁出、死亡。"),
    on: Optional[str] = typer.Option(None, "--date", help="生效日期（默认今天），例如 2025-03-01。"),
    reason: str = typer.Option(..., "--reason", help="理由或依据，例如 家访核实已返校。"),
    village: Optional[str] = typer.Option(None, "--village", help="重名时按村（社区）区分。"),
) -> None:
    """手工设置孩子某日起的状态（记入状态历史）。例：kcbx status set 陈萱诗 在校 --date 2025-03-01 --reason 家访核实已返校"""
    from datetime import date

    from kcbx.children import set_status
    from kcbx.idcard import mask
    from kcbx.vocab import parse_status, status_name

    code = parse_status(status)
    today = date.today()
    done = set_status(open_db(), child, code, _day(on, "--date") or today, reason,
                      today=today, village=village)
    console.print(f"已记录：{done.name}（{mask(done.id_number)}）自 {done.on} 起为"
                  f"{status_name(done.status)}，此前为{status_name(done.before) or '（无记录）'}。",
                  markup=False, soft_wrap=True)


class RatesBy(str, Enum):
    town = "town"
    village = "village"
    school = "school"
    grade = "grade"


class RatesFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


_BY_NAMES = {"town": "全镇", "village": "村（社区）", "school": "学校", "grade": "年级"}
_RATE_NAMES = (("enrollment", "入学率"), ("disabled_enrollment", "残疾儿童少年入学率"),
               ("retention", "巩固率"))


def _group_label(group) -> str:
    """How a group is named in tables and CSV."""
    if group.by == "grade":
        return f"{group.key}年级" if group.key <= 9 else "已满15周岁"
    return group.key if group.key is not None else "（未填村）"


def _rate_rows(result) -> list[dict]:
    """One flat row per group: every rate's 分子/分母/比率, then the counts."""
    from kcbx.metrics import format_percent

    rows = []
    for group in result.groups:
        row = {"by": _BY_NAMES[group.by], "key": _group_label(group),
               "dropouts": group.dropouts, "returned": group.returned, **group.counts}
        for field, _ in _RATE_NAMES:
            ratio = getattr(group, field)
            if ratio is not None:
                row.update({f"{field}_num": ratio.num, f"{field}_den": ratio.den,
                            field: format_percent(ratio.num, ratio.den)})
        rows.append(row)
    return rows


def _rate_csv_columns() -> list[tuple[str, str]]:
    """The CSV columns of `_rate_rows`, with Chinese headers."""
    from kcbx.vocab import STATUSES

    columns = [("by", "分组"), ("key", "名称")]
    for field, name in _RATE_NAMES:
        columns += [(f"{field}_num", f"{name}分子"), (f"{field}_den", f"{name}分母"), (field, name)]
    columns += [("dropouts", "辍学人数"), ("returned", "劝返复学人数")]
    return columns + [(code, name) for code, (name, _) in STATUSES.items()]


def _show(rows: list[dict], columns: list[tuple[str, str]], title: str) -> None:
    """Print a table: rich on a terminal when short, else plain text (fast, no box drawing)."""
    import sys

    from kcbx.render import is_terminal, table
    from kcbx.textable import plain_table

    if is_terminal() and len(rows) <= 200:
        console.print(table(rows, columns, title=title))
    else:
        sys.stdout.write(plain_table(rows, columns, title=title))


def _print_rates(result, unmask: bool) -> None:
    """The tables of `kcbx rates`: rates with their working, status counts, exceptions."""
    from kcbx.metrics import format_percent
    from kcbx.vocab import RECEIVING, STATUSES, status_name

    window = result.window
    console.print(f"统计日期 {result.as_of}；巩固率、劝返复学自 {result.start} 起；"
                  f"适龄：{window.born_from} 至 {window.born_to} 出生。", markup=False,
                  soft_wrap=True)
    rates = [{"unit": _group_label(g), "rate": name, "num": r.num, "den": r.den,
              "percent": format_percent(r.num, r.den), "target": "100%"}
             for g in result.groups for field, name in _RATE_NAMES
             if (r := getattr(g, field)) is not None]
    _show(rates, [("unit", "单位"), ("rate", "指标"), ("num", "分子"), ("den", "分母"),
                  ("percent", "比率"), ("target", "目标")], "入学率、巩固率")
    counts = [{"unit": _group_label(g), "returned": g.returned, **g.counts} for g in result.groups]
    receiving = [(code, name) for code, (name, kind) in STATUSES.items() if kind == RECEIVING]
    others = [(code, name) for code, (name, kind) in STATUSES.items() if kind != RECEIVING]
    _show(counts, [("unit", "单位"), *receiving, ("returned", "劝返复学")],
          "各状态人数：接受义务教育")
    _show(counts, [("unit", "单位"), *others], "各状态人数：未接受义务教育、不计入")
    if result.exceptions:
        rows = [{**e.to_dict(unmask), "status": status_name(e.status),
                 "since": e.since or "早于记录"} for e in result.exceptions]
        _show(rows, [("id_number", "身份证号"), ("name", "姓名"), ("status", "状态"),
                     ("since", "起始日期"), ("village", "村（社区）"), ("school", "学校"),
                     ("teacher", "包干教师")],
              f"未入学、辍学、疑似辍学、去向不明名单（{len(rows)} 人）")
    else:
        console.print("没有未入学、辍学、疑似辍学或去向不明的适龄儿童少年。")
    if result.pending_rejected:
        console.print(f"提醒：最近的导入有 {result.pending_rejected} 行被拒绝，这些孩子可能不在"
                      "以上数字中。请用 kcbx imports 查看，改正后重新导入。", markup=False,
                      soft_wrap=True)


@command(app, "rates")
def rates(
    as_of: Optional[str] = typer.Option(None, "--as-of", help="统计日期（默认今天），例如 2025-03-01。"),
    start: Optional[str] = typer.Option(
        None, "--from", help="巩固率、劝返复学的起始日期（默认该学年的 9 月 1 日）。"),
    by: RatesBy = typer.Option(RatesBy.town, "--by",
                               help="分组：town 全镇，village 村（社区），school 学校，grade 年级。"),
    fmt: RatesFormat = typer.Option(RatesFormat.table, "--format", help="输出格式。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（注意保护个人信息）。"),
) -> None:
    """入学率、残疾儿童少年入学率、巩固率（含分子分母）、各状态人数和未入学/辍学名单。例：kcbx rates --as-of 2025-03-01 --by village"""
    import sys
    from datetime import date

    from kcbx import metrics
    from kcbx.render import to_csv, to_json

    result = metrics.rates(open_db(), _day(as_of, "--as-of") or date.today(),
                           _day(start, "--from"), by.value)
    if fmt is RatesFormat.json:
        sys.stdout.write(to_json(result.to_dict(unmask)) + "\n")
    elif fmt is RatesFormat.csv:
        sys.stdout.write(to_csv(_rate_rows(result), _rate_csv_columns()))
    else:
        _print_rates(result, unmask)
