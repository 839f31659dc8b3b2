"""Reporting deadlines of recurring and ongoing tasks (每周 / 每月25日前报送 / 每季度末 / 长期坚持).

A task's reporting rule is ``Task.recurrence`` when it has one (see
``deadlines.py`` for the format: ``weekly:5``, ``monthly:25``, ``quarterly:end``),
otherwise its feedback cycle: 每周 → the rules' report weekday (Friday by
default), 每月 → month end, 每季度 → quarter end; 一次性 tasks owe no periodic
report. ``ensure_report_dues`` writes the ``ReportDue`` rows ahead, idempotently
(unique task × due date). The first progress report of the lead department on
or after a period's start meets it (``note_report`` at once, ``check_reports``
as the nightly safety net); a report after the due date meets it late, which
ends the "overdue" but stays visible in ``met_on > due_date`` for scoring.

A due date on a non-working day moves to the previous working day: "每月25日前
报送" means the report must be on the office's desk by the 25th, and nobody is
there to receive it on a Sunday or during the National Day holiday, so the last
working day before it is the real deadline (moving it later would reward the
holiday with extra time the rule does not give).
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.calendar import WorkCalendar
from tracker.models import FeedbackCycle, ProgressReport, ReportDue, Task
from tracker.rules.overdue import RUNNING_VALUES
from tracker.services.calendar import load_calendar
from tracker.services.deadlines import next_occurrence
from tracker.services.reminder_rules import load_rules
from tracker.shared_sql import shared

# Tasks whose deadlines run: only these owe reports (a suspended task does not).


def report_rule(task_recurrence: str, feedback_cycle: str, report_weekday: int = 5) -> str | None:
    """The recurrence a task reports on, or None for a one-off task."""
    if task_recurrence:
        return task_recurrence
    if feedback_cycle == FeedbackCycle.WEEKLY:
        return f"weekly:{report_weekday}"
    if feedback_cycle == FeedbackCycle.MONTHLY:
        return "monthly:end"
    if feedback_cycle == FeedbackCycle.QUARTERLY:
        return "quarterly:end"
    return None


def previous_workday(cal: WorkCalendar, day: date) -> date:
    while not cal.is_workday(day):
        day -= timedelta(days=1)
    return day


def _dues(cal: WorkCalendar, rule: str, start: date, last_due: date | None, until: date):
    """(period_start, due_date) pairs after ``last_due`` up to ``until``.

    Iterates on the nominal dates (the 25th), not the moved ones, so that a due
    moved back before its nominal date is never generated twice.
    """
    anchor = last_due or start
    prev_due = last_due
    while True:
        nominal = next_occurrence(rule, anchor)
        if nominal > until:
            return
        due = previous_workday(cal, nominal)
        anchor = nominal
        if prev_due is not None and due <= prev_due:
            continue  # already generated (or swallowed by a holiday)
        period_start = prev_due + timedelta(days=1) if prev_due else start
        if due >= period_start:
            yield period_start, due
            prev_due = due


def ensure_report_dues(session: Session, until: date, *, report_weekday: int | None = None) -> int:
    """Write every running task's reporting deadlines up to ``until``; returns rows added.

    Safe to run any number of times and from two processes at once: the unique
    (task, due_date) key drops a row another run already wrote.
    """
    if report_weekday is None:
        report_weekday = load_rules(session)["report_weekday"]
    cal = load_calendar(session)
    last = (select(ReportDue.task_id, sa.func.max(ReportDue.due_date).label("last_due"))
            .group_by(ReportDue.task_id).subquery())
    rows = session.execute(
        select(Task.id, Task.recurrence, Task.feedback_cycle, Task.assigned_at, last.c.last_due)
        .outerjoin(last, last.c.task_id == Task.id)
        .where(Task.status.in_(RUNNING_VALUES), Task.assigned_at.is_not(None),
               sa.or_(Task.recurrence != "", Task.feedback_cycle != FeedbackCycle.ONCE.value))
        .where(sa.or_(last.c.last_due.is_(None), last.c.last_due < until))
    ).all()
    new = []
    for task_id, recurrence, cycle, assigned_at, last_due in rows:
        rule = report_rule(recurrence, cycle, report_weekday)
        if rule is None:
            continue
        start = clock.local_date(assigned_at)
        try:
            for period_start, due in _dues(cal, rule, start, last_due, until):
                new.append({"task_id": task_id, "period_start": period_start, "due_date": due})
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
        added += len(session.execute(stmt, rows[i:i + 5000]).all())
    session.flush()
    return added


@shared()
def _meet_dues() -> sa.Update:
    day = sa.bindparam("b_day", type_=sa.Date)  # b_: names of columns are taken in an UPDATE
    return (sa.update(ReportDue)
            .where(ReportDue.task_id == sa.bindparam("b_task_id"), ReportDue.met_on.is_(None),
                   ReportDue.period_start <= day)
            .values(report_id=sa.bindparam("b_report_id"), met_on=day))


def note_report(session: Session, report: ProgressReport) -> int:
    """A lead-department report meets every open reporting deadline whose period has begun.

    A Core statement built once, run on the session's connection: every report passes here, and
    the ORM's bulk-update path (building it, matching it against the session's objects) cost more
    than the UPDATE. No ReportDue row is loaded in the session on this path; the report is flushed."""
    day = clock.local_date(report.created_at) if report.created_at else clock.today()
    session.flush()
    result = session.connection().execute(_meet_dues(), {"b_task_id": report.task_id, "b_day": day,
                                                         "b_report_id": report.id})
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
            select(ProgressReport.id, ProgressReport.task_id, ProgressReport.department_id,
                   ProgressReport.created_at)
            .where(ProgressReport.task_id.in_(task_ids),
                   ProgressReport.created_at >= clock.start_of_local_day(earliest))
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
                sa.update(table).where(table.c.id == sa.bindparam("b_id"))
                .values(report_id=sa.bindparam("b_report"), met_on=sa.bindparam("b_met")),
                updates,
            )
            marked = len(updates)
    missing = session.scalar(
        select(sa.func.count()).select_from(ReportDue).join(Task, Task.id == ReportDue.task_id)
        .where(ReportDue.met_on.is_(None), ReportDue.due_date <= day, Task.status.in_(RUNNING_VALUES))
    ) or 0
    session.flush()
    return {"marked_met": marked, "missing": missing}


def dues_of(session: Session, task_id: int) -> list[ReportDue]:
    return list(session.exec(select(ReportDue).where(ReportDue.task_id == task_id).order_by(ReportDue.due_date)))
