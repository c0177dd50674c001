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
            err_console.print(f"错误：{exc}", markup=False, soft_wrap=True)
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

# ---------------------------------------------------------------- teachers / assign

teachers_app = typer.Typer(help="教师名单：包干人数、电话、在岗情况。", no_args_is_help=True,
                           rich_markup_mode=None)
app.add_typer(teachers_app, name="teachers")
assign_app = typer.Typer(rich_markup_mode=None)
app.add_typer(assign_app, name="assign")


class TableCsvJson(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class SummaryFormat(str, Enum):
    table = "table"
    json = "json"


TEACHER_COLUMNS = [("school", "学校"), ("name", "姓名"), ("phone", "电话"), ("subject", "学科"),
                   ("head_class", "班主任班级"), ("active", "在岗"),
                   ("inactive_reason", "不在岗原因"), ("load", "包干人数")]
# The 包干责任表 as printed (terminal, xlsx: one sheet per school) and as CSV (all schools).
PAIRING_COLUMNS = [("name", "姓名"), ("id_number", "身份证号"), ("village_label", "村(社区)/组"),
                   ("school", "学校"), ("class_label", "年级班级"), ("groups", "特殊群体"),
                   ("teacher_name", "包干教师"), ("teacher_phone", "教师电话"),
                   ("guardian_name", "监护人"), ("guardian_phone", "监护人电话"),
                   ("since", "包干起始日期")]
PAIRING_CSV_COLUMNS = PAIRING_COLUMNS + [("teacher_school", "教师所在学校"), ("source_name", "方式")]
PAIRING_JSON_KEYS = ("id_number", "name", "village", "school", "grade", "groups", "teacher_name",
                     "teacher_school", "teacher_phone", "since", "source")
LOAD_COLUMNS = [("school", "学校"), ("teachers", "在岗教师"), ("min", "最少"),
                ("median", "中位数"), ("max", "最多"), ("shortfall", "未能配对")]
LEFT_OVER_COLUMNS = [("name", "姓名"), ("id_number", "身份证号"), ("village", "村(社区)"),
                     ("school", "学校"), ("groups", "特殊群体"), ("reason", "原因")]


def _as_of(text: Optional[str]) -> "date":
    """--as-of as a date, default today (to be replaced by the import commands' parse_day)."""
    from datetime import date

    from kcbx.errors import InvalidValue

    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(f"--as-of 的日期「{text}」无法识别。请写成 2025-03-01。") from None


@command(teachers_app, "list")
def teachers_list(
    school: Optional[str] = typer.Option(None, "--school", help="只列出这个学校的教师。"),
    fmt: TableCsvJson = typer.Option(TableCsvJson.table, "--format", help="输出格式：table、csv 或 json。"),
) -> None:
    """列出教师及每人当前包干的儿童人数。例：kcbx teachers list --school 后柳中学"""
    from kcbx import teachers
    from kcbx.render import emit

    rows = teachers.list_teachers(open_db(), school)
    emit(rows, TEACHER_COLUMNS, fmt.value, title="教师名单")


@command(teachers_app, "set")
def teachers_set(
    teacher: str = typer.Argument(..., help="教师：学校/姓名，姓名不重名时可只写姓名。"),
    phone: Optional[str] = typer.Option(None, "--phone", help="新的联系电话。"),
    active: Optional[bool] = typer.Option(
        None, "--active/--inactive", help="在岗或不在岗；不在岗会立即结束其包干关系。"),
) -> None:
    """修改教师的电话或在岗情况。例：kcbx teachers set 后柳小学/汪东波 --inactive"""
    from datetime import date

    from kcbx import teachers
    from kcbx.errors import InvalidValue

    if phone is None and active is None:
        raise InvalidValue("请至少给出 --phone、--active 或 --inactive 中的一项。")
    done = teachers.set_teacher(open_db(), teacher, today=date.today(), phone=phone, active=active)
    state_word = "在岗" if done["active"] else "不在岗"
    console.print(f"已更新 {done['school']}/{done['name']}：{state_word}，"
                  f"电话 {done['phone'] or '（无）'}。")
    if done["ended"]:
        console.print(f"已结束其 {done['ended']} 个包干关系。请运行 kcbx assign 为这些儿童重新配对。")


@assign_app.callback(invoke_without_command=True)
@_run
def assign(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="按这一天的特殊群体名单配对（默认今天）。"),
    max_load: Optional[int] = typer.Option(None, "--max-load", min=1, help="每位教师最多包干的人数。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将要做的改动，不写入数据库。"),
    fmt: SummaryFormat = typer.Option(SummaryFormat.table, "--format", help="输出格式：table 或 json。"),
) -> None:
    """为每个特殊群体儿童落实一位包干教师（自动配对）。例：kcbx assign --max-load 15"""
    if ctx.invoked_subcommand is not None:
        return
    from dataclasses import asdict

    from kcbx.assign import run_assign
    from kcbx.render import to_json

    summary = run_assign(open_db(), _as_of(as_of), max_load, dry_run)
    if fmt is SummaryFormat.json:
        print(to_json(asdict(summary)))
    else:
        _print_assign_summary(summary)


