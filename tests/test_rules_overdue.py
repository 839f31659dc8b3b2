"""Derived state is computed in SQL from the deadline and today, never stored."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from tests import factories as f
from tracker.models import Milestone, Motion, MotionStep, ReportDue, Task
from tracker.rules.overdue import (
    CHASED_VALUES,
    RUNNING_VALUES,
    Horizon,
    Light,
    count_by_light,
    deadline_state,
    derived_columns,
    is_due_soon,
    is_overdue,
    light,
    light_filter,
    overdue_at,
    overdue_days_at,
    overdue_workdays,
    state_of,
)
from tracker.services.calendar import load_calendar
from tracker.services.chasing import reminders
from tracker.services.tasks import lifecycle as tasks
from tracker.services.tasks import requests as task_requests
from tracker.workflow import Status


@pytest.fixture
def d(session):
    return f.district(session)


def _row(session, task_id, h):
    return session.execute(select(*derived_columns(h)).where(Task.id == task_id)).one()


def test_overdue_counts_working_days_over_national_day(session, d):
    with f.on(date(2026, 9, 21)):
        task = f.task_in(session, d, "in_progress", due_date=date(2026, 9, 30))
    session.commit()
    h = Horizon.build(session, today=date(2026, 10, 13))
    row = _row(session, task.id, h)
    # 10-08, 10-09, Saturday 10-10 (调休), 10-12, 10-13: five working days late
    assert row.overdue and row.overdue_workdays == 5 and row.light == Light.RED


def test_overdue_is_not_stored_and_follows_the_clock(session, d):
    task = f.task_in(session, d, "acknowledged", due_date=date(2026, 11, 25))
    session.commit()
    assert _row(session, task.id, Horizon.build(session)).light == Light.YELLOW  # due in 2 working days
    assert _row(session, task.id, Horizon.build(session, today=date(2026, 11, 26))).light == Light.RED
    assert _row(session, task.id, Horizon.build(session, today=date(2026, 11, 10))).light == Light.GREEN


def test_due_soon_window_is_in_working_days(session, d):
    # From Friday 2026-11-20, 3 working days reach Wednesday 11-25.
    with f.on(date(2026, 11, 20)):
        inside = f.task_in(session, d, "assigned", due_date=date(2026, 11, 25))
        outside = f.task_in(session, d, "assigned", due_date=date(2026, 11, 26))
    session.commit()
    h = Horizon.build(session, soon_workdays=3, today=date(2026, 11, 20))
    assert _row(session, inside.id, h).light == Light.YELLOW
    assert _row(session, outside.id, h).light == Light.GREEN


def test_missed_milestone_turns_yellow(session, d):
    task = f.task_in(
        session,
        d,
        "in_progress",
        due_date=date(2027, 3, 31),
        milestones=[{"title": "完成方案", "due_date": "2026-12-15"}],
    )
    session.commit()
    assert _row(session, task.id, Horizon.build(session)).light == Light.GREEN
    assert _row(session, task.id, Horizon.build(session, today=date(2026, 12, 16))).light == Light.YELLOW
    m = session.exec(select(Milestone).where(Milestone.task_id == task.id)).one()
    with f.on(date(2026, 12, 10)):
        tasks.report_progress(session, d.lead_clerk, task.id, {"text": "方案完成", "milestones_done": [m.id]})
    session.commit()
    assert _row(session, task.id, Horizon.build(session, today=date(2026, 12, 16))).light == Light.GREEN


def test_closed_late_versus_extended_in_time(session, d):
    late = f.task_in(session, d, "in_progress", due_date=date(2026, 11, 27))
    extended = f.task_in(session, d, "in_progress", due_date=date(2026, 11, 27))
    req = task_requests.request_extension(session, d.lead_clerk, extended.id, date(2026, 12, 11), "等待审批")
    task_requests.decide_extension(session, d.office, req.id, approve=True)
    with f.on(date(2026, 12, 4)):
        for t in (late, extended):
            task_requests.request_close(session, d.lead_clerk, t.id, "完成")
            task_requests.review_close(session, d.office, t.id, approve=True)
    session.commit()
    h = Horizon.build(session, today=date(2026, 12, 4))
    assert _row(session, late.id, h).closed_late
    assert not _row(session, extended.id, h).closed_late  # extension approved in time: not late
    assert _row(session, late.id, h).light == Light.NONE and not _row(session, late.id, h).overdue


def test_suspended_drafts_and_cancelled_are_never_overdue(session, d):
    with f.on(date(2026, 11, 2)):
        ids = [f.task_in(session, d, s, due_date=date(2026, 11, 10)).id for s in ("draft", "suspended", "cancelled")]
    session.commit()
    h = Horizon.build(session)
    assert not any(_row(session, i, h).overdue for i in ids)


def test_light_filters_partition_the_tasks(session, d):
    with f.on(date(2026, 11, 2)):
        f.task_in(session, d, "in_progress", due_date=date(2026, 11, 10))  # red
        f.task_in(session, d, "assigned", due_date=date(2026, 11, 24))  # yellow
        f.task_in(session, d, "assigned", due_date=date(2026, 12, 24))  # green
        f.task_in(session, d, "closed", due_date=date(2026, 12, 24))  # none
    session.commit()
    h = Horizon.build(session)
    counts = {
        light: session.scalar(select(sa.func.count()).select_from(Task).where(light_filter(h, light)))
        for light in Light
    }
    assert counts == {Light.RED: 1, Light.YELLOW: 1, Light.GREEN: 1, Light.NONE: 1}
    assert count_by_light(session, h) == {"red": 1, "yellow": 1, "green": 1, "none": 1}


# --- one definition: SQL and Python agree, and every page says the same --------------

DAY0 = date(2026, 11, 23)
_dates = st.integers(-45, 45).map(lambda n: DAY0 + timedelta(days=n))
_spec = st.fixed_dictionaries(
    {
        "status": st.sampled_from([s.value for s in Status]),
        "kind": st.sampled_from(["date", "recurring", "ongoing"]),
        "due": st.none() | _dates,
        "reports": st.lists(_dates, max_size=3, unique=True),
        "steps": st.lists(_dates, max_size=2),
        "milestones": st.lists(_dates, max_size=2),
    }
)


def _build(session, d, specs) -> list[int]:
    """One task per spec, with its reports due, milestones and motion steps."""
    ids = []
    for i, sp in enumerate(specs):
        task = Task(
            code=f"P{i}",
            title=f"T{i}",
            status=sp["status"],
            deadline_kind=sp["kind"],
            due_date=sp["due"],
            lead_department_id=d.lead_id,
        )
        session.add(task)
        session.flush()
        ids.append(task.id)
        for due in sp["reports"]:
            session.add(ReportDue(task_id=task.id, period_start=due - timedelta(days=6), due_date=due))
        for j, due in enumerate(sp["milestones"]):
            session.add(Milestone(task_id=task.id, title=f"m{j}", due_date=due))
        if sp["steps"]:
            motion = Motion(
                kind="suggestion",
                number=i + 1,
                session_name="届次",
                title="建议",
                proposer="代表",
                source_id=d.source_id,
                task_id=task.id,
            )
            session.add(motion)
            session.flush()
            for due in sp["steps"]:
                session.add(
                    MotionStep(
                        motion_id=motion.id,
                        task_id=task.id,
                        kind="opinion",
                        department_id=d.assist_id,
                        due_date=due,
                    )
                )
    session.flush()
    return ids


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_spec, min_size=1, max_size=6), today=_dates, soon=st.integers(0, 12))
def test_sql_and_python_definitions_agree(session, d, specs, today, soon):
    """``is_overdue``/``_deadline``/``is_due_soon``/``light`` in SQL and ``state_of`` in Python
    give the same answer for any task, on any day (working days from 004 §57's calendar)."""
    try:
        ids = _build(session, d, specs)
        h = Horizon.build(session, soon_workdays=soon, today=today)
        cal = load_calendar(session)
        rows = {
            r[0]: r[1:]
            for r in session.execute(
                select(Task.id, is_overdue(h), is_due_soon(h), light(h), overdue_workdays(h)).where(Task.id.in_(ids))
            )
        }
        scored = {
            r[0]: (bool(r[1]), r[2])
            for r in session.execute(
                select(Task.id, overdue_at(today), overdue_days_at(session, today)).where(Task.id.in_(ids))
            )
        }
        for task_id, sp in zip(ids, specs):
            twin = state_of(
                h,
                sp["status"],
                sp["kind"],
                sp["due"],
                reports_unmet=sp["reports"],
                steps_undone=sp["steps"],
                milestones_undone=sp["milestones"],
            )
            overdue, due_soon, light_, days = rows[task_id]
            assert (bool(overdue), bool(due_soon), light_) == (twin.overdue, twin.due_soon, twin.light), sp
            state = deadline_state(session, h, task_id)
            assert (state.overdue, state.deadline, state.kind) == (twin.overdue, twin.deadline, twin.kind), sp
            if twin.overdue:
                assert days == state.workdays == cal.workdays_between(twin.deadline, today).value, sp
            if sp["kind"] == "date" and not sp["steps"] and sp["status"] in RUNNING_VALUES:
                # scoring's as-of form (fixed due dates only) agrees with today's on such a task
                assert scored[task_id] == (bool(overdue), days), sp
    finally:
        session.rollback()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_spec, min_size=1, max_size=6), today=_dates)
