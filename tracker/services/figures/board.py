"""The dashboard's figures, all computed in SQL under the actor's visibility.

Every number the board shows is the count of a ``TaskFilter`` and comes with
that filter, so the board links each number to the task list built by the same
``queries.count_tasks`` / ``list_tasks`` query: the list has exactly that many
rows. Completion rates count the lead department only (牵头单位计入完成率).
Trend, heat map and week-on-week changes read the nightly ``ScoreSnapshot``
rows (per lead department), the ranking the latest weekly ``Bulletin``, the
agenda's blocked items the week's ``ScheduleItem`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from tracker import clock
from tracker.db import is_postgres
from tracker.models import (
    MEETING_KINDS,
    SOURCE_KIND_LABELS,
    URGENCY_LABELS,
    Bulletin,
    Department,
    Leader,
    LeaderDepartment,
    Role,
    ScheduleItem,
    ScoreSnapshot,
    Source,
    Task,
    TaskAssist,
    TaskLeader,
    WeeklySchedule,
)
from tracker.rules.overdue import Horizon, Light, is_due_soon, is_overdue, is_running, light_counts, milestone_missed_in
from tracker.rules.periods import week_of
from tracker.services.actors import Actor, portfolio_department_ids, visible_clause
from tracker.services.figures import scoring
from tracker.services.tasks import queries
from tracker.services.tasks.queries import TaskFilter
from tracker.shared_sql import shared
from tracker.sql import id_in
from tracker.workflow import OPEN, Status

OPEN_STATUSES = sorted(s.value for s in OPEN)
LIGHTS = (Light.RED.value, Light.YELLOW.value, Light.GREEN.value)


@dataclass(frozen=True)
class BoardFilter:
    """The filters shared by every panel (and kept in the page's URL)."""

    due_from: date | None = None
    due_to: date | None = None
    source_kind: str = ""
    leader_id: int | None = None
    department_id: int | None = None  # the lead department (牵头单位)
    urgency: str = ""

    @classmethod
    def from_args(cls, args) -> "BoardFilter":
        """From URL query args or a dict of control values; anything unreadable means "any"."""
        f = TaskFilter.from_args(
            {
                "due_from": args.get("due_from"),
                "due_to": args.get("due_to"),
                "source_kind": args.get("source_kind"),
                "leader_id": args.get("leader_id"),
                "lead_department_id": args.get("department_id"),
                "urgency": args.get("urgency"),
            }
        )
        return cls(
            f.due_from,
            f.due_to,
            f.source_kind if f.source_kind in SOURCE_KIND_LABELS else "",
            f.leader_id,
            f.lead_department_id,
            f.urgency if f.urgency in URGENCY_LABELS else "",
        )

    def to_args(self) -> dict[str, str]:
        out = {
            "due_from": self.due_from and self.due_from.isoformat(),
            "due_to": self.due_to and self.due_to.isoformat(),
            "source_kind": self.source_kind,
            "leader_id": self.leader_id,
            "department_id": self.department_id,
            "urgency": self.urgency,
        }
        return {k: str(v) for k, v in out.items() if v not in (None, "")}

    def task_filter(self, **extra) -> TaskFilter:
        base = TaskFilter(
            due_from=self.due_from,
            due_to=self.due_to,
            source_kind=self.source_kind,
            leader_id=self.leader_id,
            lead_department_id=self.department_id,
            urgency=self.urgency,
        )
        return replace(base, **extra)


@dataclass
class Figure:
    """One number on the board and the filter whose list it counts."""

    value: int
    filter: TaskFilter

    @property
    def args(self) -> dict:
        return self.filter.to_args()


@shared(1024)
def scope(actor: Actor) -> sa.ColumnElement[bool]:
    """The ids a department or leader may see, as an IN list, ANDed with ``visible_clause``.

    It narrows nothing (visibility implies it) but lets PostgreSQL start from the few
    thousand ids behind the lead/assist (or portfolio/leader) indexes instead of
    testing an OR with EXISTS on every open task.

    The same object for the same actor (a frozen dataclass; SQL elements are immutable):
    building the aliased Task cost more Python time per callback than running it.
    """
    t = aliased(Task)
    if actor.role == Role.CLERK and actor.department_id is not None:
        ids = sa.union(
            select(t.id).where(t.lead_department_id == actor.department_id),
            select(TaskAssist.task_id).where(TaskAssist.department_id == actor.department_id),
        )
    elif actor.role == Role.LEADER and actor.leader_id is not None:
        portfolio = select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == actor.leader_id)
        ids = sa.union(
            select(TaskLeader.task_id).where(TaskLeader.leader_id == actor.leader_id),
            select(t.id).where(t.lead_department_id.in_(portfolio)),
        )
    else:
        return sa.true()
    return Task.id.in_(ids)


