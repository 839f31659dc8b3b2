"""Read-side queries shared by the pages, the API, the dashboard and the exports.

One query serves a list and its count, so a number shown anywhere opens a
list with exactly that many rows. Visibility (who may see which task) is
applied here, in SQL, never left to the caller.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from dataclasses import fields as dc_fields
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker.db import is_postgres
from tracker.models import (
    Attachment,
    AuditEvent,
    Department,
    Leader,
    ProgressReport,
    Source,
    Task,
    TaskAssist,
    TaskLeader,
)
from tracker.rules.overdue import (
    Horizon,
    Light,
    closed_late,
    deadline_seq,
    derived_columns,
    due_soon_of,
    is_due_soon,
    is_overdue,
    light_filter,
    light_of,
    milestone_missed,
    overdue_workdays_of,
)
from tracker.services.actors import Actor, visible_clause, visible_params, visible_template
from tracker.services.validation import parse_date, search_text, to_int
from tracker.shared_sql import shared
from tracker.sql import contains_pattern, id_in, one_of
from tracker.workflow import Status

SORTS = {
    "due": (Task.due_date.asc().nulls_last(), Task.id.asc()),
    "-due": (Task.due_date.desc().nulls_last(), Task.id.desc()),
    "code": (Task.code.asc(),),
    "-code": (Task.code.desc(),),
    "created": (Task.created_at.asc(), Task.id.asc()),
    "-created": (Task.created_at.desc(), Task.id.desc()),
    "updated": (Task.updated_at.asc(), Task.id.asc()),
    "-updated": (Task.updated_at.desc(), Task.id.desc()),
}
MAX_PER_PAGE = 200
DATE_LABELS = {
    "due_from": "完成时限（起）",
    "due_to": "完成时限（止）",
    "closed_from": "办结日期（起）",
    "closed_to": "办结日期（止）",
}


@dataclass
class TaskFilter:
    """Every filter the lists offer; empty values mean "any"."""

    status: list[str] = field(default_factory=list)
    light: str = ""  # red | yellow | green | none
    overdue: bool = False
    due_soon: bool = False
    department_id: int | None = None  # lead or assisting
    lead_department_id: int | None = None
    leader_id: int | None = None
    source_id: int | None = None
    source_kind: str = ""
    urgency: str = ""
    due_from: date | None = None
    due_to: date | None = None
    closed_from: date | None = None  # closed_on range (the board's "closed this week")
    closed_to: date | None = None
    closed_late: str = ""  # "1" closed late (超期办结), "0" closed on time
    text: str = ""

    @classmethod
    def from_args(cls, args) -> "TaskFilter":
        """Build from request args (a MultiDict or a plain dict): unknown values are ignored, a
        date that is no date (or outside 1900-2100) is BadInput. Control characters never get
        here: the request guard refuses them (tracker/http/guard.py)."""
        get = args.get
        getlist = getattr(args, "getlist", lambda k: [v for v in [args.get(k)] if v])
        out = cls()
        out.status = [s for s in getlist("status") if s in Status.__members__.values()]
        light = get("light") or ""
        out.light = light if light in Light.__members__.values() else ""
        out.overdue = str(get("overdue") or "").lower() in {"1", "true", "on", "yes"}
        out.due_soon = str(get("due_soon") or "").lower() in {"1", "true", "on", "yes"}
        for name in ("department_id", "lead_department_id", "leader_id", "source_id"):
            setattr(out, name, to_int(get(name)))
        out.source_kind = str(get("source_kind") or "")[:30]
        out.urgency = str(get("urgency") or "")[:20]
        out.closed_late = str(get("closed_late") or "") if str(get("closed_late") or "") in {"0", "1"} else ""
        for name in ("due_from", "due_to", "closed_from", "closed_to"):
            setattr(out, name, parse_date(str(get(name) or ""), label=DATE_LABELS[name], field=name))
        out.text = search_text(get("q") or get("text"))
        return out

    def to_args(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dc_fields(self):
            value = getattr(self, f.name)
            if value in (None, "", [], False):
                continue
            key = "q" if f.name == "text" else f.name
            out[key] = value.isoformat() if isinstance(value, date) else (1 if value is True else value)
        return out


def normalise_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def filter_clauses(f: TaskFilter, h: Horizon) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.status:
        where.append(one_of(Task.status, f.status))
    if f.light:
        where.append(light_filter(h, Light(f.light)))
    if f.overdue:
        where.append(is_overdue(h))
    if f.due_soon:
        where.append(is_due_soon(h))
    if f.department_id is not None:
        where.append(
            sa.or_(
                Task.lead_department_id == f.department_id,
                sa.exists().where(TaskAssist.task_id == Task.id, TaskAssist.department_id == f.department_id),
            )
        )
    if f.lead_department_id is not None:
        where.append(Task.lead_department_id == f.lead_department_id)
    if f.leader_id is not None:
        where.append(sa.exists().where(TaskLeader.task_id == Task.id, TaskLeader.leader_id == f.leader_id))
    if f.source_id is not None:
        where.append(Task.source_id == f.source_id)
    if f.source_kind:
        where.append(Task.source_id.in_(select(Source.id).where(Source.kind == f.source_kind)))
    if f.urgency:
        where.append(Task.urgency == f.urgency)
    if f.due_from:
        where.append(Task.due_date >= f.due_from)
    if f.due_to:
        where.append(Task.due_date <= f.due_to)
    if f.closed_from:
        where.append(Task.closed_on >= f.closed_from)
    if f.closed_to:
        where.append(Task.closed_on <= f.closed_to)
    if f.closed_late == "1":
        where.append(closed_late())
    elif f.closed_late == "0":
        where.append(sa.and_(Task.status == Status.CLOSED.value, sa.not_(closed_late())))
    text = normalise_text(f.text)
    if text:
        pattern = contains_pattern(text)
        where.append(
            sa.or_(
                Task.title.ilike(pattern, escape="\\"),
                Task.requirement.ilike(pattern, escape="\\"),
                Task.code.ilike(pattern, escape="\\"),
            )
        )
    return where


@dataclass
class Page:
    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@shared(16)
def task_rows_select(h: Horizon):
    """The columns every task list shows: the task, its lead, source and derived state.

    Cached per horizon (a frozen dataclass): building the derived expressions costs more Python
    time than running the query, and a Select is immutable (``.where()`` returns a new one)."""
    lead = aliased(Department)
    last_report = (
        select(sa.func.max(ProgressReport.created_at))
        .where(ProgressReport.task_id == Task.id)
        .correlate(Task)
        .scalar_subquery()
    )
    return (
        select(
            Task,
            lead.name.label("lead_name"),
            Source.title.label("source_title"),
            Source.kind.label("source_kind"),
            last_report.label("last_report_at"),
            *derived_columns(h),
        )
        .select_from(Task)
        .join(lead, lead.id == Task.lead_department_id, isouter=True)
        .join(Source, Source.id == Task.source_id, isouter=True)
    )


def count_tasks(session: Session, actor: Actor, f: TaskFilter, h: Horizon) -> int:
    return session.scalar(select(sa.func.count()).select_from(Task).where(visible_clause(actor), *filter_clauses(f, h)))


def list_tasks(
    session: Session, actor: Actor, f: TaskFilter, h: Horizon, *, sort: str = "due", page: int = 1, per_page: int = 50
) -> Page:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    where = [visible_clause(actor), *filter_clauses(f, h)]
    stmt = task_rows_select(h).where(*where).order_by(*SORTS.get(sort, SORTS["due"]))
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    if 0 < len(rows) < per_page or (not rows and page == 1):
        total = (page - 1) * per_page + len(rows)  # the last page: the rows tell the total, no count needed
    else:
        total = session.scalar(select(sa.func.count()).select_from(Task).where(*where))
    return Page(rows, total, page, per_page)


# --- the list pages' rows: plain columns from statements built once -------------------------

LIST_COLUMNS = (
    "id",
    "code",
    "title",
    "source_id",
    "item_no",
    "lead_department_id",
    "urgency",
    "deadline_kind",
    "due_date",
    "deadline_text",
    "recurrence",
    "feedback_cycle",
    "status",
)


class ListRow:
    """One task of a list page (the office's list, the clerk's inbox and 本单位事项), read as plain
    columns: loading Task entities cost more Python time per row than running the query.

    It answers what those pages read from a ``task_rows_select`` row: ``row.Task`` is the row
    itself, ``lead_name``, ``source_title``, and the derived ``overdue``, ``overdue_workdays``,
    ``due_soon`` and ``light`` (worked out in Python from ``is_overdue``, ``milestone_missed`` and
    the deadline's calendar seq read in SQL, as derived.py's expressions do)."""

    __slots__ = (*LIST_COLUMNS, "lead_name", "source_title", "overdue", "overdue_workdays", "due_soon", "light")

    def __init__(self, h: Horizon, r) -> None:
        (
            self.id,
            self.code,
            self.title,
            self.source_id,
            self.item_no,
            self.lead_department_id,
            self.urgency,
            self.deadline_kind,
            self.due_date,
            self.deadline_text,
            self.recurrence,
            self.feedback_cycle,
            self.status,
            self.lead_name,
            self.source_title,
            overdue,
            missed_milestone,
            seq,
        ) = r
        self.overdue = bool(overdue)
        self.overdue_workdays = overdue_workdays_of(h, self.overdue, seq)
        self.due_soon = due_soon_of(h, self.status, self.due_date)
        self.light = light_of(h, self.status, self.due_date, self.overdue, bool(missed_milestone))

    @property
    def Task(self) -> "ListRow":  # noqa: N802 - the name task_rows_select rows use
        return self


@shared(16)
def list_rows_select(h: Horizon) -> sa.Select:
    """The columns of a ``ListRow``. Shorter SQL than ``task_rows_select`` (each derived
    expression once): psycopg caches its conversion of a statement only up to 4096 characters."""
    lead = aliased(Department)
    task = Task.__table__.c
    seq = deadline_seq(h) if h.today_seq is not None else sa.null()
    return (
        select(
            *[task[c] for c in LIST_COLUMNS],
            lead.name.label("lead_name"),
            Source.title.label("source_title"),
            is_overdue(h).label("overdue"),
            milestone_missed(h).label("milestone_missed"),
            seq.label("deadline_seq"),
        )
        .select_from(Task)
        .join(lead, lead.id == Task.lead_department_id, isouter=True)
        .join(Source, Source.id == Task.source_id, isouter=True)
    )


def filter_params(f: TaskFilter) -> tuple[tuple, dict[str, Any]]:
    """``filter_clauses`` as a shape (which filters are set) and their values, for
    ``filter_template``: one statement per shape instead of one per request."""
    shape: list = []
    params: dict[str, Any] = {}

    def bind(name: str, value) -> None:
        shape.append(name)
        params[f"f_{name}"] = value

    if f.status:
        bind("status", list(f.status))
    if f.light:
        shape.append(("light", f.light))
    if f.overdue:
        shape.append("overdue")
    if f.due_soon:
        shape.append("due_soon")
    for name in ("department_id", "lead_department_id", "leader_id", "source_id"):
        if getattr(f, name) is not None:
            bind(name, getattr(f, name))
    if f.source_kind:
        bind("source_kind", f.source_kind)
    if f.urgency:
        bind("urgency", f.urgency)
    for name in ("due_from", "due_to", "closed_from", "closed_to"):
        if getattr(f, name):
            bind(name, getattr(f, name))
    if f.closed_late in ("0", "1"):
        shape.append(("closed_late", f.closed_late))
    text = normalise_text(f.text)
    if text:
        bind("text", contains_pattern(text))
    return tuple(shape), params


@shared(512)
def filter_template(shape: tuple, h: Horizon) -> tuple[sa.ColumnElement[bool], ...]:
    """``filter_clauses`` for a ``filter_params`` shape, the values as bound parameters."""
    p = {
        name: sa.bindparam(f"f_{name}")
        for name in (
            "department_id",
            "lead_department_id",
            "leader_id",
            "source_id",
            "source_kind",
            "urgency",
            "due_from",
            "due_to",
            "closed_from",
            "closed_to",
            "text",
        )
    }
    where: list[sa.ColumnElement[bool]] = []
    for item in shape:
        key, value = item if isinstance(item, tuple) else (item, None)
        if key == "status":
            where.append(Task.status.in_(sa.bindparam("f_status", expanding=True)))
        elif key == "light":
            where.append(light_filter(h, Light(value)))
        elif key == "overdue":
            where.append(is_overdue(h))
        elif key == "due_soon":
            where.append(is_due_soon(h))
        elif key == "department_id":
            where.append(
                sa.or_(
                    Task.lead_department_id == p[key],
                    sa.exists().where(TaskAssist.task_id == Task.id, TaskAssist.department_id == p[key]),
                )
            )
        elif key == "lead_department_id":
            where.append(Task.lead_department_id == p[key])
        elif key == "leader_id":
            where.append(sa.exists().where(TaskLeader.task_id == Task.id, TaskLeader.leader_id == p[key]))
        elif key == "source_id":
            where.append(Task.source_id == p[key])
        elif key == "source_kind":
            where.append(Task.source_id.in_(select(Source.id).where(Source.kind == p[key])))
        elif key == "urgency":
            where.append(Task.urgency == p[key])
        elif key == "due_from":
            where.append(Task.due_date >= p[key])
        elif key == "due_to":
            where.append(Task.due_date <= p[key])
        elif key == "closed_from":
            where.append(Task.closed_on >= p[key])
        elif key == "closed_to":
            where.append(Task.closed_on <= p[key])
        elif key == "closed_late":
            where.append(
                closed_late() if value == "1" else sa.and_(Task.status == Status.CLOSED.value, sa.not_(closed_late()))
            )
        elif key == "text":
            where.append(
                sa.or_(
                    Task.title.ilike(p[key], escape="\\"),
                    Task.requirement.ilike(p[key], escape="\\"),
                    Task.code.ilike(p[key], escape="\\"),
                )
            )
    return tuple(where)


@shared(512)
def _list_statements(visible: str, shape: tuple, sort: str, h: Horizon) -> tuple[sa.Select, sa.Select]:
    """A list's rows and count statements, built once per (visibility, filter shape, sort, day)."""
    where = [visible_template(visible), *filter_template(shape, h)]
    rows = (
        list_rows_select(h)
        .where(*where)
        .order_by(*SORTS[sort])
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    return rows, select(sa.func.count()).select_from(Task).where(*where)


def list_task_rows(
    session: Session, actor: Actor, f: TaskFilter, h: Horizon, *, sort: str = "due", page: int = 1, per_page: int = 50
) -> Page:
    """``list_tasks`` for the list pages: the same tasks, total and order, as ``ListRow`` rows,
    from statements built once and run on the session's connection (no ORM loading)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    visible, params = visible_params(actor)
    shape, values = filter_params(f)
    params.update(values)
    rows_stmt, count_stmt = _list_statements(visible, shape, sort if sort in SORTS else "due", h)
    conn = session.connection()
    rows = [
        ListRow(h, r) for r in conn.execute(rows_stmt, {**params, "limit": per_page, "offset": (page - 1) * per_page})
    ]
    if 0 < len(rows) < per_page or (not rows and page == 1):
        total = (page - 1) * per_page + len(rows)  # the last page: the rows tell the total, no count needed
    else:
        total = conn.execute(count_stmt, params).scalar()
    return Page(rows, total, page, per_page)


def list_rows_by_ids(session: Session, h: Horizon, ids: list[int]) -> dict[int, ListRow]:
    """``ListRow`` rows of these tasks (already checked visible by the caller), by id."""
    if not ids:
        return {}
    return {
        r.id: r
        for r in (
            ListRow(h, r)
            for r in session.connection().execute(_list_rows_by_ids(h, is_postgres(session)), {"ids": list(ids)})
        )
    }


@shared(16)
def _list_rows_by_ids(h: Horizon, pg: bool) -> sa.Select:
    return list_rows_select(h).where(id_in(Task.id, "ids", pg))


def task_ids(session: Session, actor: Actor, f: TaskFilter, h: Horizon, sort: str = "due") -> list[int]:
    where = [visible_clause(actor), *filter_clauses(f, h)]
    return list(session.scalars(select(Task.id).where(*where).order_by(*SORTS.get(sort, SORTS["due"]))))


def names_for(session: Session, task_ids_: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Assisting department names and responsible leader names for a page of tasks."""
    assist: dict[int, list[str]] = {i: [] for i in task_ids_}
    leaders: dict[int, list[str]] = {i: [] for i in task_ids_}
    if not task_ids_:
        return assist, leaders
    stmt = _assists_and_leaders_select(is_postgres(session))
    for tid, kind, _id, name in session.connection().execute(stmt, {"ids": list(task_ids_)}):
        (assist if kind == "a" else leaders)[tid].append(name)
    return assist, leaders


@shared()
def _assists_and_leaders_select(pg: bool) -> sa.Select:
    """Built once (a union costs more to build than to run); the ids are one parameter
    (``id_in``: an array on PostgreSQL for the lists' pages of ids)."""
    assist = (
        select(TaskAssist.task_id, sa.literal("a").label("kind"), Department.id, Department.name, Department.sort_order)
        .join(Department, Department.id == TaskAssist.department_id)
        .where(id_in(TaskAssist.task_id, "ids", pg))
    )
    leaders = (
        select(TaskLeader.task_id, sa.literal("l").label("kind"), Leader.id, Leader.name, Leader.sort_order)
        .join(Leader, Leader.id == TaskLeader.leader_id)
        .where(id_in(TaskLeader.task_id, "ids", pg))
    )
    both = sa.union_all(assist, leaders).subquery()
    return select(both.c.task_id, both.c.kind, both.c.id, both.c.name).order_by(
        both.c.kind, both.c.sort_order, both.c.id
    )


def timeline(session: Session, task_id: int, *, only_department: int | None = None) -> list[AuditEvent]:
    """The task's whole history, oldest first (audit events are the single record).

    ``only_department`` (``actors.own_part_only``): of the events about progress reports and
    files, only those about this department's reports and their files, as the task page shows
    an assisting department (an imported report's event carries its text)."""
    stmt = select(AuditEvent).where(AuditEvent.task_id == task_id)
    if only_department is not None:
        own_reports = select(ProgressReport.id).where(
            ProgressReport.task_id == task_id, ProgressReport.department_id == only_department
        )
        own_files = select(Attachment.id).where(Attachment.task_id == task_id, Attachment.report_id.in_(own_reports))
        stmt = stmt.where(
            sa.or_(
                AuditEvent.entity.not_in(("progress_report", "attachment")),
                sa.and_(AuditEvent.entity == "progress_report", AuditEvent.entity_id.in_(own_reports)),
                sa.and_(AuditEvent.entity == "attachment", AuditEvent.entity_id.in_(own_files)),
            )
        )
    return list(session.exec(stmt.order_by(AuditEvent.at, AuditEvent.id)))


def progress_reports(session: Session, task_id: int, *, only_department: int | None = None) -> list[ProgressReport]:
    """The task's progress reports, newest first; ``only_department`` as in ``timeline``."""
    stmt = select(ProgressReport).where(ProgressReport.task_id == task_id)
    if only_department is not None:
        stmt = stmt.where(ProgressReport.department_id == only_department)
    return list(session.exec(stmt.order_by(ProgressReport.created_at.desc(), ProgressReport.id.desc())))


def silent_assisting(session: Session, task_ids_: list[int]) -> dict[int, list[str]]:
    """For each task, its assisting departments that never reported on it (their part is the
    lead's to vouch for; the office is warned before it closes such a task)."""
    if not task_ids_:
        return {}
    reported = sa.exists().where(
        ProgressReport.task_id == TaskAssist.task_id, ProgressReport.department_id == TaskAssist.department_id
    )
    out: dict[int, list[str]] = {}
    for tid, name in session.execute(
        select(TaskAssist.task_id, Department.name)
        .join(Department, Department.id == TaskAssist.department_id)
        .where(TaskAssist.task_id.in_(list(task_ids_)), ~reported)
        .order_by(TaskAssist.task_id, Department.sort_order, Department.id)
    ):
        out.setdefault(tid, []).append(name)
    return out
