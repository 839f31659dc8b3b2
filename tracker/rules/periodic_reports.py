"""When a periodic progress report (进展反馈) is due: the rule, its periods and their due dates.

"办理完毕后向区政府报告办理情况，重要进展情况要及时报告" (003 §35); "确保各项工作有安排、有
落实、有反馈" (000 §65). A task reports on ``Task.recurrence`` when it has one (the
format is ``rules/recurrence.py``'s: ``weekly:5``, ``monthly:25``, ``quarterly:end``), otherwise
on its feedback cycle: 每周 → the office's report weekday (Friday by default), 每月 →
month end, 每季度 → quarter end; 一次性 tasks owe no periodic report.

A report due on a day off moves to the *previous* working day. "每月25日前报送" means
the report is on the office's desk by the 25th; nobody is there to receive it on a
Sunday or during the National Day holiday, so the last working day before it is the
real deadline. This is the opposite of a counted time limit (``time_limits.due_after``,
which runs to the next working day): a named "…前" date gives no extra time for the
holiday, a span of N days does not lose days to it.

Periods follow each other without gaps: a period starts the day after the previous
due date (the first one on the day the task is assigned) and ends on its due date,
so every day after assignment lies in exactly one period. The nightly job writes
these periods as ``ReportDue`` rows (``services/recurring.py``); the department's
inbox asks ``current_period`` for the period in force today. Both come from
``report_periods`` below.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from tracker.calendar import WorkCalendar
from tracker.models import FeedbackCycle
from tracker.rules.periods import Period
from tracker.rules.recurrence import next_occurrence

DEFAULT_REPORT_WEEKDAY = 5  # Friday, ISO numbering (Monday = 1)
CYCLES = (FeedbackCycle.WEEKLY, FeedbackCycle.MONTHLY, FeedbackCycle.QUARTERLY)
# Far enough back that the period in force on a day is found for every rule, yearly included.
_LOOK_BACK = timedelta(days=400)


def report_rule(task_recurrence: str, feedback_cycle: str, report_weekday: int = DEFAULT_REPORT_WEEKDAY) -> str | None:
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


def on_or_before_workday(cal: WorkCalendar, day: date) -> date:
    """``day`` if it is a working day, else the last working day before it."""
    while not cal.is_workday(day):
        day -= timedelta(days=1)
    return day


def report_periods(cal: WorkCalendar, rule: str, start: date, last_due: date | None, until: date) -> Iterator[Period]:
    """The reporting periods after ``last_due`` (from ``start`` when None) whose nominal due
    date is on or before ``until``; ``Period.end`` is the due date. Raises ``ValueError`` for
    a malformed rule.

    Iterates on the nominal dates (the 25th), not the moved ones, so that a due date moved
    back before its nominal date is never produced twice.
    """
    anchor = last_due or start
    prev_due = last_due
    while True:
        nominal = next_occurrence(rule, anchor)
        if nominal > until:
            return
        due = on_or_before_workday(cal, nominal)
        anchor = nominal
        if prev_due is not None and due <= prev_due:
            continue  # already produced (or swallowed by a holiday)
        period_start = prev_due + timedelta(days=1) if prev_due else start
        if due >= period_start:
            yield Period(period_start, due)
            prev_due = due


def current_period(cal: WorkCalendar, rule: str, day: date) -> Period:
    """The reporting period of a long-running task that ``day`` falls in: the one whose
    due date is the first on or after ``day``. (A task assigned within it starts it on
    its assignment day instead; the due date is the same.)"""
    for period in report_periods(cal, rule, day - _LOOK_BACK, None, day + _LOOK_BACK):
        if period.end >= day:
            return period
    raise ValueError(f"no reporting period found for {rule!r} around {day}")