def list_url(actor: Actor, f: TaskFilter) -> str:
    """The task list that shows exactly the rows a number counts, for this actor."""
    path = {Role.SUPERVISOR: "/office/tasks", Role.CLERK: "/dept/tasks"}.get(Role(actor.role), "/dashboard/tasks")
    query = urlencode(f.to_args(), doseq=True)
    return f"{path}?{query}" if query else path


def count(session: Session, actor: Actor, f: TaskFilter, h: Horizon) -> Figure:
    return Figure(queries.count_tasks(session, actor, f, h), f)


def count_many(
    session: Session, actor: Actor, filters: list[TaskFilter], h: Horizon, *narrow: sa.ColumnElement[bool]
) -> list[Figure]:
    """Several counts in one pass over the tasks: each is ``count(*) FILTER (WHERE <the
    list's own filter clauses>)`` under the actor's visibility, the very WHERE the
    list's count query uses, so the numbers cannot drift apart. ``narrow`` may add a
    condition every one of the filters implies, to skip rows none of them can count."""
    values = session.execute(count_many_select(actor, filters, h, *narrow)).one()
    return [Figure(int(v), f) for v, f in zip(values, filters)]


def count_many_select(
    actor: Actor, filters: list[TaskFilter], h: Horizon, *narrow: sa.ColumnElement[bool]
) -> sa.Select:
    columns = [sa.func.count().filter(sa.and_(sa.true(), *queries.filter_clauses(f, h))) for f in filters]
    return select(*columns).select_from(Task).where(visible_clause(actor), scope(actor), *narrow)


# --- headline cards ---------------------------------------------------------------


@dataclass
class Cards:
    open: Figure
    overdue: Figure
    due_soon: Figure
    closed_week: Figure
    closed_last_week: Figure
    on_time_week: Figure  # numerator of the rate (lead department only)
    closed_week_lead: Figure  # denominator of the rate
    on_time_last_week: Figure
    closed_last_week_lead: Figure
    last_week: dict[str, int] | None = None  # open/overdue a week ago, from the snapshots

    @staticmethod
    def _rate(num: Figure, den: Figure) -> float | None:
        return round(100.0 * num.value / den.value, 1) if den.value else None

    @property
    def rate(self) -> float | None:
        return self._rate(self.on_time_week, self.closed_week_lead)

    @property
    def rate_last_week(self) -> float | None:
        return self._rate(self.on_time_last_week, self.closed_last_week_lead)


def _lead_only(actor: Actor, bf: BoardFilter) -> dict:
    """Completion rates count the lead department only: a clerk's rate is its own department's as lead."""
    if actor.role == Role.CLERK and actor.department_id is not None:
        return {"lead_department_id": actor.department_id}
    return {}


def cards(session: Session, actor: Actor, bf: BoardFilter, h: Horizon) -> Cards:
    wanted = _card_filters(actor, bf, h)
    values = session.connection().execute(_cards_select(actor, bf, h)).one()
    figures = [Figure(int(v), f) for v, f in zip(values, wanted.values())]
    return Cards(
        **dict(zip(wanted, figures)), last_week=snapshot_totals(session, actor, bf, h.today - timedelta(days=7))
    )


@shared(256)
def _cards_select(actor: Actor, bf: BoardFilter, h: Horizon) -> sa.Select:
    """``count_many`` of the cards, built once per actor, board filter and day (all frozen):
    building nine filters' clauses cost more Python time than the query."""
    monday, _sunday = week_of(h.today)
    # every card counts open tasks or tasks closed since last Monday
    narrow = sa.or_(
        is_running(), sa.and_(Task.status == Status.CLOSED.value, Task.closed_on >= monday - timedelta(days=7))
    )
    return count_many_select(actor, list(_card_filters(actor, bf, h).values()), h, narrow)


