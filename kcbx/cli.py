"""The `kcbx` command line: a thin Typer layer over the library modules.

Each command parses its options, opens the database, calls one library function and
renders the result. Errors raised as `KcbxError` become a one-line Chinese message on
stderr and the exit code of SPEC §5 in exactly one place: `_run`.
"""

from __future__ import annotations

import functools
import sqlite3
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kcbx import __version__, cli_zh
from kcbx.errors import DatabaseError, KcbxError
from kcbx.render import console, err_console, show_table

HELP = """kcbx（控辍保学）：乡镇适龄儿童少年花名册、入学率与巩固率、教师包干、劝返台账。

第一次使用：

  kcbx init --town 后柳镇          建立数据库

  kcbx import 花名册/*.xlsx        导入村、学校报来的表格

  kcbx rates                       查看入学率、巩固率和未入学/辍学名单

数据库位置：--db 指定，否则环境变量 KCBX_DB，否则用户数据目录。
"""

app = cli_zh.group(help=HELP, add_completion=False, pretty_exceptions_show_locals=False)


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
        group.command(name, cls=cli_zh.ChineseCommand, **kwargs)(_run(fn))
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
    _say(f"数据库已就绪：{path}（结构版本 {store.schema_version(conn)}）")


@command(app, "info")
def info() -> None:
    """显示数据库位置、结构版本、各表行数和最近的导入。例：kcbx info"""
    from kcbx import db, store

    path = db.resolve_path(state.db_option)
    conn = db.connect(path)
    summary = store.info(conn, path)
    _say(f"数据库：{summary['path']}")
    console.print(f"乡镇：{summary['town'] or '（未设置，可用 kcbx init --town 设置）'}")
    console.print(f"结构版本：{summary['schema_version']}")
    rows = [{"table": t, "count": n} for t, n in summary["counts"].items()]

    show_table(rows, [("table", "表"), ("count", "行数")], title="各表行数")
    if summary["last_imports"]:
        show_table(summary["last_imports"], [
            ("id", "批次"), ("file_name", "文件"), ("sheet", "工作表"), ("kind", "类型"),
            ("sheet_date", "表格日期"), ("imported_at", "导入时间")], title="最近的导入")
    else:
        console.print("尚无导入。下一步：kcbx import 表格.xlsx")


def parse_day(text: Optional[str], option: str) -> Optional[date]:
    """A date option (2025-03-01, 2025.3.1, 2025年3月1日, 20250301), or None when not given."""
    from kcbx.dates import parse_date

    return parse_date(text, option) if text else None


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
    files: list[Path] = typer.Argument(..., help="要导入的表格文件（.xlsx .xls .ods .csv），可以多个；同时给出的其他文件（说明文档、Excel 的 ~$ 临时文件、子文件夹）跳过并提示。"),
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
    for note in result.notes:  # to stderr in every format: cron logs keep them
        err_console.print(f"提示：{note}", markup=False, soft_wrap=True)
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

    rows = [{**vars(b), "kind_name": KIND_NAMES[b.kind], "sheet_date": b.sheet_date.isoformat(),
             "date_source": DATE_SOURCES[b.date_source], "batch": b.batch or ""}
            for b in result.batches if not b.skipped]
    title = "导入检查结果（--dry-run，未写入）" if result.dry_run else "导入结果"
    if rows:
        show_table(rows, IMPORT_COLUMNS, title=title)
    if error_rows:
        show_table(error_rows, ERROR_COLUMNS, title=f"被拒绝的行（{len(error_rows)} 处）", err=True)


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

units_app = cli_zh.group(help="村(社区)与学校：负责人、电话、对口学校。")
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

    unit = units.set_unit(open_db(), name, head=head, phone=phone,
                          catchment_primary=catchment_primary, catchment_middle=catchment_middle)
    show_table([unit], UNIT_COLUMNS)


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

teachers_app = cli_zh.group(help="教师名单：包干人数、电话、在岗情况。")
app.add_typer(teachers_app, name="teachers")
assign_app = cli_zh.group(no_args_is_help=False)
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

    summary = run_assign(open_db(), parse_day(as_of, "--as-of") or date.today(), max_load, dry_run)
    if fmt is SummaryFormat.json:
        print(to_json(asdict(summary)))
    else:
        _print_assign_summary(summary)


