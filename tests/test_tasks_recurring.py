"""Reporting deadlines of recurring and ongoing tasks, and the reminder CLI."""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.models import JobRun, ProgressReport, Reminder, Task
from tracker.rules import overdue as derived
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import recurring


def _task(session, d, **kw):
    with clock.frozen(date(2026, 9, 1)):
        t = f.draft(
            session, d, deadline_kind=kw.pop("deadline_kind", "recurring"), due_date=kw.pop("due_date", None), **kw
        )
        tasks.assign(session, d.office, t.id)
        session.commit()
    return t


def test_monthly_25th_moves_off_weekends_and_holidays(session):
    d = f.district(session)
    t = _task(session, d, recurrence="monthly:25", feedback_cycle="monthly")
    assert recurring.ensure_report_dues(session, date(2027, 1, 31)) == 5
    dues = recurring.dues_of(session, t.id)
    # 09-25 is the Mid-Autumn holiday (Friday) → Thursday 09-24; 10-25 is a Sunday → Friday 10-23;
    # 11-25 and 12-25 are working days; 2027-01-25 is a Monday.
    assert [r.due_date for r in dues] == [
        date(2026, 9, 24),
        date(2026, 10, 23),
        date(2026, 11, 25),
        date(2026, 12, 25),
        date(2027, 1, 25),
    ]
    assert dues[0].period_start == date(2026, 9, 1) and dues[1].period_start == date(2026, 9, 25)
    assert recurring.ensure_report_dues(session, date(2027, 1, 31)) == 0  # idempotent
    assert recurring.ensure_report_dues(session, date(2027, 2, 28)) == 1  # and extends from the last one


def test_ongoing_and_quarterly_cycles(session):
    d = f.district(session)
    ongoing = _task(session, d, deadline_kind="ongoing", feedback_cycle="quarterly")
    weekly_date = _task(session, d, deadline_kind="date", due_date=date(2026, 12, 31), feedback_cycle="weekly")
    once = _task(session, d, deadline_kind="date", due_date=date(2026, 12, 31))
    recurring.ensure_report_dues(session, date(2026, 10, 16))
    assert [r.due_date for r in recurring.dues_of(session, ongoing.id)] == [date(2026, 9, 30)]
    # every Friday, the National Day Friday 10-02 moved back to Wednesday 09-30
    assert [r.due_date for r in recurring.dues_of(session, weekly_date.id)] == [
        date(2026, 9, 4),
        date(2026, 9, 11),
        date(2026, 9, 18),
        date(2026, 9, 24),
        date(2026, 9, 30),
        date(2026, 10, 9),
        date(2026, 10, 16),
    ]
    assert recurring.dues_of(session, once.id) == []


def test_check_reports_is_the_safety_net_and_overdue_is_derived(session):
    d = f.district(session)
    t = _task(session, d, recurrence="weekly:5", feedback_cycle="weekly")
    with clock.frozen(date(2026, 9, 3)):  # a report written before its deadline row existed
        tasks.acknowledge(session, d.lead_clerk, t.id)
        tasks.report_progress(session, d.lead_clerk, t.id, {"text": "首周进展"})
        tasks.report_progress(session, d.assist_clerk, t.id, {"text": "协办进展"})
        session.commit()
    recurring.ensure_report_dues(session, date(2026, 9, 30))
    h = derived.Horizon.build(session, today=date(2026, 9, 7))
    assert session.scalar(select(derived.is_overdue(h)).where(Task.id == t.id)) is True  # unmarked yet
    counts = recurring.check_reports(session, date(2026, 9, 7))
    assert counts["marked_met"] == 1
    (first, *rest) = recurring.dues_of(session, t.id)
    lead_report = session.exec(select(ProgressReport).where(ProgressReport.department_id == d.lead_id)).one()
    assert first.due_date == date(2026, 9, 4) and first.report_id == lead_report.id  # the lead's, not the assist's
    assert all(r.met_on is None for r in rest)
    assert session.scalar(select(derived.is_overdue(h)).where(Task.id == t.id)) is False
    h = derived.Horizon.build(session, today=date(2026, 9, 14))  # missed 09-11: overdue, 1 working day late
    row = session.execute(select(derived.is_overdue(h), derived.overdue_workdays(h)).where(Task.id == t.id)).one()
    assert tuple(row) == (True, 1)
    # the office's task list shows it among the overdue (red) tasks
    from tracker.services.tasks import queries

    for flt in (queries.TaskFilter(overdue=True), queries.TaskFilter(light="red")):
        assert queries.task_ids(session, d.office, flt, h) == [t.id]


