"""``flask --app wsgi …`` commands. Each command is one unit of work."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from tracker import db, migrate
from tracker.cli_args import parse_date
from tracker.cli_bulletin import register_bulletin_cli
from tracker.cli_jobs import register_jobs_cli
from tracker.cli_ledger import register_ledger_cli
from tracker.cli_minutes import register_minutes_cli
from tracker.cli_motions import register_motions_cli
from tracker.cli_ops import register_ops_cli
from tracker.cli_schedule import register_schedule_cli
from tracker.errors import DomainError
from tracker.services.actors import SYSTEM
from tracker.services.calendar import load_calendar, seed_holidays, seed_presets
from tracker.services.organisation import directory as organisation
from tracker.services.organisation.resolve import one_department, one_leader


def _warn_provisional(years) -> None:
    if years:
        listed = "、".join(str(y) for y in years)
        click.echo(
            f"警告：{listed} 年的节假日安排尚未录入（国务院通知通常于每年11–12月发布），"
            "结果仅按周一至周五计算，为临时结果，请在节假日维护中录入后复核。",
            err=True,
        )


workdays = AppGroup("workdays", help="工作日计算（按国务院节假日安排，含调休）。")


@workdays.command("add")
@click.argument("start")
@click.argument("n", type=int)
def workdays_add(start: str, n: int) -> None:
    """START 之后第 N 个工作日。"""
    with db.session_scope() as session:
        result = load_calendar(session).add_workdays(parse_date(start, "起始日期"), n)
    click.echo(result.value.isoformat())
    _warn_provisional(result.provisional_years)


@workdays.command("between")
@click.argument("a")
@click.argument("b")
def workdays_between(a: str, b: str) -> None:
    """A（不含）至 B（含）之间的工作日数。"""
    with db.session_scope() as session:
        result = load_calendar(session).workdays_between(parse_date(a, "起始日期"), parse_date(b, "结束日期"))
    click.echo(str(result.value))
    _warn_provisional(result.provisional_years)


def register_cli(app: Flask) -> None:
    app.cli.add_command(workdays)
    register_ledger_cli(app)
    register_jobs_cli(app)  # scheduler, reminders run, run-all
    register_schedule_cli(app)
    register_bulletin_cli(app)
    register_ops_cli(app)  # check, backup, restore
    register_motions_cli(app)  # 人大建议/政协提案
    register_minutes_cli(app)  # minutes parse: 会议纪要、领导批示 拆分建议

    @app.cli.command("init-db")
    def init_db() -> None:
        """建立或升级数据库结构，并写入节假日和办理时限预设。"""
        engine = db.engine()
        migrate.upgrade(engine)
        with db.session_scope() as session:
            holidays = seed_holidays(session)
            presets = seed_presets(session)
        click.echo(
            f"数据库已就绪（版本 {migrate.current_revision(engine)}），新增节假日 {holidays} 条，时限预设 {presets} 条。"
        )

    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="数据库已有事项时仍然写入")
    def seed_demo(force: bool) -> None:
        """写入演示数据：约40个单位、6位领导、三个月的会议与批示、约300件事项。"""
        from tracker.demo import seed_demo as run  # demo data loads only for this command

        try:
            with db.session_scope() as session:
                summary = run(session, force=force, settings=app.config["TRACKER"])
        except DomainError as exc:
            click.echo(f"错误：{exc.message}", err=True)
            sys.exit(1)
        click.echo(summary)

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--name", "display_name", default="", help="显示名称")
    @click.option("--role", type=click.Choice(["supervisor", "clerk", "leader", "admin"]), required=True)
    @click.option("--department", default=None, help="承办单位用户所属单位（全称或简称）")
    @click.option("--leader", default=None, help="领导用户对应的领导姓名")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_user(username, display_name, role, department, leader, password) -> None:
        """创建用户。"""
        try:
            with db.session_scope() as session:
                dep_id = leader_id = None
                if department:
                    dep_id = one_department(session, department)
                    if dep_id is None:
                        raise DomainError(f"未找到单位：{department}")
                if leader:
                    leader_id = one_leader(session, leader)
                    if leader_id is None:
                        raise DomainError(f"未找到领导：{leader}")
                user = organisation.create_user(
                    session,
                    SYSTEM,
                    username,
                    display_name or username,
                    password,
                    role,
                    department_id=dep_id,
                    leader_id=leader_id,
                )
                click.echo(f"已创建用户 {user.username}（{role}）")
        except DomainError as exc:
            click.echo(f"错误：{exc.message}", err=True)
            sys.exit(1)

    @app.cli.command("check-migrations")
    def check_migrations() -> None:
        """数据库结构是否为最新版本。"""
        engine = db.engine()
        ok = migrate.is_up_to_date(engine)
        click.echo(
            "数据库结构为最新版本"
            if ok
            else f"数据库结构需要升级：当前 {migrate.current_revision(engine)}，最新 {migrate.head_revision()}"
        )
        sys.exit(0 if ok else 1)
