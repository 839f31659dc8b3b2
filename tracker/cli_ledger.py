"""``flask --app wsgi ledger …`` and ``flask --app wsgi departments …``.

Each command is one unit of work: the import is planned and, unless
``--dry-run`` was given or any row has an error, written in one transaction.
The report goes to stdout (text or JSON); progress on large files goes to
stderr. The exit status is non-zero whenever anything has an error.
"""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from importers.mapping import FIELD_LABELS, LEDGER_FIELDS
from tracker import db
from tracker.cli_args import parse_date
from tracker.errors import DomainError
from tracker.rules.overdue import Horizon
from tracker.services.actors import SYSTEM
from tracker.services.ledger.department_list import import_departments
from tracker.services.ledger.export import export_ledger, write_import_template
from tracker.services.ledger.importer import import_ledger
from tracker.services.ledger.mappings import MappingTable
from tracker.services.ledger.report import format_report
from tracker.services.organisation.resolve import one_department, one_leader
from tracker.services.tasks.queries import TaskFilter

PROGRESS_FROM_ROWS = 500  # below this a file is small: no progress lines

ledger = AppGroup("ledger", help="督办台账：导入、导出、导入模板。")
departments = AppGroup("departments", help="单位名录：导入单位、简称和分管领导。")


def _date_option(value: str | None) -> date | None:
    return parse_date(value, "日期") if value else None


def _progress(label: str):
    def report(done: int, total: int) -> None:
        if total >= PROGRESS_FROM_ROWS:
            click.echo(f"{label}：{done}/{total}", err=True)

    return report


def _overrides(pairs: tuple[str, ...]) -> dict[str, dict[int, str | None]] | None:
    """--map "H=progress" or --map "备注=-" (a column letter or a header; "-" ignores it)."""
    if not pairs:
        return None

    labels = {v: k for k, v in FIELD_LABELS.items()}
    out: dict[int, str | None] = {}
    for pair in pairs:
        column, _, name = pair.partition("=")
        column, name = column.strip().upper(), name.strip()
        if not column.isalpha() or not column.isascii():
            raise click.BadParameter(f"列应写作字母（如 H）：{pair}")
        index = 0
        for ch in column:
            index = index * 26 + ord(ch) - 64
        name = labels.get(name, name)
        if name in ("-", ""):
            out[index - 1] = None
        elif name in LEDGER_FIELDS:
            out[index - 1] = name
        else:
            known = "、".join(f"{k}（{FIELD_LABELS[k]}）" for k in LEDGER_FIELDS)
            raise click.BadParameter(f"未知的字段“{name}”，可用：{known}")
    return {"*": out}


def _emit(report, fmt: str, dry_run: bool) -> None:

    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(format_report(report, dry_run=dry_run))


@ledger.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet", default=None, help="只导入指定名称的工作表")
@click.option("--dry-run", is_flag=True, help="只生成报告，不写入数据库")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="报告格式")
@click.option("--base-date", default=None, help="台账没有会议/批示日期时，相对时限的起算日期（YYYY-MM-DD）")
@click.option("--assign", is_flag=True, help="导入后立即交办（须有牵头单位和完成时限）")
@click.option("--map", "mapping", multiple=True, help="指定列的含义，如 --map H=progress 或 --map H=-（忽略该列）")
@click.option("--remember", is_flag=True, help="记住本次的列对应关系，下次遇到相同表头时自动使用")
def import_command(file, sheet, dry_run, fmt, base_date, assign, mapping, remember) -> None:
    """导入督办台账（.xlsx / .xls / .csv）：先校验全部行，全部无误才一次性写入。"""

    base = _date_option(base_date)
    overrides = _overrides(mapping)
    report = None
    try:
        with db.session_scope() as session:
            report = import_ledger(
                session,
                SYSTEM,
                file,
                dry_run=dry_run,
                base_date=base,
                sheet=sheet,
                assign=assign,
                store=MappingTable(session),
                overrides=overrides,
                progress=_progress("已检查"),
            )
            if dry_run or not report.ok:
                session.rollback()
    except DomainError as exc:  # something changed between the check and the write
        if report is not None:
            report.committed = False
        click.echo(f"错误：{exc.message}（未导入任何事项）", err=True)
        sys.exit(1)
    if remember and report._tables:
        with db.session_scope() as session:  # its own unit of work: a dry run remembers too
            table = MappingTable(session)
            for t in report._tables:
                table.remember(t.mapping, SYSTEM)
        click.echo("已记住列对应关系。", err=True)
    _emit(report, fmt, dry_run)
    sys.exit(0 if report.error_count == 0 and report.rows else 1)


