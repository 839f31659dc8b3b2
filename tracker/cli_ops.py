"""Operator commands: ``check``, ``backup OUT`` and ``restore IN`` (see docs/deploy/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from tracker import db, ops


def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "uploads"


def register_ops_cli(app: Flask) -> None:
    @app.cli.command("check")
    def check() -> None:
        """检查配置、数据库连接、数据库结构、附件目录、节假日和邮件设置；有错误时返回非零。"""
        rep = ops.run_check(current_app.config["TRACKER"], db.engine(), _upload_dir())
        for line in rep.passed:
            click.echo(f"[通过] {line}")
        for line in rep.warnings:
            click.echo(f"[警告] {line}")
        for line in rep.errors:
            click.echo(f"[错误] {line}", err=True)
        if rep.ok:
            click.echo("检查完成：可以运行" + (f"（{len(rep.warnings)} 条警告）" if rep.warnings else ""))
        else:
            click.echo(f"检查未通过：{len(rep.errors)} 个错误", err=True)
        sys.exit(0 if rep.ok else 1)

    @app.cli.command("backup")
    @click.argument("out", type=click.Path(dir_okay=False))
    def backup(out: str) -> None:
        """备份数据库与全部附件到一个 .tar.gz 文件。"""
        try:
            manifest = ops.backup(db.engine(), _upload_dir(), Path(out))
        except ops.OpsError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(1)
        counts = manifest["counts"]
        click.echo(
            f"已备份到 {out}：事项 {counts['task']} 件，进展反馈 {counts['progressreport']} 条，"
            f"附件 {counts['attachment']} 个（文件 {manifest['files']} 个），审计记录 {counts['auditevent']} 条"
        )

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(dir_okay=False))
    def restore(archive: str) -> None:
        """把备份恢复到空数据库和空附件目录。"""
        try:
            manifest = ops.restore(db.engine(), _upload_dir(), Path(archive))
        except ops.OpsError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(1)
        counts = manifest["restored_counts"]
        click.echo(
            f"已恢复 {archive}（版本 {manifest['revision']}，备份于 {manifest['created_at']}）："
            f"事项 {counts['task']} 件，进展反馈 {counts['progressreport']} 条，附件 {counts['attachment']} 个，"
            f"审计记录 {counts['auditevent']} 条"
        )
