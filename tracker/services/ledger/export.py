"""The office's ledger (督办台账) export and the blank import template.

The rows are chosen and shaped here (visibility, filters, the deadline cell that
reads back as the same task); ``importers.export`` writes the workbook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from importers.export import LedgerRow, write_ledger, write_template
from tracker import clock
from tracker.db import is_postgres
from tracker.models import (
    URGENCY_LABELS,
    CloseRequest,
    DeadlineKind,
    Department,
    Leader,
    ProgressReport,
    RequestStatus,
    Role,
    Source,
    Task,
    Urgency,
)
from tracker.rules.overdue import Light, due_soon_of, light, light_label
from tracker.services.actors import Actor, visible_params, visible_template
from tracker.services.intake.deadlines import describe_recurrence
from tracker.services.ledger.commit import closing_text
from tracker.services.ledger.report import chunks
from tracker.services.tasks import queries
from tracker.shared_sql import shared
from tracker.sql import id_in
from tracker.workflow import Party, Status, status_label


def ledger_rows(
    session: Session, actor: Actor, f, horizon, *, sort: str = "source", chunk: int = 2000
) -> tuple[int, Iterator]:
    """Tasks matching the filter, visible to the actor, as ledger rows streamed in chunks.

    ``sort="source"`` groups by source (date, then item number) so that the
    source cells can be merged; any other value is a ``queries.SORTS`` key.
    """

    session.flush()  # the statements below run on the connection (no ORM autoflush, no entity loading)
    conn = session.connection()
    if sort == "source":
        visible, params = visible_params(actor)
        shape, values = queries.filter_params(f)
        ids = list(conn.execute(_ids_by_source(visible, shape, horizon), {**params, **values}).scalars())
    else:
        ids = queries.task_ids(session, actor, f, horizon, sort=sort)
    party = Party.OFFICE if actor.is_office else (Party.LEADER if actor.role == "leader" else Party.LEAD)
    own = actor.department_id if actor.role == Role.CLERK else None  # see _latest_progress
    dept_names = dict(conn.execute(select(Department.id, Department.name)).all())
    pg = is_postgres(session)
    rows_stmt, sources_stmt = _export_rows_select(horizon, pg), _export_sources_select(pg)
    sources: dict[int, tuple[str, date]] = {}

    def generate():
        for part in chunks(ids, chunk):
            rows = {r.id: r for r in conn.execute(rows_stmt, {"ids": part})}
            wanted = {r.source_id for r in rows.values() if r.source_id and r.source_id not in sources}
            if wanted:
                sources.update(
                    {sid: (title, day) for sid, title, day in conn.execute(sources_stmt, {"ids": list(wanted)})}
                )
            assist, leaders = queries.names_for(session, part)
            latest = _latest_progress(session, part, department_id=own)
            for tid in part:
                t = rows.get(tid)
                if t is None:
                    continue
                src_title, src_date = sources.get(t.source_id, ("", None))
                status = status_label(t.status, party)
                lit = Light(t.light) if t.light else Light.NONE
                if lit in (Light.RED, Light.YELLOW):
                    status += f"（{light_label(lit.value, due_soon_of(horizon, t.status, t.due_date))}）"
                yield LedgerRow(
                    source=src_title,
                    source_date=src_date,
                    code=t.code,
                    title=t.title,
                    requirement=t.requirement,
                    lead=dept_names.get(t.lead_department_id, ""),
                    assisting=assist.get(tid, []),
                    leaders=leaders.get(tid, []),
                    deadline=t.due_date if t.deadline_kind != DeadlineKind.ONGOING.value else None,
                    deadline_text=_deadline_words(t),
                    item_no=t.item_no,
                    urgency=URGENCY_LABELS.get(Urgency(t.urgency), t.urgency),
                    status=status,
                    progress=latest.get(tid, ""),
                    light=lit.value,
                    source_key=t.source_id,
                    category=t.category if sort == "source" else "",
                )

    return len(ids), generate()


@shared(16)
def _export_rows_select(horizon, pg: bool) -> sa.Select:
    """The ledger's columns for a chunk of ids (parameter ``ids``), built once per day."""

    return select(
        Task.id,
        Task.code,
        Task.title,
        Task.requirement,
        Task.source_id,
        Task.item_no,
        Task.lead_department_id,
        Task.urgency,
        Task.deadline_kind,
        Task.due_date,
        Task.original_due_date,
        Task.deadline_text,
        Task.recurrence,
        Task.status,
        Task.category,
        light(horizon).label("light"),
    ).where(id_in(Task.id, "ids", pg))


