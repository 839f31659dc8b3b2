"""``flask --app wsgi bulletin …`` and ``flask --app wsgi score-snapshot``.

Each command is one unit of work. ``bulletin`` generates the period's bulletin
the first time (and afterwards prints the frozen one, unchanged); the scheduler's
weekly job and nightly snapshot call the same services.
"""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from importers.bulletin_export import write_bulletin
from tracker import clock, db
from tracker.errors import DomainError
from tracker.services.figures import bulletins, scoring


@click.command("bulletin")
@with_appcontext
@click.option(
    "--week",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="2026-W48",
    help="周通报（ISO周）；只写 --week 为上一个完整周",
)
@click.option(
    "--month", is_flag=False, flag_value="", default=None, metavar="2026-11", help="月通报；只写 --month 为上一个完整月"
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="输出格式")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="另存为 Excel 文件（.xlsx）")
def bulletin_command(week: str | None, month: str | None, fmt: str, out: str | None) -> None:
    """生成（或读取已生成的）周/月督办通报；默认上一个完整周。生成后数字固定不变。"""
    if week is not None and month is not None:
        raise click.UsageError("--week 与 --month 只能选一个")
    kind, period = ("month", month) if month is not None else ("week", week)
    if out and not out.lower().endswith(".xlsx"):
        raise click.BadParameter(f"导出文件应以 .xlsx 结尾：{out}", param_hint="--out")
    try:
        with db.session_scope() as session:
            bulletin = bulletins.generate_bulletin(session, kind, period or None)
            data = bulletin.data or {}
            text = bulletins.as_text(bulletin)
    except DomainError as exc:
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    if out:
        write_bulletin(out, data)
        click.echo(f"已导出：{out}", err=True)
    if fmt == "json":
        click.echo(json.dumps({"id": bulletin.id, **data}, ensure_ascii=False, indent=1))
    else:
        click.echo(text)


@click.command("score-snapshot")
@with_appcontext
@click.option("--day", default=None, metavar="YYYY-MM-DD", help="快照日期，默认今天")
@click.option(
    "--since", default=None, metavar="YYYY-MM-DD", help="补写自该日起至 --day 的每日快照（新装系统、演示数据）"
)
def score_snapshot_command(day: str | None, since: str | None) -> None:
    """写入当日各单位考核快照（可重复执行，同日只保留一份）。"""
    from datetime import date

    def parse(value: str, hint: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"不是有效日期（应为 YYYY-MM-DD）：{value}", param_hint=hint) from None

    when = parse(day, "--day") if day else clock.today()
    try:
        with db.session_scope() as session:
            if since:
                days = scoring.backfill_snapshots(session, parse(since, "--since"), when)
                click.echo(f"已补写 {days} 天的考核快照（{since} 至 {when.isoformat()}）")
                return
            n = scoring.take_snapshot(session, when)
    except DomainError as exc:
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{when.isoformat()} 考核快照：{n} 个单位")


def register_bulletin_cli(app: Flask) -> None:
    app.cli.add_command(bulletin_command)
    app.cli.add_command(score_snapshot_command)