def _card_filters(actor: Actor, bf: BoardFilter, h: Horizon) -> dict[str, TaskFilter]:
    monday, _sunday = week_of(h.today)
    last_monday, last_sunday = monday - timedelta(days=7), monday - timedelta(days=1)
    closed = {"status": [Status.CLOSED.value]}
    this_week = {**closed, "closed_from": monday, "closed_to": h.today}
    last_week = {**closed, "closed_from": last_monday, "closed_to": last_sunday}
    lead = _lead_only(actor, bf)
    wanted = {
        "open": {"status": OPEN_STATUSES},
        "overdue": {"overdue": True},
        "due_soon": {"due_soon": True},
        "closed_week": this_week,
        "closed_last_week": last_week,
        "on_time_week": {**this_week, **lead, "closed_late": "0"},
        "closed_week_lead": {**this_week, **lead},
        "on_time_last_week": {**last_week, **lead, "closed_late": "0"},
        "closed_last_week_lead": {**last_week, **lead},
    }
    return {key: bf.task_filter(**kw) for key, kw in wanted.items()}


# --- snapshots: week-on-week change, trend, heat map ---------------------------------


def snapshot_departments(session: Session, actor: Actor, bf: BoardFilter) -> list[int] | None:
    """The departments whose snapshots the actor may read (None: all of them).

    Snapshots are per lead department, so a leader reads the portfolio's departments.
    """
    if actor.role == Role.SUPERVISOR:
        ids = None
    elif actor.role == Role.CLERK:
        ids = [actor.department_id] if actor.department_id is not None else []
    elif actor.role == Role.LEADER and actor.leader_id is not None:
        ids = portfolio_department_ids(session, actor.leader_id)
    else:
        ids = []
    if bf.department_id is not None:
        ids = [bf.department_id] if ids is None or bf.department_id in ids else []
    if bf.leader_id is not None:
        theirs = portfolio_department_ids(session, bf.leader_id)
        ids = theirs if ids is None else [i for i in ids if i in theirs]
    return ids


def snapshot_totals(session: Session, actor: Actor, bf: BoardFilter, day: date) -> dict[str, int] | None:
    """Open and overdue counts on the latest snapshot day on or before ``day`` (None: no snapshot)."""
    ids = snapshot_departments(session, actor, bf)
    params = {"day": day, "since": day - timedelta(days=7)}
    if ids is not None:
        params["ids"] = ids or [-1]
    stmt = _snapshot_totals_select(ids is not None, is_postgres(session))
    latest, open_, overdue = session.connection().execute(stmt, params).one()
    if latest is None:
        return None
    return {"open": int(open_), "overdue": int(overdue), "day": latest}


@shared()
def _snapshot_totals_select(by_department: bool, pg: bool) -> sa.Select:
    """The latest snapshot day in the week up to ``day`` and its sums, in one statement built once."""
    latest = (
        select(sa.func.max(ScoreSnapshot.day))
        .where(
            ScoreSnapshot.day <= sa.bindparam("day", type_=sa.Date),
            ScoreSnapshot.day > sa.bindparam("since", type_=sa.Date),
        )
        .scalar_subquery()
    )
    where = [id_in(ScoreSnapshot.department_id, "ids", pg)] if by_department else []
    return select(
        latest,
        sa.func.coalesce(sa.func.sum(ScoreSnapshot.open_count), 0),
        sa.func.coalesce(sa.func.sum(ScoreSnapshot.overdue_count), 0),
    ).where(ScoreSnapshot.day == latest, *where)


def _week_case(column, mondays: list[date]) -> sa.ColumnElement[int]:
    """The index of the week (0 = oldest) a date falls in, as a portable CASE."""
    return sa.case(*[(column >= m, i) for i, m in reversed(list(enumerate(mondays)))], else_=-1)


@dataclass
class TrendWeek:
    week_start: date
    open: int | None
    overdue: int | None
    closed: int | None  # closed during the week


_READ = object()  # "read snapshot_departments": a caller that has them passes them instead


