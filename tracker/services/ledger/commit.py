"""Writing a planned ledger import: sources, draft tasks, imported progress, all or none.

``commit_ledger`` takes the report of ``ledger.importer.plan_ledger`` and writes it in
the caller's transaction; any failure propagates so the caller rolls back. A progress
text already on record (``progress_known``) is never written twice, so importing the
same ledger again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import AuditEvent, DeadlineKind, ProgressReport, SourceKind, Urgency
from tracker.rules.names import normalise_name
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.ledger.report import ImportReport, Issue, chunks
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import sources as source_service

Progress = Callable[[int, int], None]


_TRAILING = re.compile(r"[\s。．.；;，,、]+$")


def text_key(text: str) -> str:
    """How titles and requirements are compared: NFKC, no spaces, no closing punctuation."""
    return _TRAILING.sub("", normalise_name(text))


def closing_text(summary: str) -> str:
    """A closed task's 最新进展 cell: the lead's closing summary, marked as such. The import
    knows it again (``progress_known`` against the task's approved summaries)."""
    return "办结情况：" + summary


def progress_known(existing_texts: list[str], text: str) -> bool:
    """Is this progress text already on record? (the latest report, or any earlier one)"""
    key = text_key(text)
    return any(text_key(t) == key for t in existing_texts)


# --- writing --------------------------------------------------------------------------------


def record_imported_progress(
    session: Session, actor: Actor, task_id: int, text: str, *, note: str = "台账导入"
) -> ProgressReport | None:
    """Record a ledger's progress text as a report by the office, in the lead's name.

    Unlike ``tasks.lifecycle.report_progress`` this is not a department's step: the task's
    status does not move. Returns None (and writes nothing) when the text is
    already on record, so re-importing the same ledger changes nothing.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以导入进展情况")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("进展情况不能为空", fields={"text": "请填写进展情况"})
    task = tasks.get_task(session, task_id)
    if task.lead_department_id is None:
        raise ValidationFailed(f"事项 {task.code} 未指定牵头单位，不能记录进展", fields={"text": "未指定牵头单位"})
    known = list(
        session.exec(
            select(ProgressReport.text)
            .where(ProgressReport.task_id == task.id)
            .order_by(ProgressReport.created_at, ProgressReport.id)
        )
    )
    if progress_known(known, text):
        return None
    report = ProgressReport(task_id=task.id, department_id=task.lead_department_id, author_id=actor.user_id, text=text)
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor,
        "import_progress",
        entity="progress_report",
        entity_id=report.id,
        task_id=task.id,
        after={"text": text, "department_id": task.lead_department_id},
        note=note,
    )
    return report


def commit_ledger(
    session: Session, actor: Actor, report: ImportReport, *, assign: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Write every row of a clean report, in the caller's transaction (all or none).

    Sources go through ``sources.create_source``, tasks through
    ``tasks.lifecycle.create_drafts`` (the same path as a draft made on the form, in bulk),
    each with its ledger section as ``Task.category``. ``--assign`` then takes
    each task through ``tasks.lifecycle.assign``.
    """
    if not actor.is_office:
        raise NotPermitted("只有督查室可以导入督办台账")
    if not report.ok:
        raise ValidationFailed(
            f"台账有 {report.error_count} 处错误，未导入任何事项" if report.error_count else "台账中没有可导入的事项"
        )
    counts = report.counts()
    if not counts["create"] and not counts["update"]:
        return report  # nothing new: re-importing the same ledger writes nothing, not even a log line
    for spec in report._new_sources.values():
        src = source_service.create_source(
            session,
            actor,
            {
                "kind": spec.kind.value,
                "title": spec.title,
                "reference": spec.reference,
                "source_date": spec.source_date,
                "leader_id": spec.leader_id,
                "body": spec.title if spec.kind == SourceKind.LEADER_INSTRUCTION else "",
            },
        )
        spec.id = src.id
    creates = [r for r in report.rows if r.action == "create"]
    inputs = []
    for row in creates:
        if row._source_key and row._source_key[0] == "new":
            row.source_id = report._new_sources[row._source_key[1]].id
        kind = DeadlineKind.DATE if row.deadline_kind in ("", "date", "immediate") else DeadlineKind(row.deadline_kind)
        try:
            inputs.append(
                tasks.TaskInput(
                    title=row.title,
                    requirement=row.requirement,
                    source_id=row.source_id,
                    item_no=row.item_no,
                    lead_department_id=row.lead.id if row.lead else None,
                    assisting_department_ids=[d.id for d in row.assisting],
                    leader_ids=[lead.id for lead in row.leaders],
                    urgency=Urgency(row.urgency),
                    deadline_kind=kind,
                    due_date=row.due_date,
                    deadline_text=row.deadline_text,
                    recurrence=row.recurrence,
                    feedback_cycle=row.feedback_cycle,
                    category=row.category[:120],
                )
            )
        except PydanticValidationError as exc:  # the plan checks these; a gap there must not crash
            where = Issue("", row.sheet, row.row).where()
            raise ValidationFailed(f"{where}：事项信息有误（{exc.errors()[0]['msg']}），未导入任何事项") from exc
    created = tasks.create_drafts(session, actor, inputs)
    categories: dict[str, list[str]] = {}
    for row, (task_id, code) in zip(creates, created):
        row.task_id, row.task_code = task_id, code
        if row.category:
            categories.setdefault(row.category, []).append(code)
    if assign:
        for done, row in enumerate(creates, start=1):
            tasks.assign(session, actor, row.task_id)
            if progress and done % 1000 == 0:
                progress(done, len(creates))
    _record_progress_bulk(
        session,
        actor,
        [(r.task_id, r.lead.id, r.progress) for r in report.rows if r.action in ("create", "update") and r.progress],
    )
    audit.record(
        session,
        actor,
        "ledger_import",
        entity="ledger_import",
        entity_id=None,
        after={
            "file": report.filename,
            "created": counts["create"],
            "progress": counts["update"],
            "unchanged": counts["unchanged"],
            "duplicate": counts["duplicate"],
            "sources": len(report._new_sources),
            "assigned": assign,
            "categories": categories,
        },
        note=report.filename,
    )
    session.flush()
    if progress:
        progress(len(report.rows), len(report.rows))
    report.committed = True
    return report


def _created(values: dict) -> tuple[dict | None, dict | None]:
    """What ``audit.record(before={}, after=values)`` stores, without its generality:
    the keys that are set, dates as ISO text, each "before" None."""
    after = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in sorted(values.items()) if v is not None}
    return ({k: None for k in after} or None), (after or None)


