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
        from kcbx import db

        landed = db.commits()
        try:
            return fn(*args, **kwargs)
        except KcbxError as exc:
            err_console.print(f"错误：{exc}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.Error as exc:  # a full disk, a read-only file … said in Chinese
            err_console.print(f"错误：{db.explain(exc, db.resolve_path(state.db_option))}",
                              markup=False, soft_wrap=True)
            raise typer.Exit(DatabaseError.exit_code) from None
        except KeyboardInterrupt:
            if db.commits() == landed:
                err_console.print("已取消，数据库未被改动。")
            else:  # Ctrl-C came while (or after) the write was committed: it is in
                err_console.print("已取消，但取消前本次修改已经写入数据库"
                                  "（导入可用 kcbx imports 查看、kcbx undo 撤销）。", soft_wrap=True)
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


def parse_day(text: Optional[str], option: str) -> "date | None":
    """A date option (2025-03-01, 2025.3.1, 2025年3月1日, 20250301) or None."""
    from datetime import date

    from kcbx.errors import InvalidValue
    from kcbx.normalize import parse_date

    if text is None:
        return None
    try:
        value, precision = parse_date(text)
    except ValueError:
        value, precision = None, None
    if not isinstance(value, date) or precision != "day":
        raise InvalidValue(f"{option} 的日期「{text}」无法识别。请写成 2025-03-01。")
    return value


# ---------------------------------------------------------------- import / imports / undo


class Kind(str, Enum):
    census = "census"
    roster = "roster"
    teachers = "teachers"
    followups = "followups"
    changes = "changes"
    units = "units"


class ImportFormat(str, Enum):
    table = "table"
    json = "json"


IMPORT_COLUMNS = [("file", "文件"), ("sheet", "工作表"), ("kind_name", "类型"),
                  ("unit", "单位"), ("sheet_date", "表格日期"), ("date_source", "日期来源"),
                  ("rows", "行数"), ("inserted", "新增"), ("updated", "更新"),
                  ("unchanged", "未变"), ("rejected", "拒绝"), ("batch", "批次")]
ERROR_COLUMNS = [("file", "文件"), ("sheet", "工作表"), ("row", "行号"), ("column", "列"),
                 ("value", "内容"), ("code", "代码"), ("message", "原因及改正方法")]
DATE_SOURCES = {"title": "表头日期", "as_of": "--as-of", "today": "今天"}


@command(app, "import")
def import_(
    files: list[Path] = typer.Argument(..., help="要导入的表格文件（.xlsx .xls .ods .csv），可以多个。"),
    kind: Optional[Kind] = typer.Option(None, "--kind", help="表格类型（默认按表头自动判断）。"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="只导入这个工作表。"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="表格日期（优先于表头中的填报日期）。"),
    unit: Optional[str] = typer.Option(None, "--unit", help="报表单位（村或学校名称），表头看不出时用。"),
    mapping: list[str] = typer.Option([], "--map", help="自定义表头对应：表头=字段，可多次使用。"),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="CSV 编码（默认自动：UTF-8 或 GBK）。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只检查、报告，不写入数据库。"),
    strict: bool = typer.Option(False, "--strict", help="有任何一行错误就整批不导入。"),
    force: bool = typer.Option(False, "--force", help="同一文件已导入过也重新导入。"),
    errors: Optional[Path] = typer.Option(None, "--errors", help="把被拒绝的行写到 .xlsx 或 .csv，便于退回改正。"),
    fmt: ImportFormat = typer.Option(ImportFormat.table, "--format", help="输出格式。"),
) -> None:
    """导入村、学校报来的表格（花名册、学籍、教师、变动、劝返记录）。例：kcbx import 花名册/*.xlsx"""
    from kcbx import importer
    from kcbx.errors import InvalidValue, RowsRejected
    from kcbx.render import emit, to_json

    options = importer.Options(kind=kind.value if kind else None, sheet=sheet,
                               as_of=parse_day(as_of, "--as-of"), unit=unit,
                               mapping=_parse_map(mapping), encoding=encoding,
                               dry_run=dry_run, strict=strict, force=force)
    if errors is not None and errors.suffix.lower() not in (".xlsx", ".csv"):
        raise InvalidValue("--errors 的文件名应以 .xlsx 或 .csv 结尾。")
    conn = open_db()
    result = _with_progress(lambda progress: importer.import_files(
        conn, files, options, progress=progress, before_write=_backup_step(conn, "import")))
    error_rows = [{"file": b.file, "sheet": b.sheet or "", **vars(e)}
                  for b in result.batches for e in b.errors]
    if fmt is ImportFormat.json:
        print(to_json({"batches": [b.as_json() for b in result.batches if not b.skipped]}))
    else:
        _print_import_summary(result, error_rows)
    if errors is not None:
        emit(error_rows, ERROR_COLUMNS, errors.suffix.lower()[1:], out=errors,
             title="被拒绝的行", heading="导入被拒绝的行（请改正后重新报送）")
    if result.rejected:
        raise RowsRejected(f"有 {result.rejected} 行被拒绝，其余已{'检查' if dry_run else '导入'}。"
                           + ("" if errors else "可加 --errors 错误.xlsx 导出被拒绝的行退回改正。"))