def _print_assign_summary(s) -> None:
    from kcbx.render import table

    note = "（预演，未写入数据库）" if s.dry_run else ""
    console.print(f"{s.as_of.isoformat()} 特殊群体儿童 {s.special} 人{note}")
    ended = "，".join(f"{reason} {n}" for reason, n in s.ended_reasons.items())
    console.print(f"新配对 {s.paired} 人，保持 {s.kept} 人，重新配对 {s.repaired} 人，"
                  f"结束 {s.ended} 个{f'（{ended}）' if ended else ''}，"
                  f"未能配对 {len(s.left_over)} 人。")
    if s.schools:
        console.print(table(s.schools, LOAD_COLUMNS, title="各校教师包干人数"))
    if s.left_over:
        console.print(table(s.left_over, LEFT_OVER_COLUMNS, title="未能配对的儿童（请处理）"))


@command(assign_app, "set")
def assign_set(
    child: str = typer.Argument(..., help="儿童：身份证号、学籍号或姓名。"),
    teacher: str = typer.Argument(..., help="教师：学校/姓名，姓名不重名时可只写姓名。"),
    village: Optional[str] = typer.Option(None, "--village", help="姓名重名时，用所在村(社区)区分。"),
) -> None:
    """手工指定某个儿童的包干教师（以后自动配对不会改动）。例：kcbx assign set 王乐嘉 后柳中坝小学/徐云"""
    from datetime import date

    from kcbx.assign import set_manual

    done = set_manual(open_db(), child, teacher, today=date.today(), village=village)
    before = f"（原包干教师 {done['before']}）" if done["before"] else ""
    console.print(f"{done['name']}（{done['id_number']}）的包干教师已设为 {done['teacher']}{before}。")


@command(assign_app, "end")
def assign_end(
    child: str = typer.Argument(..., help="儿童：身份证号、学籍号或姓名。"),
    reason: str = typer.Option(..., "--reason", help="结束包干的原因。"),
    village: Optional[str] = typer.Option(None, "--village", help="姓名重名时，用所在村(社区)区分。"),
) -> None:
    """结束某个儿童的包干关系。例：kcbx assign end 王乐嘉 --reason 已转学外县"""
    from datetime import date

    from kcbx.assign import end_pairing

    done = end_pairing(open_db(), child, reason, today=date.today(), village=village)
    console.print(f"已结束 {done['name']}（{done['id_number']}）与 {done['teacher']} 的包干关系。"
                  "如该儿童仍属特殊群体，下次 kcbx assign 会重新配对。")


