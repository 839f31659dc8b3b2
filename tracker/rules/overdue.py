"""Overdue (逾期), days overdue, due soon (临期), closed late, the traffic light.

The one home of these rules. Each is a SQL expression over ``task`` (lists, the
board, exports and jobs filter and sort on them inside the database) with its
Python twin beside it (``state_of``), held together by tests/test_rules_overdue.py.

- A deadline runs in ``RUNNING`` statuses only (交办 to 待审核): drafts, suspended,
  closed and cancelled tasks are never overdue. Reminders and the escalation
  ladder chase only ``CHASED`` statuses: while a close request awaits the office's
  review (待审核) the department holds nothing to chase, though the task still
  shows red on the board if its deadline passed.
- The deadline is the due date of a dated task; a recurring or ongoing task (长期
  坚持, 每月25日前报送) has none, so its deadline is its earliest periodic report
  not made (``ReportDue``); a motion (建议/提案) is also late when a handling step
  (协办意见, 面商) is past its date, counted from that step while its own due date
  is ahead. Overdue is derived from the deadline and today, never stored
  (000 §65 "有安排、有落实、有反馈"; 004 §30 节点管理).
- Due soon: running, a due date from today to ``soon_workdays`` working days
  ahead (the office's setting ``TRACKER_DUE_SOON_WORKDAYS``).
- The light: red overdue; yellow due soon or a milestone missed; green otherwise.
  Yellow has two causes, so its label says which (``light_label``).

Nothing here is stored on the task, so nothing can go stale. "Today" and the
due-soon boundary are computed once in Python from the working-day calendar
and bound as parameters; working days overdue come from ``calendarday.seq``
(a running count of working days), so a list of 100k tasks filters and sorts
on these expressions inside the database.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from tracker.workflow import OPEN, Status

# Statuses in which a deadline runs: only these can be overdue or due soon.
RUNNING: frozenset[Status] = OPEN
# Statuses in which the department holds the ball: reminders and the ladder chase these.
CHASED: frozenset[Status] = RUNNING - {Status.PENDING_REVIEW}
# The same as sorted values, for SQL ``IN`` lists (sorted: one statement text in every process).
RUNNING_VALUES: tuple[str, ...] = tuple(sorted(s.value for s in RUNNING))
CHASED_VALUES: tuple[str, ...] = tuple(sorted(s.value for s in CHASED))


class Light(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    NONE = "none"  # drafts, closed, suspended and cancelled tasks


# A light as a category (filters, charts): yellow has two causes, so it names both.
LIGHT_LABELS = {Light.RED: "逾期", Light.YELLOW: "临期或节点滞后", Light.GREEN: "正常", Light.NONE: "—"}
DUE_SOON_LABEL = "临期"
# Yellow for a missed milestone while the due date is still beyond the due-soon window.
MILESTONE_LATE_LABEL = "节点滞后"


def light_label(light: str, due_soon: bool) -> str:
    """The words for a task's light: a yellow light that is not due soon is a missed milestone."""
    if light == Light.YELLOW.value:
        return DUE_SOON_LABEL if due_soon else MILESTONE_LATE_LABEL
    return LIGHT_LABELS[Light(light)]


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


_running = list(RUNNING_VALUES)
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
    return sa.exists().where(ReportDue.task_id == Task.id, ReportDue.met_on.is_(None), ReportDue.due_date < h.today)


@_cached
def step_missed(h: Horizon) -> sa.ColumnElement[bool]:
    """A motion's handling step (协办意见, 面商, services/motions/handling.py) past its date and not done."""
    return sa.exists().where(MotionStep.task_id == Task.id, MotionStep.done_on.is_(None), MotionStep.due_date < h.today)


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


def _first_missed_report(h: Horizon) -> sa.ScalarSelect:
    return (
        select(sa.func.min(ReportDue.due_date))
        .where(ReportDue.task_id == Task.id, ReportDue.met_on.is_(None), ReportDue.due_date < h.today)
        .correlate(Task)  # two levels down (inside deadline_seq): auto-correlation stops at one
        .scalar_subquery()
    )


def _first_missed_step(h: Horizon) -> sa.ScalarSelect:
    return (
        select(sa.func.min(MotionStep.due_date))
        .where(MotionStep.task_id == Task.id, MotionStep.done_on.is_(None), MotionStep.due_date < h.today)
        .correlate(Task)
        .scalar_subquery()
    )


def _dated_but_not_due(h: Horizon) -> sa.ColumnElement[bool]:
    return sa.and_(
        Task.deadline_kind == DeadlineKind.DATE.value, sa.or_(Task.due_date.is_(None), Task.due_date >= h.today)
    )


@_cached
def _deadline(h: Horizon) -> sa.ColumnElement:
    """The deadline overdue days count from: the due date, the earliest missed report,
    or (a motion whose due date is still ahead, or not set) its earliest missed step;
    for a task late on a step alone, that step."""
    return sa.case(
        (_dated_but_not_due(h), _first_missed_step(h)),
        (Task.deadline_kind == DeadlineKind.DATE.value, Task.due_date),
        else_=sa.func.coalesce(_first_missed_report(h), _first_missed_step(h)),
    )