def weekly_trend(
    session: Session, actor: Actor, bf: BoardFilter, today: date, weeks: int = 26, *, departments=_READ
) -> list[TrendWeek]:
    """Open, overdue and closed per week from the snapshots (``scoring.weekly_trend``),
    over the departments the actor may read (``departments``: ``snapshot_departments`` already read)."""

    if departments is _READ:
        departments = snapshot_departments(session, actor, bf)
    rows = scoring.weekly_trend(session, weeks=weeks, department_ids=departments, today=today)
    return [TrendWeek(r["week_start"], r["open"], r["overdue"], r["closed"]) for r in rows]


@dataclass
class HeatMap:
    departments: list[tuple[int, str]]
    week_starts: list[date]
    values: list[list[int]]  # [department][week]: overdue task-days


def overdue_heatmap(
    session: Session, actor: Actor, bf: BoardFilter, today: date, weeks: int = 12, limit: int = 30, *, departments=_READ
) -> HeatMap:
    """Overdue task-days per lead department and week: the sum over the week's snapshot
    days of the department's overdue tasks, grouped in SQL."""
    monday, _ = week_of(today)
    mondays = [monday - timedelta(days=7 * (weeks - 1 - i)) for i in range(weeks)]
    if departments is _READ:
        departments = snapshot_departments(session, actor, bf)
    params = {} if departments is None else {"ids": departments or [-1]}
    stmt = _heatmap_select(tuple(mondays), today, departments is not None, is_postgres(session))
    rows = session.connection().execute(stmt, params).all()
    per_dep: dict[int, list[int]] = {}
    for dep, w, n in rows:
        if 0 <= w < weeks:
            per_dep.setdefault(dep, [0] * weeks)[w] = int(n or 0)
    ranked = sorted(per_dep, key=lambda d: -sum(per_dep[d]))[:limit]
    names = dict(_names(session, (Department.id, Department.name), ranked))
    return HeatMap([(d, names.get(d, str(d))) for d in ranked], mondays, [per_dep[d] for d in ranked])


@shared(16)
def _heatmap_select(mondays: tuple[date, ...], today: date, by_department: bool, pg: bool) -> sa.Select:
    """The heat map's grouped sums, built once per day (the weeks' CASE cost more to build than
    to run); the departments are the parameter ``ids``."""
    where = [id_in(ScoreSnapshot.department_id, "ids", pg)] if by_department else []
    week = _week_case(ScoreSnapshot.day, list(mondays)).label("week")
    inner = (
        select(ScoreSnapshot.department_id.label("dep"), week, ScoreSnapshot.overdue_count.label("n"))
        .where(ScoreSnapshot.day >= mondays[0], ScoreSnapshot.day <= today, *where)
        .subquery()
    )
    return select(inner.c.dep, inner.c.week, sa.func.sum(inner.c.n)).group_by(inner.c.dep, inner.c.week)


# --- bars by department, leader, source kind, meeting ---------------------------------


@dataclass
class Bar:
    key: int | str
    label: str
    counts: dict[str, Figure] = field(default_factory=dict)  # light -> figure

    @property
    def total(self) -> int:
        return sum(f.value for f in self.counts.values())


def _by_light(session: Session, actor: Actor, bf: BoardFilter, h: Horizon, grouping: str) -> dict:
    """Running tasks per group (``_GROUPINGS``) and light colour, from a statement built once
    per actor, board filter, day and grouping (``_by_light_select``)."""
    out: dict = {}
    for g, *values in session.connection().execute(_by_light_select(actor, bf, h, grouping)):
        if g is not None:
            out[g] = dict(zip(LIGHTS, values))
    return out


def _grouping(name: str):
    """(group column, extra conditions, joins) of a bar chart."""
    if name == "department":
        return Task.lead_department_id, (), ()
    if name == "leader":
        tl = aliased(TaskLeader)  # the visibility and filter clauses have their own TaskLeader subqueries
        return tl.leader_id, (), [(tl, tl.task_id == Task.id)]
    if name == "source_kind":
        return Source.kind, (), [(Source, Source.id == Task.source_id)]
    if name == "meeting":
        return (
            Task.source_id,
            (Source.kind.in_([k.value for k in MEETING_KINDS]),),
            [(Source, Source.id == Task.source_id)],
        )
    raise ValueError(name)