def _print_assign_summary(s) -> None:

    note = "（预演，未写入数据库）" if s.dry_run else ""
    console.print(f"{s.as_of.isoformat()} 特殊群体儿童 {s.special} 人{note}")
    ended = "，".join(f"{reason} {n}" for reason, n in s.ended_reasons.items())
    console.print(f"新配对 {s.paired} 人，保持 {s.kept} 人，重新配对 {s.repaired} 人，"
                  f"结束 {s.ended} 个{f'（{ended}）' if ended else ''}，"
                  f"未能配对 {len(s.left_over)} 人。")
    if s.schools:
        show_table(s.schools, LOAD_COLUMNS, title="各校教师包干人数")
    if s.left_over:
        show_table(s.left_over, LEFT_OVER_COLUMNS, title="未能配对的儿童（请处理）")


@command(assign_app, "set")
def assign_set(
    child: str = typer.Argument(..., help="儿童：身份证号、学籍号或姓名。"),
    teacher: str = typer.Argument(..., help="教师：学校/姓名，姓名不重名时可只写姓名。"),
    village: Optional[str] = typer.Option(None, "--village", help="姓名重名时，用所在村(社区)区分。"),
) -> None:
    """手工指定某个儿童的包干教师（以后自动配对不会改动）。例：kcbx assign set 王乐嘉 后柳中坝小学/徐云"""

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


def _pairings_xlsx(rows: list[dict], out: Optional[Path], town: str, today: date) -> None:
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
    err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)

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

    groups = _reconcile_groups(rows)
    counts = "，".join(f"{KINDS[k]} {len(g)}" for k, g in groups.items())
    console.print(f"人籍比对（{day.isoformat()}）：共 {len(rows)} 条。{counts}。")
    for kind, group in groups.items():
        if group:
            show_table(group, RECONCILE_COLUMNS, title=f"{KINDS[kind]}（{len(group)} 条）")


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
    err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)

# ---------------------------------------------------------------- status / rates

status_app = cli_zh.group(help="孩子的就读状态。")
app.add_typer(status_app, name="status")