@command(assign_app, "list")
def assign_list(
    school: Optional[str] = typer.Option(None, "--school", help="只列出这个学校的教师包干的儿童。"),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="只列出这位教师（学校/姓名）包干的儿童。"),
    fmt: Format = typer.Option(Format.table, "--format", help="输出格式：table、csv、json 或 xlsx。"),
    out: Optional[Path] = typer.Option(None, "--out", help="写入文件（xlsx 必须指定）。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（仅限工作需要）。"),
) -> None:
    """教师包干责任表：每个包干关系一行，含教师和监护人电话。例：kcbx assign list --format xlsx --out 包干责任表.xlsx"""
    from datetime import date

    from kcbx import settings
    from kcbx.assign import pairing_rows
    from kcbx.render import emit

    conn = open_db()
    today = date.today()
    rows = pairing_rows(conn, today, school=school, teacher=teacher, unmask=unmask)
    if fmt is Format.json:
        emit(rows, [(k, k) for k in PAIRING_JSON_KEYS], "json", out=out)
    elif fmt is Format.xlsx:
        _pairings_xlsx(rows, out, settings.get(conn, "town"), today)
    else:
        columns = PAIRING_CSV_COLUMNS if fmt is Format.csv else PAIRING_COLUMNS
        emit(rows, columns, fmt.value, title="教师包干责任表", out=out)


def _pairings_xlsx(rows: list[dict], out: Optional[Path], town: str, today: "date") -> None:
    """The print-ready 包干责任表: one sheet per teacher's school."""
    from kcbx.errors import InvalidValue
    from kcbx.render import new_workbook, save_workbook, xlsx_sheet

    if out is None:
        raise InvalidValue("xlsx 格式需要用 --out 指定输出文件，例如 --out 包干责任表.xlsx")
    by_school: dict[str, list[dict]] = {}
    for row in rows:
        by_school.setdefault(row["teacher_school"], []).append(row)
    wb = new_workbook()
    for school, school_rows in (by_school or {"包干责任表": []}).items():
        xlsx_sheet(wb, school, school_rows, PAIRING_COLUMNS,
                   heading=f"{town}控辍保学教师包干责任表",
                   subtitle=f"制表单位：{town or '（未设置乡镇）'}　　学校：{school}"
                            f"　　日期：{today:%Y年%m月%d日}")
    save_workbook(wb, out)
    err_console.print(f"已写入 {out}")

# ---------------------------------------------------------------- reconcile


class ReconcileFormat(str, Enum):
    table = "table"
    xlsx = "xlsx"
    json = "json"


RECONCILE_KEYS = ("kind", "kind_name", "id_number", "name", "village", "school",
                  "census_status", "roll_status", "detail")
RECONCILE_COLUMNS = [("village", "村(社区)"), ("school", "学校"), ("name", "姓名"),
                     ("id_number", "身份证号"), ("census_status", "户籍花名册状态"),
                     ("roll_status", "学籍状态"), ("detail", "请核实")]


@command(app, "reconcile")
def reconcile_(
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="比对日期（默认今天）：用这一天及以前最新的户籍花名册和学籍花名册。"),
    fmt: ReconcileFormat = typer.Option(
        ReconcileFormat.table, "--format",
        help="输出格式：table（按类别分组显示）、xlsx（每类一页，可打印）或 json。"),
    out: Optional[Path] = typer.Option(None, "--out", help="输出文件：xlsx 必须指定，json 可选。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（默认隐去中间 8 位）。"),
) -> None:
    """人籍比对：户籍花名册与学籍花名册逐人核对，列出要村、学校核实的孩子。例：kcbx reconcile --format xlsx --out 人籍比对.xlsx"""
    from datetime import date

    from kcbx import reconcile, settings
    from kcbx.errors import InvalidValue
    from kcbx.render import emit

    day = parse_day(as_of, "--as-of") or date.today()
    if fmt is ReconcileFormat.xlsx and out is None:
        raise InvalidValue("xlsx 格式需要用 --out 指定输出文件，例如 --out 人籍比对.xlsx")
    if fmt is ReconcileFormat.table and out is not None:
        raise InvalidValue("--out 只用于 xlsx 或 json 格式，例如 --format xlsx --out 人籍比对.xlsx")
    conn = open_db()
    _warn_missing_sheets(reconcile.compared_sheets(conn, day), fmt is ReconcileFormat.table)
    rows = [f.as_json(unmask) for f in reconcile.reconcile(conn, day)]
    if fmt is ReconcileFormat.json:
        emit(rows, [(k, k) for k in RECONCILE_KEYS], "json", out=out)
    elif fmt is ReconcileFormat.xlsx:
        _reconcile_workbook(rows, day, settings.get(conn, "town"), out)
    else:
        _print_reconcile(rows, day)