@ledger.command("export")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--status", multiple=True, help="办理状态（可多次指定），如 assigned、in_progress")
@click.option("--light", type=click.Choice(["red", "yellow", "green", "none"]), default=None)
@click.option("--overdue", is_flag=True, help="只导出逾期事项")
@click.option("--due-soon", is_flag=True, help="只导出临期事项")
@click.option("--department", default=None, help="单位（牵头或配合），全称或简称")
@click.option("--lead-department", default=None, help="牵头单位，全称或简称")
@click.option("--leader", default=None, help="责任领导姓名")
@click.option("--source-id", type=int, default=None)
@click.option("--source-kind", default=None)
@click.option("--urgency", type=click.Choice(["extra_urgent", "urgent", "normal"]), default=None)
@click.option("--due-from", default=None, help="完成时限起（YYYY-MM-DD）")
@click.option("--due-to", default=None, help="完成时限止（YYYY-MM-DD）")
@click.option("--q", "text", default=None, help="关键词")
@click.option("--title", default="督办台账", help="台账标题")
@click.option("--sort", default="source", help="排序：source（按来源分组，默认）、due、code")
def export_command(
    out,
    status,
    light,
    overdue,
    due_soon,
    department,
    lead_department,
    leader,
    source_id,
    source_kind,
    urgency,
    due_from,
    due_to,
    text,
    title,
    sort,
) -> None:
    """按筛选条件导出标准督办台账（.xlsx）。"""

    settings = current_app.config["TRACKER"]
    try:
        with db.session_scope() as session:
            f = TaskFilter(
                status=list(status),
                light=light or "",
                overdue=overdue,
                due_soon=due_soon,
                department_id=_department_id(session, department),
                lead_department_id=_department_id(session, lead_department),
                leader_id=_leader_id(session, leader),
                source_id=source_id,
                source_kind=source_kind or "",
                urgency=urgency or "",
                due_from=_date_option(due_from),
                due_to=_date_option(due_to),
                text=text or "",
            )
            horizon = Horizon.build(session, settings.due_soon_workdays)
            n = export_ledger(
                session,
                SYSTEM,
                out,
                f,
                horizon,
                title=title,
                sort=sort,
                progress=lambda k: click.echo(f"已写入：{k}", err=True),
            )
            session.rollback()
    except DomainError as exc:
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    click.echo(f"已导出 {n} 项事项到 {out}")


@ledger.command("template")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def template_command(out) -> None:
    """生成空白导入模板（含单位、领导、紧急程度下拉列表）。"""

    with db.session_scope() as session:
        write_import_template(session, out)
        session.rollback()
    click.echo(f"已生成导入模板：{out}")


@departments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--sheet", default=None, help="只导入指定名称的工作表")
@click.option("--dry-run", is_flag=True, help="只生成报告，不写入数据库")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def departments_import(file, sheet, dry_run, fmt) -> None:
    """导入单位名录（单位全称、简称/别名、单位类型、分管领导）。"""

    try:
        with db.session_scope() as session:
            report = import_departments(session, SYSTEM, file, dry_run=dry_run, sheet=sheet)
            if dry_run or not report.ok:
                session.rollback()
    except DomainError as exc:
        click.echo(f"错误：{exc.message}（未导入任何单位）", err=True)
        sys.exit(1)
    _emit(report, fmt, dry_run)
    sys.exit(0 if report.error_count == 0 and report.rows else 1)


def _department_id(session, name: str | None) -> int | None:
    if not name:
        return None

    found = one_department(session, name)
    if found is None:
        raise click.BadParameter(f"未找到单位：{name}")
    return found


def _leader_id(session, name: str | None) -> int | None:
    if not name:
        return None

    found = one_leader(session, name)
    if found is None:
        raise click.BadParameter(f"未找到领导：{name}")
    return found


def register_ledger_cli(app: Flask) -> None:
    """Called from ``tracker.cli.register_cli``."""
    app.cli.add_command(ledger)
    app.cli.add_command(departments)
