"""The task page's reads (web/tasks.py ``task_context``), as prebuilt Core statements.

The page only reads these rows, so they come as plain rows (attribute access by column
name, as the templates use them) rather than ORM entities: no identity map, no
SQLModel init per row. Each statement is built once (parameter ``task_id``), so
SQLAlchemy neither rebuilds it nor walks it for a cache key on every request.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlmodel import Session

from tracker.models import (
    Attachment,
    AuditEvent,
    ChangeRequest,
    Escalation,
    ExtensionRequest,
    Milestone,
    ProgressReport,
    Reminder,
)

_TASK_ID = sa.bindparam("task_id", type_=sa.Integer)


@functools.cache
def _reports_select() -> sa.Select:
    r = ProgressReport.__table__
    return sa.select(*r.c).where(r.c.task_id == _TASK_ID).order_by(r.c.created_at.desc(), r.c.id.desc())


@functools.cache
def _attachments_select() -> sa.Select:
    a = Attachment.__table__
    return sa.select(*a.c).where(a.c.task_id == _TASK_ID).order_by(a.c.id)


@functools.cache
def _milestones_select() -> sa.Select:
    m = Milestone.__table__
    return sa.select(*m.c).where(m.c.task_id == _TASK_ID).order_by(m.c.sort_order, m.c.due_date)


@functools.cache
def _timeline_select() -> sa.Select:
    """The task's audit events, oldest first, each with the details the page shows of the
    reminder, escalation, change or extension request it names: one statement instead of
    one more per kind. A missing row leaves its columns NULL (its ``*_id`` is NULL).

    The extension's two dates come as scalar subqueries, so the page's one outer join
    to extensionrequest stays the open-requests statement's."""
    ae = AuditEvent.__table__
    rem, esc = Reminder.__table__, Escalation.__table__
    chg, ext = ChangeRequest.__table__, ExtensionRequest.__table__

    def ext_col(col):
        return (sa.select(col).where(ext.c.id == ae.c.entity_id, ae.c.entity == "extension_request")
                .correlate(ae).scalar_subquery())

    return (
        sa.select(
            ae.c.id, ae.c.at, ae.c.actor_name, ae.c.entity, ae.c.entity_id, ae.c.action, ae.c.before,
            ae.c.after, ae.c.note,
            rem.c.id.label("reminder_id"), rem.c.department_id.label("reminder_department_id"),
            rem.c.rule.label("reminder_rule"),
            esc.c.id.label("escalation_id"), esc.c.notice_no.label("escalation_notice_no"),
            esc.c.level.label("escalation_level"),
            chg.c.id.label("change_id"), chg.c.payload.label("change_payload"),
            ext_col(ext.c.old_due_date).label("ext_old_due_date"),
            ext_col(ext.c.new_due_date).label("ext_new_due_date"),
        )
        .select_from(
            ae.outerjoin(rem, sa.and_(ae.c.entity == "reminder", rem.c.id == ae.c.entity_id))
            .outerjoin(esc, sa.and_(ae.c.entity == "escalation", esc.c.id == ae.c.entity_id))
            .outerjoin(chg, sa.and_(ae.c.entity == "change_request", chg.c.id == ae.c.entity_id))
        )
        .where(ae.c.task_id == _TASK_ID)
        .order_by(ae.c.at, ae.c.id)
    )


def reports(session: Session, task_id: int) -> list[sa.Row]:
    """All the task's progress reports, newest first."""
    return session.execute(_reports_select(), {"task_id": task_id}).all()


def attachments(session: Session, task_id: int) -> list[sa.Row]:
    """All the task's files, in upload order."""
    return session.execute(_attachments_select(), {"task_id": task_id}).all()


def milestones(session: Session, task_id: int) -> list[sa.Row]:
    return session.execute(_milestones_select(), {"task_id": task_id}).all()


def timeline(session: Session, task_id: int) -> list[sa.Row]:
    """The task's whole history with its named rows' details, see ``_timeline_select``."""
    return session.execute(_timeline_select(), {"task_id": task_id}).all()