def test_reminders_cli_dry_run_then_real_run(app, session):
    d = f.district(session)
    with clock.frozen(date(2026, 9, 21)):
        t = f.draft(session, d, due_date=date(2026, 9, 24))
        tasks.assign(session, d.office, t.id)
        session.commit()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["reminders", "run", "--date", "2026-09-21", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["before_due"] == 1
    assert session.scalar(select(sa.func.count()).select_from(Reminder)) == 0
    assert session.scalar(select(sa.func.count()).select_from(JobRun)) == 0  # a dry run is not recorded
    real = runner.invoke(args=["reminders", "run", "--date", "2026-09-21"])
    assert real.exit_code == 0 and "rules.before_due = 1" in real.stdout
    (rem,) = session.exec(select(Reminder)).all()
    assert (rem.rule, rem.day, rem.task_id) == ("before_due:3", date(2026, 9, 21), t.id)
    off = runner.invoke(args=["reminders", "run", "--date", "2026-10-03", "--json"])
    assert json.loads(off.stdout)["rules.workday"] == 0
    bad = runner.invoke(args=["reminders", "run", "--date", "2026-02-30"])
    assert bad.exit_code != 0 and "日期不是有效日期" in bad.output
    once = runner.invoke(args=["scheduler", "--once", "nope"])
    assert once.exit_code != 0 and "未知任务" in once.output


def test_calendar_agrees_with_the_walk():
    """The walks assume the package's 2026 arrangement; fail loudly if it ever changes."""
    from tracker.calendar import WorkCalendar

    cal = WorkCalendar.from_package()
    assert cal.is_workday(date(2026, 10, 10)) and cal.is_workday(date(2026, 9, 20))
    assert not any(cal.is_workday(date(2026, 10, n)) for n in range(1, 8))
    assert not cal.is_workday(date(2026, 9, 25)) and cal.is_workday(date(2026, 10, 8))


def test_overdue_days_count_from_each_tasks_own_first_missed_report(session):
    """``deadline_seq`` nests the first-missed-report subquery two levels down; it once escaped its
    task (``FROM reportdue, task``) and counted every recurring task from the district's earliest
    missed report (found by the issue 8 work on the task page)."""
    d = f.district(session)
    kept_up = _task(session, d, recurrence="weekly:5", feedback_cycle="weekly")
    silent = _task(session, d, recurrence="weekly:5", feedback_cycle="weekly")
    with clock.frozen(date(2026, 9, 3)):
        tasks.acknowledge(session, d.lead_clerk, kept_up.id)
        tasks.report_progress(session, d.lead_clerk, kept_up.id, {"text": "首周进展"})
        session.commit()
    recurring.ensure_report_dues(session, date(2026, 9, 30))
    recurring.check_reports(session, date(2026, 9, 7))
    h = derived.Horizon.build(session, today=date(2026, 9, 14))
    got = dict(
        session.execute(select(Task.id, derived.overdue_workdays(h)).where(Task.id.in_([kept_up.id, silent.id]))).all()
    )
    # kept_up missed 09-11 (one working day ago); silent has missed every Friday since 09-04
    assert got == {kept_up.id: 1, silent.id: 6}
