"""Searching the audit log: by person, department, task, action, time range and words; newest
first, a page at a time; the same filters for the Excel export, which is itself audited.

Pages are keyset pages on the event id (``before``/``after``), so the hundredth page costs what
the first does; ids rise with time, as events are only ever appended. The person and action
filters have their own indexes (``ix_auditevent_actor_id_id``, ``ix_auditevent_action_id``).

A department is the actor's (what its people did) or the task's lead department (what was done
to its tasks, by anyone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.models import AuditEvent, Department, Task, User
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.auditing.labels import ACTION_LABELS, action_label
from tracker.services.validation import parse_date, search_text, to_int
from tracker.sql import contains_pattern

PAGE_SIZE = 50
EXPORT_MAX = 100_000  # rows in one workbook; narrow the filters for more
SYSTEM = "system"  # the actor filter's value for events no person made (jobs, imports by rule)


@dataclass
class AuditFilter:
    """Every filter of the viewer; empty means any."""

    actor: str = ""  # a user's id, or SYSTEM
    department_id: int | None = None
    task: str = ""  # a task's code (DB-2026-0001) or id
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""  # words in the person's name or the note

    @classmethod
    def from_args(cls, args) -> "AuditFilter":
        """From the query string: unknown values are ignored; a date that is no date is a 400."""
        actor = str(args.get("actor") or "").strip()
        return cls(
            actor=actor if actor == SYSTEM or to_int(actor) else "",
            department_id=to_int(args.get("department_id")),
            task=search_text(args.get("task"))[:40],
            action=search_text(args.get("action"))[:40],
            date_from=parse_date(args.get("date_from"), label="起始日期", field="date_from"),
            date_to=parse_date(args.get("date_to"), label="截止日期", field="date_to"),
            q=search_text(args.get("q")),
        )

    def to_args(self) -> dict[str, str]:
        out = {
            "actor": self.actor,
            "department_id": str(self.department_id or ""),
            "task": self.task,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
        }
        return {k: v for k, v in out.items() if v}


def _where(f: AuditFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.actor == SYSTEM:
        where.append(AuditEvent.actor_id.is_(None))
    elif f.actor:
        where.append(AuditEvent.actor_id == int(f.actor))
    if f.department_id is not None:
        where.append(
            sa.or_(
                AuditEvent.actor_id.in_(select(User.id).where(User.department_id == f.department_id)),
                AuditEvent.task_id.in_(select(Task.id).where(Task.lead_department_id == f.department_id)),
            )
        )
    if f.task:
        task_id = to_int(f.task)
        if task_id is not None:
            where.append(AuditEvent.task_id == task_id)
        else:
            where.append(AuditEvent.task_id.in_(select(Task.id).where(sa.func.upper(Task.code) == f.task.upper())))
    if f.action:
        where.append(AuditEvent.action == f.action)
    if f.date_from:
        where.append(AuditEvent.at >= clock.start_of_local_day(f.date_from))
    if f.date_to:
        where.append(AuditEvent.at < clock.start_of_local_day(f.date_to + timedelta(days=1)))
    if f.q:
        pattern = contains_pattern(f.q)
        where.append(
            sa.or_(AuditEvent.actor_name.ilike(pattern, escape="\\"), AuditEvent.note.ilike(pattern, escape="\\"))
        )
    return where


@dataclass
class AuditRow:
    event: AuditEvent
    task_code: str | None
    task_title: str | None
    actor_department: str | None


@dataclass
class AuditPage:
    rows: list[AuditRow]
    newer: int | None = None  # ``after`` for the page of newer events, if there are any
    older: int | None = None  # ``before`` for the page of older events, if there are any
    filter: AuditFilter = field(default_factory=AuditFilter)


def _rows_stmt(f: AuditFilter):
    return (
        select(AuditEvent, Task.code, Task.title, Department.name)
        .join(Task, Task.id == AuditEvent.task_id, isouter=True)
        .join(User, User.id == AuditEvent.actor_id, isouter=True)
        .join(Department, Department.id == User.department_id, isouter=True)
        .where(*_where(f))
    )


def _exists(session: Session, f: AuditFilter, condition) -> bool:
    stmt = select(AuditEvent.id).where(*_where(f), condition).limit(1)
    return session.exec(stmt).first() is not None


def page(
    session: Session, f: AuditFilter, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> AuditPage:
    """A page of events matching ``f``, newest first: the newest ones, those older than the event
    ``before``, or those newer than the event ``after``."""
    stmt = _rows_stmt(f)
    if after is not None:
        found = session.exec(stmt.where(AuditEvent.id > after).order_by(AuditEvent.id).limit(size + 1)).all()
        more_newer = len(found) > size
        found = list(reversed(found[:size]))
    else:
        if before is not None:
            stmt = stmt.where(AuditEvent.id < before)
        found = session.exec(stmt.order_by(AuditEvent.id.desc()).limit(size + 1)).all()
        more_older = len(found) > size
        found = found[:size]
    rows = [AuditRow(e, code, title, dep) for e, code, title, dep in found]
    if not rows:
        return AuditPage(rows, filter=f)
    first, last = rows[0].event.id, rows[-1].event.id
    if after is not None:
        newer = first if more_newer else None
        older = last if _exists(session, f, AuditEvent.id < last) else None
    else:
        older = last if more_older else None
        newer = first if before is not None and _exists(session, f, AuditEvent.id > first) else None
    return AuditPage(rows, newer=newer, older=older, filter=f)


def export_rows(session: Session, f: AuditFilter, limit: int = EXPORT_MAX, block: int = 1000) -> Iterator[AuditRow]:
    """Every event matching ``f``, newest first, at most ``limit``, read a block at a time by id
    (a server-side cursor would need a transaction, which a read does not open: tracker/db.py)."""
    last, n = None, 0
    while n < limit:
        stmt = _rows_stmt(f).order_by(AuditEvent.id.desc()).limit(min(block, limit - n))
        if last is not None:
            stmt = stmt.where(AuditEvent.id < last)
        found = session.exec(stmt).all()
        for e, code, title, dep in found:
            yield AuditRow(e, code, title, dep)
        if len(found) < block:
            return
        n, last = n + len(found), found[-1][0].id


def record_export(session: Session, actor: Actor, f: AuditFilter, rows: int) -> None:
    """The export is itself an event: who took which part of the log, and when."""
    audit.record(
        session,
        actor,
        "audit_export",
        entity="audit",
        entity_id=None,
        after={"filters": f.to_args(), "rows": rows},
        note=describe(session, f),
    )


def describe(session: Session, f: AuditFilter) -> str:
    """The filters in words, for the export's title and its audit event."""
    parts = []
    if f.actor == SYSTEM:
        parts.append("操作人：系统")
    elif f.actor:
        user = session.get(User, int(f.actor))
        parts.append(f"操作人：{user.display_name if user else f.actor}")
    if f.department_id is not None:
        dep = session.get(Department, f.department_id)
        parts.append(f"单位：{dep.name if dep else f.department_id}")
    if f.task:
        parts.append(f"事项：{f.task}")
    if f.action:
        parts.append(f"操作：{action_label(f.action)}")
    if f.date_from or f.date_to:
        parts.append(f"时间：{f.date_from or '…'} 至 {f.date_to or '…'}")
    if f.q:
        parts.append(f"关键词：{f.q}")
    return "；".join(parts) or "全部"


@dataclass
class Choices:
    users: list[tuple[int, str]]
    departments: list[tuple[int, str]]
    actions: list[tuple[str, str]]


def choices(session: Session, f: AuditFilter) -> Choices:
    """The filter form's options: people, departments and the named actions (a filtered action
    without a name is offered as it is)."""
    users = session.exec(
        select(User.id, User.display_name, Department.name)
        .join(Department, Department.id == User.department_id, isouter=True)
        .order_by(User.display_name, User.id)
    ).all()
    deps = session.exec(select(Department.id, Department.name).order_by(Department.sort_order, Department.id)).all()
    actions = sorted(ACTION_LABELS.items(), key=lambda kv: kv[1])
    if f.action and f.action not in ACTION_LABELS:
        actions.insert(0, (f.action, f.action))
    return Choices(
        users=[(uid, f"{name}（{dep}）" if dep else name) for uid, name, dep in users],
        departments=list(deps),
        actions=actions,
    )