@shared(256)
def _by_light_select(actor: Actor, bf: BoardFilter, h: Horizon, grouping: str) -> sa.Select:
    """Running tasks per group and light colour in one pass.

    The inner query computes each task's overdue / due-soon / milestone-missed flags
    once (``tracker.rules.overdue``); the outer one counts them per colour
    (``light_counts``), grouped by a plain column so 40 groups are hashed instead of
    50,000 CASE values sorted.
    """
    group_col, joins_where, joins = _grouping(grouping)
    stmt = select(
        group_col.label("g"),
        is_overdue(h).label("red"),
        is_due_soon(h).label("soon"),
        milestone_missed_in(h).label("mm"),
    ).select_from(Task)
    for target, onclause in joins:
        stmt = stmt.join(target, onclause)
    inner = stmt.where(
        visible_clause(actor), scope(actor), is_running(), *queries.filter_clauses(bf.task_filter(), h), *joins_where
    )
    # OFFSET 0 keeps the subquery a subquery: flattened, PostgreSQL would evaluate each
    # flag (and its EXISTS) once per colour that mentions it, twice as slow
    inner = inner.offset(0).subquery()
    return select(inner.c.g, *light_counts(inner.c.red, inner.c.soon, inner.c.mm)).group_by(inner.c.g)


@shared()
def _names_select(pg: bool, *columns) -> sa.Select:
    """(id, name...) of the rows whose ids are the parameter ``ids``: built once."""
    return select(*columns).where(id_in(columns[0], "ids", pg))


def _names(session: Session, columns: tuple, ids: list) -> list:
    return session.connection().execute(_names_select(is_postgres(session), *columns), {"ids": ids or [-1]}).all()


def _bars(bf: BoardFilter, grouped: dict, labels: dict, filter_key: str, limit: int) -> list[Bar]:
    bars = []
    for key, per_light in grouped.items():
        bar = Bar(key, labels.get(key, str(key)))
        for lt in LIGHTS:
            bar.counts[lt] = Figure(per_light.get(lt, 0), bf.task_filter(**{filter_key: key, "light": lt}))
        bars.append(bar)
    bars.sort(key=lambda b: (-b.counts[Light.RED.value].value, -b.total, str(b.label)))
    return bars[:limit]


def bars_by_department(session: Session, actor: Actor, bf: BoardFilter, h: Horizon, limit: int = 40) -> list[Bar]:
    grouped = _by_light(session, actor, bf, h, "department")
    names = dict(_names(session, (Department.id, Department.name), list(grouped)))
    return _bars(bf, grouped, names, "lead_department_id", limit)


def bars_by_leader(session: Session, actor: Actor, bf: BoardFilter, h: Horizon, limit: int = 40) -> list[Bar]:
    grouped = _by_light(session, actor, bf, h, "leader")
    names = dict(_names(session, (Leader.id, Leader.name), list(grouped)))
    return _bars(bf, grouped, names, "leader_id", limit)


def bars_by_source_kind(session: Session, actor: Actor, bf: BoardFilter, h: Horizon) -> list[Bar]:
    grouped = _by_light(session, actor, bf, h, "source_kind")
    return _bars(bf, grouped, {k.value: v for k, v in SOURCE_KIND_LABELS.items()}, "source_kind", 20)


def bars_by_meeting(session: Session, actor: Actor, bf: BoardFilter, h: Horizon, limit: int = 15) -> list[Bar]:
    grouped = _by_light(session, actor, bf, h, "meeting")
    top = sorted(grouped, key=lambda k: (-grouped[k].get(Light.RED.value, 0), -sum(grouped[k].values())))[:limit]
    grouped = {k: grouped[k] for k in top}
    names = {i: f"{t}（{d:%m-%d}）" for i, t, d in _names(session, (Source.id, Source.title, Source.source_date), top)}
    return _bars(bf, grouped, names, "source_id", limit)


# --- the overdue grid ----------------------------------------------------------------