@command(status_app, "set")
def status_set(
    child: str = typer.Argument(..., help="孩子：身份证号、学籍号或姓名。"),
    status: str = typer.Argument(..., help="新状态，例如 在校、辍学、休学、迁出、死亡。"),
    on: Optional[str] = typer.Option(None, "--date", help="生效日期（默认今天），例如 2025-03-01。"),
    reason: str = typer.Option(..., "--reason", help="理由或依据，例如 家访核实已返校。"),
    village: Optional[str] = typer.Option(None, "--village", help="重名时按村（社区）区分。"),
) -> None:
    """手工设置孩子某日起的状态（记入状态历史）。例：kcbx status set 陈萱诗 在校 --date 2025-03-01 --reason 家访核实已返校"""

    from kcbx.children import set_status
    from kcbx.idcard import mask
    from kcbx.vocab import parse_status, status_name

    code = parse_status(status)
    today = date.today()
    done = set_status(open_db(), child, code, parse_day(on, "--date") or today, reason,
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
    show_table(rates, [("unit", "单位"), ("rate", "指标"), ("num", "分子"), ("den", "分母"),
                  ("percent", "比率"), ("target", "目标")], "入学率、巩固率")
    counts = [{"unit": _group_label(g), "returned": g.returned, **g.counts} for g in result.groups]
    receiving = [(code, name) for code, (name, kind) in STATUSES.items() if kind == RECEIVING]
    others = [(code, name) for code, (name, kind) in STATUSES.items() if kind != RECEIVING]
    show_table(counts, [("unit", "单位"), *receiving, ("returned", "劝返复学")],
          "各状态人数：接受义务教育")
    show_table(counts, [("unit", "单位"), *others], "各状态人数：未接受义务教育、不计入")
    if result.exceptions:
        rows = [{**e.to_dict(unmask), "status": status_name(e.status),
                 "since": e.since or "早于记录"} for e in result.exceptions]
        show_table(rows, [("id_number", "身份证号"), ("name", "姓名"), ("status", "状态"),
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

    from kcbx import metrics
    from kcbx.render import to_csv, to_json

    result = metrics.rates(open_db(), parse_day(as_of, "--as-of") or date.today(),
                           parse_day(start, "--from"), by.value)
    if fmt is RatesFormat.json:
        sys.stdout.write(to_json(result.to_dict(unmask)) + "\n")
    elif fmt is RatesFormat.csv:
        sys.stdout.write(to_csv(_rate_rows(result), _rate_csv_columns()))
    else:
        _print_rates(result, unmask)


# ---------------------------------------------------------------- demo


@command(app, "demo")
def demo(
    children: int = typer.Option(2000, "--children", min=12, help="虚构乡镇的儿童人数。"),
    seed: int = typer.Option(1, "--seed", help="随机种子：同一种子生成同样的乡镇。"),
    keep: Optional[Path] = typer.Option(None, "--keep", help="把生成的表格和数据库留在这个文件夹。"),
) -> None:
    """演示：生成一个虚构乡镇，用真实命令走一遍每周流程（临时数据库）。例：kcbx demo --keep 演示"""
    from kcbx.demo.run import run_demo
    from kcbx.errors import KcbxError

    if run_demo(children, seed, keep):
        raise KcbxError("演示中有步骤失败，请查看上面的输出。")


# ---------------------------------------------------------------- flags

flag_app = cli_zh.group(help="动摇生、家困生、学困生：按规则自动标记、人工标记与撤销、分类登记册。")
app.add_typer(flag_app, name="flag")
rules_app = cli_zh.group(no_args_is_help=False)
flag_app.add_typer(rules_app, name="rules")

FLAG_JSON_KEYS = ("id_number", "name", "village", "school", "flag", "flag_name", "reason",
                  "source", "raised_on", "teacher_name")
FLAG_COLUMNS = [("flag_name", "类别"), ("name", "姓名"), ("id_number", "身份证号"),
                ("village", "村(社区)"), ("school", "学校"), ("reason", "依据"),
                ("source_name", "来源"), ("raised_on", "登记日期"), ("teacher_name", "包干教师")]
FLAG_CHANGE_COLUMNS = [("change_name", "变动"), ("flag_name", "类别"), ("name", "姓名"),
                       ("id_number", "身份证号"), ("village", "村(社区)"), ("school", "学校"),
                       ("reason", "依据或撤销原因")]
RULE_COLUMNS = [("name", "名称"), ("value", "当前值"), ("default", "默认值"), ("description", "说明")]
CHILD_HELP = "儿童：身份证号、学籍号或姓名。"
FLAG_HELP = "标记：动摇生、家困生、学困生（或 wavering、hardship、struggling）。"
VILLAGE_HELP = "姓名重名时，用所在村(社区)区分。"


@command(flag_app, "auto")
def flag_auto(
    as_of: Optional[str] = typer.Option(None, "--as-of", help="按这一天的情况判断（默认今天），例如 2025-03-01。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只显示将要做的改动，不写入数据库。"),
    fmt: SummaryFormat = typer.Option(SummaryFormat.table, "--format", help="输出格式：table 或 json。"),
) -> None:
    """按规则自动标记动摇生、家困生、学困生，撤销证据已消失的规则标记。例：kcbx flag auto --as-of 2025-03-01"""
    from datetime import date

    from kcbx import flags
    from kcbx.render import to_json

    result = flags.run_auto(open_db(), parse_day(as_of, "--as-of") or date.today(), dry_run)
    if fmt is SummaryFormat.json:
        print(to_json(result.to_dict()))
        return
    _print_flag_auto(result)


def _print_flag_auto(result) -> None:
    """Counts per flag, what was left alone and why, then every change."""
    from kcbx.vocab import FLAGS

    note = "（预演，未写入数据库）" if result.dry_run else ""
    counts = "；".join(f"{FLAGS[code]} 新增 {n['raised']}、撤销 {n['cleared']}"
                      for code, n in result.counts().items())
    plan = result.plan
    console.print(f"{result.as_of.isoformat()} 自动标记{note}：{counts}。", markup=False,
                  soft_wrap=True)
    console.print(f"仍成立而保留 {plan.kept} 个；已有人工标记 {plan.manual} 个；"
                  f"人工撤销未到期而不再标记 {plan.held} 个。", markup=False)
    if result.changes:
        rows = [{**row, "change_name": "新增" if row["change"] == "raised" else "撤销"}
                for row in result.changes]
        show_table(rows, FLAG_CHANGE_COLUMNS, f"变动明细（{len(rows)} 条）")
    else:
        console.print("没有变动。")


@command(flag_app, "add")
def flag_add(
    child: str = typer.Argument(..., help=CHILD_HELP),
    flag: str = typer.Argument(..., help=FLAG_HELP),
    reason: str = typer.Option(..., "--reason", help="标记的理由或依据，例如 家访发现有外出打工意向。"),
    village: Optional[str] = typer.Option(None, "--village", help=VILLAGE_HELP),
) -> None:
    """人工标记一个儿童（规则不会撤销人工标记）。例：kcbx flag add 王乐嘉 动摇生 --reason 家访发现有外出打工意向"""
    from datetime import date

    from kcbx import flags
    from kcbx.vocab import FLAGS, parse_flag

    done = flags.add_flag(open_db(), child, parse_flag(flag), reason, today=date.today(),
                          village=village)
    how = "由规则标记改为人工标记" if done.replaced_rule else "已人工标记为"
    console.print(f"{done.name}（{done.id_number}）{how}{FLAGS[done.flag]}。", markup=False)


@command(flag_app, "clear")
def flag_clear(
    child: str = typer.Argument(..., help=CHILD_HELP),
    flag: str = typer.Argument(..., help=FLAG_HELP),
    reason: str = typer.Option(..., "--reason", help="撤销的理由，例如 经家访已稳定。"),
    village: Optional[str] = typer.Option(None, "--village", help=VILLAGE_HELP),
) -> None:
    """人工撤销一个儿童的标记（本学期末以前规则不再自动标记）。例：kcbx flag clear 王乐嘉 动摇生 --reason 经家访已稳定"""
    from datetime import date

    from kcbx import flags
    from kcbx.vocab import FLAGS, parse_flag

    done = flags.clear_flag(open_db(), child, parse_flag(flag), reason, today=date.today(),
                            village=village)
    console.print(f"已撤销 {done.name}（{done.id_number}）的{FLAGS[done.flag]}标记"
                  f"（原为{flags.source_name(done.source)}标记）；{done.hold_until.isoformat()} "
                  "以前规则不会再自动标记。", markup=False)


@rules_app.callback(invoke_without_command=True)
@_run
def flag_rules(
    ctx: typer.Context,
    fmt: SummaryFormat = typer.Option(SummaryFormat.table, "--format", help="输出格式：table 或 json。"),
) -> None:
    """显示自动标记的阈值；用 set 修改。例：kcbx flag rules set absences 8"""
    if ctx.invoked_subcommand is not None:
        return
    from kcbx import flags
    from kcbx.render import emit

    emit(flags.rule_settings(open_db()), RULE_COLUMNS, fmt.value, title="自动标记阈值")


@command(rules_app, "set")
def flag_rules_set(
    name: str = typer.Argument(..., help="阈值名称：absences（缺勤天数）或 score（成绩）。"),
    value: str = typer.Argument(..., help="新的阈值：不小于 0 的整数。"),
) -> None:
    """修改一个自动标记阈值（下次 kcbx flag auto 起生效）。例：kcbx flag rules set absences 8"""
    from kcbx import flags

    old, new = flags.set_threshold(open_db(), name, value)
    console.print(f"已将 {name.strip()} 由 {old} 改为 {new}。运行 kcbx flag auto 按新阈值重新标记。",
                  markup=False)


@command(flag_app, "list")
def flag_list(
    flag: Optional[str] = typer.Option(None, "--flag", help="只列出这一类：动摇生、家困生或学困生。"),
    village: Optional[str] = typer.Option(None, "--village", help="只列出这个村(社区)的儿童。"),
    school: Optional[str] = typer.Option(None, "--school", help="只列出这个学校的儿童。"),
    fmt: Format = typer.Option(Format.table, "--format", help="输出格式：table、csv、json 或 xlsx。"),
    out: Optional[Path] = typer.Option(None, "--out", help="写入文件（xlsx 必须指定）。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（仅限工作需要）。"),
) -> None:
    """分类登记册：每个未撤销的标记一行，含依据、来源和包干教师。例：kcbx flag list --format xlsx --out 分类登记册.xlsx"""
    from datetime import date

    from kcbx import flags, settings
    from kcbx.render import emit
    from kcbx.vocab import parse_flag

    conn = open_db()
    rows = flags.register(conn, flag=parse_flag(flag) if flag else None, village=village,
                          school=school, unmask=unmask)
    if fmt is Format.json:
        emit(rows, [(k, k) for k in FLAG_JSON_KEYS], "json", out=out)
    elif fmt is Format.xlsx:
        _register_xlsx(rows, out, settings.get(conn, "town"), date.today())
    elif fmt is Format.table and out is None:
        show_table(rows, FLAG_COLUMNS, f"分类登记册（{len(rows)} 条）")
    else:
        emit(rows, FLAG_COLUMNS, fmt.value, out=out)


def _register_xlsx(rows: list[dict], out: Optional[Path], town: str, today: "date") -> None:
    """The print-ready 分类登记册: one sheet per flag, empty ones too."""
    from kcbx.errors import InvalidValue
    from kcbx.render import new_workbook, save_workbook, xlsx_sheet
    from kcbx.vocab import FLAGS

    if out is None:
        raise InvalidValue("xlsx 格式需要用 --out 指定输出文件，例如 --out 分类登记册.xlsx")
    wb = new_workbook()
    for code, name in FLAGS.items():
        chosen = [row for row in rows if row["flag"] == code]
        xlsx_sheet(wb, name, chosen, FLAG_COLUMNS[1:], heading=f"{town}控辍保学分类登记册",
                   subtitle=f"制表单位：{town or '（未设置乡镇）'}　　类别：{name}　　"
                            f"共 {len(chosen)} 人　　日期：{today:%Y年%m月%d日}")
    save_workbook(wb, out)
    err_console.print(f"已写入 {out}", markup=False, soft_wrap=True)


# ---------------------------------------------------------------- followup / children

followup_app = cli_zh.group(help="劝返、帮扶记录（一人一案的每一次工作）。")
app.add_typer(followup_app, name="followup")
children_app = cli_zh.group(help="孩子：名单、一人一案、改正姓名。")
app.add_typer(children_app, name="children")

CHILD_HELP = "孩子：身份证号、学籍号或姓名。"
VILLAGE_HELP = "姓名重名时，用所在村（社区）区分。"
UNMASK_HELP = "显示完整身份证号和电话（仅限工作需要）。"
FOLLOWUP_COLUMNS = [("date", "日期"), ("name", "姓名"), ("id_number", "身份证号"),
                    ("village", "村(社区)"), ("by_name", "人员"), ("by_school", "单位"),
                    ("method", "方式"), ("purpose", "类型"), ("content", "内容"),
                    ("result", "结果"), ("next_date", "下次跟进"), ("note", "备注")]
CHILDREN_COLUMNS = [("name", "姓名"), ("id_number", "身份证号"), ("gender_name", "性别"),
                    ("birth_date", "出生日期"), ("village_label", "村(社区)/组"),
                    ("school", "学校"), ("class_label", "年级班级"), ("status_name", "状态"),
                    ("since", "起始日期"), ("group_names", "特殊群体"), ("flag_names", "标记"),
                    ("teacher_name", "包干教师"), ("guardian_name", "监护人"),
                    ("guardian_phone", "监护人电话")]


@command(followup_app, "add")
def followup_add(
    child: str = typer.Argument(..., help=CHILD_HELP),
    method: str = typer.Option(..., "--method", help="方式：电话、家访、约谈、书面通知、送教上门、集中劝返。"),
    by: str = typer.Option(..., "--by", help="劝返、帮扶人员姓名（教师可写 学校/姓名）。"),
    result: str = typer.Option(..., "--result", help="结果，例如 已返校、家长同意下周返校。"),
    on: Optional[str] = typer.Option(None, "--date", help="日期（默认今天），例如 2025-03-01。"),
    next_: Optional[str] = typer.Option(None, "--next", help="下次跟进日期。"),
    content: Optional[str] = typer.Option(None, "--content", help="内容，例如 宣传义务教育法，了解未到校原因。"),
    purpose: Optional[str] = typer.Option(None, "--purpose", help="类型，例如 劝返、送教上门、资助政策。"),
    note: Optional[str] = typer.Option(None, "--note", help="备注。"),
    village: Optional[str] = typer.Option(None, "--village", help=VILLAGE_HELP),
) -> None:
    """登记一次劝返或帮扶（不改变孩子的状态）。例：kcbx followup add 王乐嘉 --method 家访 --by 徐云 --result 家长同意下周一返校"""
    from datetime import date

    from kcbx.followups import add_followup
    from kcbx.idcard import mask

    today = date.today()
    done = add_followup(open_db(), child, method=method, by=by, result=result,
                        on=parse_day(on, "--date") or today, today=today,
                        next_date=parse_day(next_, "--next"), note=note, purpose=purpose,
                        content=content, village=village)
    who = f"{done.visitor.school}/{done.visitor.name}" if done.visitor.school else done.visitor.name
    console.print(f"已记录：{done.name}（{mask(done.id_number)}）{done.on} {done.method}，"
                  f"人员 {who}。", markup=False, soft_wrap=True)
    if done.unmatched_return:
        err_console.print(f"提示：结果写的是已返校，但状态历史中没有这次返校，状态未改动。核实后请用 "
                          f"kcbx status set {done.name} 在校 --date 返校日期 --reason 依据 登记。",
                          markup=False, soft_wrap=True)


@command(followup_app, "list")
def followup_list(
    child: Optional[str] = typer.Argument(None, help="只列出这个孩子的记录（身份证号、学籍号或姓名）。"),
    village: Optional[str] = typer.Option(None, "--village", help=VILLAGE_HELP),
    since: Optional[str] = typer.Option(None, "--since", help="只列出这一天及以后的记录。"),
    fmt: Format = typer.Option(Format.table, "--format", help="输出格式：table、csv、json 或 xlsx。"),
    out: Optional[Path] = typer.Option(None, "--out", help="写入文件（xlsx 必须指定）。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（仅限工作需要）。"),
) -> None:
    """列出劝返、帮扶记录（按日期）。例：kcbx followup list 王乐嘉 --since 2025-02-01"""
    from kcbx.children import resolve_child
    from kcbx.followups import LIST_KEYS, list_followups
    from kcbx.render import emit

    conn = open_db()
    child_id = resolve_child(conn, child, village)["id"] if child else None
    rows = list_followups(conn, child_id, parse_day(since, "--since"), unmask=unmask)
    title = f"劝返帮扶记录（{len(rows)} 条）"
    if fmt is Format.table and out is None:
        show_table(rows, FOLLOWUP_COLUMNS, title)
    else:
        columns = [(k, k) for k in LIST_KEYS] if fmt is Format.json else FOLLOWUP_COLUMNS
        emit(rows, columns, fmt.value, title=title, out=out)


class CaseFormat(str, Enum):
    table = "table"
    md = "md"
    json = "json"
    xlsx = "xlsx"


@command(children_app, "show")
def children_show(
    child: str = typer.Argument(..., help=CHILD_HELP),
    village: Optional[str] = typer.Option(None, "--village", help=VILLAGE_HELP),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="按这一天的状态、特殊群体和包干教师（默认今天）。"),
    fmt: CaseFormat = typer.Option(
        CaseFormat.table, "--format",
        help="输出格式：table（终端阅读）、md（打印、发送）、json 或 xlsx（每部分一页，可打印）。"),
    out: Optional[Path] = typer.Option(None, "--out", help="写入文件（xlsx 必须指定）。"),
    unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（电话总是完整显示）。"),
) -> None:
    """一人一案：孩子的基本信息、双线七长、标记、状态历史、包干和劝返记录。例：kcbx children show 王乐嘉 --format xlsx --out 王乐嘉.xlsx"""
    from datetime import date

    from kcbx import caseview, settings
    from kcbx.casefile import case_file
    from kcbx.children import resolve_child

    conn = open_db()
    case = case_file(conn, resolve_child(conn, child, village),
                     parse_day(as_of, "--as-of") or date.today(), unmask=unmask)
    caseview.emit(case, fmt.value, settings.get(conn, "town"), out)


@command(children_app, "list")
def children_list(
    village: Optional[str] = typer.Option(None, "--village", help="只列出这个村（社区）的孩子。"),
    school: Optional[str] = typer.Option(None, "--school", help="只列出在这个学校就读的孩子。"),
    grade: Optional[str] = typer.Option(None, "--grade", help="只列出这个年级，例如 5、五年级、初一。"),
    status: list[str] = typer.Option([], "--status", help="只列出这些状态，例如 辍学（可多次使用）。"),
    flag: list[str] = typer.Option([], "--flag", help="只列出有这些标记的：动摇生、家困生、学困生（可多次使用）。"),
    group: list[str] = typer.Option([], "--group", help="只列出这些特殊群体，例如 留守儿童、失辍学（可多次使用）。"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="按这一天的状态（默认今天）。"),
    fmt: Format = typer.Option(Format.table, "--format", help="输出格式：table、csv、json 或 xlsx。"),
    out: Optional[Path] = typer.Option(None, "--out", help="写入文件（xlsx 必须指定）。"),
    unmask: bool = typer.Option(False, "--unmask", help=UNMASK_HELP),
) -> None:
    """列出孩子（可按村、学校、年级、状态、标记、特殊群体筛选）。例：kcbx children list --village 中坝村 --status 辍学"""
    from datetime import date

    from kcbx import children
    from kcbx.render import emit
    from kcbx.vocab import parse_flag, parse_status

    filters = children.ChildFilter(
        village=village, school=school, grade=children.parse_grade(grade) if grade else None,
        statuses=tuple(parse_status(s) for s in status), flags=tuple(parse_flag(f) for f in flag),
        groups=tuple(children.parse_group(g) for g in group))
    rows = children.list_children(open_db(), parse_day(as_of, "--as-of") or date.today(), filters,
                                  unmask=unmask)
    title = f"孩子名单（{len(rows)} 人）"
    if fmt is Format.table and out is None:
        show_table(rows, CHILDREN_COLUMNS, title)
    else:
        columns = [(k, k) for k in children.LIST_KEYS] if fmt is Format.json else CHILDREN_COLUMNS
        emit(rows, columns, fmt.value, title=title, out=out)


@command(children_app, "set")
def children_set(
    child: str = typer.Argument(..., help=CHILD_HELP),
    name: str = typer.Option(..., "--name", help="正确的姓名。"),
    reason: str = typer.Option(..., "--reason", help="依据，例如 户口本核实。"),
    village: Optional[str] = typer.Option(None, "--village", help=VILLAGE_HELP),
) -> None:
    """改正孩子的姓名并了结导入时的姓名冲突（原姓名留在修改记录中）。例：kcbx children set 王小明 --name 王晓明 --reason 户口本核实"""
    from kcbx.children import set_name
    from kcbx.idcard import mask

    done = set_name(open_db(), child, name, reason, village=village)
    change = f"姓名由「{done.old}」改为「{done.new}」" if done.old != done.new else f"确认姓名「{done.new}」"
    console.print(f"{mask(done.id_number)}：{change}，了结姓名冲突 {done.resolved} 处。",
                  markup=False, soft_wrap=True)


# ---------------------------------------------------------------- report / check

report_app = cli_zh.group(help="控辍保学周报：供例会、打印、微信群和定时任务使用。")
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
        period = report.week_ending(parse_day(as_of, "--as-of"))
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

    findings = check.check(open_db(), parse_day(as_of, "--as-of") or date.today())
    if fmt is CheckFormat.json:
        sys.stdout.write(to_json([f.to_dict(unmask) for f in findings]) + "\n")
    else:
        console.print(f"督查：{report_render.finding_summary(findings)}", markup=False,
                      soft_wrap=True)
        if findings:
            show_table(report_render.finding_rows(findings, unmask), report_render.FINDING_COLUMNS,
                  "督查事项")
    if fail_on_alert and findings:
        raise AlertsFound(f"督查发现 {len(findings)} 项问题。")
