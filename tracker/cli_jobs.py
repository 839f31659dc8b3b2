"""``flask --app wsgi scheduler`` (the one scheduler process), ``reminders run`` and
``run-all`` (web and scheduler in one process, for the SQLite demo only)."""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from tracker import clock, db
from tracker.cli_args import parse_date
from tracker.jobs import JOB_LABELS, JOBS, build_scheduler, run_job
from tracker.services.chasing.reminders import run_rules


def _day(value: str | None) -> date:
    return parse_date(value, "日期") if value else clock.today()


def _print_run(run) -> None:
    label = JOB_LABELS.get(run.job, run.job)
    status = {"ok": "完成", "skipped": "跳过", "failed": "失败"}.get(run.status, run.status)
    click.echo(f"{label}（{run.job}，{run.for_day}）：{status}")
    for key, value in sorted((run.counts or {}).items()):
        click.echo(f"  {key} = {value}")
    if run.error:
        click.echo(run.error.splitlines()[0], err=run.status == "failed")


reminders_cli = AppGroup("reminders", help="催办规则：到期提醒、逾期催办、自动督办。")


@reminders_cli.command("run")
@click.option("--date", "day_text", default=None, help="按哪一天执行（默认今天）")
@click.option("--dry-run", is_flag=True, help="只统计将产生的催办和督办，不写入")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出统计")
def reminders_run(day_text: str | None, dry_run: bool, as_json: bool) -> None:
    """按规则生成当天的催办、督办，会签逾期按无异议办结。"""
    day = _day(day_text)
    if dry_run:
        with db.session_scope() as session:
            with clock.frozen(day):
                counts = run_rules(session, day, dry_run=True)
            session.rollback()  # a dry run writes nothing, whatever a service flushed
        click.echo(
            json.dumps(counts, ensure_ascii=False)
            if as_json
            else "（试运行，未写入）\n" + "\n".join(f"  {k} = {v}" for k, v in sorted(counts.items()))
        )
        return
    run = run_job(db.engine(), "reminders", day)
    if as_json:
        click.echo(json.dumps({"status": run.status, **(run.counts or {})}, ensure_ascii=False))
    else:
        _print_run(run)
    sys.exit(1 if run.status == "failed" else 0)


def register_jobs_cli(app: Flask) -> None:
    app.cli.add_command(reminders_cli)

    @app.cli.command("scheduler")
    @click.option("--once", "once", default=None, help="只执行一次指定任务后退出（daily、deliver、schedule…）")
    @click.option("--date", "day_text", default=None, help="与 --once 一起使用：按哪一天执行")
    def scheduler(once: str | None, day_text: str | None) -> None:
        """启动定时任务进程（整个系统只运行一个；网页进程从不启动定时任务）。"""
        if once:
            if once not in JOBS:
                raise click.BadParameter(f"未知任务：{once}（可选：{'、'.join(JOBS)}）")
            run = run_job(db.engine(), once, _day(day_text))
            _print_run(run)
            sys.exit(1 if run.status == "failed" else 0)
        sched = build_scheduler(current_app._get_current_object())
        click.echo("定时任务进程已启动（Asia/Shanghai）：" + "、".join(j.id for j in sched.get_jobs()))
        try:
            sched.start()
        except (KeyboardInterrupt, SystemExit):
            pass

    @app.cli.command("run-all")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=8000, type=int)
    def run_all(host: str, port: int) -> None:
        """演示用：在一个进程里同时运行网页和定时任务（仅限 SQLite 演示，生产环境请分开运行）。"""
        app_ = current_app._get_current_object()
        sched = build_scheduler(app_, background=True)
        sched.start()
        click.echo("定时任务已在本进程后台启动；网页 http://%s:%d/" % (host, port))
        from werkzeug.serving import run_simple  # app.run() refuses to run inside a flask command

        try:
            run_simple(host, port, app_, use_reloader=False, threaded=True)
        finally:
            sched.shutdown(wait=False)