GRID_SORTS = {
    # more working days late = an earlier due date, so these sort on the indexed column
    "-overdue_workdays": (Task.due_date.asc().nulls_last(), Task.id.asc()),
    "overdue_workdays": (Task.due_date.desc().nulls_last(), Task.id.desc()),
    "due_date": (Task.due_date.asc().nulls_last(), Task.id.asc()),
    "-due_date": (Task.due_date.desc().nulls_last(), Task.id.desc()),
    "code": (Task.code.asc(),),
    "-code": (Task.code.desc(),),
}


@dataclass
class GridPage:
    rows: list[dict]
    total: int


def overdue_filter(bf: BoardFilter, text: str = "") -> TaskFilter:
    return bf.task_filter(overdue=True, text=text)


@shared(256)
def _grid_statements(actor: Actor, shape: tuple, sort: str, h: Horizon) -> tuple[sa.Select, sa.Select]:
    """The grid's page of ids (with the total) and its count, built once per actor, filter
    shape (``queries.filter_template``: the grid's text and the board filter bound per call),
    sort and day."""
    where = [visible_clause(actor), scope(actor), *queries.filter_template(shape, h)]
    page = (
        select(Task.id, sa.func.count().over().label("total"))
        .where(*where)
        .order_by(*GRID_SORTS[sort])
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    return page, select(sa.func.count()).select_from(Task).where(*where)


@shared(64)
def _grid_rows_select(h: Horizon, sort: str, pg: bool) -> sa.Select:
    """The grid's columns for a page of ids (parameter ``ids``), plain rows: what
    ``task_rows_select`` gave the grid, without loading Task entities."""
    base = queries.task_rows_select(h)
    wanted = ("id", "code", "title", "due_date", "urgency")
    columns = [Task.__table__.c[name] for name in wanted] + [
        base.selected_columns[name]
        for name in ("lead_name", "source_title", "source_kind", "last_report_at", "overdue_workdays")
    ]
    return base.with_only_columns(*columns).where(id_in(Task.id, "ids", pg)).order_by(*GRID_SORTS[sort])


def overdue_rows(
    session: Session,
    actor: Actor,
    bf: BoardFilter,
    h: Horizon,
    *,
    start: int = 0,
    end: int = 100,
    sort: str = "-overdue_workdays",
    text: str = "",
) -> GridPage:
    """One block of the overdue list, most overdue first, paged in SQL for the grid."""
    shape, params = queries.filter_params(overdue_filter(bf, text))
    size = max(1, min(end - start, 500))
    sort = sort if sort in GRID_SORTS else "-overdue_workdays"
    page_stmt, count_stmt = _grid_statements(actor, shape, sort, h)
    conn = session.connection()
    # the page's ids and the total in one scan of the task table alone (PostgreSQL would
    # otherwise join every overdue task to its department and source before keeping 50),
    # then the page's rows
    page = conn.execute(page_stmt, {**params, "limit": size, "offset": max(0, start)}).all()
    ids = [r.id for r in page]
    total = page[0].total if page else conn.execute(count_stmt, params).scalar()
    rows = conn.execute(_grid_rows_select(h, sort, is_postgres(session)), {"ids": ids}).all() if ids else []
    ids = [r.id for r in rows]
    _assist, leaders = queries.names_for(session, ids)
    out = []
    for r in rows:
        last = r.last_report_at
        out.append(
            {
                "id": r.id,
                "row_id": str(r.id),  # the grid's row id: AG Grid wants a string (its warning #25)
                "code": r.code,
                "title": r.title,
                "overdue_workdays": int(r.overdue_workdays or 0),
                "due_date": r.due_date.isoformat() if r.due_date else "",
                "lead": r.lead_name or "",
                "leaders": "、".join(leaders.get(r.id, [])),
                "source": r.source_title or "",
                "source_kind": SOURCE_KIND_LABELS.get(r.source_kind, r.source_kind or ""),
                "urgency": URGENCY_LABELS.get(r.urgency, r.urgency),
                "last_report": clock.local_date(last).isoformat() if last else "",  # China's date, not UTC's
            }
        )
    return GridPage(out, total)


# --- this week's schedule and the bulletin ranking --------------------------------------


@dataclass
class Schedule:
    week_start: date
    due_this_week: Figure
    due_rows: list
    blocked: list[dict]


@shared()
def _week_schedule_select() -> sa.Select:
    return (
        select(WeeklySchedule.id)
        .where(WeeklySchedule.iso_year == sa.bindparam("year"), WeeklySchedule.iso_week == sa.bindparam("week"))
        .limit(1)
    )


@shared(256)
def _blocked_select(actor: Actor, bf: BoardFilter, h: Horizon) -> sa.Select:
    """The week's blocked items under the actor's visibility and the board filter, built once
    per actor, filter and day (the schedule and the limit are parameters)."""
    return (
        select(ScheduleItem, Task.code, Task.title, Department.name.label("lead"))
        .join(Task, Task.id == ScheduleItem.task_id)
        .join(Department, Department.id == Task.lead_department_id, isouter=True)
        .where(
            ScheduleItem.schedule_id == sa.bindparam("schedule_id"),
            ScheduleItem.section == "blocked",
            visible_clause(actor),
            *queries.filter_clauses(bf.task_filter(), h),
        )
        .order_by(ScheduleItem.on_agenda.desc(), ScheduleItem.agenda_order, ScheduleItem.id)
        .limit(sa.bindparam("limit"))
    )


def schedule(session: Session, actor: Actor, bf: BoardFilter, h: Horizon, limit: int = 30) -> Schedule:
    """Open tasks due this week, and the week's blocked items for the 调度会 agenda (004 §30, §47)."""
    monday, sunday = week_of(h.today)
    f = bf.task_filter(
        status=OPEN_STATUSES, due_from=max(monday, bf.due_from or monday), due_to=min(sunday, bf.due_to or sunday)
    )
    page = queries.list_task_rows(session, actor, f, h, sort="due", per_page=limit)
    iso = h.today.isocalendar()
    conn = session.connection()
    sched_id = conn.execute(_week_schedule_select(), {"year": iso.year, "week": iso.week}).scalar()
    blocked: list[dict] = []
    if sched_id is not None:
        for item, code, title, lead in session.execute(
            _blocked_select(actor, bf, h), {"schedule_id": sched_id, "limit": limit}
        ):
            blocked.append(
                {
                    "task_id": item.task_id,
                    "code": code,
                    "title": title,
                    "lead": lead or "",
                    "category": item.category,
                    "detail": item.detail,
                    "on_agenda": item.on_agenda,
                    "proposal": item.proposal,
                }
            )
    return Schedule(monday, Figure(page.total, f), page.rows, blocked)


@dataclass
class Ranking:
    period: str
    rows: list[dict]


def latest_ranking(session: Session) -> Ranking | None:
    """The department ranking of the latest weekly bulletin (a published notice: everyone may read it)."""
    b = session.exec(
        select(Bulletin)
        .where(Bulletin.kind == "week")
        .order_by(Bulletin.period_end.desc(), Bulletin.id.desc())
        .limit(1)
    ).first()
    if b is None or not isinstance(b.data, dict):
        return None
    rows = b.data.get("ranking") or []
    return Ranking(b.period, [r for r in rows if isinstance(r, dict)])


# --- filter choices ------------------------------------------------------------------


def choices(session: Session, actor: Actor) -> dict[str, list[tuple]]:
    """Departments and leaders the actor may filter by (only their own scope)."""
    deps = select(Department.id, Department.name).where(Department.active.is_(True))
    leaders = select(Leader.id, Leader.name).where(Leader.active.is_(True))
    if actor.role == Role.CLERK:
        deps = deps.where(Department.id == (actor.department_id or -1))
    elif actor.role == Role.LEADER:
        deps = deps.where(
            Department.id.in_(
                select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == (actor.leader_id or -1))
            )
        )
        leaders = leaders.where(Leader.id == (actor.leader_id or -1))
    elif actor.role != Role.SUPERVISOR:
        deps, leaders = deps.where(sa.false()), leaders.where(sa.false())
    return {
        "departments": list(session.execute(deps.order_by(Department.sort_order, Department.id)).all()),
        "leaders": list(session.execute(leaders.order_by(Leader.sort_order, Leader.id)).all()),
        "source_kinds": [(k.value, v) for k, v in SOURCE_KIND_LABELS.items()],
        "urgencies": [(k.value, v) for k, v in URGENCY_LABELS.items()],
    }