def _warn_missing_sheets(sheets: dict[str, list[tuple[str, str]]], list_them: bool) -> None:
    """Say on stderr which sheets were compared (for the table) and which side is missing."""
    for kind, name in (("census", "户籍花名册"), ("roster", "学籍花名册")):
        if not sheets[kind]:
            err_console.print(f"提示：比对日期以前没有导入任何{name}，比对不完整。"
                              f"请先用 kcbx import 导入各{'村' if kind == 'census' else '学校'}的{name}。")
        elif list_them:
            used = "、".join(f"{unit or '未知单位'} {day}" for unit, day in sheets[kind])
            err_console.print(f"比对所用{name}：{used}", markup=False, soft_wrap=True)


def _reconcile_groups(rows: list[dict]) -> dict[str, list[dict]]:
    """Findings by kind with status words for the clerk; every kind is present, even empty."""
    from kcbx.reconcile import KINDS
    from kcbx.vocab import status_name

    groups: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for row in rows:
        groups[row["kind"]].append({**row, "census_status": status_name(row["census_status"]),
                                    "roll_status": status_name(row["roll_status"])})
    return groups


def _print_reconcile(rows: list[dict], day) -> None:
    """A count per kind, then one table per kind that has findings."""
    from kcbx.reconcile import KINDS
    from kcbx.render import table

    groups = _reconcile_groups(rows)
    counts = "，".join(f"{KINDS[k]} {len(g)}" for k, g in groups.items())
    console.print(f"人籍比对（{day.isoformat()}）：共 {len(rows)} 条。{counts}。")
    for kind, group in groups.items():
        if group:
            console.print(table(group, RECONCILE_COLUMNS, title=f"{KINDS[kind]}（{len(group)} 条）"))


def _reconcile_workbook(rows: list[dict], day, town: str, out: Path) -> None:
    """A summary sheet, then one print-ready sheet per kind (empty ones too)."""
    from kcbx.reconcile import KINDS
    from kcbx.render import new_workbook, save_workbook, xlsx_sheet

    groups = _reconcile_groups(rows)
    subtitle = f"比对日期：{day.isoformat()}"
    wb = new_workbook()
    summary = [{"kind_name": KINDS[k], "count": len(g)} for k, g in groups.items()]
    xlsx_sheet(wb, "汇总", summary, [("kind_name", "类别"), ("count", "人数")],
               heading=f"{town}人籍比对汇总", subtitle=subtitle, landscape=False)
    for kind, group in groups.items():
        xlsx_sheet(wb, KINDS[kind], group, RECONCILE_COLUMNS,
                   heading=f"{town}人籍比对：{KINDS[kind]}", subtitle=f"{subtitle}　共 {len(group)} 条")
    save_workbook(wb, out)
    err_console.print(f"已写入 {out}")

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

# ---------------------------------------------------------------- report / check

report_app = typer.Typer(help="控辍保学周报：供例会、打印、微信群和定时任务使用。", no_args_is_help=True,
                         rich_markup_mode=None)
app.add_typer(report_app, name="report")


class ReportFormat(str, Enum):
    table = "table"
    md = "md"
    xlsx = "xlsx"
    json = "json"
    html = "html"


