"""Read-side queries shared by the pages, the API, the dashboard and the exports.

One query serves a list and its count, so a number shown anywhere opens a
list with exactly that many rows. Visibility (who may see which task) is
applied here, in SQL, never left to the caller.
"""

from __future__ import annotations

import functools

import unicodedata
from dataclasses import dataclass, field, fields as dc_fields
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker.models import (
    AuditEvent,
    Department,
    Leader,
    ProgressReport,
    Source,
    Task,
    TaskAssist,
    TaskLeader,
)
from tracker.services.actors import Actor, visible_clause
from tracker.services.derived import (Horizon, Light, closed_late, derived_columns, is_due_soon, is_overdue,
                                      light_filter)
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
        """Build from request args (a MultiDict or a plain dict); bad values are ignored."""
        get = args.get
        getlist = getattr(args, "getlist", lambda k: [v for v in [args.get(k)] if v])
        out = cls()
        out.status = [s for s in getlist("status") if s in Status.__members__.values()]
        light = get("light") or ""
        out.light = light if light in Light.__members__.values() else ""
        out.overdue = str(get("overdue") or "").lower() in {"1", "true", "on", "yes"}
        out.due_soon = str(get("due_soon") or "").lower() in {"1", "true", "on", "yes"}
        for name in ("department_id", "lead_department_id", "leader_id", "source_id"):
            raw = str(get(name) or "")
            # ids are 32-bit columns: a longer number names no row and would not bind ("²" is a digit int() refuses)
            setattr(out, name, int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None)
        out.source_kind = str(get("source_kind") or "").replace("\x00", "")[:30]
        out.urgency = str(get("urgency") or "").replace("\x00", "")[:20]
        out.closed_late = str(get("closed_late") or "") if str(get("closed_late") or "") in {"0", "1"} else ""
        for name in ("due_from", "due_to", "closed_from", "closed_to"):
            try:
                setattr(out, name, date.fromisoformat(str(get(name) or "")))
            except ValueError:
                setattr(out, name, None)
        out.text = str(get("q") or get("text") or "").replace("\x00", "")[:100]  # PostgreSQL refuses NUL
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


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_clauses(f: TaskFilter, h: Horizon) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.status:
        where.append(Task.status.in_(f.status))
    if f.light:
        where.append(light_filter(h, Light(f.light)))
    if f.overdue:
        where.append(is_overdue(h))
    if f.due_soon:
        where.append(is_due_soon(h))
    if f.department_id is not None:
        where.append(sa.or_(
            Task.lead_department_id == f.department_id,
            sa.exists().where(TaskAssist.task_id == Task.id, TaskAssist.department_id == f.department_id),
        ))
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
        pattern = f"%{_like_escape(text)}%"
        where.append(sa.or_(
            Task.title.ilike(pattern, escape="\\"),
            Task.requirement.ilike(pattern, escape="\\"),
            Task.code.ilike(pattern, escape="\\"),
        ))
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


@functools.lru_cache(maxsize=16)
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


@functools.lru_cache(maxsize=16)
def task_row_select(h: Horizon) -> sa.Select:
    """``task_rows_select`` for one task (parameter ``task_id``), with its Source row (``row.Source``,
    already joined: later ``session.get(Source, …)`` calls cost no statement). The same object
    every time, so SQLAlchemy keeps its cache key instead of walking the derived columns again."""
    return task_rows_select(h).add_columns(Source).where(Task.id == sa.bindparam("task_id"))


def count_tasks(session: Session, actor: Actor, f: TaskFilter, h: Horizon) -> int:
    return session.scalar(
        select(sa.func.count()).select_from(Task).where(visible_clause(actor), *filter_clauses(f, h))
    )


def list_tasks(session: Session, actor: Actor, f: TaskFilter, h: Horizon, *, sort: str = "due",
               page: int = 1, per_page: int = 50) -> Page:
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


def task_ids(session: Session, actor: Actor, f: TaskFilter, h: Horizon, sort: str = "due") -> list[int]:
    where = [visible_clause(actor), *filter_clauses(f, h)]
    return list(session.scalars(select(Task.id).where(*where).order_by(*SORTS.get(sort, SORTS["due"]))))


def names_for(session: Session, task_ids_: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Assisting department names and responsible leader names for a page of tasks."""
    assist: dict[int, list[str]] = {i: [] for i in task_ids_}
    leaders: dict[int, list[str]] = {i: [] for i in task_ids_}
    for tid, kind, _id, name in assists_and_leaders(session, task_ids_):
        (assist if kind == "a" else leaders)[tid].append(name)
    return assist, leaders


@functools.cache
def _assists_and_leaders_select() -> sa.Select:
    """Built once (a union costs more to build than to run); the ids are an expanding parameter."""
    ids = sa.bindparam("ids", expanding=True)
    assist = (select(TaskAssist.task_id, sa.literal("a").label("kind"), Department.id, Department.name,
                     Department.sort_order)
              .join(Department, Department.id == TaskAssist.department_id).where(TaskAssist.task_id.in_(ids)))
    leaders = (select(TaskLeader.task_id, sa.literal("l").label("kind"), Leader.id, Leader.name, Leader.sort_order)
               .join(Leader, Leader.id == TaskLeader.leader_id).where(TaskLeader.task_id.in_(ids)))
    both = sa.union_all(assist, leaders).subquery()
    return (select(both.c.task_id, both.c.kind, both.c.id, both.c.name)
            .order_by(both.c.kind, both.c.sort_order, both.c.id))


def assists_and_leaders(session: Session, task_ids_: list[int]) -> list[tuple[int, str, int, str]]:
    """(task id, "a" or "l", department or leader id, name) in one statement: assisting
    departments, then leaders, each in their sort order."""
    if not task_ids_:
        return []
    return [tuple(r) for r in session.execute(_assists_and_leaders_select(), {"ids": list(task_ids_)})]


def assist_names_for(session: Session, task_ids_: list[int]) -> dict[int, list[str]]:
    """Assisting department names per task (a page that shows no leaders reads none)."""
    assist: dict[int, list[str]] = {i: [] for i in task_ids_}
    if not task_ids_:
        return assist
    for tid, name in session.execute(
        select(TaskAssist.task_id, Department.name).join(Department, Department.id == TaskAssist.department_id)
        .where(TaskAssist.task_id.in_(task_ids_)).order_by(Department.sort_order, Department.id)
    ):
        assist[tid].append(name)
    return assist


def timeline(session: Session, task_id: int) -> list[AuditEvent]:
    """The task's whole history, oldest first (audit events are the single record)."""
    return list(session.exec(select(AuditEvent).where(AuditEvent.task_id == task_id)
                             .order_by(AuditEvent.at, AuditEvent.id)))
