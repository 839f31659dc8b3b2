"""A department clerk's pages: the inbox (待办) in order of urgency, and all tasks of the department.

Visibility is applied in SQL by the shared task queries (``visible_clause``),
so a clerk never sees another department's task, nor a draft.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for
from sqlmodel import Session, select

from tracker.db import get_session, is_postgres
from tracker.http.login import current_actor
from tracker.http.params import page_number
from tracker.models import FEEDBACK_CYCLE_LABELS, CloseRequest, RequestStatus, Role, Task
from tracker.rules.overdue import LIGHT_LABELS, Horizon
from tracker.services.actors import Actor, visible_clause, visible_template
from tracker.services.tasks import queries, recurring
from tracker.services.tasks.queries import TaskFilter
from tracker.shared_sql import shared
from tracker.sql import id_in, one_of
from tracker.web.access import roles_required
from tracker.web.nav import id_url
from tracker.workflow import OPEN, WORKING, Party, Status, status_label

bp = Blueprint("department", __name__, url_prefix="/dept")

SECTION_LIMIT = 100
_open = [s.value for s in OPEN]
_working = [s.value for s in WORKING]


def _sections(session: Session, actor: Actor, base: sa.Select, conditions: list[list]) -> list[tuple[list, int]]:
    """The inbox sections in two statements instead of one (or two) per section.

    Each section is the shared task-list select (``base``) under the actor's visibility and
    the section's conditions, minus tasks already shown in a more urgent section, ordered by
    due date, cut at SECTION_LIMIT, with its total. The first statement reads, for every
    visible task matching any section, its id, due date and which conditions it meets (a
    NULL counts as not met, as in WHERE); the sections are dealt out from those flags in
    Python exactly as the per-section queries did; the second reads the rows shown."""
    rows_by_ids = base.where(id_in(Task.id, "ids", is_postgres(session)))

    def fetch(ids: list[int]) -> dict:
        return {r.Task.id: r for r in session.execute(rows_by_ids, {"ids": ids}).all()}

    return _deal(session, _flags_select(visible_clause(actor), conditions), fetch, len(conditions))


def _flags_select(visible: sa.ColumnElement[bool], conditions: list[list]) -> sa.Select:
    """Each condition once in the SQL (a subquery's columns, then filtered on): psycopg caches
    its conversion of a statement only up to 4096 characters. The subquery is named after the
    table it reads, so the statement still reads ``SELECT task.id, task.due_date, ...``."""
    flags = [sa.and_(*where).label(f"s{i}") for i, where in enumerate(conditions)]
    inner = select(Task.id, Task.due_date, *flags).where(visible).subquery("task")
    return select(inner).where(sa.or_(*[inner.c[f"s{i}"] for i in range(len(conditions))]))


def _deal(session: Session, flags: sa.Select, fetch, n: int, params: dict | None = None) -> list[tuple[list, int]]:
    matches = session.connection().execute(flags, params or {}).all()
    matches.sort(key=lambda r: (r.due_date is None, r.due_date or date.min, r.id))  # due date, nulls last
    seen: set[int] = set()
    picked: list[tuple[list[int], int]] = []
    for i in range(n):
        candidates = [r.id for r in matches if r[2 + i] and r.id not in seen]
        shown = candidates[:SECTION_LIMIT]
        seen.update(shown)
        picked.append((shown, len(candidates)))
    rows = fetch(sorted(seen)) if seen else {}  # ids from the visibility-filtered statement above
    return [([rows[i] for i in shown], total) for shown, total in picked]


@shared(8)
def _inbox_statements(h: Horizon, periods: recurring.PeriodsInForce) -> tuple[sa.Select, int]:
    """The inbox's flags statement for a day, built once per worker for every clerk, the
    department bound at execution (``v_department_id``, as ``visible_template``). Building
    the section conditions costs more Python time than running them: built per clerk, it
    would cost 1.5 ms, and 0.8 ms more for its first execution, for each of 200 clerks in each
    worker, most of it in the first seconds after a start. A Horizon is a frozen
    dataclass, a Select is immutable."""
    department = sa.bindparam("v_department_id", type_=sa.Integer)
    conditions = [where for *_t, where in inbox_specs(department, h, periods)]
    return _flags_select(visible_template("clerk"), conditions), len(conditions)


def returned_clause() -> sa.ColumnElement[bool]:
    """The task's latest close request was returned (退回) and the task is back in progress."""
    latest_status = (
        select(CloseRequest.status)
        .where(CloseRequest.task_id == Task.id)
        .order_by(CloseRequest.id.desc())
        .limit(1)
        .correlate(Task)
        .scalar_subquery()
    )
    return sa.and_(Task.status == Status.IN_PROGRESS.value, latest_status == RequestStatus.REJECTED.value)


def _return_notes(session: Session, task_ids: list[int]) -> dict[int, str]:
    if not task_ids:
        return {}
    notes: dict[int, str] = {}
    for task_id, note in session.execute(
        select(CloseRequest.task_id, CloseRequest.decision_note)
        .where(CloseRequest.task_id.in_(task_ids), CloseRequest.status == RequestStatus.REJECTED.value)
        .order_by(CloseRequest.id.desc())
    ):
        notes.setdefault(task_id, note)
    return notes


SECTIONS = [  # (key, title, hint), most urgent first; a task shows in the first section it belongs to
    ("acknowledge", "待签收", "新交办给本单位牵头的事项，请及时签收"),
    ("returned", "被退回", "办结申请被督查室退回，请按意见补充办理"),
    ("overdue", "已逾期", "已超过完成时限，请尽快办理并反馈"),
    ("report_due", "本期应反馈", "按反馈周期本周（月、季）尚未报送进展"),
    ("assisting", "协办事项", "本单位为协办单位，请向牵头单位报送协办进展"),
]


def inbox_specs(dep, h: Horizon, periods: recurring.PeriodsInForce) -> list[tuple[str, str, str, list]]:
    """The inbox sections with their conditions: (key, title, hint, conditions), as SECTIONS."""
    lead = Task.lead_department_id == dep
    conditions = [
        [Task.status == Status.ASSIGNED.value, lead],
        [lead, returned_clause()],
        [*queries.filter_clauses(TaskFilter(overdue=True), h)],
        [recurring.report_due_clause(dep, periods)] if dep is not None else [sa.false()],
        [one_of(Task.status, _open), Task.lead_department_id != dep],
    ]
    return [(*section, where) for section, where in zip(SECTIONS, conditions)]


@bp.get("/")
@roles_required(Role.CLERK)
def inbox():
    session = get_session()
    actor = current_actor()
    h = Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)
    dep = actor.department_id
    periods = recurring.periods_in_force(session, h.today)
    flags, n = _inbox_statements(h, periods)
    found = _deal(session, flags, lambda ids: queries.list_rows_by_ids(session, h, ids), n, {"v_department_id": dep})
    sections = [
        {"key": key, "title": title, "hint": hint, "rows": rows, "total": total}
        for (key, title, hint), (rows, total) in zip(SECTIONS, found)
    ]
    returned_ids = [r.id for s in sections if s["key"] == "returned" for r in s["rows"]]
    urls = {
        "show": id_url("tasks.show"),
        "acknowledge": id_url("tasks.acknowledge"),
        "inbox": url_for("department.inbox"),
    }
    return render_template(
        "department/inbox.html",
        sections=sections,
        today=h.today,
        urls=urls,
        return_notes=_return_notes(session, returned_ids),
        my_department=dep,
        status_text=lambda s: status_label(s, Party.LEAD),
        cycle_labels=FEEDBACK_CYCLE_LABELS,
        limit=SECTION_LIMIT,
        report_periods=periods,
    )