@command(report_app, "weekly")
def report_weekly(
    week: Optional[str] = typer.Option(
        None, "--week", help="报告周，例如 2025-W10（默认：上一个完整的自然周，周一至周日）。"),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="截止日期：报告到这一天为止的七天（不能与 --week 同用）。"),
    fmt: ReportFormat = typer.Option(
        ReportFormat.table, "--format",
        help="输出格式：table（屏幕）、md（微信群、邮件）、xlsx（打印）、json、html（单个网页）。"),
    out: Optional[Path] = typer.Option(
        None, "--out", help="写入这个文件或文件夹（xlsx、html 不指定时写入当前文件夹，文件名含乡镇和周次）。"),
    fail_on_alert: bool = typer.Option(
        False, "--fail-on-alert", help="督查发现问题时以退出码 4 结束（供定时任务判断）。"),
) -> None:
    """生成控辍保学周报：指标、变化、分村分校、劝返、督查、上报。例：kcbx report weekly --week 2025-W10 --format xlsx"""
    from datetime import date

    from kcbx import report
    from kcbx.errors import AlertsFound, InvalidValue

    if week and as_of:
        raise InvalidValue("--week 和 --as-of 只能用一个：--week 2025-W10，或 --as-of 2025-03-09。")
    if week:
        period = report.iso_week(week)
    elif as_of:
        period = report.week_ending(_day(as_of, "--as-of"))
    else:
        period = report.last_complete_week(date.today())
    result = report.weekly_report(open_db(), period)
    _write_report(result, fmt.value, out)
    if fail_on_alert and result.findings:
        raise AlertsFound(f"督查发现 {len(result.findings)} 项问题（见周报“五、督查事项”）。")


def _write_report(result, fmt: str, out: Optional[Path]) -> None:
    """Print the report, or write it atomically to --out (a file, or a folder for the default name)."""
    import sys

    from kcbx import report_render as rr
    from kcbx.render import write_text

    suffix = {"table": "txt"}.get(fmt, fmt)
    if out is not None and out.is_dir():
        out = out / rr.default_name(result, suffix)
    elif out is None and fmt in ("xlsx", "html"):
        out = Path(rr.default_name(result, suffix))
    if fmt == "xlsx":
        rr.save_xlsx(result, out)
    elif fmt == "table" and out is None:
        rr.show(result, console)
        return
    else:
        text = {"table": rr.text, "md": rr.markdown, "json": rr.json_text,
                "html": rr.html_page}[fmt](result)
        if out is None:
            sys.stdout.write(text)
            return
        write_text(out, text)
    err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)


class CheckFormat(str, Enum):
    table = "table"
    json = "json"


@command(app, "check")
def check_(
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="督查日期（默认今天）；“本周未报送”看到这一天为止的七天。"),
    fmt: CheckFormat = typer.Option(CheckFormat.table, "--format", help="输出格式：table 或 json。"),
    fail_on_alert: bool = typer.Option(
        False, "--fail-on-alert", help="发现问题时以退出码 4 结束（供定时任务判断）。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号和电话（仅限工作需要）。"),
) -> None:
    """督查：列出落后事项及责任单位、责任人（包干教师、校长、村长）。例：kcbx check --as-of 2025-03-09"""
    import sys
    from datetime import date

    from kcbx import check, report_render
    from kcbx.errors import AlertsFound
    from kcbx.render import to_json

    findings = check.check(open_db(), _day(as_of, "--as-of") or date.today())
    if fmt is CheckFormat.json:
        sys.stdout.write(to_json([f.to_dict(unmask) for f in findings]) + "\n")
    else:
        console.print(f"督查：{report_render.finding_summary(findings)}", markup=False,
                      soft_wrap=True)
        if findings:
            _show(report_render.finding_rows(findings, unmask), report_render.FINDING_COLUMNS,
                  "督查事项")
    if fail_on_alert and findings:
        raise AlertsFound(f"督查发现 {len(findings)} 项问题。")
