"""``flask --app wsgi schedule week [--date D] [--format text|json]``: generate or
refresh one week's key-work schedule (004 §30, §47) and print it. One unit of work."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from tracker import clock, db
from tracker.cli_args import parse_date
from tracker.errors import DomainError
from tracker.services.scheduling import meeting
from tracker.services.scheduling import weekly as svc

schedule = AppGroup("schedule", help="每周重点工作调度：生成或刷新本周调度清单。")


@schedule.command("week")
@click.option("--date", "day_text", default=None, help="该日所在的周（YYYY-MM-DD，默认今天）；清单按该日的情况计算")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def week(day_text: str | None, fmt: str) -> None:
    """生成（或刷新）一周的调度清单并输出；已安排的议程和会议决定保持不变。"""
    day = parse_date(day_text, "日期") if day_text else clock.today()
    try:
        with db.session_scope() as session:
            result = svc.generate_week(session, day)
            data = meeting.as_dict(session, result)
    except DomainError as exc:
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(meeting.as_text(data))


def register_schedule_cli(app: Flask) -> None:
    app.cli.add_command(schedule)