STATUS_CHOICES = [s for s in Status if s not in (Status.DRAFT, Status.PENDING_APPROVAL)]
SORT_CHOICES = {"due": "按完成时限", "-updated": "按最近更新", "code": "按编号"}


@bp.get("/tasks")
@roles_required(Role.CLERK)
def tasks():
    session = get_session()
    actor = current_actor()
    h = Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)
    f = TaskFilter.from_args(request.args)
    sort = request.args.get("sort", "due")
    sort = sort if sort in SORT_CHOICES else "due"
    page = queries.list_task_rows(
        session, actor, f, h, sort=sort, page=page_number(request.args.get("page")), per_page=50
    )
    ids = [r.id for r in page.rows]
    assist_names, leader_names = queries.names_for(session, ids)
    args = f.to_args()
    if sort != "due":
        args["sort"] = sort
    return render_template(
        "department/tasks.html",
        page=page,
        f=f,
        args=args,
        sort=sort,
        sort_choices=SORT_CHOICES,
        show_url=id_url("tasks.show"),
        assist_names=assist_names,
        leader_names=leader_names,
        my_department=actor.department_id,
        status_choices=[(s.value, status_label(s, Party.LEAD)) for s in STATUS_CHOICES],
        status_text=lambda s: status_label(s, Party.LEAD),
        light_labels=LIGHT_LABELS,
    )
