"""The task page's reads (web/tasks.py ``task_context``), as prebuilt Core statements.

The page only reads these rows, so they come as plain rows (attribute access by column
name, as the templates use them) rather than ORM entities: no identity map, no
SQLModel init per row. Each statement is built once (parameter ``task_id``), so
SQLAlchemy neither rebuilds it nor walks it for a cache key on every request.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session

from tracker.models import (
    Attachment,
    AuditEvent,
    ChangeRequest,
    CloseRequest,
    Department,
    Escalation,
    ExtensionRequest,
    Leader,
    Milestone,
    ProgressReport,
    Reminder,
    RequestStatus,
    Source,
    Task,
    TaskAssist,
    TaskLeader,
)
from tracker.rules.overdue import Horizon, derived_columns
from tracker.shared_sql import shared

_TASK_ID = sa.bindparam("task_id", type_=sa.Integer)


@shared()
def _request_aliases() -> tuple:
    return (
        aliased(ExtensionRequest, name="pending_ext"),
        aliased(ChangeRequest, name="pending_change"),
        aliased(CloseRequest, name="pending_close"),
        aliased(CloseRequest, name="last_return"),
    )


def _join_open_requests(stmt: sa.Select) -> sa.Select:
    """``stmt`` (a select from task, selecting from ``_request_aliases``) joined to the task's
    newest pending extension, change and close request and its newest returned close request
    (each NULL when there is none). Outer joins from the task give every combination; ordering
    each id newest first (missing last) puts the newest of every kind in the first row. A task
    has at most a handful of such rows, so the product stays tiny."""
    ext, change, close, returned = _request_aliases()
    return (
        stmt.outerjoin(ext, sa.and_(ext.task_id == Task.id, ext.status == RequestStatus.PENDING))
        .outerjoin(change, sa.and_(change.task_id == Task.id, change.status == RequestStatus.PENDING))
        .outerjoin(close, sa.and_(close.task_id == Task.id, close.status == RequestStatus.PENDING))
        .outerjoin(returned, sa.and_(returned.task_id == Task.id, returned.status == RequestStatus.REJECTED))
        .order_by(*(a.id.desc().nulls_last() for a in (ext, change, close, returned)))
        .limit(1)
    )


class PendingExtension(NamedTuple):
    id: int
    created_at: datetime
    reason: str
    old_due_date: date
    new_due_date: date


class PendingChange(NamedTuple):
    id: int
    created_at: datetime
    reason: str
    kind: str
    payload: dict | None
    requested_by_id: int | None


class PendingClose(NamedTuple):
    id: int
    created_at: datetime
    summary: str


class ReturnedClose(NamedTuple):
    id: int
    decided_at: datetime | None
    decision_note: str
    summary: str  # the next request starts from it


# (prefix in the task row, alias index, the columns the page shows)
_REQUEST_PARTS = (
    ("ext_", 0, PendingExtension),
    ("change_", 1, PendingChange),
    ("close_", 2, PendingClose),
    ("return_", 3, ReturnedClose),
)


@shared(16)
def task_select(h: Horizon) -> sa.Select:
    """The page's task row, parameter ``task_id``: the task's columns, its lead's name, its
    source's title and kind, its derived state (as ``queries.task_rows_select``) and the
    columns the page shows of its open requests (``ext_*``, ``change_*``, ``close_*``,
    ``return_*``; see ``open_requests``): one statement instead of two. Read as a plain row
    (on the connection: no ORM entities to build); built once per horizon."""
    t, src = Task.__table__, Source.__table__
    lead = Department.__table__.alias("lead")
    aliases = _request_aliases()
    requests = [
        getattr(aliases[i], name).label(prefix + name) for prefix, i, part in _REQUEST_PARTS for name in part._fields
    ]
    return _join_open_requests(
        sa.select(
            *t.c,
            lead.c.name.label("lead_name"),
            src.c.title.label("source_title"),
            src.c.kind.label("source_kind"),
            *derived_columns(h),
            *requests,
        )
        .select_from(t.outerjoin(lead, lead.c.id == t.c.lead_department_id).outerjoin(src, src.c.id == t.c.source_id))
        .where(t.c.id == _TASK_ID)
    )


def task_row(session: Session, h: Horizon, task_id: int) -> sa.Row | None:
    """See ``task_select``; None for no such task."""
    return session.connection().execute(task_select(h), {"task_id": task_id}).first()


def _rows(session: Session, stmt: sa.Select, task_id: int) -> list[sa.Row]:
    """Every row of one of the page's Core statements, on the session's connection (no ORM
    execution layer in between; these statements load no entities)."""
    return session.connection().execute(stmt, {"task_id": task_id}).all()


def open_requests(row: sa.Row) -> tuple:
    """(pending extension, pending change, pending close, last returned close) of a
    ``task_select`` row, each None when there is none."""
    return tuple(
        None if getattr(row, prefix + "id") is None else part._make(getattr(row, prefix + n) for n in part._fields)
        for prefix, _i, part in _REQUEST_PARTS
    )


class PageMilestone(NamedTuple):
    id: int
    title: str
    due_date: date
    done_on: date | None


@shared()
def _people_select(with_departments: bool) -> sa.Select:
    """The task's assisting departments ("a"), leaders ("l") and milestones ("m"), and, when the
    page's forms offer a choice of department, every active department ("d"), each in its own
    order (by sort order and id; milestones by sort order and due date): one statement instead
    of up to three. A milestone's dates ride in columns that are NULL for the others."""
    ta, d = TaskAssist.__table__, Department.__table__
    tl, ld = TaskLeader.__table__, Leader.__table__
    m = Milestone.__table__
    no_date = sa.cast(sa.null(), sa.Date)
    parts = [
        sa.select(
            sa.literal("a").label("kind"),
            d.c.id,
            d.c.name,
            d.c.sort_order,
            no_date.label("due_date"),
            no_date.label("done_on"),
        )
        .select_from(ta.join(d, d.c.id == ta.c.department_id))
        .where(ta.c.task_id == _TASK_ID),
        sa.select(sa.literal("l"), ld.c.id, ld.c.name, ld.c.sort_order, no_date, no_date)
        .select_from(tl.join(ld, ld.c.id == tl.c.leader_id))
        .where(tl.c.task_id == _TASK_ID),
        sa.select(sa.literal("m"), m.c.id, m.c.title, m.c.sort_order, m.c.due_date, m.c.done_on).where(
            m.c.task_id == _TASK_ID
        ),
    ]
    if with_departments:
        parts.append(
            sa.select(sa.literal("d"), d.c.id, d.c.name, d.c.sort_order, no_date, no_date).where(d.c.active.is_(True))
        )
    every = sa.union_all(*parts).subquery()
    return sa.select(every).order_by(every.c.kind, every.c.sort_order, every.c.due_date, every.c.id)


