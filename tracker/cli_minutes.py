"""``flask --app wsgi minutes parse FILE``: what the split page would propose, without writing.

Reads the district's departments and leaders from the database the app is configured with,
reads the file (``services/intake/documents``: text, Word, PDF, scans) and prints the proposal of
``services/intake/decompose.propose_resolved`` as a clerk's list (``--format text``) or as JSON
(``--format json``). Nothing is saved.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import date
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from sqlmodel import Session, select

from tracker import clock, db
from tracker.calendar import WorkCalendar
from tracker.cli_args import parse_date
from tracker.demo import organisation as demo_district
from tracker.errors import DomainError
from tracker.models import URGENCY_LABELS, Department, Source, SourceKind, Urgency
from tracker.services.intake.deadlines import format_deadline
from tracker.services.intake.decompose import INSTRUCTION, MINUTES, DraftRow, Proposal, Resolvers, propose_resolved
from tracker.services.intake.documents import read_document

minutes_cli = AppGroup("minutes", help="会议纪要、领导批示拆分为督办事项")


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@minutes_cli.command("parse")
@click.argument("path")
@click.option("--date", "date_text", required=True, help="会议日期或批示日期（YYYY-MM-DD），时限由此起算")
@click.option(
    "--kind",
    type=click.Choice([MINUTES, INSTRUCTION]),
    default=MINUTES,
    show_default=True,
    help="minutes：会议纪要；instruction：领导批示",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--registered", default=None, help="登记日期（YYYY-MM-DD，默认今天）：早于它的时限提示“时限已过”")
def parse_command(path: str, date_text: str, kind: str, fmt: str, registered: str | None) -> None:
    """拆分 FILE（.txt、.docx、.pdf、.png、.jpg），显示建议的督办事项，不写入数据库。"""
    try:
        base = parse_date(date_text, "日期")
        on = parse_date(registered, "登记日期") if registered else None
    except click.BadParameter as exc:
        _fail(exc.message)
    file = Path(path)
    if not file.is_file():
        _fail(f"找不到文件：{path}")
    try:
        doc = read_document(file.read_bytes(), file.name)
        text, notes = doc.text, doc.warnings
    except OSError as exc:
        _fail(f"无法读取文件：{path}（{exc.strerror}）")
    except DomainError as exc:
        _fail(exc.message)
    proposal, names = parse_text(text, kind=kind, base=base, registered=on)
    for note in notes:
        click.echo(f"提示：{note}", err=True)
    if fmt == "json":
        click.echo(json.dumps(proposal_json(proposal, names, kind=kind, base=base), ensure_ascii=False, indent=1))
    else:
        click.echo(proposal_text(proposal, names, kind=kind, base=base))


def parse_text(text: str, *, kind: str, base: date, registered: date | None = None) -> tuple[Proposal, Resolvers]:
    """The proposal for ``text`` against the configured database, nothing written, and the
    resolvers that name its ids."""
    source_kind = SourceKind.LEADER_INSTRUCTION if kind == INSTRUCTION else SourceKind.EXECUTIVE_MEETING
    source = Source(kind=source_kind, title="", source_date=base)  # never added to the session
    with db.session_scope() as session, clock.frozen(registered) if registered else nullcontext():
        resolvers = _resolvers(session)
        proposal = propose_resolved(session, source, text, resolvers=resolvers)
    return proposal, resolvers


def _resolvers(session: Session) -> Resolvers:
    """The district's names from the database; before any district is set up there (no tables
    yet, or no department), the demo district's, with the working-day calendar of the package,
    and a note saying so: reading a file must not need a set-up database."""
    if sa.inspect(session.connection()).has_table(Department.__tablename__):
        if session.exec(select(Department.id).where(Department.active).limit(1)).first() is not None:
            return Resolvers.load(session)
    click.echo(
        f"提示：数据库中还没有单位和领导名录，按演示区（{demo_district.DISTRICT}）的名录读取；"
        "正式使用前请先初始化数据库并导入本区的单位名录",
        err=True,
    )
    departments, leaders = demo_district.vocabulary()
    return Resolvers(departments, leaders, WorkCalendar.from_package())


def _messages(row: DraftRow) -> tuple[list[str], list[str]]:
    errors = list(row.errors.values())
    warnings = [w for notes in row.warnings.values() for w in notes]
    return errors, warnings


def proposal_json(proposal: Proposal, names: Resolvers, *, kind: str, base: date) -> dict:
    """The proposal as the JSON of ``minutes parse --format json``: departments by full name,
    leaders by name."""
    items = []
    for row in proposal.rows:
        errors, warnings = _messages(row)
        parse = row.deadline
        items.append(
            {
                "title": row.title,
                "requirement": row.requirement,
                "lead": names.departments.name_of(row.lead_id) if row.lead_id is not None else None,
                "assisting": [names.departments.name_of(i) for i in row.assisting_ids],
                "leaders": [names.leaders.name_of(i) for i in row.leader_ids],
                "due_date": parse.due_date.isoformat() if parse is not None and parse.due_date else None,
                "deadline_text": row.deadline_text,
                "ongoing": bool(parse is not None and parse.kind == "ongoing"),
                "recurrence": (parse.recurrence or None) if parse is not None else None,
                "urgency": URGENCY_LABELS[Urgency(row.urgency)],
                "errors": errors,
                "warnings": warnings,
            }
        )
    out = {
        "kind": kind,
        "date": base.isoformat(),
        "title": proposal.title,
        "items": items,
        "unknown": [
            {"text": u.text, "kind": u.kind, "item": u.item_no, "start": u.start, "end": u.end}
            for u in proposal.unknown
        ],
    }
    if proposal.document:
        out["document"] = proposal.document
    return out


def proposal_text(proposal: Proposal, names: Resolvers, *, kind: str, base: date) -> str:
    what = "领导批示" if kind == INSTRUCTION else "会议纪要"
    lines = [f"{proposal.title or what}（{what}，{base.isoformat()}）：共 {len(proposal.rows)} 项"]
    if proposal.document:
        lines.append(f"来文：{proposal.document}")
    for row in proposal.rows:
        errors, warnings = _messages(row)
        lead = names.departments.name_of(row.lead_id) if row.lead_id is not None else (row.lead or "—")
        assisting = "、".join(names.departments.name_of(i) for i in row.assisting_ids) or "—"
        leaders = "、".join(names.leaders.name_of(i) for i in row.leader_ids) or "—"
        due = format_deadline(row.deadline) if row.deadline is not None else "—"
        lines += [
            "",
            f"第 {row.item_no} 项  {row.title}",
            f"  牵头单位：{lead}",
            f"  配合单位：{assisting}",
            f"  责任领导：{leaders}",
            f"  完成时限：{row.deadline_text or '—'}  →  {due}",
            f"  紧急程度：{URGENCY_LABELS[Urgency(row.urgency)]}",
        ]
        lines += [f"  错误：{m}" for m in errors]
        lines += [f"  提示：{m}" for m in warnings]
    if proposal.unknown:
        lines += ["", "未识别的名称（未登记，未自动新建）："]
        lines += [f"  {u.text}（第 {u.item_no} 项，第 {u.start + 1}–{u.end} 字）" for u in proposal.unknown]
    return "\n".join(lines)


def register_minutes_cli(app: Flask) -> None:
    app.cli.add_command(minutes_cli)
