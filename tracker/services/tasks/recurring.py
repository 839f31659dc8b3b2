"""The ``ReportDue`` rows of recurring and ongoing tasks, written ahead and met by reports.

When a report is due (the rule, its periods, the holiday shift) is
``rules/periodic_reports.py``; this module stores those periods. ``ensure_report_dues``
writes the ``ReportDue`` rows ahead, idempotently (unique task × due date). The first
progress report of the lead department on or after a period's start meets it
(``note_report`` at once, ``check_reports`` as the nightly safety net); a report after
the due date meets it late, which ends the "overdue" but stays visible in
``met_on > due_date`` for scoring. ``periods_in_force`` and
``report_due_clause`` are the same periods for a department's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.calendar import WorkCalendar
from tracker.models import FeedbackCycle, ProgressReport, ReportDue, Task
from tracker.rules.overdue import RUNNING_VALUES
from tracker.rules.periodic_reports import CYCLES, current_period, report_periods, report_rule
from tracker.rules.periods import Period
from tracker.services.calendar import load_calendar
from tracker.services.chasing.rules import load_rules
from tracker.shared_sql import shared
from tracker.sql import one_of
from tracker.workflow import WORKING

# Tasks whose deadlines run: only these owe reports (a suspended task does not).


def ensure_report_dues(session: Session, until: date, *, report_weekday: int | None = None) -> int:
    """Write every running task's reporting deadlines up to ``until``; returns rows added.

    Safe to run any number of times and from two processes at once: the unique
    (task, due_date) key drops a row another run already wrote.
    """
    if report_weekday is None:
        report_weekday = load_rules(session)["report_weekday"]
    cal = load_calendar(session)
    last = (
        select(ReportDue.task_id, sa.func.max(ReportDue.due_date).label("last_due"))
        .group_by(ReportDue.task_id)
        .subquery()
    )
    rows = session.execute(
        select(Task.id, Task.recurrence, Task.feedback_cycle, Task.assigned_at, last.c.last_due)
        .outerjoin(last, last.c.task_id == Task.id)
        .where(
            Task.status.in_(RUNNING_VALUES),
            Task.assigned_at.is_not(None),
            sa.or_(Task.recurrence != "", Task.feedback_cycle != FeedbackCycle.ONCE.value),
        )
        .where(sa.or_(last.c.last_due.is_(None), last.c.last_due < until))
    ).all()
    new = []
    for task_id, recurrence, cycle, assigned_at, last_due in rows:
        rule = report_rule(recurrence, cycle, report_weekday)
        if rule is None:
            continue
        start = clock.local_date(assigned_at)
        try:
            for period in report_periods(cal, rule, start, last_due, until):
                new.append({"task_id": task_id, "period_start": period.start, "due_date": period.end})
        except ValueError:  # a malformed rule typed into the database: nothing to generate
            continue
    return _insert_ignoring_duplicates(session, new)


def _insert_ignoring_duplicates(session: Session, rows: list[dict]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    added = 0
    for i in range(0, len(rows), 5000):
        stmt = insert(ReportDue).on_conflict_do_nothing().returning(ReportDue.id)
        added += len(session.execute(stmt, rows[i : i + 5000]).all())
    session.flush()
    return added


@shared()
def _meet_dues() -> sa.Update:
    day = sa.bindparam("b_day", type_=sa.Date)  # b_: names of columns are taken in an UPDATE
    return (
        sa.update(ReportDue)
        .where(
            ReportDue.task_id == sa.bindparam("b_task_id"), ReportDue.met_on.is_(None), ReportDue.period_start <= day
        )
        .values(report_id=sa.bindparam("b_report_id"), met_on=day)
    )


def note_report(session: Session, report: ProgressReport) -> int:
    """A lead-department report meets every open reporting deadline whose period has begun.

    A Core statement built once, run on the session's connection: every report passes here, and
    the ORM's bulk-update path (building it, matching it against the session's objects) cost more
    than the UPDATE. No ReportDue row is loaded in the session on this path; the report is flushed."""
    day = clock.local_date(report.created_at) if report.created_at else clock.today()
    session.flush()
    result = session.connection().execute(
        _meet_dues(), {"b_task_id": report.task_id, "b_day": day, "b_report_id": report.id}
    )
    return result.rowcount or 0


def check_reports(session: Session, day: date) -> dict[str, int]:
    """Mark met deadlines from the reports on file; count what is met and what is missing.

    The safety net behind ``note_report`` (a report written before its deadline
    row existed, a lead department changed by 改派). Set-based: one pass over
    the open ReportDue rows whose period has begun.
    """
    open_rows = session.execute(
        select(ReportDue.id, ReportDue.task_id, ReportDue.period_start, Task.lead_department_id)
        .join(Task, Task.id == ReportDue.task_id)
        .where(ReportDue.met_on.is_(None), ReportDue.period_start <= day)
    ).all()
    marked = 0
    if open_rows:
        task_ids = {r.task_id for r in open_rows}
        earliest = min(r.period_start for r in open_rows)
        reports: dict[int, list[tuple]] = {}
        for rid, task_id, dep_id, created in session.execute(
            select(ProgressReport.id, ProgressReport.task_id, ProgressReport.department_id, ProgressReport.created_at)
            .where(
                ProgressReport.task_id.in_(task_ids), ProgressReport.created_at >= clock.start_of_local_day(earliest)
            )
            .order_by(ProgressReport.created_at)
        ):
            reports.setdefault(task_id, []).append((rid, dep_id, clock.local_date(created)))
        updates = []
        for row in open_rows:
            for rid, dep_id, on in reports.get(row.task_id, ()):
                if dep_id == row.lead_department_id and row.period_start <= on <= day:
                    updates.append({"b_id": row.id, "b_report": rid, "b_met": on})
                    break
        if updates:
            table = ReportDue.__table__
            session.connection().execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("b_id"))
                .values(report_id=sa.bindparam("b_report"), met_on=sa.bindparam("b_met")),
                updates,
            )
            marked = len(updates)
    missing = (
        session.scalar(
            select(sa.func.count())
            .select_from(ReportDue)
            .join(Task, Task.id == ReportDue.task_id)
            .where(ReportDue.met_on.is_(None), ReportDue.due_date <= day, Task.status.in_(RUNNING_VALUES))
        )
        or 0
    )
    session.flush()
    return {"marked_met": marked, "missing": missing}


def dues_of(session: Session, task_id: int) -> list[ReportDue]:
    return list(session.exec(select(ReportDue).where(ReportDue.task_id == task_id).order_by(ReportDue.due_date)))


# --- the period in force, for a department's inbox -------------------------------------


@dataclass(frozen=True)
class PeriodsInForce:
    """The reporting period in force on ``day`` for every rule a running task reports on."""

    day: date
    report_weekday: int
    periods: tuple[tuple[str, Period], ...]  # (rule, period), by rule

    @classmethod
    def compute(
        cls, cal: WorkCalendar, day: date, report_weekday: int, recurrences: Iterable[str] = ()
    ) -> "PeriodsInForce":
        """The feedback cycles' periods and those of ``recurrences`` (malformed ones skipped)."""
        rules = {report_rule("", cycle.value, report_weekday) for cycle in CYCLES} | set(recurrences)
        periods = []
        for rule in sorted(rules):
            try:
                periods.append((rule, current_period(cal, rule, day)))
            except ValueError:  # a malformed rule typed into the database: nothing is due on it
                continue
        return cls(day, report_weekday, tuple(periods))

    def of(self, recurrence: str, feedback_cycle: str) -> Period | None:
        """The period in force for a task with this recurrence and feedback cycle."""
        rule = report_rule(recurrence, feedback_cycle, self.report_weekday)
        return dict(self.periods).get(rule) if rule else None