class PageReport(NamedTuple):
    id: int
    department_id: int
    created_at: datetime
    text: str
    percent: int | None
    problems: str
    next_steps: str
    needs_coordination: bool


class PageFile(NamedTuple):
    id: int
    report_id: int | None
    original_name: str
    size: int


@shared()
def _reports_and_files_select() -> sa.Select:
    """The task's progress reports ("r") and files ("f") in one statement instead of two; a
    file's report, name and size ride in the report's department, text and percent columns."""
    r, f = ProgressReport.__table__, Attachment.__table__
    no_text = sa.cast(sa.null(), sa.Text)
    every = sa.union_all(
        sa.select(
            sa.literal("r").label("kind"),
            r.c.id,
            r.c.department_id.label("ref_id"),
            r.c.created_at,
            r.c.text,
            r.c.percent,
            r.c.problems,
            r.c.next_steps,
            r.c.needs_coordination,
        ).where(r.c.task_id == _TASK_ID),
        sa.select(
            sa.literal("f"),
            f.c.id,
            f.c.report_id,
            f.c.created_at,
            f.c.original_name,
            f.c.size,
            no_text,
            no_text,
            sa.cast(sa.null(), sa.Boolean),
        ).where(f.c.task_id == _TASK_ID),
    ).subquery()
    return sa.select(every).order_by(every.c.kind, every.c.created_at.desc(), every.c.id.desc())


@shared()
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
        return (
            sa.select(col)
            .where(ext.c.id == ae.c.entity_id, ae.c.entity == "extension_request")
            .correlate(ae)
            .scalar_subquery()
        )

    return (
        sa.select(
            ae.c.id,
            ae.c.at,
            ae.c.actor_name,
            ae.c.entity,
            ae.c.entity_id,
            ae.c.action,
            ae.c.before,
            ae.c.after,
            ae.c.note,
            rem.c.id.label("reminder_id"),
            rem.c.department_id.label("reminder_department_id"),
            rem.c.rule.label("reminder_rule"),
            esc.c.id.label("escalation_id"),
            esc.c.notice_no.label("escalation_notice_no"),
            esc.c.level.label("escalation_level"),
            chg.c.id.label("change_id"),
            chg.c.payload.label("change_payload"),
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


def reports_and_files(session: Session, task_id: int) -> tuple[list[PageReport], list[PageFile]]:
    """All the task's progress reports, newest first, and all its files, in upload order."""
    reports, files = [], []
    for kind, id_, ref_id, created_at, text, percent, problems, next_steps, needs_coordination in _rows(
        session, _reports_and_files_select(), task_id
    ):
        if kind == "r":
            reports.append(PageReport(id_, ref_id, created_at, text, percent, problems, next_steps, needs_coordination))
        else:
            files.append(PageFile(id_, ref_id, text, percent))
    files.sort()  # by id
    return reports, files


def people_and_milestones(
    session: Session, task_id: int, *, departments: bool = False
) -> tuple[list[tuple[int, str]], list[str], list[PageMilestone], list[tuple[int, str]]]:
    """(assisting departments as (id, name), leader names, milestones, and with ``departments``
    every active department as (id, name), else []), see ``_people_select``."""
    assisting, leaders, milestones, active = [], [], [], []
    for kind, id_, name, _sort, due_date, done_on in _rows(session, _people_select(departments), task_id):
        if kind == "a":
            assisting.append((id_, name))
        elif kind == "l":
            leaders.append(name)
        elif kind == "m":
            milestones.append(PageMilestone(id_, name, due_date, done_on))
        else:
            active.append((id_, name))
    return assisting, leaders, milestones, active


def timeline(session: Session, task_id: int) -> list[sa.Row]:
    """The task's whole history with its named rows' details, see ``_timeline_select``."""
    return _rows(session, _timeline_select(), task_id)
