"""Derived state as SQL: overdue (逾期), days overdue, due soon, closed late, light.

Nothing here is stored on the task, so nothing can go stale. "Today" and the
due-soon boundary are computed once in Python from the working-day calendar
and bound as parameters; working days overdue come from ``calendarday.seq``
(a running count of working days), so a list of 100k tasks filters and sorts
on these expressions inside the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.calendar import TABLE_END, TABLE_START
from tracker.models import CalendarDay, DeadlineKind, Milestone, MotionStep, ReportDue, Task
from tracker.services.calendar import calendar_and_seq
from tracker.shared_sql import shared
from tracker.sql import one_of
from tracker.workflow import RUNNING, Status


class Light(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    NONE = "none"  # drafts, closed, suspended and cancelled tasks


LIGHT_LABELS = {Light.RED: "逾期", Light.YELLOW: "临期", Light.GREEN: "正常", Light.NONE: "—"}


@dataclass(frozen=True)
class Horizon:
    """The dates every derived expression is relative to."""

    today: date
    soon_until: date  # due on or before this (and not overdue) is yellow
    today_seq: int | None  # calendarday.seq of today, None outside the table

    @classmethod
    def build(cls, session: Session, soon_workdays: int = 3, today: date | None = None) -> "Horizon":
        today = today or clock.today()
        cal, seq = calendar_and_seq(session, today)  # one statement when the calendar is cached
        soon = cal.add_workdays(today, soon_workdays).value
        return cls(today, soon, seq if TABLE_START <= today <= TABLE_END else None)


_running = [s.value for s in RUNNING]
_running_set = frozenset(_running)

# The expressions below depend only on their arguments (a Horizon is a frozen dataclass of
# dates) and SQLAlchemy elements are immutable, so each is built once per horizon and shared:
# building them cost more Python time than running the queries (the dashboard's cards build
# nine filters a request). A new day brings a new Horizon, so the caches stay small.
_cached = shared(64)


@_cached
def is_running() -> sa.ColumnElement[bool]:
    return one_of(Task.status, _running)


@_cached
def report_missed(h: Horizon) -> sa.ColumnElement[bool]:
    """A periodic report (ReportDue, services/recurring.py) past its date and still missing."""
    return sa.exists().where(
        ReportDue.task_id == Task.id, ReportDue.met_on.is_(None), ReportDue.due_date < h.today
    )


@_cached
def step_missed(h: Horizon) -> sa.ColumnElement[bool]:
    """A motion's handling step (协办意见, 面商, services/motions.py) past its date and not done."""
    return sa.exists().where(
        MotionStep.task_id == Task.id, MotionStep.done_on.is_(None), MotionStep.due_date < h.today
    )


@_cached
def is_overdue(h: Horizon) -> sa.ColumnElement[bool]:
    """Open, and a deadline has passed: the fixed due date, or for a recurring or
    ongoing task (which has none) a periodic report not made in time, or a motion's
    handling step missed."""
    return sa.and_(
        is_running(),
        sa.or_(
            step_missed(h),
            sa.and_(
                Task.deadline_kind == DeadlineKind.DATE.value,
                Task.due_date.is_not(None),
                Task.due_date < h.today,
            ),
            sa.and_(Task.deadline_kind != DeadlineKind.DATE.value, report_missed(h)),
        ),
    )


@_cached
def _deadline(h: Horizon) -> sa.ColumnElement:
    """The deadline overdue days count from: the due date, the earliest missed report,
    or (a motion whose due date is still ahead) its earliest missed step."""
    first_missed = (
        select(sa.func.min(ReportDue.due_date))
        .where(ReportDue.task_id == Task.id, ReportDue.met_on.is_(None))
        .correlate(Task)  # two levels down (inside deadline_seq): auto-correlation stops at one
        .scalar_subquery()
    )
    first_step = (
        select(sa.func.min(MotionStep.due_date))
        .where(MotionStep.task_id == Task.id, MotionStep.done_on.is_(None), MotionStep.due_date < h.today)
        .correlate(Task)
        .scalar_subquery()
    )
    return sa.case(
        (sa.and_(Task.deadline_kind == DeadlineKind.DATE.value, Task.due_date >= h.today), first_step),
        (Task.deadline_kind == DeadlineKind.DATE.value, Task.due_date),
        else_=first_missed,
    )