def _record_progress_bulk(session: Session, actor: Actor, items: list[tuple[int, int, str]]) -> int:
    """``record_imported_progress`` for many tasks at once (same rule, same events)."""
    if not items:
        return 0
    known: dict[int, list[str]] = {}
    for part in chunks(sorted({tid for tid, _, _ in items}), 500):
        for tid, text in session.execute(
            select(ProgressReport.task_id, ProgressReport.text).where(ProgressReport.task_id.in_(part))
        ):
            known.setdefault(tid, []).append(text)
    now = clock.now()
    rows, seen = [], set()
    items = list({tid: (tid, dep, text) for tid, dep, text in items}.values())  # one report per task
    for tid, dep, text in items:
        text = text.strip()
        if not text or (tid, text_key(text)) in seen or progress_known(known.get(tid, []), text):
            continue
        seen.add((tid, text_key(text)))
        rows.append(
            {
                "task_id": tid,
                "department_id": dep,
                "author_id": actor.user_id,
                "created_at": now,
                "text": text,
                "problems": "",
                "next_steps": "",
                "needs_coordination": False,
            }
        )
    for part in chunks(rows, 2000):
        session.execute(ProgressReport.__table__.insert(), part)
    # one new report per task in this import: find each by its task and the insert's timestamp
    new_ids: dict[int, int] = {}
    for part in chunks([r["task_id"] for r in rows], 900):
        new_ids.update(
            session.execute(
                select(ProgressReport.task_id, sa.func.max(ProgressReport.id))
                .where(ProgressReport.task_id.in_(part), ProgressReport.created_at == now)
                .group_by(ProgressReport.task_id)
            ).all()
        )
    events = []
    for row in rows:
        before, after = _created({"text": row["text"], "department_id": row["department_id"]})
        events.append(
            {
                "at": now,
                "actor_id": actor.user_id,
                "actor_name": actor.name,
                "entity": "progress_report",
                "entity_id": new_ids[row["task_id"]],
                "task_id": row["task_id"],
                "action": "import_progress",
                "before": before,
                "after": after,
                "note": "台账导入",
            }
        )
    for part in chunks(events, 5000):
        session.execute(AuditEvent.__table__.insert(), part)
    return len(rows)