def periods_in_force(session: Session, day: date) -> PeriodsInForce:
    """The periods of the feedback cycles and of every recurrence a running task has, on ``day``:
    the same periods ``ensure_report_dues`` writes (``rules/periodic_reports.py``)."""
    recurrences = session.scalars(
        select(Task.recurrence).distinct().where(Task.recurrence != "", one_of(Task.status, RUNNING_VALUES))
    )
    return PeriodsInForce.compute(load_calendar(session), day, load_rules(session)["report_weekday"], recurrences)


def report_due_clause(department, periods: PeriodsInForce) -> sa.ColumnElement[bool]:
    """A running task on which ``department`` (an id or a bound parameter) has made no progress
    report since the reporting period in force began."""
    by_cycle = {report_rule("", cycle.value, periods.report_weekday): cycle.value for cycle in CYCLES}

    def none_since(day: date) -> sa.ColumnElement[bool]:
        return ~sa.exists().where(
            ProgressReport.task_id == Task.id,
            ProgressReport.department_id == department,
            ProgressReport.created_at >= clock.start_of_local_day(day),
        )

    due = []
    for rule, period in periods.periods:
        follows = Task.recurrence == rule
        if rule in by_cycle:
            follows = sa.or_(follows, sa.and_(Task.recurrence == "", Task.feedback_cycle == by_cycle[rule]))
        due.append(sa.and_(follows, none_since(period.start)))
    return sa.and_(one_of(Task.status, [s.value for s in WORKING]), sa.or_(sa.false(), *due))