@_cached
def is_due_soon(h: Horizon) -> sa.ColumnElement[bool]:
    return sa.and_(
        is_running(),
        Task.due_date.is_not(None),
        Task.due_date >= h.today,
        Task.due_date <= h.soon_until,
    )


@_cached
def milestone_missed(h: Horizon) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        Milestone.task_id == Task.id, Milestone.done_on.is_(None), Milestone.due_date < h.today
    )


@_cached
def overdue_workdays(h: Horizon) -> sa.ColumnElement[int]:
    """Working days past the due date (0 when not overdue)."""
    if h.today_seq is None:
        return sa.literal(0)
    return sa.case((is_overdue(h), sa.func.coalesce(h.today_seq - deadline_seq(h), 0)), else_=0)


@_cached
def deadline_seq(h: Horizon) -> sa.ScalarSelect:
    """``calendarday.seq`` of the deadline overdue days count from (NULL outside the table)."""
    return select(CalendarDay.seq).where(CalendarDay.day == _deadline(h)).scalar_subquery()


@_cached
def closed_late() -> sa.ColumnElement[bool]:
    """超期办结: closed after the (possibly extended) due date, kept for scoring."""
    return sa.and_(
        Task.status == Status.CLOSED.value,
        Task.due_date.is_not(None),
        Task.closed_on > Task.due_date,
    )


@_cached
def light(h: Horizon) -> sa.ColumnElement[str]:
    return sa.case(
        (sa.not_(is_running()), Light.NONE.value),
        (is_overdue(h), Light.RED.value),
        (sa.or_(is_due_soon(h), milestone_missed(h)), Light.YELLOW.value),
        else_=Light.GREEN.value,
    )


def light_of(h: Horizon, status: str, due_date: date | None, overdue: bool, missed_milestone: bool) -> str:
    """``light(h)`` in Python, for a row that already has ``is_overdue`` and ``milestone_missed``
    from SQL: the lists then send each of those expressions to the database once, not three times."""
    if status not in _running_set:
        return Light.NONE.value
    if overdue:
        return Light.RED.value
    if due_soon_of(h, status, due_date) or missed_milestone:
        return Light.YELLOW.value
    return Light.GREEN.value


def due_soon_of(h: Horizon, status: str, due_date: date | None) -> bool:
    """``is_due_soon(h)`` in Python (it reads only the row's own columns)."""
    return status in _running_set and due_date is not None and h.today <= due_date <= h.soon_until


def overdue_workdays_of(h: Horizon, overdue: bool, deadline_seq_: int | None) -> int:
    """``overdue_workdays(h)`` in Python, from ``deadline_seq(h)`` read in SQL."""
    if h.today_seq is None or not overdue or deadline_seq_ is None:
        return 0
    return h.today_seq - deadline_seq_


@_cached
def light_filter(h: Horizon, value: Light) -> sa.ColumnElement[bool]:
    """A WHERE clause for one light colour (cheaper than comparing the CASE)."""
    if value == Light.RED:
        return is_overdue(h)
    if value == Light.YELLOW:
        return sa.and_(sa.not_(is_overdue(h)), sa.or_(is_due_soon(h), sa.and_(is_running(), milestone_missed(h))))
    if value == Light.GREEN:
        return sa.and_(is_running(), sa.not_(is_overdue(h)), sa.not_(is_due_soon(h)), sa.not_(milestone_missed(h)))
    return sa.not_(is_running())


@_cached
def derived_columns(h: Horizon):
    """Labelled columns to add to a task query."""
    return (
        is_overdue(h).label("overdue"),
        overdue_workdays(h).label("overdue_workdays"),
        is_due_soon(h).label("due_soon"),
        closed_late().label("closed_late"),
        light(h).label("light"),
    )


def count_by_light(session: Session, h: Horizon, *where: sa.ColumnElement[bool]) -> dict[str, int]:
    """Tasks per light colour in one query (grouped over a subquery so PostgreSQL
    sees one expression, not two copies with different bind parameters)."""
    inner = select(light(h).label("light")).select_from(Task).where(*where).subquery()
    rows = session.execute(select(inner.c.light, sa.func.count()).group_by(inner.c.light)).all()
    return {Light(k).value: n for k, n in rows}