@_cached
def _deadline_kind(h: Horizon) -> sa.ColumnElement[str]:
    """Which deadline ``_deadline`` chose: "due", "report" or "step" (``DeadlineState.kind``)."""
    return sa.case(
        (_dated_but_not_due(h), sa.literal("step")),
        (Task.deadline_kind == DeadlineKind.DATE.value, sa.literal("due")),
        (_first_missed_report(h).is_not(None), sa.literal("report")),
        else_=sa.literal("step"),
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
    return sa.exists().where(Milestone.task_id == Task.id, Milestone.done_on.is_(None), Milestone.due_date < h.today)


@_cached
def milestone_missed_in(h: Horizon) -> sa.ColumnElement[bool]:
    """``milestone_missed(h)`` as ``task.id IN (…)``: PostgreSQL hashes the list once, where
    the EXISTS form runs per task (the board counts 50,000 tasks at a time)."""
    missed = select(Milestone.task_id).where(Milestone.done_on.is_(None), Milestone.due_date < h.today)
    return Task.id.in_(missed)


def light_counts(red, soon, missed) -> list:
    """``count(*)`` per colour (red, yellow, green) from per-task flags, with ``light``'s
    precedence: red first, then yellow (due soon or a milestone missed), then green."""
    return [
        sa.func.count().filter(red),
        sa.func.count().filter(sa.and_(sa.not_(red), sa.or_(soon, missed))),
        sa.func.count().filter(sa.and_(sa.not_(red), sa.not_(soon), sa.not_(missed))),
    ]


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


# --- as of a past day, for scoring and bulletins ---------------------------------------


def open_at(as_of: date) -> sa.ColumnElement[bool]:
    """Running at the start of ``as_of``: running now, or closed on or after it."""
    return sa.or_(one_of(Task.status, _running), sa.and_(Task.status == Status.CLOSED.value, Task.closed_on >= as_of))


def overdue_at(as_of: date) -> sa.ColumnElement[bool]:
    """Overdue at the start of ``as_of``, for scoring a past period (003 §37): a fixed due
    date only. A recurring task's missed report is scored apart, as a late report
    (``scoring.period_figures``), so counting it here too would charge it twice."""
    return sa.and_(
        open_at(as_of), Task.deadline_kind == DeadlineKind.DATE.value, Task.due_date.is_not(None), Task.due_date < as_of
    )


def overdue_days_at(session: Session, as_of: date) -> sa.ColumnElement[int]:
    """Working days past the due date on ``as_of`` (0 when not overdue)."""
    as_of_seq = session.scalar(select(CalendarDay.seq).where(CalendarDay.day == as_of))
    if as_of_seq is None:
        return sa.literal(0)
    due_seq = select(CalendarDay.seq).where(CalendarDay.day == Task.due_date).scalar_subquery()
    return sa.case((overdue_at(as_of), sa.func.coalesce(as_of_seq - due_seq, 0)), else_=0)


@dataclass(frozen=True)
class DeadlineState:
    """One task's overdue answer, as every page, notice and job must show it."""

    overdue: bool
    workdays: int  # working days overdue (0 when not overdue)
    deadline: date | None  # the date they count from (None when not overdue)
    calendar_days: int  # calendar days since that date (0 when not overdue)
    # which deadline that is: "due" (the due date), "report" (a periodic report of a task
    # without one), "step" (a motion's handling step, its due date still ahead); "" when not overdue
    kind: str = ""


NOT_OVERDUE = DeadlineState(False, 0, None, 0)

# What each kind of deadline is called wherever a late task is explained: the escalation's reason,
# the escalate form, the printed notice.
DEADLINE_NAMES = {"due": "完成时限", "report": "进展报送时限", "step": "办理环节时限"}


def deadline_name(kind: str) -> str:
    """The name of a ``DeadlineState.kind`` ("due", "report", "step") for people."""
    return DEADLINE_NAMES.get(kind, DEADLINE_NAMES["due"])


def deadline_state(session: Session, h: Horizon, task_id: int) -> DeadlineState:
    """``is_overdue``, ``overdue_workdays`` and the deadline of one task, read through the
    same SQL expressions as the lists and the board."""
    row = session.execute(
        select(is_overdue(h), overdue_workdays(h), _deadline(h), _deadline_kind(h)).where(Task.id == task_id)
    ).one_or_none()
    if row is None or not row[0] or row[2] is None:
        return NOT_OVERDUE
    overdue, days, deadline, kind = row
    return DeadlineState(True, int(days or 0), deadline, (h.today - deadline).days, kind)


@dataclass(frozen=True)
class TwinState:
    overdue: bool
    deadline: date | None
    due_soon: bool
    light: str
    kind: str = ""  # as DeadlineState.kind


def state_of(
    h: Horizon,
    status: str,
    deadline_kind: str,
    due_date: date | None,
    *,
    reports_unmet: Iterable[date] = (),
    steps_undone: Iterable[date] = (),
    milestones_undone: Iterable[date] = (),
) -> TwinState:
    """The rules of this module in Python, from a task's own dates: the twin of
    ``is_overdue``, ``_deadline``, ``is_due_soon`` and ``light`` (held to them by
    tests/test_rules_overdue.py). ``*_unmet``/``*_undone``: due dates of the periodic
    reports not made, motion steps not done and milestones not done."""
    reports = sorted(reports_unmet)
    missed_steps = sorted(d for d in steps_undone if d < h.today)
    running = status in _running_set
    dated = deadline_kind == DeadlineKind.DATE.value
    overdue = running and bool(
        missed_steps
        or (dated and due_date is not None and due_date < h.today)
        or (not dated and reports and reports[0] < h.today)
    )
    missed_reports = [d for d in reports if d < h.today]
    if dated and (due_date is None or due_date >= h.today):
        deadline, kind = (missed_steps or [None])[0], "step"
    elif dated:
        deadline, kind = due_date, "due"
    else:
        deadline, kind = (missed_reports or missed_steps or [None])[0], "report" if missed_reports else "step"
    soon = due_soon_of(h, status, due_date)
    missed_milestone = any(d < h.today for d in milestones_undone)
    return TwinState(
        overdue,
        deadline if overdue else None,
        soon,
        light_of(h, status, due_date, overdue, missed_milestone),
        kind if overdue else "",
    )