def test_the_reminder_run_escalates_from_the_deadline_the_rule_names(session, d, specs, today):
    """The escalation ladder reads overdue deadlines set-based (``reminders._deadline_rows``,
    one query for every task); the pages read them per task (``rules.overdue._deadline``). For
    every chased task both name the same deadline and the same working days late, except the
    one case the ladder leaves out on purpose: a motion late on a handling step alone, which
    the step reminders chase instead (000 §36)."""
    try:
        ids = _build(session, d, specs)
        h = Horizon.build(session, today=today)
        ladder = {
            r.task_id: (r.deadline, r.days_over, r.kind)
            for r in session.execute(select(reminders._deadline_rows(session, today, h.today_seq, 1)))
            if r.task_id in ids
        }
        for task_id, sp in zip(ids, specs):
            state = deadline_state(session, h, task_id)
            chased = sp["status"] in CHASED_VALUES
            if chased and state.overdue and state.workdays >= 1 and state.kind != "step":
                kind = "overdue" if state.kind == "due" else "report"
                assert ladder.get(task_id) == (state.deadline, state.workdays, kind), sp
            else:
                assert task_id not in ladder, sp
    finally:
        session.rollback()


def test_due_soon_never_beyond_the_threshold(session, d):
    """A task due in 17 working days with a missed milestone is yellow, but not 临期:
    its badge says 节点滞后 on the department's pages, the office's list and the API."""
    task = f.task_in(
        session,
        d,
        "in_progress",
        due_date=date(2026, 12, 16),  # 17 working days ahead
        milestones=[{"title": "完成方案", "due_date": "2026-11-30"}],
    )
    session.commit()
    h = Horizon.build(session, soon_workdays=3, today=date(2026, 12, 1))
    assert load_calendar(session).workdays_between(h.today, task.due_date).value == 11
    row = _row(session, task.id, h)
    assert row.light == Light.YELLOW and not row.due_soon
    from tracker.rules.overdue import light_label

    assert light_label(row.light, row.due_soon) == "节点滞后"
    assert light_label(Light.YELLOW.value, True) == "临期"
