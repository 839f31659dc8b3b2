"""``flask --app wsgi motions import|export|figures``: 人大建议/政协提案 from the command line.

One unit of work per command; the rules are in ``tracker.services.motions.handling``.
"""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from tracker import db
from tracker.errors import DomainError
from tracker.services.actors import SYSTEM
from tracker.services.ledger.mappings import MappingTable
from tracker.services.motions import importer as motion_import
from tracker.services.motions import publishing as motion_publishing

motions_cli = AppGroup("motions", help="人大代表建议、政协委员提案")


@motions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["suggestion", "proposal"]), default=None, help="默认按清单标题判断")
@click.option("--session", "session_name", default="", help="届次，默认取清单标题中的“…届…次会议”")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
def import_command(path: str, kind: str | None, session_name: str, dry_run: bool) -> None:
    """检查并导入交办清单，全部无误才写入并批量交办（列的对应关系按网页导入时记住的）。"""

    try:
        with db.session_scope() as session:
            report = motion_import.import_list(
                session,
                SYSTEM,
                path,
                kind=kind or "",
                session_name=session_name,
                dry_run=dry_run,
                store=MappingTable(session, "motions"),
            )
            if dry_run:
                session.rollback()
    except DomainError as exc:
        click.echo(exc.message, err=True)
        for line in (exc.fields or {}).get("errors", []):
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    done = "检查通过（未写入）" if dry_run else f"已导入并交办 {len(report.motions)} 件"
    click.echo(f"{report.session_name} {len(report.rows)} 行：{done}")


@motions_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["suggestion", "proposal"]), default=None)
@click.option("--session", "session_name", default="")
def export_command(path: str, kind: str | None, session_name: str) -> None:
    """导出主动公开的办理结果（不含联系方式、原文和满意度）。"""

    with db.session_scope() as session:
        n = motion_publishing.export_public(session, path, kind=kind or "", session_name=session_name)
    click.echo(f"已导出 {n} 件答复：{path}")


@motions_cli.command("figures")
@click.option("--kind", type=click.Choice(["suggestion", "proposal"]), default=None)
@click.option("--session", "session_name", default="")
def figures_command(kind: str | None, session_name: str) -> None:
    """按主办单位统计：件数、按期答复、ABCD、满意率、重新办理（JSON）。"""

    with db.session_scope() as session:
        rows = motion_publishing.figures_by_unit(session, kind=kind or "", session_name=session_name)
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1))


def register_motions_cli(app: Flask) -> None:
    app.cli.add_command(motions_cli)