def _parse_map(items: list[str]) -> dict[str, str]:
    from kcbx.errors import InvalidValue

    mapping = {}
    for item in items:
        header, sep, field_name = item.partition("=")
        if not sep or not header.strip() or not field_name.strip():
            raise InvalidValue(f"--map 的写法应为 表头=字段，例如 --map 学生姓名=name（收到「{item}」）。")
        mapping[header.strip()] = field_name.strip()
    return mapping


def _backup_step(conn, reason: str):
    """A callable that backs the database up (into backups/ beside it) before a write."""
    from kcbx import backup, db

    return lambda: backup.auto_backup(conn, db.resolve_path(state.db_option), reason)


def _with_progress(work):
    """Run `work(progress)` with a progress bar on a terminal, silently otherwise."""
    from kcbx.render import is_terminal

    if not is_terminal():
        return work(None)
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("导入中", total=None)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=f"导入 {label}", completed=done, total=total)

        return work(progress)


def _print_import_summary(result, error_rows) -> None:
    from kcbx.importer import KIND_NAMES
    from kcbx.render import table

    rows = [{**vars(b), "kind_name": KIND_NAMES[b.kind], "sheet_date": b.sheet_date.isoformat(),
             "date_source": DATE_SOURCES[b.date_source], "batch": b.batch or ""}
            for b in result.batches if not b.skipped]
    title = "导入检查结果（--dry-run，未写入）" if result.dry_run else "导入结果"
    if rows:
        console.print(table(rows, IMPORT_COLUMNS, title=title))
    for note in result.notes:
        err_console.print(f"提示：{note}", markup=False)
    if error_rows:
        err_console.print(table(error_rows, ERROR_COLUMNS, title=f"被拒绝的行（{len(error_rows)} 处）"))


class ListFormat(str, Enum):
    table = "table"
    json = "json"


@command(app, "imports")
def imports(fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="输出格式。")) -> None:
    """列出所有导入批次（最新的在前）。例：kcbx imports"""
    from kcbx import batches
    from kcbx.render import emit

    columns = [("batch", "批次"), ("file", "文件"), ("sheet", "工作表"), ("kind", "类型"),
               ("unit", "单位"), ("sheet_date", "表格日期"), ("iso_week", "周"), ("rows", "行数"),
               ("inserted", "新增"), ("updated", "更新"), ("rejected", "拒绝"),
               ("imported_at", "导入时间"), ("undone_at", "撤销时间")]
    emit(batches.list_batches(open_db()), columns, fmt.value, title="导入批次")


@command(app, "undo")
def undo(
    batch: int = typer.Argument(..., help="要撤销的批次号（见 kcbx imports）。"),
    force: bool = typer.Option(False, "--force", help="后来的批次改过同样的数据时也撤销。"),
) -> None:
    """撤销一批导入，恢复导入前的样子。例：kcbx undo 12"""
    from kcbx import batches

    conn = open_db()
    _backup_step(conn, "undo")()
    result = batches.undo(conn, batch, force=force)
    console.print(f"已撤销第 {result.batch} 批：删除 {result.deleted} 行，恢复 {result.restored} 行。")
    if result.kept:
        err_console.print(f"提示：{len(result.kept)} 行仍被后来的数据引用，已保留。")


# ---------------------------------------------------------------- units

units_app = typer.Typer(help="村(社区)与学校：负责人、电话、对口学校。", no_args_is_help=True)
app.add_typer(units_app, name="units")

UNIT_COLUMNS = [("name", "名称"), ("kind_name", "类型"), ("level", "学段"), ("head_name", "负责人"),
                ("head_phone", "电话"), ("catchment_primary", "对口小学"), ("catchment_middle", "对口初中")]


@command(units_app, "list")
def units_list(fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="输出格式。")) -> None:
    """列出村(社区)和学校。例：kcbx units list"""
    from kcbx import units
    from kcbx.render import emit

    emit(units.list_units(open_db()), UNIT_COLUMNS, fmt.value, title="单位")


@command(units_app, "set")
def units_set(
    name: str = typer.Argument(..., help="村(社区)或学校名称。"),
    head: Optional[str] = typer.Option(None, "--head", help="负责人姓名（村长/校长）。"),
    phone: Optional[str] = typer.Option(None, "--phone", help="负责人电话。"),
    catchment_primary: Optional[str] = typer.Option(None, "--catchment-primary", help="对口小学。"),
    catchment_middle: Optional[str] = typer.Option(None, "--catchment-middle", help="对口初中。"),
) -> None:
    """设置单位负责人、电话或村的对口学校。例：kcbx units set 中坝村 --head 张三 --phone 13800000000"""
    from kcbx import units
    from kcbx.render import table

    unit = units.set_unit(open_db(), name, head=head, phone=phone,
                          catchment_primary=catchment_primary, catchment_middle=catchment_middle)
    console.print(table([unit], UNIT_COLUMNS))


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
