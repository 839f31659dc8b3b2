"""rules/periodic_reports.py: when a periodic report is due, asked by the job and the inbox alike."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from tests import factories as f
from tests.test_web_department import body, client_for, section
from tracker import clock
from tracker.calendar import WorkCalendar
from tracker.models import ReportDue
from tracker.rules.periodic_reports import current_period, on_or_before_workday, report_periods, report_rule
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import recurring

CAL = WorkCalendar.from_package()
TODAY = date(2026, 11, 23)  # the suite's frozen Monday


def test_report_rule_from_recurrence_or_cycle():
    assert report_rule("monthly:25", "monthly") == "monthly:25"
    assert report_rule("", "weekly", 3) == "weekly:3"
    assert report_rule("", "monthly") == "monthly:end"
    assert report_rule("", "quarterly") == "quarterly:end"
    assert report_rule("", "once") is None


def test_a_report_due_on_a_day_off_moves_back_to_the_last_working_day():
    # "每月25日前报送": 2026-10-25 is a Sunday, the report is due on Friday 10-23
    assert on_or_before_workday(CAL, date(2026, 10, 25)) == date(2026, 10, 23)
    assert current_period(CAL, "monthly:25", date(2026, 10, 20)).end == date(2026, 10, 23)
    # the day after a moved due date starts the next period
    assert current_period(CAL, "monthly:25", date(2026, 10, 24)).start == date(2026, 10, 24)


def _assigned(session, d, **kw):
    with clock.frozen(date(2026, 9, 1)):
        kind = "recurring" if kw.get("recurrence") else "ongoing"
        t = f.draft(session, d, deadline_kind=kind, due_date=None, **kw)
        tasks.assign(session, d.office, t.id)
    session.commit()
    return t


@pytest.mark.parametrize(
    "recurrence,cycle,due",
    [
        ("monthly:29", "monthly", date(2026, 11, 27)),  # 11-29 is a Sunday: Friday 11-27
        ("", "weekly", date(2026, 11, 27)),  # the office's report weekday, Friday
        ("", "monthly", date(2026, 11, 30)),
        ("", "quarterly", date(2026, 12, 31)),
    ],
)
def test_the_inbox_and_the_recurring_job_agree_on_the_due_date(app, session, recurrence, cycle, due):
    d = f.district(session)
    t = _assigned(session, d, recurrence=recurrence, feedback_cycle=cycle, title="按期报送事项")
    recurring.ensure_report_dues(session, TODAY + timedelta(days=60))
    session.commit()
    in_force = session.exec(
        select(ReportDue).where(ReportDue.task_id == t.id, ReportDue.period_start <= TODAY, ReportDue.due_date >= TODAY)
    ).one()
    assert in_force.due_date == due
    tasks.acknowledge(session, d.lead_clerk, t.id)
    with clock.frozen(in_force.period_start - timedelta(days=1)):  # the last day of the previous period
        tasks.report_progress(session, d.lead_clerk, t.id, {"text": "上期进展"})
    session.commit()
    session.refresh(in_force)
    assert in_force.met_on is None  # nothing reported in the period in force: both say "due"
    html = section(body(client_for(app, session, d.lead_clerk).get("/dept/")), "report_due")
    assert ">按期报送事项</a>" in html
    assert f"本期报送期限 <span data-report-due>{due.isoformat()}</span>" in html


def test_only_a_report_in_the_period_in_force_clears_the_inbox(app, session):
    d = f.district(session)
    t = _assigned(session, d, recurrence="monthly:25", feedback_cycle="monthly", title="每月25日前报送")
    tasks.acknowledge(session, d.lead_clerk, t.id)
    session.commit()  # a login writes its session: SQLite would wait on this test's open write
    client = client_for(app, session, d.lead_clerk)
    # the period in force began on 10-24, the day after Friday 10-23 (the moved 10-25)
    with clock.frozen(date(2026, 10, 23)):
        tasks.report_progress(session, d.lead_clerk, t.id, {"text": "十月进展"})
    session.commit()
    assert ">每月25日前报送</a>" in section(body(client.get("/dept/")), "report_due")
    with clock.frozen(date(2026, 10, 24)):
        tasks.report_progress(session, d.lead_clerk, t.id, {"text": "十一月进展"})
    session.commit()
    assert ">每月25日前报送</a>" not in section(body(client.get("/dept/")), "report_due")


# --- properties -------------------------------------------------------------------------------

rules = st.sampled_from(
    [
        "weekly:1",
        "weekly:5",
        "weekly:7",
        "monthly:1",
        "monthly:25",
        "monthly:31",
        "monthly:end",
        "quarterly:end",
        "halfyearly:end",
        "yearly:12-31",
        "yearly:02-29",
    ]
)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=200, deadline=None)
@given(rule=rules, start=days, length=st.integers(min_value=1, max_value=500))
def test_periods_tile_the_days_after_assignment(rule, start, length):
    until = start + timedelta(days=length)
    periods = list(report_periods(CAL, rule, start, None, until))
    if not periods:
        return
    assert periods[0].start == start
    for before, after in pairwise(periods):
        assert after.start == before.end + timedelta(days=1)  # no gap, no overlap
    assert all(CAL.is_workday(p.end) and p.start <= p.end for p in periods)


@settings(max_examples=200, deadline=None)
@given(rule=rules, day=days)
def test_the_period_in_force_holds_the_day_and_matches_the_generated_rows(rule, day):
    period = current_period(CAL, rule, day)
    assert day in period
    generated = report_periods(CAL, rule, day - timedelta(days=800), None, day + timedelta(days=400))
    assert period.end in {p.end for p in generated}
