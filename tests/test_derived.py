"""Derived state is computed in SQL from the deadline and today, never stored."""

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tracker.models import Milestone, Task
from tracker.services import tasks
from tracker.services.derived import Horizon, Light, count_by_light, derived_columns, light_filter


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
    task = f.task_in(session, d, "in_progress", due_date=date(2027, 3, 31),
                     milestones=[{"title": "完成方案", "due_date": "2026-12-15"}])
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
    req = tasks.request_extension(session, d.lead_clerk, extended.id, date(2026, 12, 11), "等待审批")
    tasks.decide_extension(session, d.office, req.id, approve=True)
    with f.on(date(2026, 12, 4)):
        for t in (late, extended):
            tasks.request_close(session, d.lead_clerk, t.id, "完成")
            tasks.review_close(session, d.office, t.id, approve=True)
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
    counts = {light: session.scalar(select(sa.func.count()).select_from(Task).where(light_filter(h, light)))
              for light in Light}
    assert counts == {Light.RED: 1, Light.YELLOW: 1, Light.GREEN: 1, Light.NONE: 1}
    assert count_by_light(session, h) == {"red": 1, "yellow": 1, "green": 1, "none": 1}