@shared()
def _export_sources_select(pg: bool) -> sa.Select:
    return select(Source.id, Source.title, Source.source_date).where(id_in(Source.id, "ids", pg))


@shared(256)
def _ids_by_source(visible: str, shape: tuple, horizon) -> sa.Select:
    """The export's task ids grouped by source (date, then item number), built once per
    visibility and filter shape (``queries.filter_template``), the values bound at execution."""

    return (
        select(Task.id)
        .join(Source, Source.id == Task.source_id, isouter=True)
        .where(visible_template(visible), *queries.filter_template(shape, horizon))
        .order_by(
            Source.source_date.asc().nulls_last(),
            Task.source_id.asc().nulls_last(),
            sa.func.length(Task.item_no),
            Task.item_no,
            Task.id,
        )
    )


def _latest_progress(session: Session, ids: list[int], *, department_id: int | None = None) -> dict[int, str]:
    """Each task's newest progress text. With ``department_id`` (a clerk's export), as
    ``actors.own_part_only``: the newest of all on the tasks it leads, its own newest on those
    it assists."""
    mine = (
        []
        if department_id is None
        else [
            sa.or_(
                ProgressReport.department_id == department_id,
                ProgressReport.task_id.in_(select(Task.id).where(Task.lead_department_id == department_id)),
            )
        ]
    )
    newest = (
        select(ProgressReport.task_id, sa.func.max(ProgressReport.id).label("rid"))
        .where(id_in(ProgressReport.task_id, "ids", is_postgres(session)), *mine)
        .group_by(ProgressReport.task_id)
        .subquery()
    )
    rows = session.connection().execute(
        select(ProgressReport.task_id, ProgressReport.text).join(newest, newest.c.rid == ProgressReport.id),
        {"ids": list(ids)},
    )
    out = {tid: text for tid, text in rows}
    # A closed task's outcome is the lead's closing summary (办结情况), not whoever reported last.
    lead_only = [] if department_id is None else [Task.lead_department_id == department_id]
    closed = (
        select(CloseRequest.task_id, sa.func.max(CloseRequest.id).label("cid"))
        .join(Task, Task.id == CloseRequest.task_id)
        .where(
            id_in(CloseRequest.task_id, "ids", is_postgres(session)),
            CloseRequest.status == RequestStatus.APPROVED.value,
            Task.status == Status.CLOSED.value,
            *lead_only,
        )
        .group_by(CloseRequest.task_id)
        .subquery()
    )
    summaries = session.connection().execute(
        select(CloseRequest.task_id, CloseRequest.summary).join(closed, closed.c.cid == CloseRequest.id),
        {"ids": list(ids)},
    )
    out.update({tid: closing_text(summary) for tid, summary in summaries if summary})
    return out


def _deadline_words(t) -> str:
    """What the 时限要求 cell shows: the deadline as the source worded it, else what the
    deadline is (长期坚持，每月25日前报送): reading the ledger back gives the same task."""
    if t.deadline_text:
        return t.deadline_text
    if t.deadline_kind == DeadlineKind.RECURRING.value:
        return describe_recurrence(t.recurrence) if t.recurrence else ""
    if t.deadline_kind == DeadlineKind.ONGOING.value:
        return "长期坚持" + ("，" + describe_recurrence(t.recurrence) + "报送" if t.recurrence else "")
    return ""


def export_ledger(
    session: Session,
    actor: Actor,
    out,
    f,
    horizon,
    *,
    title: str = "督办台账",
    sort: str = "source",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the standard ledger for the filtered tasks; returns the number of tasks."""

    _total, rows = ledger_rows(session, actor, f, horizon, sort=sort)
    return write_ledger(out, rows, title=title, as_of=clock.today(), progress=progress)


def write_import_template(session: Session, out) -> None:

    departments = list(
        session.exec(
            select(Department.name).where(Department.active.is_(True)).order_by(Department.sort_order, Department.id)
        )
    )
    leaders = list(
        session.exec(select(Leader.name).where(Leader.active.is_(True)).order_by(Leader.sort_order, Leader.id))
    )
    write_template(out, departments=departments, leaders=leaders, urgencies=list(URGENCY_LABELS.values()))
