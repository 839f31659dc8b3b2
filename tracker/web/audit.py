"""The audit viewer (审计日志): every event, searchable and exportable, for the office and the
system administrator only. Read-only by construction: the blueprint has no route that writes,
and the model refuses to change or delete an event (``tracker.models.office``).

Thin views: parse the filters (``AuditFilter.from_args``: a bad date is a 400), call the search
service, render; the export writes the same rows to a workbook and audits itself.
"""

from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file
from sqlmodel import Session

from importers.audit_export import AuditLine, write_audit
from tracker import clock
from tracker.db import get_session
from tracker.http.login import current_actor
from tracker.http.params import to_int
from tracker.models import Role
from tracker.services.auditing import search
from tracker.services.auditing.labels import Names, action_label, changes, entity_label
from tracker.web.access import roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit")

READERS = (Role.SUPERVISOR, Role.ADMIN)


def _fmt(instant) -> str:
    return instant.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/")
@roles_required(*READERS)
def index():
    s = get_session()
    f = search.AuditFilter.from_args(request.args)
    result = search.page(s, f, before=to_int(request.args.get("before")), after=to_int(request.args.get("after")))
    names = Names.for_events(s, [r.event for r in result.rows])
    return render_template(
        "audit/index.html",
        page=result,
        args=f.to_args(),
        f=f,
        choices=search.choices(s, f),
        SYSTEM=search.SYSTEM,
        action_label=action_label,
        entity_label=entity_label,
        changes=lambda e: changes(e.before, e.after, names),
        fmt=_fmt,
    )


def _lines(s: Session, rows) -> list[AuditLine]:
    """A block of rows as workbook lines (names read once per block)."""
    names = Names.for_events(s, [r.event for r in rows])
    return [
        AuditLine(
            at=_fmt(r.event.at),
            actor=r.event.actor_name or "系统",
            actor_department=r.actor_department or "",
            action=action_label(r.event.action),
            entity=entity_label(r.event.entity) + (f" #{r.event.entity_id}" if r.event.entity_id else ""),
            task_code=r.task_code or "",
            task_title=r.task_title or "",
            changes="；".join(
                f"{c.label}：{c.before} → {c.after}" for c in changes(r.event.before, r.event.after, names)
            ),
            note=r.event.note or "",
            event_id=r.event.id,
        )
        for r in rows
    ]


def _blocks(s: Session, f: search.AuditFilter, size: int = 1000):
    block = []
    for row in search.export_rows(s, f):
        block.append(row)
        if len(block) == size:
            yield from _lines(s, block)
            block = []
    yield from _lines(s, block)


@bp.get("/export.xlsx")
@roles_required(*READERS)
def export():
    s = get_session()
    f = search.AuditFilter.from_args(request.args)
    title = f"审计日志（{search.describe(s, f)}，导出于 {_fmt(clock.now())}）"
    out = io.BytesIO()
    count = write_audit(out, title, _blocks(s, f))
    search.record_export(s, current_actor(), f, count)
    s.commit()
    out.seek(0)
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"审计日志-{clock.today():%Y%m%d}.xlsx",
    )
